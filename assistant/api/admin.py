"""Admin: re-index the knowledge folder over HTTP (admin key only).

``POST /v1/admin/ingest`` starts a sync in the background and answers 202 with a job to
poll at ``GET /v1/admin/ingest/{job_id}``. One ingestion at a time: a second POST while
one is queued or running gets 409 with the running job's id (it does not start another).
Files that fail to load are listed in a succeeded job's report and keep their previous
chunks; ``failed`` means the sync itself broke and the live index was left as it was.
After a sync, the running assistant answers from the new index at once. Jobs are kept in
memory (the newest 20): their status does not survive a restart; the index does.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant import i18n
from assistant.api.auth import require
from assistant.api.deps import AssistantDep
from assistant.api.errors import ApiError, request_lang
from assistant.config import PROJECT_ROOT
from assistant.knowledge import jobs as ingest_jobs
from assistant.knowledge.index import SyncReport
from assistant.knowledge.jobs import IngestBusyError, IngestJob, IngestJobs

router = APIRouter(prefix="/v1", tags=["admin"], dependencies=[Depends(require("admin"))])

_jobs_lock = threading.Lock()

# Failure codes a job can end with; each has its message at api.admin.job_errors.<code>.
JOB_ERRORS: tuple[str, ...] = (
    ingest_jobs.KNOWLEDGE_DIR_MISSING,
    ingest_jobs.INDEX_BUSY,
    ingest_jobs.RELOAD_FAILED,
    ingest_jobs.ABANDONED,
    ingest_jobs.INGEST_FAILED,
)


def job_error_message(code: str, lang: str) -> str:
    """A failed job's message; an unknown code reads as a generic failure."""
    known = code if code in JOB_ERRORS else ingest_jobs.INGEST_FAILED
    return i18n.t(lang, f"api.admin.job_errors.{known}")


class IngestRequest(BaseModel):
    # strict: true/false only; "dry_run": 0 used to start a real ingest.
    model_config = ConfigDict(extra="forbid", strict=True)

    rebuild: bool = Field(
        False, description="Re-read and re-embed every file, not only new or edited ones."
    )
    dry_run: bool = Field(False, description="Report what would change; write nothing.")


class FileFailure(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    """What the sync did. Paths are relative to the knowledge folder."""

    ok: bool = Field(description="No file failed.")
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    failed: list[FileFailure] = Field(description="Files that kept their previous chunks.")
    chunks: int = Field(description="Chunks in the index after the sync.")
    embedded: int = Field(description="Chunks embedded now (the rest came from the cache).")
    generation: str
    rebuilt: bool
    dry_run: bool
    seconds: float


class JobError(BaseModel):
    code: str
    message: str


class IngestJobOut(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    rebuild: bool
    dry_run: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None = Field(description="Seconds from start to finish (so far).")
    report: IngestReport | None
    error: JobError | None
    links: dict[str, str]


def _link(job_id: str) -> str:
    return f"/v1/admin/ingest/{job_id}"


def _relative(shown: str, knowledge_dir: Path) -> str:
    """A report path relative to the knowledge folder: no server paths reach the client."""
    path = Path(shown)
    base = knowledge_dir.resolve()
    tries = [path] if path.is_absolute() else [PROJECT_ROOT / path, Path.cwd() / path]
    for candidate in tries:
        try:
            return candidate.resolve().relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name


def _report(report: SyncReport, knowledge_dir: Path) -> IngestReport:
    def rel(paths: list[str]) -> list[str]:
        return [_relative(p, knowledge_dir) for p in paths]

    prefixes = [f"{knowledge_dir.resolve()}/", f"{PROJECT_ROOT}/"]

    def clean(reason: str) -> str:
        for prefix in prefixes:
            reason = reason.replace(prefix, "")
        return reason

    return IngestReport(
        ok=report.ok,
        added=rel(report.added),
        changed=rel(report.changed),
        removed=rel(report.removed),
        unchanged=rel(report.unchanged),
        failed=[
            FileFailure(path=_relative(f["path"], knowledge_dir), reason=clean(f["reason"]))
            for f in report.failed
        ],
        chunks=report.chunks,
        embedded=report.embedded,
        generation=report.generation,
        rebuilt=report.rebuilt,
        dry_run=report.dry_run,
        seconds=round(report.seconds, 3),
    )


def _out(job: IngestJob, jobs: IngestJobs, lang: str) -> IngestJobOut:
    knowledge_dir = jobs.assistant.settings.knowledge_dir
    error = None
    if job.error is not None:
        error = JobError(code=job.error, message=job_error_message(job.error, lang))
    return IngestJobOut(
        job_id=job.id,
        status=job.status,
        rebuild=job.rebuild,
        dry_run=job.dry_run,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        duration=job.duration,
        report=_report(job.report, knowledge_dir) if job.report is not None else None,
        error=error,
        links={"self": _link(job.id)},
    )


def get_jobs(request: Request, assistant: AssistantDep) -> IngestJobs:
    """The app's job list, made on the first ingestion (it needs the running Assistant)."""
    state = request.app.state
    with _jobs_lock:
        jobs: IngestJobs | None = getattr(state, "ingest_jobs", None)
        if jobs is None:
            jobs = state.ingest_jobs = IngestJobs(assistant)
    return jobs


@router.post(
    "/admin/ingest",
    status_code=202,
    response_model=IngestJobOut,
    responses={409: {"description": "An ingestion is already running; `error.job_id` names it."}},
)
def start_ingest(
    request: Request,
    response: Response,
    jobs: Annotated[IngestJobs, Depends(get_jobs)],
    body: IngestRequest | None = None,
) -> Any:
    """Sync the knowledge folder in the background: new, edited and deleted files."""
    options = body or IngestRequest()
    lang = request_lang(request)
    try:
        job = jobs.start(rebuild=options.rebuild, dry_run=options.dry_run)
    except IngestBusyError as busy:
        running = busy.job.id
        message = i18n.t(lang, "api.admin.ingest_running", job_id=running)
        return JSONResponse(
            {"error": {"code": "ingest_running", "message": message, "job_id": running}},
            status_code=409,
        )
    response.headers["Location"] = _link(job.id)
    return _out(job, jobs, lang)


@router.get("/admin/ingest/{job_id}", response_model=IngestJobOut)
def get_ingest(
    request: Request,
    job_id: Annotated[str, PathParam(max_length=64)],
    jobs: Annotated[IngestJobs, Depends(get_jobs)],
) -> IngestJobOut:
    """A job's status, timings and report, whichever replica runs it (kept in the database;
    the newest 100 jobs)."""
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found")
    return _out(job, jobs, request_lang(request))
