"""The lead webhook outbox: a CRM that is down, failing or restarted still gets every lead.

A real HTTP receiver (``http.server`` on 127.0.0.1) plays the CRM; the API runs in a real
uvicorn server; events live in a real SQLite database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import Settings
from assistant.storage import LeadRecord, Store
from assistant.webhooks import WebhookDispatcher, backoff_seconds, sign
from tests.server_proc import free_port, serve_in_thread


class Receiver:
    """A CRM stand-in. ``status`` is what it answers; it can be started late (down first)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.delay = 0.0  # seconds each POST takes: a slow CRM
        self.calls: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/crm/leads"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(owner.delay)
                owner.calls.append(
                    {"headers": dict(self.headers), "body": body, "status": owner.status}
                )
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(c["body"]) for c in self.calls if 200 <= c["status"] < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def lead(key: str, phone: str = "+8613812345678") -> LeadRecord:
    return LeadRecord(phone=phone, need="credit_insurance", name="李女士", idempotency_key=key)


def test_backoff_grows_and_is_capped() -> None:
    caps = [max(backoff_seconds(n, cap=60) for _ in range(200)) for n in range(10)]
    assert caps[0] <= 1.1 and caps[3] <= 8.1 and all(c <= 60.05 for c in caps)
    assert max(caps[6:]) > 30  # jitter spans the whole capped window


def test_an_event_is_queued_in_the_same_transaction_as_the_lead(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}", outbox=True)
    lead_id, created = store.add_lead(lead("k1"))
    again, created_again = store.add_lead(lead("k1"))
    assert created and not created_again and again == lead_id
    events = store.outbox()
    assert [e["topic"] for e in events] == ["lead.created"]  # a retry queues nothing
    assert events[0]["payload"]["data"]["id"] == lead_id
    assert store.update_lead_contact(lead_id, company="宁波某某贸易有限公司")
    assert [e["topic"] for e in store.outbox()] == ["lead.created", "lead.updated"]
    quiet = Store(f"sqlite:///{tmp_path / 'b.db'}")  # no webhook configured: no queue
    quiet.add_lead(lead("k2"))
    assert quiet.outbox() == []


def test_failed_deliveries_are_retried_until_the_crm_accepts(
    tmp_path: Path, receiver: Receiver
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'o.db'}", outbox=True)
    receiver.start()
    receiver.status = 503
    store.add_lead(lead("k1"))
    sender = WebhookDispatcher(store, receiver.url, secret="s3cret", max_backoff=1)
    assert sender.deliver_due() == 0
    failed = store.outbox()[0]
    assert failed["attempts"] == 1 and failed["last_error"] == "HTTP 503"
    assert store.outbox_backlog() == 1
    receiver.status = 200
    wait_for(lambda: sender.deliver_due() == 1 or store.outbox_backlog() == 0)
    sender.stop()
    assert store.outbox_backlog() == 0
    body = receiver.calls[-1]["body"]
    headers = {k.lower(): v for k, v in receiver.calls[-1]["headers"].items()}
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-signature"] == expected == sign(body, "s3cret")
    event = json.loads(body)
    assert headers["idempotency-key"] == event["id"] == failed["id"]
    assert event["type"] == "lead.created" and event["data"]["phone"] == "+8613812345678"


def test_a_second_worker_does_not_send_an_event_that_is_being_sent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'l.db'}", outbox=True)
    store.add_lead(lead("k1"))
    first = store.claim_outbox(lease=60)
    assert len(first) == 1
    assert store.claim_outbox(lease=60) == []  # leased to the first worker


def test_two_workers_and_a_slow_crm_send_every_event_exactly_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Each worker leases one event at a time. Leasing a batch made the last events of a
    batch outlive their lease behind slow sends, and the other worker sent them again."""
    store = Store(f"sqlite:///{tmp_path / 's.db'}", outbox=True)
    receiver.start()
    receiver.delay = 0.15
    ids = {store.add_lead(lead(f"k{i}", phone=f"+86138000{i:05d}"))[0] for i in range(24)}
    # A lease of 0.8 s covers one send (0.15 s) but not a batch of them (24 x 0.15 s).
    workers = [WebhookDispatcher(store, receiver.url, timeout=2.0, lease=0.8) for _ in range(2)]
    for w in workers:
        w.start()
    wait_for(lambda: store.outbox_backlog() == 0, timeout=60)
    time.sleep(1.0)  # a duplicate would be a send still in flight now
    for w in workers:
        w.stop()
    sent = [e["data"]["id"] for e in receiver.accepted()]
    assert sorted(sent) == sorted(ids)  # every lead once: no duplicates, none missing
    assert store.outbox_backlog() == 0


def _api(settings: Settings, store: Store) -> Any:
    """The API over ``store`` in a real server (a context manager yielding its URL)."""
    from assistant.advisor import Assistant
    from assistant.api import create_app

    bot = Assistant.from_settings(settings, store=store, today=lambda: date(2026, 11, 28))
    return serve_in_thread(create_app(settings, bot))


def test_a_crm_that_is_down_and_comes_back_gets_every_lead_once(
    full_settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    settings = full_settings.model_copy(
        update={
            "lead_webhook_url": receiver.url,
            "webhook_max_backoff": 1.0,
            "webhook_timeout": 2.0,
            "rate_limit_ip": "100000/minute",
        }
    )
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    phones = [f"1391234{n:04d}" for n in range(12)]
    lead_ids = set()
    with _api(settings, Store(db, outbox=True)) as url:
        for n, phone in enumerate(phones):  # the CRM is not even listening yet
            resp = httpx.post(
                f"{url}/v1/leads",
                json={"consent": True, "phone": phone, "name": f"客户{n}", "need": "信用保险咨询"},
                headers={"Idempotency-Key": f"form-{n}"},
            )
            assert resp.status_code == 201
            lead_ids.add(resp.json()["lead_id"])
        # a retried submit is acknowledged again but is not a second CRM lead
        httpx.post(
            f"{url}/v1/leads",
            json={"consent": True, "phone": phones[0]},
            headers={"Idempotency-Key": "form-0"},
        )
        time.sleep(1.5)
        assert receiver.accepted() == []
        metrics = httpx.get(f"{url}/metrics").text
        assert "credit_advisor_webhook_backlog 12.0" in metrics

    # The server restarts while the CRM is still down: the queue is in the database.
    with _api(settings, Store(db, outbox=True)):
        receiver.start()
        wait_for(lambda: {e["data"]["id"] for e in receiver.accepted()} >= lead_ids, timeout=60)
    delivered = [e["data"]["id"] for e in receiver.accepted()]
    assert sorted(delivered) == sorted(lead_ids)  # every lead, each once
    assert Store(db).outbox_backlog() == 0
