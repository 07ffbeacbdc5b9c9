"""The chat API over a real uvicorn server on 127.0.0.1 (not only a TestClient)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from assistant.models import Reply


@pytest.fixture(scope="module")
def base_url(api_server: Any) -> str:
    return str(api_server.url)


def sse_events(resp: httpx.Response) -> list[tuple[str, Any]]:
    """Parse the stream with httpx-sse, which follows the WHATWG EventSource rules (line
    endings, multi-line data, comments such as pings, default event name)."""
    return [(e.event, json.loads(e.data)) for e in EventSource(resp).iter_sse()]


def test_health_and_readiness(base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] > 400


def test_chat_returns_a_reply_and_keeps_the_session(base_url: str) -> None:
    first = httpx.post(
        f"{base_url}/v1/chat", json={"message": "我们年销售额五千万，保费大概多少？"}
    )
    assert first.status_code == 200
    reply = Reply.model_validate(first.json())
    assert reply.intent == "quote" and reply.lang == "zh"
    second = httpx.post(
        f"{base_url}/v1/chat",
        json={"message": "做电子元器件的，账期一般60天", "session_id": reply.session_id},
    )
    call = next(c for c in Reply.model_validate(second.json()).tool_calls)
    assert call.name == "estimate_premium"
    assert call.args["annual_credit_sales"] == 50_000_000


def test_stream_sends_deltas_then_citations_then_done(base_url: str) -> None:
    with httpx.stream(
        "POST", f"{base_url}/v1/chat/stream", json={"message": "逾期申报期限是多久？"}, timeout=60
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse_events(resp)
    names = [n for n, _ in events]
    assert names[0] == "delta" and names[-1] == "done"
    assert "citation" in names
    done = Reply.model_validate(events[-1][1])
    assert "".join(d["text"] for n, d in events if n == "delta") == done.answer


def test_session_can_be_read_and_erased(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/v1/chat", json={"message": "你好"}).json()
    sid = reply["session_id"]
    transcript = httpx.get(f"{base_url}/v1/sessions/{sid}").json()
    assert [m["role"] for m in transcript["messages"]] == ["user", "assistant"]
    assert httpx.delete(f"{base_url}/v1/sessions/{sid}").status_code == 204
    gone = httpx.get(f"{base_url}/v1/sessions/{sid}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "lang", "status", "code"),
    [
        ({"message": "hi", "session_id": "../etc"}, "en", 422, "invalid_request"),
        ({"message": "hi", "lang": "fr"}, "zh", 422, "invalid_request"),
        ({}, "zh", 422, "invalid_request"),
        ({"message": "x" * 5000}, "en", 413, "payload_too_large"),
    ],
)
def test_bad_requests_get_the_json_error_format(
    base_url: str, payload: dict[str, Any], lang: str, status: int, code: str
) -> None:
    resp = httpx.post(f"{base_url}/v1/chat", json=payload, headers={"Accept-Language": lang})
    assert resp.status_code == status
    error = resp.json()["error"]
    assert error["code"] == code
    assert "Traceback" not in error["message"] and "/work" not in error["message"]
    if lang == "zh" and status == 422:
        assert "请求" in error["message"]


def test_docs_work_without_a_cdn(base_url: str) -> None:
    page = httpx.get(f"{base_url}/docs").text
    assert "swagger-ui" in page.lower()
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    import re

    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts
    for src in scripts:
        assert httpx.get(base_url + src if src.startswith("/") else src).status_code == 200
    assert httpx.get(f"{base_url}/openapi.json").json()["info"]["title"].startswith("信保顾问")


@pytest.mark.parametrize(
    ("origin", "allowed"), [("http://localhost:8000", True), ("https://evil.example", False)]
)
def test_cors_allows_only_listed_origins(base_url: str, origin: str, allowed: bool) -> None:
    resp = httpx.options(
        f"{base_url}/v1/chat",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert (resp.headers.get("access-control-allow-origin") == origin) is allowed


def test_a_malformed_session_id_in_the_path_is_refused(base_url: str) -> None:
    resp = httpx.get(f"{base_url}/v1/sessions/bad%20id%21")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_request"


def test_session_ids_are_issued_by_the_server(base_url: str) -> None:
    """The hole: a client could name its own session ("alice"), which another IP then
    read. An id the server never issued starts a new session under a random id."""
    chosen = httpx.post(
        f"{base_url}/v1/chat", json={"message": "你好", "session_id": "alice"}, timeout=60
    ).json()
    issued = chosen["session_id"]
    assert issued != "alice" and re.fullmatch(r"s_[0-9a-f]{32}", issued)
    assert httpx.get(f"{base_url}/v1/sessions/alice").status_code == 404
    again = httpx.post(
        f"{base_url}/v1/chat",
        json={"message": "逾期申报期限是多久？", "session_id": issued},
        timeout=60,
    ).json()
    assert again["session_id"] == issued  # an issued id carries the conversation on
    history = httpx.get(f"{base_url}/v1/sessions/{issued}").json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


def test_a_wrong_method_gets_405_with_allow_and_our_error_format(base_url: str) -> None:
    resp = httpx.delete(f"{base_url}/v1/chat", headers={"Accept-Language": "en"})
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"  # RFC 9110: a 405 names the allowed methods
    assert resp.json()["error"]["code"] == "method_not_allowed"
