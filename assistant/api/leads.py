"""Leads and feedback from the public site; the lead list and search for the support team.

``POST /v1/leads`` is public (the website form and the widget): it validates the phone,
honours an ``Idempotency-Key`` header so a retried submit stores one lead, and attaches the
session's transcript. ``GET /v1/leads`` (support key) lists them, also as CSV.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant import i18n, privacy
from assistant.api.auth import require
from assistant.api.csvout import CSV_DOC, csv_response
from assistant.api.deps import AssistantDep, IsoDateTime, SettingsDep
from assistant.api.errors import ApiError
from assistant.api.ratelimit import LIMITED, IpLimit
from assistant.tools import leads

router = APIRouter(prefix="/v1", tags=["leads"])
SupportKey = Annotated[str, Depends(require("support"))]


def _consent_required(schema: dict[str, Any]) -> None:
    """The schema says what the server enforces: ``consent`` must be sent, and be true.
    (The field keeps a default so a missing one reaches the handler, which answers with
    the ``consent_required`` code and the notice's wording instead of a bare 422.)"""
    schema.setdefault("required", [])
    if "consent" not in schema["required"]:
        schema["required"].append("consent")


class LeadIn(BaseModel):
    model_config = ConfigDict(json_schema_extra=_consent_required)

    phone: str = Field(max_length=40, description="Mainland mobile or landline with area code.")
    name: str = Field("", max_length=50)
    company: str = Field("", max_length=100)
    need: str = Field(
        "credit_insurance",
        description=" / ".join(leads.NEED_LABELS[n]["zh"] for n in leads.NEEDS),
        # The keys and the form's labels in both languages: what the server accepts.
        json_schema_extra={
            "enum": [
                *leads.NEEDS,
                *(leads.NEED_LABELS[n][lang] for lang in i18n.LANGS for n in leads.NEEDS),
            ]
        },
    )
    details: str = Field("", max_length=2000)
    session_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    lang: Literal["zh", "en"] = "zh"
    consent: bool = Field(
        False,
        json_schema_extra={"const": True},
        description="The person agreed to the consent notice shown with the form "
        "(个人信息保护法; wording in GET /v1/privacy). Must be true: the server stores the time "
        "and PRIVACY_NOTICE_VERSION with the lead.",
    )


class LeadOut(BaseModel):
    lead_id: str
    created: bool
    message: str


class FeedbackIn(BaseModel):
    session_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    message_id: str = Field(min_length=1, max_length=100)
    rating: Literal[-1, 1] = Field(description="1 = helpful, -1 = not helpful.")
    reason: str | None = Field(None, max_length=1000)


@router.post("/leads", response_model=LeadOut, status_code=201, responses=LIMITED)
def post_lead(
    body: LeadIn,
    assistant: AssistantDep,
    settings: SettingsDep,
    _: IpLimit,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=100)] = None,
) -> LeadOut:
    """Store a prospect for sales. A retry with the same Idempotency-Key returns the same
    lead; a lead the chat already captured for ``session_id`` is completed instead of
    duplicated (``created: false``, same ``lead_id``). Without ``consent: true`` nothing is
    stored (422 ``consent_required``)."""
    if not body.consent:
        raise ApiError(
            422,
            "consent_required",
            "consent.required",
        )
    try:
        inp = leads.LeadInput(
            name=body.name,
            phone=body.phone,
            company=body.company,
            need=body.need,
            details=body.details,
            session_id=body.session_id,
            idempotency_key=idempotency_key,
            channel="widget",
        )
    except ValidationError as err:
        phone_bad = any(e["loc"] and e["loc"][0] == "phone" for e in err.errors())
        if phone_bad:
            raise ApiError(
                422,
                "invalid_phone",
                "tools.leads.phone_error",
            ) from None
        raise ApiError(422, "invalid_request", "api.leads.invalid") from None
    # A lead the chat already captured for this session is completed, not duplicated.
    result = leads.capture_lead(
        inp,
        assistant.store,
        lang=body.lang,
        merge_session=True,
        consent=privacy.consent_now(settings),
    )
    return LeadOut(lead_id=result.lead_id, created=result.created, message=result.message)


class PrivacyOut(BaseModel):
    notice: dict[str, str] = Field(description="The consent notice in zh and en.")
    checkbox: dict[str, str] = Field(description="The consent checkbox's label in zh and en.")
    policy_url: str
    version: str
    lead_retention_days: float


@router.get("/privacy", response_model=PrivacyOut, responses=LIMITED)
def get_privacy(settings: SettingsDep, _: IpLimit) -> PrivacyOut:
    """The consent notice to show next to a lead form (个人信息保护法), the privacy policy's
    address, the notice version stored with each lead, and how long leads are kept."""
    return PrivacyOut(
        notice={lang: privacy.notice(lang, settings) for lang in i18n.LANGS},
        checkbox={lang: i18n.t(lang, "consent.checkbox") for lang in i18n.LANGS},
        policy_url=settings.privacy_policy_url,
        version=settings.privacy_notice_version,
        lead_retention_days=settings.lead_retention_days,
    )


@router.get("/leads", response_model=None, responses=CSV_DOC)
def list_leads(
    _: SupportKey,
    assistant: AssistantDep,
    since: IsoDateTime | None = None,
    status: str | None = Query(None, max_length=20),
    limit: int = Query(100, ge=1, le=1000),
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Leads, newest first; ``format=csv`` for a spreadsheet."""
    rows = assistant.store.list_leads(since=since, status=status, limit=limit)
    if format == "json":
        return {"leads": rows}
    fields = ["id", "created_at", "status", "name", "phone", "company", "need", "details"]
    fields += ["consent_at", "consent_version"]
    return csv_response(rows, [*fields, "session_id"], "leads.csv")


@router.post("/feedback", status_code=201, responses=LIMITED)
def post_feedback(body: FeedbackIn, assistant: AssistantDep, _: IpLimit) -> dict[str, str]:
    """Helpful / not helpful on one answer, with an optional reason."""
    from assistant.storage import NotFoundError

    try:
        fid = assistant.store.add_feedback(
            body.session_id, body.message_id, body.rating, body.reason
        )
    except NotFoundError:
        raise ApiError(404, "not_found") from None
    return {"feedback_id": fid}


@router.get("/search")
def search(
    _: SupportKey,
    assistant: AssistantDep,
    q: str = Query(min_length=1, max_length=500),
    k: int = Query(5, ge=1, le=20),
) -> dict[str, Any]:
    """Retrieval hits with why each was chosen (matched terms, scores, ranks)."""
    result = assistant.engine.search(q, k)
    return {
        "query": q,
        "confidence": result.confidence,
        "no_good_answer": result.no_good_answer,
        "hits": [
            {
                "id": h.id,
                "doc_id": h.metadata.get("doc_id"),
                "title": h.metadata.get("title"),
                "section": h.metadata.get("section"),
                "clause": h.metadata.get("clause"),
                "text": h.text,
                "score": h.score,
                "explanation": h.explanation.as_dict(),
            }
            for h in result.hits
        ],
    }
