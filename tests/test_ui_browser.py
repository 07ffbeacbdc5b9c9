"""The Gradio UI in a real chromium against the real server (``api_server`` mounts it at /).

Each test saves a screenshot per step under ``test-artifacts/<test>/`` and checks that the
page never asked anything of a host other than 127.0.0.1 (no CDN, no web fonts).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.i18n import lookup, t
from assistant.storage import ChatSessionRow, MessageRow
from assistant.tools._text import money
from assistant.tools.leads import phone_error_message
from assistant.tools.premium import PremiumInput, estimate_premium
from assistant.ui.forms import parse_form_date

FIRST_ANSWER_MS = 90_000  # a shared 2-core machine: be patient with the first turn
STEP_MS = 30_000


def ui(lang: str, key: str) -> Any:
    return lookup(lang, f"ui.{key}")


@contextmanager
def ui_page(
    browser: Any, api_server: Any, *, width: int = 1100, height: int = 900
) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser context on the UI; yields the page and every URL it requested."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(api_server.url + "/")
        page.wait_for_selector("#ca-chat", timeout=FIRST_ANSWER_MS)
        yield page, requested
    finally:
        context.close()


def _luminance(css_color: str) -> float:
    """Relative brightness (0 black, 1 white) of a computed "rgb(a)(...)" colour."""
    r, g, b = (float(x) for x in css_color[css_color.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def assert_only_local(requested: list[str]) -> None:
    hosts = {
        urlsplit(url).hostname
        for url in requested
        if urlsplit(url).scheme in ("http", "https", "ws", "wss")
    }
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(h or '' for h in hosts)}"


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def ui_session(store: Any, question: str) -> str:
    """The session the UI created for ``question`` (the page keeps its id server-side)."""

    def find() -> str | None:
        with Session(store.engine) as db:
            return db.scalar(
                select(MessageRow.session_id)
                .join(ChatSessionRow, ChatSessionRow.id == MessageRow.session_id)
                .where(
                    MessageRow.role == "user",
                    MessageRow.content == question,
                    ChatSessionRow.channel == "ui",
                )
                .order_by(MessageRow.created_at.desc())
                .limit(1)
            )

    return str(wait_until(find))


WATCH_ANSWER = """() => {
  window.__answerLengths = [];
  const chat = document.querySelector('#ca-chat');
  new MutationObserver(() => {
    const bots = chat.querySelectorAll('.message.bot');
    const last = bots[bots.length - 1];
    if (last) window.__answerLengths.push(last.innerText.trim().length);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def ask(page: Any, question: str) -> None:
    page.locator("#ca-input textarea").fill(question)
    page.locator("#ca-send").click()


def last_answer(page: Any) -> Any:
    return page.locator("#ca-chat .message.bot").last


def test_chinese_question_streams_an_answer_with_a_citation_that_opens(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    question = "逾期申报期限是多久？"
    with ui_page(browser, api_server) as (page, requested):
        page.screenshot(path=artifacts / "01-open.png")
        page.evaluate(WATCH_ANSWER)
        ask(page, question)
        page.wait_for_selector("#ca-chat .ca-cites", timeout=FIRST_ANSWER_MS)
        page.screenshot(path=artifacts / "02-answer.png")

        final = len(last_answer(page).inner_text().strip())
        lengths: list[int] = page.evaluate("window.__answerLengths")
        partial = sorted({n for n in lengths if 0 < n < final})
        # Streamed: the text grew over several updates before the footnotes arrived.
        assert len(partial) >= 3, lengths

        sid = ui_session(api_server.assistant.store, question)
        reply = api_server.assistant.store.transcript(sid)[-1]["reply"]
        assert reply["lang"] == "zh" and reply["citations"], reply
        first = reply["citations"][0]

        note = page.locator("#ca-chat .ca-cite").first
        snippet = note.locator(".ca-snippet")
        assert not snippet.is_visible()
        assert first["title"] in note.locator("summary").inner_text()
        note.locator("summary").click()
        snippet.wait_for(state="visible")
        assert snippet.inner_text().strip()[:20] == " ".join(first["snippet"].split())[:20]
        page.screenshot(path=artifacts / "03-citation-open.png")

        chips = page.locator("#ca-chips button:visible")
        assert chips.count() == len(reply["suggestions"]) > 0
        assert_only_local(requested)


def test_suggestion_chip_sends_its_question(browser: Any, api_server: Any, artifacts: Path) -> None:
    with ui_page(browser, api_server) as (page, requested):
        example = ui("zh", "chat.examples")[1]
        page.locator("#ca-chat .examples button", has_text=example).click()
        page.wait_for_selector("#ca-chips button:visible", timeout=FIRST_ANSWER_MS)
        page.screenshot(path=artifacts / "01-example-answered.png")
        chip = page.locator("#ca-chips button:visible").first
        follow_up = chip.inner_text().strip()
        chip.click()
        page.locator("#ca-chat .message.user", has_text=follow_up).wait_for(timeout=FIRST_ANSWER_MS)
        wait_until(
            lambda: page.locator("#ca-chat .message.bot").count() == 2, FIRST_ANSWER_MS / 1000
        )
        page.screenshot(path=artifacts / "02-chip-answered.png")
        sid = ui_session(api_server.assistant.store, follow_up)
        users = [
            m["content"] for m in api_server.assistant.store.transcript(sid) if m["role"] == "user"
        ]
        assert users == [example, follow_up]
        assert_only_local(requested)


def test_premium_form_shows_the_range_breakdown_and_bars(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    with ui_page(browser, api_server) as (page, requested):
        page.get_by_role("tab", name=ui("zh", "tabs.premium")).click()
        page.locator("#ca-premium-go").click()
        error = page.locator("#ca-premium-result .ca-error")
        error.wait_for()
        assert ui("zh", "premium.sales") in error.inner_text()  # the missing field, by its label
        page.screenshot(path=artifacts / "01-missing-sales.png")

        page.get_by_role("textbox", name=ui("zh", "premium.sales"), exact=True).fill("5000万")
        page.locator("#ca-premium-industry input").click()
        page.get_by_role("option", name="电子电器").click()
        page.get_by_role("textbox", name=ui("zh", "premium.buyers"), exact=True).fill("30")
        page.locator("#ca-premium-go").click()
        result = page.locator("#ca-premium-result .ca-premium")
        result.wait_for()
        page.screenshot(path=artifacts / "02-estimate.png", full_page=True)

        tb = api_server.assistant.toolbox
        expected = estimate_premium(
            PremiumInput(annual_credit_sales=50_000_000, industry="electronics", buyer_count=30),
            tb.rating,
            tb.policy,
            lang="zh",
        )
        text = result.inner_text()
        for amount in (expected.low, expected.base, expected.high):
            assert money(amount, "zh") in text
        rows = result.locator("table.ca-factors tbody tr")
        assert rows.count() == len(expected.breakdown)
        for i, line in enumerate(expected.breakdown):
            assert line.label in rows.nth(i).inner_text()
        widths = result.locator(".ca-range .ca-bar > span").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert len(widths) == 3 and 0 < widths[0] < widths[1] < widths[2]
        assert_only_local(requested)


def test_claim_form_lists_missing_documents_and_deadlines(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    with ui_page(browser, api_server) as (page, requested):
        page.get_by_role("tab", name=ui("zh", "tabs.claim")).click()
        due = page.locator("#ca-claim-due textarea, #ca-claim-due input").first
        # The placeholder looks like one: lighter than typed text.
        assert due.get_attribute("placeholder") == ui("zh", "claim.date_ph")
        typed, hint = due.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el, '::placeholder').color]"
        )
        assert _luminance(hint) > _luminance(typed) + 0.15, (typed, hint)
        # An unreadable date gets a clear error in the page's language, naming the field.
        due.fill("下个什么时候")
        page.locator("#ca-claim-go").click()
        error = page.locator("#ca-claim-result", has_text=ui("zh", "claim.due_date"))
        error.wait_for()
        assert "9月1日" in error.inner_text()
        # The date as chat reads it (the form used to reject "9月1日" silently).
        due.fill("9月1日")
        page.get_by_role("checkbox", name="发票", exact=True).check()
        page.screenshot(path=artifacts / "01-filled.png")
        page.locator("#ca-claim-go").click()
        result = page.locator("#ca-claim-result .ca-claim")
        result.wait_for()
        page.screenshot(path=artifacts / "02-checklist.png", full_page=True)
        assert "发票" in result.locator(".ca-held").inner_text()
        assert "索赔申请书" in result.locator(".ca-missing").inner_text()
        dates = result.locator(".ca-timeline time").evaluate_all(
            "els => els.map(e => e.getAttribute('datetime'))"
        )
        # Due on the last 1 September: notify and claim by the policy's deadlines (clause 28).
        due = parse_form_date("9月1日", date.today())
        assert due is not None and (due.month, due.day) == (9, 1)
        policy = api_server.assistant.toolbox.policy
        notify = due + timedelta(days=policy.overdue.notification_days)
        claim_by = notify + timedelta(
            days=policy.claim_deadline.default_days_after_notification_deadline
        )
        assert notify.isoformat() in dates and claim_by.isoformat() in dates
        assert_only_local(requested)


def test_english_switch_relabels_the_page_and_answers_in_english(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    question = "How long do I have to report an overdue payment?"
    with ui_page(browser, api_server) as (page, requested):
        zh_tabs = page.get_by_role("tab").all_inner_texts()
        page.get_by_role("tab", name=ui("zh", "tabs.calculators")).click()
        page.get_by_role("textbox", name=ui("zh", "calc.receivables"), exact=True).fill("350万")
        page.get_by_role("textbox", name=ui("zh", "calc.credit_sales"), exact=True).fill("5000万")
        page.get_by_role("button", name=ui("zh", "calc.submit"), exact=True).first.click()
        result = page.locator("#ca-dso-result .ca-dso")
        result.wait_for()
        assert "DSO 约 25.6 天" in result.inner_text()

        page.get_by_role("radio", name="English").check()
        page.get_by_role("tab", name=ui("en", "tabs.chat")).wait_for()
        # A result already on screen is redone in the new language.
        page.locator("#ca-dso-result", has_text="DSO is about 25.6 days").wait_for()
        page.screenshot(path=artifacts / "01-english.png")
        page.get_by_role("tab", name=ui("en", "tabs.chat")).click()
        tabs = page.get_by_role("tab").all_inner_texts()
        assert tabs == [
            ui("en", f"tabs.{k}") for k in ("chat", "premium", "claim", "calculators", "specialist")
        ]
        assert tabs != zh_tabs
        assert ui("en", "chat.send") == page.locator("#ca-send").inner_text().strip()
        assert page.locator("#ca-input textarea").get_attribute("placeholder") == ui(
            "en", "chat.placeholder"
        )

        ask(page, question)
        page.wait_for_selector("#ca-chat .ca-cites", timeout=FIRST_ANSWER_MS)
        page.screenshot(path=artifacts / "02-english-answer.png")
        assert ui("en", "chat.sources") in last_answer(page).inner_text()
        sid = ui_session(api_server.assistant.store, question)
        assert api_server.assistant.store.transcript(sid)[-1]["reply"]["lang"] == "en"

        page.get_by_role("tab", name=ui("en", "tabs.premium")).click()
        page.get_by_role("textbox", name=ui("en", "premium.sales"), exact=True).wait_for()
        page.screenshot(path=artifacts / "03-english-form.png")
        assert_only_local(requested)


def test_feedback_buttons_store_ratings_with_the_reason(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    question = "信用保险保什么、不保什么？"
    store = api_server.assistant.store
    with ui_page(browser, api_server) as (page, requested):
        ask(page, question)
        page.wait_for_selector("#ca-chips button:visible", timeout=FIRST_ANSWER_MS)
        sid = ui_session(store, question)
        message_id = store.transcript(sid)[-1]["id"]

        # Gradio labels its thumbs in the browser's language (the contexts here are zh-CN).
        page.locator("#ca-chat button[aria-label='赞']").last.click()
        rows = wait_until(lambda: store.feedback(sid))
        assert [(r["message_id"], r["rating"], r["reason"]) for r in rows] == [
            (message_id, 1, None)
        ]
        page.screenshot(path=artifacts / "01-liked.png")

        page.locator("#ca-chat button[aria-label='踩']").last.click()
        details = page.locator("#ca-feedback-text textarea")
        details.wait_for()
        reason = ui("zh", "feedback.reasons")[0]
        page.get_by_role("radio", name=reason).check()
        details.fill("条款号不对")
        page.screenshot(path=artifacts / "02-reason.png")
        page.get_by_role("button", name=ui("zh", "feedback.send")).click()
        rows = wait_until(lambda: store.feedback(sid) if len(store.feedback(sid)) == 2 else None)
        assert (rows[1]["message_id"], rows[1]["rating"], rows[1]["reason"]) == (
            message_id,
            -1,
            f"{reason}; 条款号不对",
        )
        details.wait_for(state="hidden")
        page.screenshot(path=artifacts / "03-sent.png")
        assert_only_local(requested)


def test_lead_form_shows_the_phone_error_then_stores_one_lead_with_the_chat(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    question = "买家破产了要准备什么材料？"
    phone = f"139{random.randrange(10**8):08d}"
    store = api_server.assistant.store
    with ui_page(browser, api_server) as (page, requested):
        ask(page, question)
        page.wait_for_selector("#ca-chips button:visible", timeout=FIRST_ANSWER_MS)
        page.get_by_role("tab", name=ui("zh", "tabs.specialist")).click()
        page.get_by_role("textbox", name=ui("zh", "lead.name"), exact=True).fill("王经理")
        phone_box = page.get_by_role("textbox", name=ui("zh", "lead.phone"), exact=True)
        phone_box.fill("12345")
        page.locator("#ca-lead-go").click()  # consent not ticked: refused, nothing stored
        error = page.locator("#ca-lead-result .ca-error")
        error.wait_for()
        assert t("zh", "consent.required") in error.inner_text()
        assert "365" in page.locator("#ca-lead-consent").inner_text()  # the notice shows
        page.locator("#ca-lead-consent input[type=checkbox]").check()
        page.locator("#ca-lead-go").click()
        page.locator("#ca-lead-result .ca-error", has_text=phone_error_message("zh")).wait_for()
        assert phone_error_message("zh") in error.inner_text()
        page.screenshot(path=artifacts / "01-bad-phone.png")

        phone_box.fill(phone)
        page.locator("#ca-lead-go").dblclick()
        done = page.locator("#ca-lead-result .ca-ok")
        done.wait_for()
        page.screenshot(path=artifacts / "02-lead-sent.png")
        assert phone[-4:] in done.inner_text()
        time.sleep(1)  # let a second click's request finish before counting
        stored = [lead for lead in store.list_leads(limit=1000) if lead["phone"] == f"+86{phone}"]
        assert len(stored) == 1, stored
        lead = stored[0]
        assert lead["name"] == "王经理" and lead["channel"] == "ui"
        assert lead["consent_at"] and lead["consent_version"]
        assert lead["session_id"] == ui_session(store, question)
        assert [m["content"] for m in lead["transcript"] if m["role"] == "user"] == [question]
        assert_only_local(requested)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_phone_width_has_no_horizontal_scroll(
    browser: Any, api_server: Any, artifacts: Path, lang: str
) -> None:
    overflow = "() => document.documentElement.scrollWidth - window.innerWidth"
    with ui_page(browser, api_server, width=390, height=844) as (page, requested):
        if lang == "en":
            page.get_by_role("radio", name="English").check()
            page.get_by_role("tab", name=ui("en", "tabs.chat")).wait_for()
        page.screenshot(path=artifacts / "01-chat.png", full_page=True)
        assert page.evaluate(overflow) <= 0
        for i, key in enumerate(("premium", "claim", "calculators", "specialist"), start=2):
            page.get_by_role("tab", name=ui(lang, f"tabs.{key}")).click()
            if key == "premium":
                page.get_by_role("textbox", name=ui(lang, "premium.sales"), exact=True).fill(
                    "5000万"
                )
                page.locator("#ca-premium-industry input").click()
                page.get_by_role("option").first.click()
                page.locator("#ca-premium-go").click()
                page.locator("#ca-premium-result .ca-premium").wait_for()
            page.screenshot(path=artifacts / f"{i:02d}-{key}.png", full_page=True)
            assert page.evaluate(overflow) <= 0, key
        # The inputs are usable: the chat box is on screen and wide enough to type in.
        page.get_by_role("tab", name=ui(lang, "tabs.chat")).click()
        box = page.locator("#ca-input textarea").bounding_box()
        assert box is not None and box["width"] >= 200 and box["x"] >= 0
        assert_only_local(requested)


def test_the_language_switch_relabels_the_chips_and_a_chip_then_asks_in_english(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    from assistant.ui.chat import translate_chip

    question = "信用保险保什么、不保什么？"
    with ui_page(browser, api_server) as (page, requested):
        ask(page, question)
        page.wait_for_selector("#ca-chips button:visible", timeout=FIRST_ANSWER_MS)
        zh_chips = page.locator("#ca-chips button:visible").all_inner_texts()
        assert zh_chips and all(re.search(r"[\u4e00-\u9fff]", c) for c in zh_chips)
        page.screenshot(path=artifacts / "01-zh-chips.png")

        page.get_by_role("radio", name="English").check()
        expected = [translate_chip(api_server.assistant, c.strip(), "en") for c in zh_chips]
        wait_until(
            lambda: (
                [c.strip() for c in page.locator("#ca-chips button:visible").all_inner_texts()]
                == expected
            )
        )
        assert not any(re.search(r"[\u4e00-\u9fff]", c) for c in expected), expected
        page.screenshot(path=artifacts / "02-en-chips.png")

        page.locator("#ca-chips button:visible").first.click()
        sid = ui_session(api_server.assistant.store, expected[0])
        wait_until(lambda: len(api_server.assistant.store.transcript(sid)) >= 2)
        assert api_server.assistant.store.transcript(sid)[-1]["reply"]["lang"] == "en"
        assert_only_local(requested)


def test_the_premium_form_names_the_minimum_premium_next_to_a_lifted_figure(
    browser: Any, api_server: Any, artifacts: Path
) -> None:
    tb = api_server.assistant.toolbox
    sales = 8_000_000  # food at 0.15% x 1.089 of 800万 rates below the minimum premium
    expected = estimate_premium(
        PremiumInput(annual_credit_sales=sales, industry="food_agri"),
        tb.rating,
        tb.policy,
        lang="zh",
    )
    assert expected.low_at_minimum and not expected.minimum_applied
    with ui_page(browser, api_server) as (page, requested):
        page.get_by_role("tab", name=ui("zh", "tabs.premium")).click()
        page.get_by_role("textbox", name=ui("zh", "premium.sales"), exact=True).fill("800万")
        page.locator("#ca-premium-industry input").click()
        page.get_by_role("option", name="食品与农产品").click()
        page.locator("#ca-premium-go").click()
        result = page.locator("#ca-premium-result .ca-premium")
        result.wait_for()
        page.screenshot(path=artifacts / "01-minimum.png", full_page=True)
        low = result.locator(".ca-range-low .ca-range-value").inner_text()
        assert money(expected.minimum_premium, "zh") in low
        assert ui("zh", "premium.at_minimum") in low and "%" not in low
        base = result.locator(".ca-range-base .ca-range-value").inner_text()
        rate = float(re.search(r"\(([\d.]+)%\)", base).group(1))  # type: ignore[union-attr]
        assert abs(rate - expected.base / sales * 100) <= 0.0006
        assert money(expected.minimum_premium, "zh") in result.locator(".ca-warn").inner_text()
        assert_only_local(requested)
