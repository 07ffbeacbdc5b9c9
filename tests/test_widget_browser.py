"""The website widget in a real chromium, on the demo lead-form page and on bare host pages.

Every test records the page's requests (nothing may leave 127.0.0.1) and uncaught errors
(none allowed), and saves a screenshot per step under ``test-artifacts/<test>/``.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from assistant import i18n
from assistant.dialogue.forms import NEED_BY_CONTEXT
from assistant.tools.leads import NEED_LABELS, phone_error_message
from tests.conftest import SUPPORT_KEY
from tests.server_proc import free_port, serve_in_thread

pytestmark = pytest.mark.slow

DEMO = "/demo/lead-form.html"
TIMEOUT = 60_000  # ms: a first answer on a busy 2-core machine can take a while


def zh(key: str) -> str:
    return i18n.t("zh", f"widget.{key}")


def en(key: str) -> str:
    return i18n.t("en", f"widget.{key}")


def rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@dataclass
class Visit:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def widget(self, instance: str, css: str = "") -> Any:
        """A locator inside one instance's shadow root (Playwright CSS pierces open roots)."""
        return self.page.locator(f'credit-advisor-widget[data-instance="{instance}"] {css}'.strip())

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=path)


@contextmanager
def visit(browser: Any, **options: Any) -> Iterator[Visit]:
    """A fresh browser context (empty localStorage); checks requests and errors at the end."""
    context = browser.new_context(
        **{"locale": "zh-CN", "viewport": {"width": 1280, "height": 860}} | options
    )
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    v = Visit(page)
    page.on("request", lambda r: v.requests.append(r.url))
    page.on("pageerror", lambda e: v.errors.append(str(e)))
    try:
        yield v
        hosts = {
            urlsplit(u).hostname for u in v.requests if urlsplit(u).scheme in ("http", "https")
        }
        assert hosts <= {"127.0.0.1"}, f"requests left 127.0.0.1: {hosts}"
        assert v.errors == [], v.errors
    finally:
        context.close()


def open_demo(v: Visit, url: str) -> None:
    v.page.goto(url + DEMO)
    v.page.wait_for_function(
        "window.CreditAdvisorWidget && CreditAdvisorWidget.list().length === 2"
    )


DONE_COUNT = """([id]) => document.querySelector(`credit-advisor-widget[data-instance="${id}"]`)
    .shadowRoot.querySelectorAll('.msg.bot[data-state=done]').length"""

TURN_OVER = """([id, before]) => {
  const root = document.querySelector(`credit-advisor-widget[data-instance="${id}"]`).shadowRoot;
  const done = root.querySelectorAll('.msg.bot[data-state=done]').length > before;
  const busy = root.querySelector('.composer').getAttribute('aria-busy') === 'true';
  return (done && !busy) || !root.querySelector('.alert').hidden;
}"""


def wait_turn(v: Visit, instance: str, before: int) -> None:
    """Until the instance shows one more finished answer (or its error banner)."""
    v.page.wait_for_function(TURN_OVER, arg=[instance, before], timeout=TIMEOUT)
    assert v.widget(instance, ".alert").is_hidden(), v.widget(instance, ".alert").inner_text()


def ask(v: Visit, instance: str, text: str | None = None) -> None:
    """Type (or keep the prefilled) question, press Enter and wait for the whole answer."""
    before = v.page.evaluate(DONE_COUNT, [instance])
    box = v.widget(instance, "textarea")
    if text is not None:
        box.fill(text)
    box.press("Enter")
    wait_turn(v, instance, before)


def session_of(v: Visit, instance: str) -> str:
    sid = v.page.evaluate("id => CreditAdvisorWidget.get(id).sessionId", instance)
    assert isinstance(sid, str) and sid
    return sid


def transcript(api_server: Any, sid: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{api_server.url}/v1/sessions/{sid}")
    assert r.status_code == 200
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def stored_leads(api_server: Any) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{api_server.url}/v1/leads",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {SUPPORT_KEY}"},
    )
    assert r.status_code == 200
    leads: list[dict[str, Any]] = r.json()["leads"]
    return leads


DEEP_FOCUS = """() => {
  const host = document.activeElement;
  if (!host || !host.shadowRoot) {
    return {host: null, tag: host && host.tagName, id: host && host.id};
  }
  const inner = host.shadowRoot.activeElement;
  return {host: host.getAttribute('data-instance'), tag: inner && inner.tagName,
          cls: inner && inner.getAttribute('class'), text: inner && inner.textContent};
}"""

# Counts the renders of the streaming answer that happen before it is marked done, and when
# the first one happened relative to the Enter key: one render per delta means streaming.
STREAM_PROBE = """(id) => {
  const root = document.querySelector(`credit-advisor-widget[data-instance="${id}"]`).shadowRoot;
  const probe = {sentAt: null, firstAt: null, renders: 0, finished: false};
  root.querySelector('textarea').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && probe.sentAt === null) probe.sentAt = performance.now();
  }, true);
  new MutationObserver((records) => {
    for (const r of records) {
      if (probe.finished) return;
      if (r.type === 'attributes' && r.oldValue === 'streaming') { probe.finished = true; return; }
      if (r.type === 'childList' && r.target.classList && r.target.classList.contains('body')
          && r.target.closest('.msg.bot')) {
        probe.renders += 1;
        if (probe.firstAt === null) probe.firstAt = performance.now();
      }
    }
  }).observe(root.querySelector('.log'), {
    subtree: true, childList: true,
    attributes: true, attributeFilter: ['data-state'], attributeOldValue: true,
  });
  window.__caProbe = probe;
}"""


# ---------------------------------------------------------------------------------------------


def test_widget_streams_a_chinese_answer_with_citations_and_resumes_after_reload(
    api_server: Any, browser: Any, artifacts: Path
) -> None:
    question = "买家逾期了，多久要报给保险公司？"
    with visit(browser) as v:
        open_demo(v, api_server.url)
        v.shot(artifacts / "01-demo-page.png")
        v.widget("advisor", ".launcher").click()
        assert v.widget("advisor", '[role="dialog"]').is_visible()
        assert v.page.evaluate(DEEP_FOCUS)["tag"] == "TEXTAREA"
        v.shot(artifacts / "02-panel-open.png")

        v.page.evaluate(STREAM_PROBE, "advisor")
        ask(v, "advisor", question)
        probe = v.page.evaluate("window.__caProbe")
        # The final render is the finished answer; every earlier one was a streamed delta.
        assert probe["finished"] and probe["renders"] - 1 >= 2, probe
        v.shot(artifacts / "03-streamed-answer.png")

        sid = session_of(v, "advisor")
        reply = transcript(api_server, sid)[-1]["reply"]
        assert reply["citations"], "the question should be answered from the knowledge base"
        bot = v.widget("advisor", ".msg.bot").last
        titles = bot.locator(".cites summary").all_inner_texts()
        assert len(titles) == len(reply["citations"])
        for text, cite in zip(titles, reply["citations"], strict=True):
            assert text.startswith(f"[{cite['n']}]") and cite["title"] in text
        first = reply["citations"][0]
        bot.locator(".ref").first.click()
        snippet = bot.locator(f'.cites li[data-n="{first["n"]}"] .snippet')
        assert snippet.is_visible()
        assert snippet.inner_text() == first["snippet"]
        v.shot(artifacts / "04-citation-open.png")

        stored = v.page.evaluate("JSON.parse(localStorage.getItem('credit-advisor:advisor'))")
        assert stored["sessionId"] == sid

        v.page.reload()
        v.page.wait_for_function("window.CreditAdvisorWidget && CreditAdvisorWidget.get('advisor')")
        assert session_of(v, "advisor") == sid
        v.widget("advisor", ".launcher").click()
        v.widget("advisor", ".msg.user").first.wait_for()
        assert v.widget("advisor", ".msg.user").all_inner_texts()[-1].endswith(question)
        assert v.widget("advisor", ".msg.bot").last.locator(".cites li").count() == len(
            reply["citations"]
        )
        v.shot(artifacts / "05-history-after-reload.png")

        v.widget("advisor", "button.new").click()  # start over: a new session next time
        assert v.widget("advisor", ".msg").count() == 1  # the greeting
        assert v.page.evaluate("CreditAdvisorWidget.get('advisor').sessionId") is None
        assert v.page.evaluate("localStorage.getItem('credit-advisor:advisor')") is None
        ask(v, "advisor", question)
        assert session_of(v, "advisor") != sid
        v.shot(artifacts / "06-new-conversation.png")


def test_time_to_first_token_in_the_widget_is_measured(
    api_server: Any, browser: Any, artifacts: Path
) -> None:
    """Opening the panel and sending a question, to the first rendered token (printed)."""
    questions = ["信用保险保什么、不保什么？", "买家破产了要准备什么材料？", "逾期多久要申报？"]
    waits = []
    for i, question in enumerate(questions, 1):
        with visit(browser) as v:
            open_demo(v, api_server.url)
            v.widget("advisor", ".launcher").click()
            v.page.evaluate(STREAM_PROBE, "advisor")
            ask(v, "advisor", question)
            probe = v.page.evaluate("window.__caProbe")
            assert probe["sentAt"] is not None and probe["firstAt"] is not None, probe
            waits.append(probe["firstAt"] - probe["sentAt"])
            v.shot(artifacts / f"{i:02d}-answer.png")
    median = statistics.median(waits)
    print(f"\nwidget time to first token: median {median:.0f} ms over {[round(w) for w in waits]}")
    (artifacts / "time-to-first-token.json").write_text(
        json.dumps({"runs_ms": waits, "median_ms": median}), encoding="utf-8"
    )


def test_lead_capture_in_chat_fills_the_host_form_and_its_submission_is_stored(
    api_server: Any, browser: Any, artifacts: Path
) -> None:
    with visit(browser) as v:
        open_demo(v, api_server.url)
        v.page.evaluate(
            """() => {
              window.__events = [];
              for (const type of ['input', 'change'])
                document.getElementById('lead-form').addEventListener(type,
                  (e) => window.__events.push([type, e.target.id]));
            }"""
        )
        v.widget("advisor", ".launcher").click()
        prefilled = v.page.get_attribute('script[data-id="advisor"]', "data-question")
        assert v.widget("advisor", "textarea").input_value() == prefilled
        ask(v, "advisor")  # the prefilled question
        v.shot(artifacts / "01-premium-answer.png")
        ask(v, "advisor", "我想找专家聊聊，我叫王先生，电话13812345678")
        v.widget("advisor", ".msg.note").wait_for()
        v.shot(artifacts / "02-handoff-in-chat.png")

        sid = session_of(v, "advisor")
        messages = transcript(api_server, sid)
        last = messages[-1]["reply"]
        assert last["handoff"] and last["lead_id"]
        args = next(c["args"] for c in last["tool_calls"] if c["name"] == "capture_lead")
        quote = next(
            c["result"]
            for m in messages
            if m["reply"]
            for c in m["reply"]["tool_calls"]
            if c["name"] == "estimate_premium"
        )

        form = v.page.evaluate(
            """() => ({need: document.querySelector('#need').selectedOptions[0].text,
                      name: document.querySelector('#name').value,
                      phone: document.querySelector('#phone').value,
                      details: document.querySelector('#details').value})"""
        )
        assert form["need"] == NEED_LABELS[args["need"]]["zh"]
        assert form["name"] == args["name"]
        assert "+86" + form["phone"].replace(" ", "") == args["phone"]
        assert form["details"].startswith(zh("summary_prefix"))
        assert prefilled in form["details"]
        assert "13812345678" not in form["details"]  # contact details stay in their fields
        for amount in (quote["low"], quote["high"]):
            assert f"{round(amount / 100) / 100:g}万" in form["details"]
        events = {tuple(e) for e in v.page.evaluate("window.__events")}
        for field_id in ("need", "name", "phone", "details"):
            assert ("input", field_id) in events and ("change", field_id) in events
        v.page.locator("#lead-form").scroll_into_view_if_needed()
        v.shot(artifacts / "03-host-form-filled.png")

        v.page.click("#submit")  # the consent box is not ticked: nothing is sent
        assert v.page.inner_text("#consent-error") and not v.page.inner_text("#form-status")
        v.page.check("#consent")
        v.page.click("#submit")
        v.page.locator("#form-status.ok").wait_for()
        lead_id = v.page.get_attribute("#lead-form", "data-lead-id")
        assert "5678" in v.page.inner_text("#form-status")
        v.shot(artifacts / "04-submitted.png")
        v.page.click("#submit")  # a second click on the same content: still one lead
        v.page.locator("#form-status.ok").wait_for()
        assert v.page.get_attribute("#lead-form", "data-lead-id") == lead_id

        # The chat already stored this prospect: the page's form completes that lead
        # (one call for sales, not two), with the form's summary in its details.
        for_session = [lead for lead in stored_leads(api_server) if lead["session_id"] == sid]
        assert len(for_session) == 1
        lead = for_session[0]
        assert lead["id"] == lead_id == last["lead_id"]
        assert lead["consent_at"] and lead["consent_version"]  # 个人信息保护法 record
        assert (lead["name"], lead["phone"], lead["need"]) == (
            args["name"],
            args["phone"],
            args["need"],
        )
        assert form["details"].strip() in lead["details"]
        assert prefilled in [m["content"] for m in lead["transcript"]]


def test_two_instances_on_one_page_do_not_interfere(
    api_server: Any, browser: Any, artifacts: Path
) -> None:
    with visit(browser) as v:
        open_demo(v, api_server.url)
        hosts = v.page.evaluate(
            "() => [...document.querySelectorAll('credit-advisor-widget')].map(h => "
            "[h.dataset.instance, !!h.shadowRoot])"
        )
        assert sorted(hosts) == [["advisor", True], ["advisor-en", True]]
        right = v.widget("advisor", ".launcher").bounding_box()
        left = v.widget("advisor-en", ".launcher").bounding_box()
        assert right["x"] > 640 > left["x"]
        for instance in ("advisor", "advisor-en"):
            color = v.page.get_attribute(f'script[data-id="{instance}"]', "data-color")
            launcher = v.widget(instance, ".launcher")
            assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(color)

        v.widget("advisor", ".launcher").click()
        ask(v, "advisor", "信用保险保什么、不保什么？")
        zh_messages = v.widget("advisor", ".msg").count()
        v.widget("advisor-en", ".launcher").click()
        assert v.widget("advisor-en", ".msg").count() == 1  # only its own greeting
        assert v.widget("advisor-en", ".send").inner_text() == en("send")
        assert v.widget("advisor", ".send").inner_text() == zh("send")
        assert v.page.evaluate("localStorage.getItem('credit-advisor:advisor-en')") is None
        v.shot(artifacts / "01-both-open.png")

        question = "What does trade credit insurance cover?"
        ask(v, "advisor-en", question)
        a, b = session_of(v, "advisor"), session_of(v, "advisor-en")
        assert a != b
        stored = v.page.evaluate(
            "['advisor', 'advisor-en'].map(id => "
            "JSON.parse(localStorage.getItem('credit-advisor:' + id)).sessionId)"
        )
        assert stored == [a, b]
        assert v.widget("advisor", ".msg").count() == zh_messages
        assert [m["content"] for m in transcript(api_server, b) if m["role"] == "user"] == [
            question
        ]
        v.shot(artifacts / "02-english-answer.png")

        # Post mode: the English instance collects the lead itself; the host form stays empty.
        v.widget("advisor-en", ".specialist").click()
        lead_form = v.widget("advisor-en", "form.lead")
        assert lead_form.is_visible() and v.widget("advisor", "form.lead").count() == 0
        notice = lead_form.locator(".consent-notice").inner_text()
        assert "365" in notice and "phone" in notice  # what, what for, how long
        lead_form.locator('input[name="phone"]').fill("12345")
        lead_form.locator('button[type="submit"]').click()
        error = lead_form.locator(".err")
        error.filter(has_text=re.compile(".+")).wait_for()
        assert error.inner_text() == en("consent_required")  # not ticked: not sent
        lead_form.locator('input[name="consent"]').check()
        lead_form.locator('button[type="submit"]').click()
        error.filter(has_text=phone_error_message("en")).wait_for()
        assert error.inner_text() == phone_error_message("en")
        v.shot(artifacts / "03-invalid-phone.png")
        lead_form.locator('input[name="name"]').fill("Alice")
        lead_form.locator('input[name="phone"]').fill("139 0000 1111")
        lead_form.locator('button[type="submit"]').evaluate("b => { b.click(); b.click(); }")
        v.widget("advisor-en", ".msg.note").wait_for()
        assert "1111" in v.widget("advisor-en", ".msg.note").inner_text()
        assert v.widget("advisor-en", "form.lead").count() == 0
        v.shot(artifacts / "04-lead-posted.png")

        mine = [lead for lead in stored_leads(api_server) if lead["session_id"] == b]
        assert len(mine) == 1
        assert mine[0]["idempotency_key"] == f"widget:advisor-en:{b}"
        assert (mine[0]["name"], mine[0]["phone"]) == ("Alice", "+8613900001111")
        assert mine[0]["consent_at"] and mine[0]["consent_version"]
        assert (
            mine[0]["details"].startswith(en("summary_prefix")) and question in mine[0]["details"]
        )
        assert v.page.evaluate("CreditAdvisorWidget.get('advisor-en').leadId") == mine[0]["id"]
        assert v.page.evaluate("CreditAdvisorWidget.get('advisor').leadId") is None
        host_values = v.page.evaluate(
            "['need', 'name', 'phone', 'details'].map(id => document.getElementById(id).value)"
        )
        assert host_values == ["", "", "", ""]
        assert v.widget("advisor", ".msg").count() == zh_messages


HOST_STYLE = """() => {
  const props = ['font-family', 'font-size', 'color', 'background-color', 'line-height',
    'letter-spacing', 'margin-top', 'padding-left', 'border-top-width', 'border-top-color',
    'width', 'height', 'display', 'list-style-type', 'box-sizing', 'border-radius'];
  const out = {};
  for (const sel of ['html', 'body', '.topbar', 'h1', 'article p', 'article li', 'table th',
                     '#need', '#name', '#phone', '#details', '#submit', 'footer']) {
    const cs = getComputedStyle(document.querySelector(sel));
    out[sel] = Object.fromEntries(props.map(p => [p, cs.getPropertyValue(p)]));
  }
  return out;
}"""


def test_host_page_css_is_unaffected_and_does_not_reach_the_widget(
    api_server: Any, browser: Any, artifacts: Path
) -> None:
    with visit(browser) as before:
        before.page.route(
            "**/widget.js",
            lambda route: route.fulfill(status=200, content_type="text/javascript", body=""),
        )
        before.page.goto(api_server.url + DEMO)
        style_without = before.page.evaluate(HOST_STYLE)
        globals_without = set(before.page.evaluate("Object.keys(window)"))
        head_without = before.page.evaluate("document.head.innerHTML")
        before.shot(artifacts / "01-without-widget.png")

    with visit(browser) as v:
        open_demo(v, api_server.url)
        v.widget("advisor", ".launcher").click()
        v.widget("advisor-en", ".launcher").click()
        v.shot(artifacts / "02-with-widgets-open.png")
        assert v.page.evaluate(HOST_STYLE) == style_without
        assert set(v.page.evaluate("Object.keys(window)")) - globals_without == {
            "CreditAdvisorWidget"
        }
        assert v.page.evaluate("document.head.innerHTML") == head_without

        host_button = v.page.evaluate(
            "getComputedStyle(document.querySelector('#submit')).backgroundColor"
        )
        assert host_button == "rgb(255, 0, 0)"  # the host's own rule still applies to its button
        color = rgb(str(v.page.get_attribute('script[data-id="advisor"]', "data-color")))
        for css in (".launcher", ".send"):
            bg = v.widget("advisor", css).evaluate("e => getComputedStyle(e).backgroundColor")
            assert bg == color, css
        panel = v.widget("advisor", '[role="dialog"]')
        assert panel.evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"
        host_font = style_without["body"]["font-family"]
        assert panel.evaluate("e => getComputedStyle(e).fontFamily") != host_font
        assert "serif" not in panel.evaluate("e => getComputedStyle(e).fontFamily").split(",")[0]


def test_widget_is_usable_with_the_keyboard(api_server: Any, browser: Any, artifacts: Path) -> None:
    with visit(browser) as v:
        open_demo(v, api_server.url)
        v.page.locator("body").click(position={"x": 5, "y": 300})
        for _ in range(40):
            v.page.keyboard.press("Tab")
            focus = v.page.evaluate(DEEP_FOCUS)
            if focus["host"] == "advisor" and "launcher" in (focus["cls"] or ""):
                break
        else:
            pytest.fail("Tab never reached the launcher")
        launcher = v.widget("advisor", ".launcher")
        assert launcher.get_attribute("aria-label") == zh("launcher")
        assert launcher.get_attribute("aria-expanded") == "false"
        v.shot(artifacts / "01-launcher-focused.png")

        v.page.keyboard.press("Enter")
        dialog = v.widget("advisor", '[role="dialog"]')
        assert dialog.is_visible() and launcher.get_attribute("aria-expanded") == "true"
        title = v.widget("advisor", "#" + str(dialog.get_attribute("aria-labelledby")))
        assert title.inner_text() == v.page.get_attribute('script[data-id="advisor"]', "data-title")
        assert v.widget("advisor", ".log").get_attribute("aria-live") == "polite"
        assert v.page.evaluate(DEEP_FOCUS)["tag"] == "TEXTAREA"

        before = v.page.evaluate(DONE_COUNT, ["advisor"])
        v.page.keyboard.press("Enter")  # sends the prefilled question
        wait_turn(v, "advisor", before)
        v.shot(artifacts / "02-answered.png")

        v.page.keyboard.press("Tab")
        assert v.page.evaluate(DEEP_FOCUS)["cls"] == "send"
        v.page.keyboard.press("Tab")
        assert "specialist" in v.page.evaluate(DEEP_FOCUS)["cls"]
        v.page.keyboard.press("Shift+Tab")
        v.page.keyboard.press("Shift+Tab")
        v.page.keyboard.press("Shift+Tab")  # from the input back to the last suggestion
        chip = v.page.evaluate(DEEP_FOCUS)
        assert chip["cls"] == "chip", chip
        before = v.page.evaluate(DONE_COUNT, ["advisor"])
        v.page.keyboard.press("Enter")
        wait_turn(v, "advisor", before)
        assert v.widget("advisor", ".msg.user").last.inner_text().endswith(chip["text"])
        v.shot(artifacts / "03-suggestion-by-keyboard.png")

        v.page.keyboard.press("Escape")
        assert dialog.is_hidden()
        focus = v.page.evaluate(DEEP_FOCUS)
        assert focus["host"] == "advisor" and "launcher" in focus["cls"]
        v.shot(artifacts / "04-closed-with-escape.png")


@pytest.fixture(scope="module")
def host_site() -> Iterator[Any]:
    """Another site on 127.0.0.1 (its own port, so its own origin) serving pages the tests
    put in ``pages``. A real server, not a routed URL: chromium only lets pages that really
    live on a loopback address call another loopback address."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "").encode("utf-8"))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(origin=f"http://127.0.0.1:{server.server_address[1]}", pages=pages)
    server.shutdown()
    server.server_close()


def test_unreachable_server_shows_an_offline_message_and_retry_without_page_errors(
    api_server: Any, host_site: Any, browser: Any, artifacts: Path
) -> None:
    dead = free_port()  # bound and released: nothing listens there
    host_site.pages[
        "/offline.html"
    ] = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
      <link rel="icon" href="data:,"><title>host</title></head><body>
      <button id="host-button" onclick="this.dataset.clicks = (+this.dataset.clicks || 0) + 1">
        host</button>
      <script src="{api_server.url}/widget.js" data-id="dead" data-open
        data-api="http://127.0.0.1:{dead}"></script></body></html>"""
    with visit(browser) as v:
        v.page.goto(host_site.origin + "/offline.html")
        v.widget("dead", '[role="dialog"]').wait_for()  # data-open
        v.widget("dead", "textarea").fill("信用保险保什么？")
        v.widget("dead", "textarea").press("Enter")
        alert = v.widget("dead", '.alert[role="alert"]')
        alert.wait_for()
        assert alert.locator("span").inner_text() == zh("offline")
        assert v.widget("dead", ".launcher").get_attribute("aria-label") == zh("launcher_offline")
        v.shot(artifacts / "01-offline.png")

        tried = sum(f":{dead}/" in u for u in v.requests)
        alert.locator("button").click()  # hides the banner; it returns when the retry fails
        alert.wait_for()
        assert sum(f":{dead}/" in u for u in v.requests) > tried
        v.page.click("#host-button")
        assert v.page.get_attribute("#host-button", "data-clicks") == "1"  # the page still works
        v.shot(artifacts / "02-retry-still-offline.png")

    with visit(browser) as v:
        calls = []

        def flaky(route: Any) -> None:
            calls.append(route.request.url)
            if len(calls) == 1:
                route.fulfill(
                    status=503,
                    content_type="application/json",
                    body='{"error": {"code": "unavailable", "message": "down"}}',
                )
            else:
                route.continue_()

        v.page.route("**/v1/chat/stream", flaky)
        open_demo(v, api_server.url)
        v.widget("advisor", ".launcher").click()
        v.widget("advisor", "textarea").fill("信用保险保什么？")
        v.widget("advisor", "textarea").press("Enter")
        alert = v.widget("advisor", ".alert")
        alert.wait_for()
        assert alert.locator("span").inner_text() == zh("offline")  # a 5xx reads as offline
        v.shot(artifacts / "03-server-error.png")
        before = v.page.evaluate(DONE_COUNT, ["advisor"])
        alert.locator("button").click()
        wait_turn(v, "advisor", before)
        assert len(calls) == 2
        assert v.widget("advisor", ".launcher").get_attribute("aria-label") == zh("launcher")
        assert v.widget("advisor", ".msg.user").count() == 1  # the retry did not repeat it
        v.shot(artifacts / "04-recovered.png")


def test_widget_works_at_phone_width(api_server: Any, browser: Any, artifacts: Path) -> None:
    with visit(
        browser,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    ) as v:
        open_demo(v, api_server.url)
        v.shot(artifacts / "01-page.png")
        v.widget("advisor", ".launcher").tap()
        box = v.widget("advisor", '[role="dialog"]').bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
        assert v.widget("advisor", ".close").is_visible()
        ask(v, "advisor")  # the prefilled premium question
        assert v.widget("advisor", ".msg.bot").last.bounding_box()["width"] <= 390
        v.shot(artifacts / "02-answer.png")

        # The specialist button fills what the chat knows and leaves the phone to the visitor.
        v.widget("advisor", ".specialist").tap()
        assert v.widget("advisor", '[role="dialog"]').is_hidden()  # the form is visible again
        assert v.page.evaluate("document.activeElement.id") == "phone"
        phone = v.page.locator("#phone").bounding_box()
        assert phone["y"] >= 0 and phone["y"] + phone["height"] <= 844
        sid = session_of(v, "advisor")
        tool = transcript(api_server, sid)[-1]["reply"]["tool_calls"][0]["name"]
        need = v.page.evaluate("document.querySelector('#need').selectedOptions[0].text")
        assert need == NEED_LABELS[NEED_BY_CONTEXT[tool]]["zh"]
        assert v.page.input_value("#phone") == ""
        assert v.page.input_value("#details").startswith(zh("summary_prefix"))
        v.shot(artifacts / "03-form-filled-phone-focused.png")


@pytest.fixture(scope="module")
def cross_origin(api_server: Any, host_site: Any) -> Iterator[Any]:
    """A second API server (same assistant) whose CORS list names the host site's origin:
    a company site that embeds the widget from the advisor's host."""
    from assistant.api import create_app

    host_origin = host_site.origin
    settings = api_server.assistant.settings.model_copy(
        update={"cors_origins": host_origin, "serve_ui": False}
    )
    with serve_in_thread(create_app(settings, api_server.assistant)) as url:
        yield SimpleNamespace(url=url, host_origin=host_origin)


def test_widget_embedded_on_another_origin_uses_the_server_it_was_loaded_from(
    api_server: Any, host_site: Any, cross_origin: Any, browser: Any, artifacts: Path
) -> None:
    host_site.pages[
        "/shop.html"
    ] = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
      <link rel="icon" href="data:,"><title>shop</title></head><body><h1>某电子公司</h1>
      <script src="{cross_origin.url}/widget.js" data-id="shop" data-position="bottom-left"
        data-color="#7c3aed"></script></body></html>"""
    with visit(browser) as v:
        v.page.goto(host_site.origin + "/shop.html")
        v.page.wait_for_function("window.CreditAdvisorWidget && CreditAdvisorWidget.get('shop')")
        assert v.page.evaluate("CreditAdvisorWidget.get('shop').config.api") == cross_origin.url
        v.widget("shop", ".launcher").click()
        ask(v, "shop", "信用保险保什么、不保什么？")
        sid = session_of(v, "shop")
        assert [m["role"] for m in transcript(api_server, sid)] == ["user", "assistant"]
        assert any(u.startswith(cross_origin.url + "/v1/chat/stream") for u in v.requests)
        v.shot(artifacts / "01-cross-origin-answer.png")
