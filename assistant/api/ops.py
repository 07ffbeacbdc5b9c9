"""Liveness, readiness and Prometheus metrics, for load balancers and monitoring."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from assistant import metrics
from assistant.api.deps import SettingsDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request, settings: SettingsDep) -> dict[str, object] | JSONResponse:
    """Ready to answer: the index exists, this process has loaded it, and the database and
    the Chroma collection it serves both answer now. 503 with the failing check otherwise."""
    from assistant.knowledge.index import KnowledgeIndex

    manifest = KnowledgeIndex(settings).ensure_local()
    if manifest is None:
        return _not_ready("no index: run ingest.py")
    bot = request.app.state.assistant
    if bot is None:
        return _not_ready("loading")
    try:
        bot.store.ping()
    except Exception as exc:
        log.warning("readiness: database check failed", extra={"error": type(exc).__name__})
        return _not_ready("database unavailable")
    try:
        chunks = bot.engine.check_store()
    except Exception as exc:
        log.warning("readiness: Chroma check failed", extra={"error": type(exc).__name__})
        return _not_ready("vector store unavailable")
    return {
        "status": "ready",
        "generation": bot.engine.generation,
        "live_generation": manifest.generation,
        "chunks": chunks,
    }


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not_ready", "reason": reason}, status_code=503)


@router.get("/metrics", response_class=Response)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format: requests and latencies per route, retrieval latency, tool
    calls, chat turns, leads, rate-limit refusals and the lead webhook backlog."""
    bot = request.app.state.assistant
    if bot is not None:
        metrics.WEBHOOK_BACKLOG.set(bot.store.outbox_backlog())
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
