"""Background ingestion for the admin API: one sync at a time, across every replica.

A sync can take minutes when much text is new (it is embedded), but ``POST
/v1/admin/ingest`` must answer at once, so the sync runs on a single-thread executor of
the process that accepted it, and the caller polls the job.

Jobs live in the database (``ingest_jobs``), so any replica answers ``GET
/v1/admin/ingest/{id}`` for a job another one runs, and a restart forgets nothing. Only
one job is queued or running at a time across all replicas: a second start is refused
with :class:`IngestBusyError` naming the job in progress. While it runs, the job beats a
heartbeat; a job whose process died stops beating and is marked failed (``abandoned``) by
the next start. The sync itself holds the database's ingestion lock
(:meth:`~assistant.storage.Store.ingest_lock`: a PostgreSQL advisory lock, or a file lock
with SQLite), which a CLI ``ingest.py`` on another machine takes as well.

After a sync that made a new index generation, the running Assistant swaps in an engine
over it (:meth:`~assistant.advisor.Assistant.reload_index`), so the next chat answers
from the new index without a restart. A failed sync never replaces the live index (the
manifest is the commit point; see :mod:`assistant.knowledge.index`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from assistant.knowledge.index import KnowledgeIndex, SyncReport
from assistant.storage import IngestBusy, new_id, utcnow

if TYPE_CHECKING:
    from assistant.advisor import Assistant

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "succeeded", "failed"]

# Why a job failed, as a code: the API turns it into a zh/en message. Exception text
# (paths, stack traces) only goes to the log.
KNOWLEDGE_DIR_MISSING = "knowledge_dir_missing"
INDEX_BUSY = "index_busy"
RELOAD_FAILED = "reload_failed"
INGEST_FAILED = "ingest_failed"
ABANDONED = "abandoned"  # the process running it stopped beating its heartbeat


@dataclass
class IngestJob:
    """One ingestion request and, once it ran, its outcome."""

    id: str
    rebuild: bool
    dry_run: bool
    created_at: datetime
    status: Status = "queued"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    report: SyncReport | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> IngestJob:
        report = row.get("report")
        return cls(
            id=row["id"],
            rebuild=row["rebuild"],
            dry_run=row["dry_run"],
            created_at=row["created_at"],
            status=cast(Status, row["status"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            report=SyncReport(**report) if report is not None else None,
            error=row["error"],
        )

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish; while running, so far."""
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return round((end - self.started_at).total_seconds(), 3)


class IngestBusyError(RuntimeError):
    """An ingestion is already queued or running; ``job`` is that one."""

    def __init__(self, job: IngestJob) -> None:
        super().__init__(f"ingestion {job.id} is {job.status}")
        self.job = job


class _JobFailure(Exception):
    """A failure with a known cause; ``report`` when the sync itself got that far."""

    def __init__(self, code: str, report: SyncReport | None = None) -> None:
        super().__init__(code)
        self.code, self.report = code, report


class IngestJobs:
    """Start an ingestion on this process, read any job of any replica (from the store)."""

    def __init__(
        self, assistant: Assistant, *, heartbeat: float = 10.0, stale_after: float = 120.0
    ) -> None:
        self.assistant = assistant
        self.store = assistant.store
        self.heartbeat = heartbeat
        self.stale_after = max(stale_after, 3 * heartbeat)
        self.runner = f"{socket.gethostname()}:{os.getpid()}"
        # One worker: this process runs its ingestions one after another.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    def start(self, *, rebuild: bool = False, dry_run: bool = False) -> IngestJob:
        """Queue a sync of the knowledge folder; raises IngestBusyError if one is active."""
        try:
            row = self.store.start_ingest_job(
                new_id("ing"),
                rebuild=rebuild,
                dry_run=dry_run,
                runner=self.runner,
                stale_after=self.stale_after,
            )
        except IngestBusy as busy:
            raise IngestBusyError(IngestJob.from_row(busy.job)) from None
        job = IngestJob.from_row(row)
        self._executor.submit(self._run, job)
        return job

    def get(self, job_id: str) -> IngestJob | None:
        """The job as it is now, whichever replica runs it (None when unknown)."""
        row = self.store.get_ingest_job(job_id)
        return IngestJob.from_row(row) if row is not None else None

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait`` let a running sync finish (it commits or not)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _beat(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat):
            try:
                self.store.update_ingest_job(job_id)
            except Exception:  # a database blip must not kill the sync; the next beat retries
                log.warning("ingest job %s: heartbeat failed", job_id, exc_info=True)

    def _run(self, job: IngestJob) -> None:
        job_id = job.id
        self.store.update_ingest_job(job_id, status="running", started_at=utcnow())
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, stop), daemon=True)
        beat.start()
        log.info("ingest job %s started (rebuild=%s, dry_run=%s)", job_id, job.rebuild, job.dry_run)
        try:
            try:
                report = self._ingest(job)
            finally:
                stop.set()
                beat.join()
        except _JobFailure as failure:
            log.exception("ingest job %s failed: %s", job_id, failure.code)
            self._finish(job_id, "failed", failure.report, failure.code)
            return
        except Exception:
            log.exception("ingest job %s failed", job_id)
            self._finish(job_id, "failed", None, INGEST_FAILED)
            return
        log.info(
            "ingest job %s done: %d added, %d changed, %d removed, %d failed, %d chunks",
            job_id,
            len(report.added),
            len(report.changed),
            len(report.removed),
            len(report.failed),
            report.chunks,
        )
        self._finish(job_id, "succeeded", report, None)

    def _finish(
        self, job_id: str, status: Status, report: SyncReport | None, error: str | None
    ) -> None:
        self.store.update_ingest_job(
            job_id,
            status=status,
            report=dataclasses.asdict(report) if report is not None else None,
            error=error,
            finished_at=datetime.now(UTC),
        )

    def _ingest(self, job: IngestJob) -> SyncReport:
        from filelock import Timeout

        settings = self.assistant.settings
        if not settings.knowledge_dir.is_dir():
            # A missing (e.g. unmounted) folder would read as "every file was deleted".
            raise _JobFailure(KNOWLEDGE_DIR_MISSING)
        # A fresh index object: its tokenizer reads the current terms dictionary, which
        # the sync's fingerprint also hashes; the new engine then tokenizes queries alike.
        index = KnowledgeIndex(settings)
        try:
            # One ingestion across machines (the database's lock), then on this disk.
            with self.store.ingest_lock(timeout=600):
                before = index.read_manifest()
                report = index.sync(rebuild=job.rebuild, dry_run=job.dry_run)
        except Timeout as err:
            raise _JobFailure(INDEX_BUSY) from err
        if not job.dry_run and (before is None or report.generation != before.generation):
            try:
                self.assistant.reload_index(index)
            except Exception as err:
                raise _JobFailure(RELOAD_FAILED, report) from err
        return report
