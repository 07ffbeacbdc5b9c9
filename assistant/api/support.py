"""Support team: the unanswered-question log (support key).

``GET /v1/admin/unanswered`` lists declined questions, "did you mean" replies and 👎
ratings grouped by the nearest answer-bank entry, with counts and examples; ``format=csv``
gives one row per logged question for a spreadsheet.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from assistant.api.auth import require
from assistant.api.csvout import CSV_DOC, csv_response
from assistant.api.deps import AssistantDep, IsoDateTime
from assistant.unanswered import group_by_entry

router = APIRouter(prefix="/v1/admin", tags=["support"])
SupportKey = Annotated[str, Depends(require("support"))]
CSV_FIELDS = [
    "created_at",
    "kind",
    "lang",
    "channel",
    "text",
    "nearest_entry",
    "nearest_score",
    "confidence",
    "session_id",
    "message_id",
]


@router.get("/unanswered", response_model=None, responses=CSV_DOC)
def unanswered(
    _: SupportKey,
    assistant: AssistantDep,
    since: IsoDateTime | None = None,
    kind: Literal["none", "suggest", "offtopic", "oos", "thumbs_down"] | None = None,
    limit: int = Query(1000, ge=1, le=10000),
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Questions not answered outright, grouped by nearest entry (JSON) or one per row (CSV)."""
    rows = assistant.store.unanswered(since=since, kind=kind, limit=limit)
    if format == "csv":
        return csv_response(rows, CSV_FIELDS, "unanswered.csv")
    return {"total": len(rows), "groups": group_by_entry(rows)}
