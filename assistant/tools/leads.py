"""Lead capture: hand a prospect over to a human specialist.

The website's contact form and the chat both end here, so the rules are the form's: a
mainland-China phone number is required, everything else is optional. Phone numbers are
stored in E.164 so the sales team's dialler and de-duplication see one spelling, and they
are masked whenever they are logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant import i18n, metrics
from assistant.storage import LeadRecord, Store

__all__ = [
    "NEEDS",
    "NEED_LABELS",
    "LeadInput",
    "LeadResult",
    "Need",
    "PhoneError",
    "capture_lead",
    "derive_idempotency_key",
    "mask_phone",
    "normalize_phone",
    "phone_error_message",
]

log = logging.getLogger(__name__)

Need = Literal["credit_insurance", "receivables", "claims", "other"]
NEEDS: tuple[Need, ...] = get_args(Need)
"""The options of the website form's 您的需求 field, in form order."""

NEED_LABELS: dict[str, dict[str, str]] = {
    need: {lang: i18n.t(lang, f"tools.leads.needs.{need}") for lang in i18n.LANGS} for need in NEEDS
}
"""Each need's label by language ({need: {"zh": ..., "en": ...}}), from the locale files."""

TRANSCRIPT_LIMIT = 100
"""Messages copied into a lead: enough context for the specialist, bounded row size."""

_ALLOWED_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
# Separators people type; letters are refused outright because phonenumbers would
# otherwise read vanity spellings ("1-800-FLOWERS") as digits.
_PHONE_CHARS = re.compile(r"^\+?[0-9\s().\-]+$")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_MAX_PHONE_INPUT = 32


def _lang(lang: str) -> str:
    return "en" if lang.lower().startswith("en") else "zh"


def phone_error_message(lang: str) -> str:
    return i18n.t(_lang(lang), "tools.leads.phone_error")


class PhoneError(ValueError):
    """An unusable phone number. ``str()`` is the Chinese user-facing text (the default
    audience); ``message(lang)`` gives either language and ``reason`` is for logs/tests.
    Inside a pydantic ValidationError the instance is in ``error["ctx"]["error"]``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(phone_error_message("zh"))

    def message(self, lang: str) -> str:
        return phone_error_message(lang)


def normalize_phone(raw: str) -> str:
    """Accept the ways people write a Chinese number, return E.164, refuse the rest.

    Only mainland mobiles and landlines with an area code pass: a specialist must be able
    to call the number back from China without asking again.
    """
    text = unicodedata.normalize("NFKC", raw or "")  # full-width digits and brackets
    text = _DASHES.sub("-", text).strip()
    if not text:
        raise PhoneError("empty")
    if len(text) > _MAX_PHONE_INPUT or not _PHONE_CHARS.match(text):
        raise PhoneError("characters")
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException as exc:
        raise PhoneError("unparseable") from exc
    if number.country_code != 86:
        raise PhoneError("not_cn")
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid")
    if phonenumbers.number_type(number) not in _ALLOWED_TYPES:
        raise PhoneError("type")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Keep a number recognisable in logs (prefix and last four) without storing it there.
    Never raises: it is called while logging, possibly on bad input."""
    digits = re.sub(r"\D", "", e164 or "")
    if e164.startswith("+86") and len(digits) > 9:
        national = digits[2:]
        return f"+86 {national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def _need_from_label(value: object) -> object:
    if value is None:
        return "credit_insurance"
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return "credit_insurance"
    lowered = text.lower()
    for key, labels in NEED_LABELS.items():
        if lowered == key or text == labels["zh"] or lowered == labels["en"].lower():
            return key
    return text  # the Literal check reports it with the allowed values


class LeadInput(BaseModel):
    """What the form or the chat agent submits. Strings are stripped; ``need`` accepts the
    form's Chinese labels as well as the keys."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field("", max_length=50, description="Contact name (optional).")
    phone: str = Field(description="Mainland mobile or landline with area code.")
    company: str = Field("", max_length=100, description="Company name (optional).")
    need: Need = Field("credit_insurance", description="What the prospect wants help with.")
    details: str = Field("", max_length=2000, description="Free-text description (optional).")
    session_id: str | None = Field(None, max_length=100)
    idempotency_key: str | None = Field(None, min_length=1, max_length=100)
    channel: str = Field("api", min_length=1, max_length=20)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    @field_validator("need", mode="before")
    @classmethod
    def _need(cls, value: object) -> object:
        return _need_from_label(value)


class LeadResult(BaseModel):
    lead_id: str
    created: bool
    handoff: bool = True
    message: str


def _confirmation(phone: str, lang: str) -> str:
    return i18n.t(_lang(lang), "tools.leads.confirmation", tail=phone[-4:])


def derive_idempotency_key(inp: LeadInput, *, today: date | None = None) -> str:
    """A key for callers that send none, so a retried turn or double-clicked form does not
    page the sales team twice. Within a session the same phone and need is one lead; a
    session-less submission counts as a repeat only on the same UTC day with the same text.
    """
    if inp.session_id:
        parts = ["s", inp.session_id, inp.phone, inp.need]
    else:
        day = (today or datetime.now(UTC).date()).isoformat()
        parts = ["d", inp.phone, inp.need, inp.details, day]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"auto:{digest[:40]}"


def _slim_transcript(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"role": str(item.get("role", "")), "content": str(item.get("content", ""))}
        for item in messages[-TRANSCRIPT_LIMIT:]
    ]


def capture_lead(
    inp: LeadInput,
    store: Store,
    *,
    transcript: list[dict[str, Any]] | None = None,
    lang: str = "zh",
    merge_session: bool = False,
    consent: tuple[datetime, str] | None = None,
) -> LeadResult:
    """Store the lead with a copy of the conversation, so the specialist has the context
    even after the user deletes the chat. ``consent``: (when, notice version) of the
    person's agreement to the consent notice, set by the server (see ``assistant.privacy``)."""
    if transcript is None:
        transcript = (
            store.transcript(inp.session_id, limit=TRANSCRIPT_LIMIT) if inp.session_id else []
        )
    record = LeadRecord(
        phone=inp.phone,
        need=inp.need,
        name=inp.name,
        company=inp.company,
        details=inp.details,
        session_id=inp.session_id,
        transcript=list(_slim_transcript(transcript)),
        channel=inp.channel,
        idempotency_key=inp.idempotency_key or derive_idempotency_key(inp),
        consent_at=consent[0] if consent else None,
        consent_version=consent[1] if consent else "",
    )
    lead_id, created = store.add_lead(record, merge_session=merge_session)
    metrics.LEADS.labels(
        channel=record.channel, outcome="created" if created else "duplicate"
    ).inc()
    log.info(
        "lead %s %s need=%s phone=%s channel=%s",
        lead_id,
        "created" if created else "already recorded",
        inp.need,
        mask_phone(inp.phone),
        inp.channel,
    )
    return LeadResult(lead_id=lead_id, created=created, message=_confirmation(inp.phone, lang))
