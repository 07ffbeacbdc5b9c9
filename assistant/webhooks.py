"""Deliver queued lead events to the CRM webhook (``LEAD_WEBHOOK_URL``).

The outbox pattern: ``Store.add_lead`` writes the lead and its ``lead.created`` event in one
transaction, so an acknowledged lead always has a queued delivery, whatever happens next.
This worker thread sends due events as JSON POSTs and marks them delivered on a 2xx answer;
any other answer, a timeout or a refused connection schedules a retry with exponential
backoff and full jitter, capped at ``WEBHOOK_MAX_BACKOFF``. Events survive restarts because
they live in the database; delivery is at least once, so each call carries the event id in
``Idempotency-Key`` (and ``X-Event-Id``) for the CRM to drop repeats. With
``LEAD_WEBHOOK_SECRET`` each body is signed: ``X-Signature: sha256=<HMAC-SHA256 hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from assistant import metrics

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.storage import Store

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 2.0
"""Longest sleep between checks when nothing is due (new leads wake the worker at once)."""


def backoff_seconds(attempts: int, cap: float, base: float = 1.0) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): a random wait in
    [0, min(cap, base * 2**attempts)], so many failed events don't retry in lockstep."""
    return random.uniform(0, min(cap, base * 2 ** min(attempts, 30))) + 0.05


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """One background thread per server process; ``notify()`` wakes it after a new lead."""

    def __init__(
        self,
        store: Store,
        url: str,
        *,
        secret: str | None = None,
        timeout: float = 5.0,
        max_backoff: float = 300.0,
        lease: float | None = None,
    ) -> None:
        self.store, self.url, self.secret = store, url, secret
        self.timeout, self.max_backoff = timeout, max_backoff
        # How long a claimed event is hidden from other workers: one send and a margin.
        self.lease = lease if lease is not None else timeout + 5
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=timeout, headers={"User-Agent": "credit-advisor"})

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> WebhookDispatcher | None:
        if not settings.lead_webhook_url:
            return None
        return cls(
            store,
            settings.lead_webhook_url,
            secret=settings.lead_webhook_secret,
            timeout=settings.webhook_timeout,
            max_backoff=settings.webhook_max_backoff,
        )

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lead-webhook", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def notify(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception:  # the database may be briefly unavailable; keep the thread
                log.exception("webhook delivery pass failed")
                sent = 0
            if sent:
                continue  # there may be more due right away
            self._wake.wait(self._sleep_for())
            self._wake.clear()

    def _sleep_for(self) -> float:
        try:
            due = self.store.outbox_next_due()
        except Exception:
            return IDLE_POLL_SECONDS
        if due is None:
            return IDLE_POLL_SECONDS
        wait = (due - datetime.now(UTC)).total_seconds()
        return min(IDLE_POLL_SECONDS, max(0.05, wait))

    def deliver_due(self) -> int:
        """Send every event that is due now; returns how many were accepted."""
        accepted = 0
        # One event per lease: the lease covers one send, so a slow CRM never makes an
        # event that waits behind others look abandoned to another worker.
        while not self._stop.is_set():
            claimed = self.store.claim_outbox(limit=1, lease=self.lease)
            if not claimed:
                break
            event = claimed[0]
            ok, error = self._send(event)
            if ok:
                self.store.outbox_delivered(event["id"])
                accepted += 1
                metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
                log.info("webhook delivered", extra={"event_id": event["id"]})
            else:
                wait = backoff_seconds(int(event["attempts"]), self.max_backoff)
                self.store.outbox_failed(event["id"], error, wait)
                metrics.WEBHOOK_DELIVERIES.labels(outcome="failed").inc()
                log.warning(
                    "webhook delivery failed, retrying",
                    extra={"event_id": event["id"], "error": error, "retry_in_s": round(wait, 2)},
                )
        return accepted

    def _send(self, event: dict[str, Any]) -> tuple[bool, str]:
        body = json.dumps(event["payload"], ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": event["id"],
            "X-Event-Id": event["id"],
            "X-Event-Type": event["topic"],
        }
        if self.secret:
            headers["X-Signature"] = sign(body, self.secret)
        try:
            resp = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if 200 <= resp.status_code < 300:
            return True, ""
        return False, f"HTTP {resp.status_code}"
