"""Retention: chat sessions expire after ``SESSION_TTL_DAYS`` idle, leads are erased after
``LEAD_RETENTION_DAYS`` (个人信息保护法: keep personal data no longer than the purpose
needs).

``purge_once`` erases what is past its time; :class:`RetentionWorker` runs it in each server
process at start and then every ``PURGE_INTERVAL_SECONDS``. Several replicas purging at once
is harmless: the deletes are idempotent and batched. ``python -m assistant purge`` runs it
by hand (or from cron when no server runs).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.storage import Store

log = logging.getLogger(__name__)


def purge_once(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    counts = store.purge(
        sessions_before=now - timedelta(days=settings.session_ttl_days),
        leads_before=now - timedelta(days=settings.lead_retention_days),
    )
    if any(counts.values()):
        log.info("retention purge", extra=counts)
    return counts


class RetentionWorker:
    """A daemon thread: purge now, then every ``interval`` seconds until stopped."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge_once(self.store, self.settings)
            except Exception:  # the database may be briefly away; try again next time
                log.exception("retention purge failed")
            self._stop.wait(self.settings.purge_interval_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
