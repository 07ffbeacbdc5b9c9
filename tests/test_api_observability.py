"""Request ids, Prometheus metrics, the chunked-body limit and privacy-safe JSON logs.

HTTP checks run against the shared ``api_server`` (a real uvicorn server; body limit 4096
bytes). Metrics live in one registry per process, so each check reads ``/metrics`` before
and after its own requests and compares the difference.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.config import Settings
from assistant.logs import configure, request_id_var

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def url(api_server: Any) -> str:
    return str(api_server.url)


# --- request ids --------------------------------------------------------------------------


def test_every_response_carries_a_request_id_even_errors(url: str) -> None:
    responses = [
        httpx.get(f"{url}/healthz"),
        httpx.get(f"{url}/v1/sessions/s_does_not_exist"),  # 404
        httpx.post(f"{url}/v1/chat", json={}),  # 422
        httpx.post(f"{url}/v1/chat", content=b"x" * 5000),  # 413 from the body limit
        httpx.get(f"{url}/no/such/route"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 422, 413, 404]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(GENERATED_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_sane_request_id_is_echoed(url: str) -> None:
    given = "lb-2026.11_28-Abc"
    resp = httpx.post(f"{url}/v1/chat", json={"message": "你好"}, headers={"X-Request-ID": given})
    assert resp.status_code == 200
    assert resp.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    ["x" * 65, "has space", "a/b", "<script>", "id;drop", "键"],
    ids=["too-long", "space", "slash", "markup", "semicolon", "non-ascii"],
)
def test_an_odd_request_id_is_replaced_with_a_fresh_one(url: str, given: str) -> None:
    resp = httpx.get(f"{url}/healthz", headers={b"X-Request-ID": given.encode()})
    assert resp.status_code == 200
    assert GENERATED_ID.match(resp.headers["x-request-id"])


# --- metrics --------------------------------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics``, parsed by prometheus-client's own text parser."""
    resp = httpx.get(f"{url}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_not_by_concrete_path(url: str) -> None:
    sid = httpx.post(f"{url}/v1/chat", json={"message": "你好"}).json()["session_id"]
    route = {"method": "GET", "route": "/v1/sessions/{session_id}"}
    before = scrape(url)
    assert httpx.get(f"{url}/v1/sessions/{sid}").status_code == 200
    assert httpx.get(f"{url}/v1/sessions/{sid}").status_code == 200
    assert httpx.get(f"{url}/v1/sessions/s_missing_one").status_code == 404
    assert httpx.get(f"{url}/v1/no-such-thing-{sid}").status_code == 404
    after = scrape(url)

    name = "credit_advisor_http_requests_total"
    assert (
        value(after, name, **route, status="200") - value(before, name, **route, status="200") == 2
    )
    assert (
        value(after, name, **route, status="404") - value(before, name, **route, status="404") == 1
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    hist = "credit_advisor_http_request_duration_seconds_count"
    assert value(after, hist, **route) - value(before, hist, **route) == 3
    # Concrete ids never become label values (one time series per id would explode).
    labels = {v for _, pairs in after for _, v in pairs}
    assert not any(sid in v or "s_missing_one" in v for v in labels)


def test_a_knowledge_question_is_timed_as_a_retrieval_and_counted_as_a_turn(url: str) -> None:
    before = scrape(url)
    reply = httpx.post(f"{url}/v1/chat", json={"message": "逾期申报期限是多久？"}, timeout=60)
    assert reply.status_code == 200 and reply.json()["citations"]
    after = scrape(url)
    count = "credit_advisor_retrieval_duration_seconds_count"
    assert value(after, count) - value(before, count) >= 1
    assert value(after, "credit_advisor_retrieval_duration_seconds_sum") > value(
        before, "credit_advisor_retrieval_duration_seconds_sum"
    )
    turns = {"mode": reply.json()["mode"], "channel": "api"}
    turn = "credit_advisor_chat_turns_total"
    assert value(after, turn, **turns) - value(before, turn, **turns) == 1


def test_a_premium_quote_counts_one_tool_call(url: str) -> None:
    before = scrape(url)
    first = httpx.post(
        f"{url}/v1/chat", json={"message": "我们年销售额五千万，保费大概多少？"}, timeout=60
    ).json()
    after = scrape(url)
    calls = [c["name"] for c in first["tool_calls"]]
    assert calls.count("estimate_premium") == 1  # answer first: the sales figure is enough
    ok = {"tool": "estimate_premium", "outcome": "ok"}
    name = "credit_advisor_tool_calls_total"
    assert value(after, name, **ok) - value(before, name, **ok) == 1


def test_leads_are_counted_as_created_then_duplicate(url: str) -> None:
    body = {"consent": True, "phone": "13612345678", "name": "周经理", "need": "信用保险咨询"}
    headers = {"Idempotency-Key": "obs-lead-metrics"}
    before = scrape(url)
    assert httpx.post(f"{url}/v1/leads", json=body, headers=headers).json()["created"] is True
    assert httpx.post(f"{url}/v1/leads", json=body, headers=headers).json()["created"] is False
    after = scrape(url)
    name = "credit_advisor_leads_total"
    for outcome in ("created", "duplicate"):
        labels = {"channel": "widget", "outcome": outcome}
        assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_the_webhook_backlog_gauge_reports_the_outbox(url: str, api_server: Any) -> None:
    samples = scrape(url)
    assert ("credit_advisor_webhook_backlog", frozenset()) in samples
    assert (
        value(samples, "credit_advisor_webhook_backlog")
        == api_server.assistant.store.outbox_backlog()
    )


# --- chunked bodies ----------------------------------------------------------------------


def chunked(data: bytes, size: int = 1024) -> Iterator[bytes]:
    """A generator body: httpx sends it with Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_an_oversized_chunked_body_is_refused_with_413(url: str) -> None:
    data = json.dumps({"message": "应收账款" * 1000}, ensure_ascii=False).encode()
    assert len(data) > 4096
    resp = httpx.post(
        f"{url}/v1/chat",
        content=chunked(data),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413
    error = resp.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "too large" in error["message"]


def test_a_small_chunked_body_is_accepted(url: str) -> None:
    data = json.dumps({"message": "逾期申报期限是多久？"}, ensure_ascii=False).encode()
    resp = httpx.post(
        f"{url}/v1/chat",
        content=chunked(data, size=7),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert resp.status_code == 200
    assert resp.json()["intent"] != "greeting" and resp.json()["answer"]


# --- logs ------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """``assistant.logs.configure`` as the server calls it, writing into a buffer; the
    global logging configuration is put back afterwards."""
    root = logging.getLogger()
    loggers = [logging.getLogger(n) for n in ("assistant", "uvicorn", "uvicorn.error")]
    saved_root = (root.handlers[:], root.level)
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    access = logging.getLogger("uvicorn.access")
    saved_access = access.disabled
    configure(Settings(log_format="json", log_level="INFO", _env_file=None))
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        access.disabled = saved_access


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_log_lines_are_json_with_the_request_id_and_no_phone_numbers_or_names(
    json_log: io.StringIO,
) -> None:
    token = request_id_var.set("req-logs-1")
    try:
        logging.getLogger("assistant.test").info(
            "call back %s or 021-87654321 about order 13800001111222, amount 50000000",
            "13812345678",
            extra={
                "phone": "+86 139-1234-5678",
                "lead_name": "张三丰",
                "lead": {"mobile": "15012349876", "company": "宁波某某贸易"},
                "order_id": "20261128000123456",
                "amount": 13800000000000,
            },
        )
    finally:
        request_id_var.reset(token)
    [line] = lines(json_log)
    assert line["request_id"] == "req-logs-1"
    assert line["level"] == "INFO" and line["logger"] == "assistant.test"
    message = line["message"]
    assert "13812345678" not in message and "*******5678" in message
    assert "87654321" not in message and "*******4321" in message
    # Digits glued into longer numbers are ids and amounts, not phones.
    assert "13800001111222" in message and "50000000" in message
    assert line["phone"].endswith("5678") and "1391234" not in line["phone"].replace("-", "")
    assert set(line["phone"][:-4]) == {"*"}
    assert line["lead_name"] == "张**"
    assert line["lead"] == {"mobile": "*******9876", "company": "宁波某某贸易"}
    assert line["order_id"] == "20261128000123456"
    assert line["amount"] == 13800000000000


@pytest.mark.parametrize(
    "typed",
    [
        "138.1234.5678",
        "(010) 12345678",
        "１３８１２３４５６７８",
        "+86 (138) 1234-5678",
        "0755-8765 4321",
    ],
)
def test_every_phone_format_a_lead_accepts_is_masked_in_logs(
    json_log: io.StringIO, typed: str
) -> None:
    """The log mask and lead capture read numbers with the same parser (phonenumbers), so
    a format the lead form accepts can't slip through the log unmasked."""
    from assistant.tools.leads import normalize_phone

    e164 = normalize_phone(typed)
    logging.getLogger("assistant.test").info("visitor typed %s", typed, extra={"raw": typed})
    [line] = lines(json_log)
    last4 = e164[-4:]
    for text in (line["message"], line["raw"]):
        digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
        assert digits.endswith(last4) and len(digits) == 4, text


def test_an_unhandled_error_is_logged_with_its_request_id_and_answered_500(
    json_log: io.StringIO,
) -> None:
    """500 lines used to carry request_id "-": Starlette's outermost error middleware logs
    after the request's context is gone. The request context now logs and answers."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.api import errors
    from assistant.api.middleware import RequestContext

    app = FastAPI()
    errors.install(app)
    app.add_middleware(RequestContext)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("disk on fire for 13812345678")

    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/boom", headers={"X-Request-ID": "req-500-test"})
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "internal_error"
    assert resp.headers["x-request-id"] == "req-500-test"
    logged = lines(json_log)
    failure = [ln for ln in logged if ln["message"].startswith("unhandled error")]
    assert failure and all(ln["request_id"] == "req-500-test" for ln in failure)
    assert "RuntimeError" in failure[0]["exc_info"]
    assert "13812345678" not in json_log.getvalue()
    assert all(ln["request_id"] != "-" for ln in logged if ln["level"] == "ERROR")


def test_a_logged_exception_does_not_leak_a_phone(json_log: io.StringIO) -> None:
    """Error text often quotes the input: a validation error's ``input_value``, or the
    SQL parameters of a failed insert. The traceback is part of the line, so it must be
    masked like the message."""
    try:
        raise ValueError("could not store lead: parameters ('+8613812345678', '宁波某某贸易')")
    except ValueError:
        logging.getLogger("assistant.test").exception("lead failed for %s", "13812345678")
    [line] = lines(json_log)
    assert "13812345678" not in line["message"]
    assert "ValueError" in line["exc_info"]
    assert "13812345678" not in json_log.getvalue()


def test_a_line_outside_a_request_still_has_a_request_id_field(json_log: io.StringIO) -> None:
    logging.getLogger("assistant.test").warning("index loaded")
    [line] = lines(json_log)
    assert line["request_id"] == "-" and line["message"] == "index loaded"


def test_a_posted_lead_leaves_an_access_line_with_its_request_id_and_no_raw_phone(
    url: str, json_log: io.StringIO
) -> None:
    body = {"consent": True, "phone": "137 1234 5678", "name": "钱女士", "need": "理赔咨询"}
    resp = httpx.post(f"{url}/v1/leads", json=body, headers={"X-Request-ID": "obs-lead-log-1"})
    assert resp.status_code == 201
    # The access line is written after the last byte is sent: wait for it, not for a time.
    deadline = time.monotonic() + 10
    while not any(
        r.get("logger") == "assistant.api.access" and r.get("request_id") == "obs-lead-log-1"
        for r in lines(json_log)
    ):
        assert time.monotonic() < deadline, json_log.getvalue()
        time.sleep(0.02)
    ours = [r for r in lines(json_log) if r.get("request_id") == "obs-lead-log-1"]
    access = next(r for r in ours if r["logger"] == "assistant.api.access")
    assert access["status"] == 201 and access["route"] == "/v1/leads"
    assert access["http_method"] == "POST" and access["path"] == "/v1/leads"
    assert any(resp.json()["lead_id"] in r["message"] for r in ours)  # the lead's own line
    text = json_log.getvalue()
    assert "13712345678" not in text and "1371234" not in text and "钱女士" not in text


def test_session_ids_in_paths_stay_out_of_the_access_log(url: str, json_log: io.StringIO) -> None:
    """An access line names the route template, not the session id in the path."""
    sid = httpx.post(f"{url}/v1/chat", json={"message": "你好"}, timeout=60).json()["session_id"]
    resp = httpx.get(f"{url}/v1/sessions/{sid}", headers={"X-Request-ID": "obs-session-log-1"})
    assert resp.status_code == 200
    deadline = time.monotonic() + 10
    while not any(r.get("request_id") == "obs-session-log-1" for r in lines(json_log)):
        assert time.monotonic() < deadline, json_log.getvalue()
        time.sleep(0.02)
    access = next(r for r in lines(json_log) if r.get("request_id") == "obs-session-log-1")
    assert access["path"] == access["route"] == "/v1/sessions/{session_id}"
    assert sid not in json_log.getvalue()
