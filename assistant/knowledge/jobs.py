"""Background ingestion for the admin API: one sync at a time, on one worker thread.

A sync can take minutes when much text is new (it is embedded), but ``POST
/v1/admin/ingest`` must answer at once, so the sync runs on a single-thread executor and
the caller polls a job. Only one job is queued or running at a time: a second start is
refused with :class:`IngestBusyError` naming the job in progress. (A CLI ``ingest.py`` in
another process is kept apart by the index's own file lock; the job waits for it.)

Job records live in memory only, the newest ``keep`` of them: a restart forgets them,
while the index itself is on disk and survives. After a sync that made a new index
generation, the running Assistant swaps in an engine over it
(:meth:`~assistant.advisor.Assistant.reload_index`), so the next chat answers from the
new index without a restart. A failed sync never replaces the live index (the manifest is
the commit point; see :mod:`assistant.knowledge.index`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from assistant.knowledge.index import KnowledgeIndex, SyncReport
from assistant.storage import new_id

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
    """The jobs of one running Assistant: start one, read any of the newest ``keep``."""

    def __init__(self, assistant: Assistant, keep: int = 20) -> None:
        self.assistant = assistant
        self.keep = keep
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        # One worker: ingestions run one after another, never side by side.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    def start(self, *, rebuild: bool = False, dry_run: bool = False) -> IngestJob:
        """Queue a sync of the knowledge folder; raises IngestBusyError if one is active."""
        with self._lock:
            for job in self._jobs.values():
                if job.active:
                    raise IngestBusyError(dataclasses.replace(job))
            job = IngestJob(new_id("ing"), rebuild, dry_run, datetime.now(UTC))
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)  # the oldest; never the active one (newest)
            snapshot = dataclasses.replace(job)
        self._executor.submit(self._run, job.id)
        return snapshot

    def get(self, job_id: str) -> IngestJob | None:
        """A copy of the job as it is now (None when unknown or forgotten)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return dataclasses.replace(job) if job is not None else None

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait`` let a running sync finish (it commits or not)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for name, value in changes.items():
                    setattr(job, name, value)

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None:
            return
        self._update(job_id, status="running", started_at=datetime.now(UTC))
        log.info("ingest job %s started (rebuild=%s, dry_run=%s)", job_id, job.rebuild, job.dry_run)
        try:
            report = self._ingest(job)
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
        self._update(
            job_id, status=status, report=report, error=error, finished_at=datetime.now(UTC)
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
        before = index.read_manifest()
        try:
            report = index.sync(rebuild=job.rebuild, dry_run=job.dry_run)
        except Timeout as err:
            raise _JobFailure(INDEX_BUSY) from err
        if not job.dry_run and (before is None or report.generation != before.generation):
            try:
                self.assistant.reload_index(index)
            except Exception as err:
                raise _JobFailure(RELOAD_FAILED, report) from err
        return report
