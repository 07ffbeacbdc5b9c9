"""``/widget.js`` and ``/demo/lead-form.html`` over real HTTP (the browser tests use them too)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant import i18n
from assistant.api.web import WIDGET_JS
from assistant.dialogue.forms import NEED_BY_CONTEXT
from assistant.tools.leads import NEED_LABELS, NEEDS

pytestmark = pytest.mark.slow

IDENTITY = {"Accept-Encoding": "identity"}


def served_data(script: str) -> dict[str, Any]:
    """The JSON blob the route put in place of the widget's data marker."""
    start = script.index("var SERVED = ") + len("var SERVED = ")
    data, _ = json.JSONDecoder().raw_decode(script, start)
    assert isinstance(data, dict)
    return data


def test_widget_js_is_javascript_with_cache_validators(api_server: Any) -> None:
    r = httpx.get(f"{api_server.url}/widget.js", headers=IDENTITY)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/javascript; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])
    assert "max-age=" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_widget_js_answers_304_to_a_matching_etag(api_server: Any) -> None:
    first = httpx.get(f"{api_server.url}/widget.js", headers=IDENTITY)
    again = httpx.get(
        f"{api_server.url}/widget.js", headers=IDENTITY | {"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    stale = httpx.get(f"{api_server.url}/widget.js", headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200


def test_widget_js_is_gzipped_for_browsers_that_accept_it(api_server: Any) -> None:
    plain = httpx.get(f"{api_server.url}/widget.js", headers=IDENTITY)
    zipped = httpx.get(f"{api_server.url}/widget.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    print(f"\nwidget.js: {len(plain.content)} bytes, {zipped.headers['content-length']} gzipped")
    assert zipped.text == plain.text  # httpx decompressed it
    assert zipped.headers["etag"] != plain.headers["etag"]
    revalidated = httpx.get(
        f"{api_server.url}/widget.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]},
    )
    assert revalidated.status_code == 304


def test_widget_js_head_sends_headers_only(api_server: Any) -> None:
    r = httpx.head(f"{api_server.url}/widget.js", headers=IDENTITY)
    assert r.status_code == 200
    assert r.content == b""
    full = httpx.get(f"{api_server.url}/widget.js", headers=IDENTITY)
    assert int(r.headers["content-length"]) == len(full.content)


def test_widget_js_carries_both_languages_from_the_locale_files(api_server: Any) -> None:
    script = httpx.get(f"{api_server.url}/widget.js", headers=IDENTITY).text
    assert "__CREDIT_ADVISOR_DATA__" not in script
    data = served_data(script)
    for lang in i18n.LANGS:
        assert data["strings"][lang] == i18n.lookup(lang, "widget")
    assert data["needs"] == NEED_LABELS
    assert data["need_by_tool"] == NEED_BY_CONTEXT
    # Everything else is the file as written: the blob is the only change.
    blob = json.dumps(data, ensure_ascii=False)
    assert script.replace(blob, '"__CREDIT_ADVISOR_DATA__"') == WIDGET_JS.read_text("utf-8")


def test_widget_locale_sections_match_key_for_key() -> None:
    zh, en = i18n.lookup("zh", "widget"), i18n.lookup("en", "widget")
    assert zh.keys() == en.keys()
    for key in zh:
        assert type(zh[key]) is type(en[key]), key
        if isinstance(zh[key], str):
            slots = set(re.findall(r"\{(\w+)\}", zh[key]))
            assert slots == set(re.findall(r"\{(\w+)\}", en[key])), key


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.scripts: list[dict[str, str | None]] = []
        self.options: dict[str, list[str]] = {}
        self.required: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
            if "required" in a:
                self.required.add(str(a["id"]))
        if tag == "script" and a.get("src"):
            self.scripts.append(a)
        if tag == "select":
            self._select = str(a.get("id"))
            self.options[self._select] = []
        if tag == "option" and self._select and a.get("value"):
            self.options[self._select].append(str(a["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def test_demo_page_has_the_lead_form_and_two_widget_instances(api_server: Any) -> None:
    r = httpx.get(f"{api_server.url}/demo/lead-form.html")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(r.text)
    assert {"lead-form", "need", "name", "phone", "details"} <= page.ids
    assert page.required == {"need", "phone", "details"}
    assert page.options["need"] == [NEED_LABELS[n]["zh"] for n in NEEDS]
    widgets = [s for s in page.scripts if s["src"] == "/widget.js"]
    assert [w["data-id"] for w in widgets] == ["advisor", "advisor-en"]
    assert [w["data-lead-mode"] for w in widgets] == ["form", "post"]
    fields = json.loads(str(widgets[0]["data-lead-fields"]))
    assert set(fields) == {"need", "name", "phone", "details"}
    for selector in fields.values():
        assert selector.removeprefix("#") in page.ids
    assert str(widgets[0]["data-lead-form"]).removeprefix("#") in page.ids


def test_gradios_upload_route_is_off_and_writes_nothing(api_server: Any) -> None:
    """The hole: the anonymous upload route took 40 x 250 KB in 0.75 s, and each upload
    refused with 413 left a temp file behind. The UI has no file inputs: the route is off."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    before = {p for p in folder.rglob("*")} if folder.exists() else set()
    for _ in range(5):
        r = httpx.post(
            f"{api_server.url}/gradio_api/upload",
            files={"files": ("note.txt", b"x" * 1_000, "text/plain")},  # under the body cap
        )
        assert r.status_code == 404, r.text
    progress = httpx.get(f"{api_server.url}/gradio_api/upload_progress?upload_id=x")
    assert progress.status_code == 404
    after = {p for p in folder.rglob("*")} if folder.exists() else set()
    assert after == before
    assert httpx.get(f"{api_server.url}/").status_code == 200  # the UI itself still loads
