"""The server as a separate process: what it acknowledged survives a restart and a crash.

A deployment restarts the API (SIGTERM) and, now and then, the process dies outright
(SIGKILL: the OOM killer, a node failure). Sessions must continue where they stopped and a
lead the website was told is stored ("201 Created") must still be there afterwards, once.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api.auth import key_hash
from assistant.config import Settings
from tests.conftest import ADMIN_KEY, SUPPORT_KEY
from tests.server_proc import ServerProcess, child_env

TIMEOUT = httpx.Timeout(120.0)
SUPPORT = {"X-API-Key": SUPPORT_KEY}


@pytest.fixture
def server(full_settings: Settings, tmp_path: Path) -> ServerProcess:
    """A ``python server.py`` child over the shared index, with its own database file."""
    return ServerProcess(
        full_settings,
        tmp_path / "server",
        database_url=f"sqlite:///{tmp_path / 'restart.db'}",
        api_keys=f"support:{key_hash(SUPPORT_KEY)},admin:{key_hash(ADMIN_KEY)}",
        # One test client is one IP: the limits have their own tests.
        rate_limit_ip="100000/minute",
        rate_limit_session="100000/minute",
        lead_webhook_url=None,
    )


def test_the_child_gets_exactly_the_given_settings_and_nothing_from_the_shell(
    full_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer's shell may export settings (names match case-insensitively).
    monkeypatch.setenv("LLM", "openai:gpt-4o-mini")
    monkeypatch.setenv("lead_webhook_url", "http://crm.invalid/hook")
    env = child_env(full_settings, database_url="sqlite:///elsewhere.db", chroma_ssl=True)
    assert not any(k.upper() == "LEAD_WEBHOOK_URL" for k in env)
    # Read back the way the child reads it: the environment is all there is.
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen = Settings(_env_file=None)
    expected = full_settings.model_copy(
        update={"database_url": "sqlite:///elsewhere.db", "chroma_ssl": True}
    )
    assert seen.model_dump() == expected.model_dump()


def chat(url: str, message: str, session_id: str | None = None) -> dict[str, Any]:
    body = {"message": message, "session_id": session_id} if session_id else {"message": message}
    resp = httpx.post(f"{url}/v1/chat", json=body, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    reply: dict[str, Any] = resp.json()
    return reply


def all_leads(url: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{url}/v1/leads", params={"limit": 1000}, headers=SUPPORT, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    leads: list[dict[str, Any]] = resp.json()["leads"]
    return leads


def test_a_restart_keeps_sessions_and_leads_and_the_conversation_continues(
    server: ServerProcess,
) -> None:
    lead_body = {"consent": True, "phone": "13912345678", "name": "陈经理", "need": "信用保险咨询"}
    with server:
        first = chat(server.url, "我们年销售额五千万，保费大概多少？")
        sid = first["session_id"]
        second = chat(server.url, "做电子元器件的", sid)
        # Answer first: quoted with sales and industry, the credit terms still assumed and
        # invited (the form stays open for them).
        assert second["intent"] == "quote"
        assert [c["name"] for c in second["tool_calls"]] == ["estimate_premium"]
        assert "avg_credit_days" not in second["tool_calls"][0]["args"]
        posted = httpx.post(
            f"{server.url}/v1/leads",
            json={**lead_body, "session_id": sid},
            headers={"Idempotency-Key": "restart-lead-1"},
            timeout=TIMEOUT,
        )
        assert posted.status_code == 201 and posted.json()["created"] is True
        lead_id = posted.json()["lead_id"]
        before = httpx.get(f"{server.url}/v1/sessions/{sid}", timeout=TIMEOUT).json()
        server.stop()
        assert not server.running

        server.start()  # a new process, the same database
        after = httpx.get(f"{server.url}/v1/sessions/{sid}", timeout=TIMEOUT)
        assert after.status_code == 200
        assert after.json() == before
        stored = {lead["id"]: lead for lead in all_leads(server.url)}
        assert stored[lead_id]["session_id"] == sid
        assert stored[lead_id]["phone"] == "+8613912345678"
        assert [m["role"] for m in stored[lead_id]["transcript"]] == ["user", "assistant"] * 2
        # The submit is retried after the restart: still the same, single lead.
        again = httpx.post(
            f"{server.url}/v1/leads",
            json={**lead_body, "session_id": sid},
            headers={"Idempotency-Key": "restart-lead-1"},
            timeout=TIMEOUT,
        )
        assert again.status_code == 201
        assert again.json()["lead_id"] == lead_id and again.json()["created"] is False

        third = chat(server.url, "账期一般60天", sid)
        quote = next(c for c in third["tool_calls"] if c["name"] == "estimate_premium")
        assert quote["args"]["annual_credit_sales"] == 50_000_000
        assert quote["args"]["industry"] == "electronics"
        assert quote["args"]["avg_credit_days"] == 60
        messages = httpx.get(f"{server.url}/v1/sessions/{sid}", timeout=TIMEOUT).json()["messages"]
        assert messages[:4] == before["messages"]
        assert [m["role"] for m in messages[4:]] == ["user", "assistant"]


class LeadPoster(threading.Thread):
    """Posts leads with fresh Idempotency-Keys until told to stop or the server is gone.

    Records each key's fate: ``acked`` (201 seen, with the lead id), ``unknown`` (sent, but
    the connection broke before an answer: stored or not, the client cannot tell) and
    ``other`` (any other status, which is a failure).
    """

    def __init__(self, url: str, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.url, self.stop = url, stop
        self.acked: dict[str, str] = {}
        self.unknown: list[str] = []
        self.other: list[str] = []
        self.bodies: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            for n in range(10_000):
                if self.stop.is_set():
                    return
                key = f"{self.name}-{n}"
                body = {
                    "consent": True,
                    "phone": f"1381234{len(self.bodies):04d}",
                    "name": key,
                    "need": "其他",
                }
                self.bodies[key] = body
                try:
                    resp = client.post(
                        f"{self.url}/v1/leads", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.ConnectError:
                    return  # refused: the server is down, nothing was sent
                except httpx.TransportError:
                    self.unknown.append(key)
                    return
                if resp.status_code == 201:
                    self.acked[key] = resp.json()["lead_id"]
                else:
                    self.other.append(f"{key}: {resp.status_code} {resp.text[:200]}")


def test_every_acknowledged_lead_survives_a_crash_exactly_once(server: ServerProcess) -> None:
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    with server:
        posters = [LeadPoster(server.url, f"crash-{run}-{t}", stop) for t in range(6)]
        for poster in posters:
            poster.start()
        # Kill mid-stream: once plenty of leads are in, while the threads keep posting.
        while sum(len(p.acked) for p in posters) < 60:
            assert all(p.is_alive() for p in posters), [p.other for p in posters]
            time.sleep(0.05)
        server.kill()
        stop.set()
        for poster in posters:
            poster.join(timeout=60)
            assert not poster.is_alive()

        acked = {k: v for p in posters for k, v in p.acked.items()}
        unknown = [k for p in posters for k in p.unknown]
        assert not [o for p in posters for o in p.other]
        bodies = {k: v for p in posters for k, v in p.bodies.items()}

        server.start()  # a new process on the crashed one's database
        stored = all_leads(server.url)
        by_id = {lead["id"]: lead for lead in stored}
        for key, lead_id in acked.items():
            assert lead_id in by_id, f"acknowledged lead {key} ({lead_id}) was lost"
            assert by_id[lead_id]["idempotency_key"] == key
            assert by_id[lead_id]["phone"] == "+86" + bodies[key]["phone"]
        assert all(n == 1 for n in Counter(lead["idempotency_key"] for lead in stored).values())

        # The widget retries what it never heard back about, and a few acknowledged ones:
        # the acknowledged keep their id; every key ends up stored exactly once.
        for key in unknown + sorted(acked)[:10]:
            resp = httpx.post(
                f"{server.url}/v1/leads",
                json=bodies[key],
                headers={"Idempotency-Key": key},
                timeout=TIMEOUT,
            )
            assert resp.status_code == 201
            if key in acked:
                assert resp.json()["lead_id"] == acked[key]
                assert resp.json()["created"] is False
        keys = Counter(lead["idempotency_key"] for lead in all_leads(server.url))
        assert set(acked) | set(unknown) <= set(keys)
        assert set(keys) <= set(bodies)
        assert all(n == 1 for n in keys.values())


def test_several_workers_keep_json_logs_masking_and_request_ids(
    full_settings: Settings, tmp_path: Path
) -> None:
    """`python server.py --workers N` (here WEB_CONCURRENCY=2): uvicorn's worker processes
    build their own app, and each one writes the same masked JSON log lines."""
    with ServerProcess(
        full_settings,
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'workers.db'}",
        web_concurrency=2,
        log_format="json",
        log_level="info",
        rate_limit_ip="100000/minute",
        lead_webhook_url=None,
    ).start() as server:
        for n in range(6):
            resp = httpx.post(
                f"{server.url}/v1/leads",
                json={"phone": f"1391234{n:04d}", "name": "周先生", "consent": True},
                headers={"X-Request-ID": f"workers-{n}"},
                timeout=TIMEOUT,
            )
            assert resp.status_code == 201
        time.sleep(0.5)
        log = server.log_tail(200_000)
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    pids = {line["pid"] for line in lines if "Started server process" in line["message"]}
    assert len(pids) == 2, log[-2000:]  # two workers, each logging through our handler
    mine = [line for line in lines if str(line.get("request_id", "")).startswith("workers-")]
    assert {line["request_id"] for line in mine} == {f"workers-{n}" for n in range(6)}
    assert "1391234000" not in log  # every phone masked, in every worker
