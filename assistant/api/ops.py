"""Liveness, readiness and Prometheus metrics, for load balancers and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from assistant import metrics
from assistant.api.deps import SettingsDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request, settings: SettingsDep) -> dict[str, object] | JSONResponse:
    """Ready to answer: the index exists and this process has loaded it."""
    from assistant.knowledge.index import KnowledgeIndex

    manifest = KnowledgeIndex(settings).read_manifest()
    if manifest is None:
        return JSONResponse(
            {"status": "not_ready", "reason": "no index: run ingest.py"}, status_code=503
        )
    if request.app.state.assistant is None:
        return JSONResponse({"status": "not_ready", "reason": "loading"}, status_code=503)
    return {"status": "ready", "generation": manifest.generation, "chunks": manifest.chunks}


@router.get("/metrics", response_class=Response)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format: requests and latencies per route, retrieval latency, tool
    calls, chat turns, leads, rate-limit refusals and the lead webhook backlog."""
    bot = request.app.state.assistant
    if bot is not None:
        metrics.WEBHOOK_BACKLOG.set(bot.store.outbox_backlog())
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
