"""Rate limits (per IP, per session) and CORS over a real uvicorn server on 127.0.0.1.

Every client here is 127.0.0.1, so limits would leak from one test into the next on a
shared server. Each test therefore starts its own small server from ``create_app`` with the
limits it is about (cheap: the Assistant, the slow part, is built once per module and
passed in), and a long window wherever the test does not wait for the window to pass, so
no assertion depends on how fast the machine answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.config import Settings
from tests.conftest import SUPPORT_KEY
from tests.server_proc import RedisServer, serve_in_thread

ALLOWED_ORIGIN = "https://shop.example.cn"
CJK = re.compile(r"[\u4e00-\u9fff]")
HELLO = {"message": "你好"}


@pytest.fixture(scope="module")
def bot(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One Assistant over the shared e5 index with this module's own SQLite database."""
    from assistant.advisor import Assistant
    from assistant.storage import Store

    db: Path = tmp_path_factory.mktemp("limits") / "limits.db"
    assistant = Assistant.from_settings(
        full_settings, store=Store(f"sqlite:///{db}"), today=lambda: date(2026, 11, 28)
    )
    assistant.warm_up()
    return assistant


def _start(app: Any, settings: Settings, stack: ExitStack) -> str:
    """Run ``app`` until ``stack`` closes, with the uvicorn options ``server.py`` uses (so
    proxy-header trust is the product's, not uvicorn's default)."""
    from assistant.api import server_options

    return stack.enter_context(serve_in_thread(app, **server_options(settings)))


@pytest.fixture
def serve(full_settings: Settings, bot: Any) -> Iterator[Callable[..., str]]:
    """``serve(rate_limit_ip=..., ...)`` starts a fresh app (fresh counters) and returns
    its base URL; limits not given are high, so only the limit under test can trigger."""
    from assistant.api import create_app
    from assistant.api.auth import key_hash

    def start(**overrides: object) -> str:
        values: dict[str, object] = {
            "rate_limit_ip": "100000/minute",
            "rate_limit_session": "100000/minute",
            "forwarded_allow_ips": "",
            "cors_origins": ALLOWED_ORIGIN,
            "api_keys": f"support:{key_hash(SUPPORT_KEY)}",
        }
        values.update(overrides)
        settings = full_settings.model_copy(update=values)
        return _start(create_app(settings, bot), settings, stack)

    with ExitStack() as stack:
        yield start


def chat(
    url: str, body: dict[str, Any] = HELLO, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat", json=body, headers=headers, timeout=60)


def retry_after(resp: httpx.Response) -> int:
    """The 429 contract: code ``rate_limited`` and a whole number of seconds to wait."""
    assert resp.status_code == 429, resp.text
    assert resp.json()["error"]["code"] == "rate_limited"
    value = resp.headers["retry-after"]
    assert value.isdigit() and int(value) > 0
    return int(value)


def refusals(url: str, scope: str) -> float:
    """``credit_advisor_rate_limited_total{scope=...}`` (one registry per process)."""
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name == "credit_advisor_rate_limited_total" and sample.labels == {
                "scope": scope
            }:
                return sample.value
    return 0.0


def test_chat_over_the_ip_limit_gets_429_with_retry_after_in_the_callers_language(
    serve: Callable[..., str],
) -> None:
    url = serve(rate_limit_ip="3/minute")
    assert [chat(url).status_code for _ in range(3)] == [200, 200, 200]

    zh = chat(url)
    seconds = retry_after(zh)
    assert seconds <= 60
    message = zh.json()["error"]["message"]
    assert CJK.search(message) and str(seconds) in message

    en = chat(url, headers={"Accept-Language": "en-US,en;q=0.9"})
    seconds = retry_after(en)
    message = en.json()["error"]["message"]
    assert not CJK.search(message) and str(seconds) in message
    assert message.startswith("Too many requests")


def test_a_limited_client_is_served_again_after_waiting_retry_after(
    serve: Callable[..., str],
) -> None:
    url = serve(rate_limit_ip="1/3 seconds")
    assert chat(url).status_code == 200
    wait = retry_after(chat(url))
    assert wait <= 3
    time.sleep(wait)
    assert chat(url).status_code == 200


def test_the_session_limit_blocks_one_session_but_not_another(
    serve: Callable[..., str],
) -> None:
    url = serve(rate_limit_session="2/minute")
    before = refusals(url, "session")
    first = chat(url).json()["session_id"]  # a new session: only the IP limit applies
    turns = [chat(url, {"message": "你好", "session_id": first}).status_code for _ in range(2)]
    assert turns == [200, 200]
    retry_after(chat(url, {"message": "保费怎么算？", "session_id": first}))
    stream = httpx.post(
        f"{url}/v1/chat/stream", json={"message": "你好", "session_id": first}, timeout=60
    )
    retry_after(stream)

    fresh = chat(url)
    assert fresh.status_code == 200
    second = fresh.json()["session_id"]
    assert second != first
    assert chat(url, {"message": "你好", "session_id": second}).status_code == 200
    retry_after(chat(url, {"message": "你好", "session_id": first}))
    assert refusals(url, "session") - before == 3


def test_leads_and_feedback_count_against_the_ip_limit(serve: Callable[..., str]) -> None:
    url = serve(rate_limit_ip="2/minute")

    def lead() -> httpx.Response:
        return httpx.post(
            f"{url}/v1/leads", json={"phone": "13912345678", "name": "赵女士", "consent": True}
        )

    def feedback() -> httpx.Response:
        body = {"session_id": "s_unknown", "message_id": "m_unknown", "rating": 1}
        return httpx.post(f"{url}/v1/feedback", json=body)

    assert lead().status_code == 201
    assert feedback().status_code == 404  # counted although the message does not exist
    retry_after(lead())
    retry_after(feedback())
    retry_after(chat(url))


def test_tool_and_session_routes_count_against_the_ip_limit(serve: Callable[..., str]) -> None:
    """The hole: /v1/tools/* and /v1/sessions/* took 200 requests from one IP, no 429."""
    url = serve(rate_limit_ip="3/minute")
    sid = chat(url).json()["session_id"]
    dso = {"receivables": 300000, "credit_sales": 600000, "period_days": 90}
    assert httpx.post(f"{url}/v1/tools/dso", json=dso).status_code == 200
    assert httpx.get(f"{url}/v1/sessions/{sid}").status_code == 200
    retry_after(httpx.post(f"{url}/v1/tools/dso", json=dso))
    retry_after(httpx.get(f"{url}/v1/sessions/{sid}"))
    retry_after(httpx.delete(f"{url}/v1/sessions/{sid}"))
    retry_after(httpx.get(f"{url}/v1/tools"))


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_replicas_on_one_redis_share_the_ip_limit(
    serve: Callable[..., str], redis_server: RedisServer
) -> None:
    """Two apps (two replicas) with RATE_LIMIT_STORAGE on one Redis: 4/minute in total, not
    4 each. In memory (the default) each would allow 4."""
    shared = {"rate_limit_ip": "4/minute", "rate_limit_storage": redis_server.url}
    a, b = serve(**shared), serve(**shared)
    assert [httpx.get(f"{u}/v1/tools").status_code for u in (a, b, a, b)] == [200] * 4
    retry_after(httpx.get(f"{a}/v1/tools"))
    retry_after(httpx.get(f"{b}/v1/tools"))
    c, d = serve(rate_limit_ip="4/minute"), serve(rate_limit_ip="4/minute")
    assert [httpx.get(f"{u}/v1/tools").status_code for u in (c, d) * 3] == [200] * 6


def test_requests_are_served_while_the_rate_limit_redis_is_down(
    serve: Callable[..., str], redis_server: RedisServer
) -> None:
    url = serve(rate_limit_ip="2/minute", rate_limit_storage=redis_server.url)
    redis_server.stop()
    assert [httpx.get(f"{url}/v1/tools").status_code for _ in range(3)] == [200] * 3
    redis_server.start()  # the same port: counting resumes
    assert [httpx.get(f"{url}/v1/tools").status_code for _ in range(2)] == [200] * 2
    retry_after(httpx.get(f"{url}/v1/tools"))


def test_support_routes_are_not_ip_limited(serve: Callable[..., str]) -> None:
    url = serve(rate_limit_ip="1/minute")
    assert chat(url).status_code == 200
    retry_after(chat(url))
    for _ in range(3):
        listed = httpx.get(f"{url}/v1/leads", headers={"X-API-Key": SUPPORT_KEY})
        assert listed.status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 200
    retry_after(chat(url))  # still exhausted: the support calls were not what passed


def test_forwarded_for_is_ignored_unless_trusted(serve: Callable[..., str]) -> None:
    url = serve(rate_limit_ip="1/minute")
    assert chat(url, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    # A client cannot buy a fresh allowance by inventing a header.
    retry_after(chat(url, headers={"X-Forwarded-For": "203.0.113.2"}))


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
    serve: Callable[..., str],
) -> None:
    url = serve(rate_limit_ip="1/minute", forwarded_allow_ips="127.0.0.1")
    assert chat(url, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    retry_after(chat(url, headers={"X-Forwarded-For": "203.0.113.1"}))
    assert chat(url, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200
    assert chat(url).status_code == 200  # no header: the socket address, its own allowance


def test_a_forged_forwarded_for_does_not_escape_the_limit_behind_a_trusted_proxy(
    serve: Callable[..., str],
) -> None:
    """A proxy appends the address it saw to whatever the client sent, so only the last
    entry is trustworthy; the entries before it are the client's own (forgeable) claim."""
    url = serve(rate_limit_ip="1/minute", forwarded_allow_ips="127.0.0.1")
    assert chat(url, headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}).status_code == 200
    retry_after(chat(url, headers={"X-Forwarded-For": "198.51.100.2, 203.0.113.9"}))


def _preflight(url: str, origin: str) -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,accept-language",
    }
    return httpx.options(f"{url}/v1/chat", headers=headers)


def test_cors_preflight_is_answered_for_allowed_origins_only(serve: Callable[..., str]) -> None:
    url = serve()
    allowed = _preflight(url, ALLOWED_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]

    other = _preflight(url, "https://evil.example.net")
    assert "access-control-allow-origin" not in other.headers


def test_a_429_reaches_the_browser_with_cors_headers_and_retry_after_exposed(
    serve: Callable[..., str],
) -> None:
    url = serve(rate_limit_ip="1/minute")
    ok = chat(url, headers={"Origin": ALLOWED_ORIGIN})
    assert ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN

    limited = chat(url, headers={"Origin": ALLOWED_ORIGIN})
    retry_after(limited)
    assert limited.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = {
        h.strip().lower() for h in limited.headers["access-control-expose-headers"].split(",")
    }
    assert "retry-after" in exposed

    foreign = chat(url, headers={"Origin": "https://evil.example.net"})
    retry_after(foreign)
    assert "access-control-allow-origin" not in foreign.headers


def test_a_half_sent_body_gets_408_and_the_connection_is_closed(
    serve: Callable[..., str],
) -> None:
    """The hole: a client that declared a body and sent part of it held the connection
    for as long as it liked (100 such connections were held)."""
    import socket
    from urllib.parse import urlsplit

    url = serve(body_timeout_seconds=1.0)
    host = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((host.hostname, host.port), timeout=10) as s:
        s.sendall(
            b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Accept-Language: en\r\nContent-Length: 200\r\n\r\n" + b'{"message": "\xe4\xbd\xa0'
        )
        received = b""
        while chunk := s.recv(4096):  # until the server closes the connection
            received += chunk
    waited = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"request_timeout" in received and waited < 8
    # A whole body sent slowly but steadily is fine.
    assert chat(url).status_code == 200


def test_the_uis_own_api_counts_against_the_ip_limit(serve: Callable[..., str]) -> None:
    """The UI's Gradio routes were public and unlimited; a POST there (a chat turn, a
    form) is now a hit on the same per-IP limit. Loading the page is not."""
    url = serve(rate_limit_ip="3/minute")
    for _ in range(4):
        assert httpx.get(f"{url}/").status_code == 200  # page loads are free
    body = {"data": [], "fn_index": 0, "session_hash": "x"}
    first = [httpx.post(f"{url}/gradio_api/queue/join", json=body) for _ in range(3)]
    assert all(r.status_code != 429 for r in first)
    retry_after(httpx.post(f"{url}/gradio_api/queue/join", json=body))
    retry_after(chat(url))  # one budget per IP, shared with the /v1 routes
