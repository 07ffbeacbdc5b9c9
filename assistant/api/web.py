"""The embeddable widget (``/widget.js``) and the demo lead-form page.

Sales paste one ``<script src=".../widget.js">`` tag into any page. The script is static,
but its wording is data: the ``widget:`` section of the locale files, the lead-form needs
and which tool implies which need are injected at serve time, so the business edits YAML,
not JavaScript. The body is built once per file version and revalidated with an ETag, so
host pages pay a 304 per visit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from assistant import i18n, privacy
from assistant.api.deps import SettingsDep
from assistant.api.errors import ApiError
from assistant.config import Settings
from assistant.dialogue.forms import NEED_BY_CONTEXT
from assistant.tools.leads import NEED_LABELS

router = APIRouter(tags=["web"], include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
WIDGET_JS = WEB_DIR / "widget.js"
DEMO_PAGE = WEB_DIR / "demo" / "lead-form.html"
DATA_MARKER = '"__CREDIT_ADVISOR_DATA__"'
"""The literal in widget.js replaced by the JSON blob (the script works, untranslated,
if served without it)."""

# Host pages revalidate after five minutes, so a new widget reaches every site quickly.
WIDGET_CACHE = "public, max-age=300, must-revalidate"


@dataclass(frozen=True)
class Bundle:
    """The served script, plain and gzipped (the widget is text: gzip cuts it to a third)."""

    body: bytes
    gzipped: bytes
    etag: str


@lru_cache(maxsize=8)
def _bundle(version: tuple[int, int], consent: tuple[tuple[str, str, str, str], ...]) -> Bundle:
    data = {
        "strings": {lang: i18n.lookup(lang, "widget") for lang in i18n.LANGS},
        "needs": NEED_LABELS,
        "need_by_tool": NEED_BY_CONTEXT,
        # The consent notice the widget's own lead form shows (个人信息保护法).
        "consent": {lang: {"notice": n, "checkbox": c, "url": u} for lang, n, c, u in consent},
    }
    source = WIDGET_JS.read_text(encoding="utf-8")
    body = source.replace(DATA_MARKER, json.dumps(data, ensure_ascii=False), 1).encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Bundle(body, gzip.compress(body, compresslevel=9, mtime=0), etag)


def widget_bundle(settings: Settings) -> Bundle:
    """The served widget for the file's current version (mtime, size): an edit shows up
    without a restart."""
    stat = WIDGET_JS.stat()
    consent = tuple(
        (
            lang,
            privacy.notice(lang, settings),
            i18n.t(lang, "consent.checkbox"),
            settings.privacy_policy_url,
        )
        for lang in i18n.LANGS
    )
    return _bundle((stat.st_mtime_ns, stat.st_size), consent)


def _etag_matches(request: Request, etags: set[str]) -> bool:
    header = request.headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return bool(tags & etags) or "*" in tags


@router.api_route("/widget.js", methods=["GET", "HEAD"])
def widget_js(request: Request, settings: SettingsDep) -> Response:
    """The chat launcher for any page: one script tag, options as data-* attributes."""
    bundle = widget_bundle(settings)
    zipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    # Each encoding has its own strong ETag; either one revalidates (same script).
    gz_etag = bundle.etag[:-1] + '-gz"'
    headers = {
        "ETag": gz_etag if zipped else bundle.etag,
        "Cache-Control": WIDGET_CACHE,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if _etag_matches(request, {bundle.etag, gz_etag}):
        return Response(status_code=304, headers=headers)
    content = bundle.gzipped if zipped else bundle.body
    if zipped:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(content))
        content = b""
    return Response(content, media_type="application/javascript; charset=utf-8", headers=headers)


@router.get("/demo/lead-form.html", response_class=HTMLResponse)
def demo_lead_form() -> HTMLResponse:
    """An insurer-style article page with its lead form and two widgets (form and post mode)."""
    return HTMLResponse(
        DEMO_PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"}
    )


@router.api_route("/gradio_api/upload", methods=["GET", "POST"])
@router.api_route("/gradio_api/upload_progress", methods=["GET", "POST"])
def no_uploads() -> None:
    """The UI has no file inputs, so Gradio's anonymous upload route is switched off: a
    public route that wrote any visitor's files to disk (and left a temp file behind for
    each refused one) served no purpose. Matched before the UI mount; the body is never
    read."""
    raise ApiError(404, "not_found")
