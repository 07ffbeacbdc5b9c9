"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import SettingsDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(settings: SettingsDep) -> dict[str, object]:
    """The index is built and live (a new deployment is ready once ingestion ran)."""
    from fastapi.responses import JSONResponse

    from assistant.knowledge.index import KnowledgeIndex

    manifest = KnowledgeIndex(settings).read_manifest()
    if manifest is None:
        return JSONResponse(  # type: ignore[return-value]
            {"status": "not_ready", "reason": "no index: run ingest.py"}, status_code=503
        )
    return {"status": "ready", "generation": manifest.generation, "chunks": manifest.chunks}
