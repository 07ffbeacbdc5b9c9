"""Structured JSON logs with a request id, and no phone numbers or names in them.

``configure()`` sends every log line of the app (and uvicorn's) to stderr as one JSON object
(python-json-logger): time, level, logger, message, the request id of the HTTP request being
served, and any ``extra=`` fields. A filter masks what could identify a person before a line
is written: Chinese mobile and landline numbers anywhere in the message or its fields, and
the values of fields named like a person's name.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import phonenumbers
from phonenumbers import Leniency
from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from assistant.config import Settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# A mainland mobile (optionally +86 / 86, spaces or dashes between digit groups) or a
# landline with its area code. Digits glued to other digits (ids, amounts) don't match.
_PHONE = re.compile(
    r"(?<![\d*])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"
    r"|(?<![\d*])0\d{2,3}[\s-]?\d{7,8}(?!\d)"
)
_NAME_FIELDS = {"lead_name", "contact", "contact_name", "full_name", "person"}
_RESERVED = set(vars(logging.makeLogRecord({})))
_FORMATTER = logging.Formatter()


def _hide(span: str) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", span))
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def _width_folded(text: str) -> str:
    """Full-width digits and brackets as ASCII, one character for one, so spans found in
    the folded text are the same spans in the original."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def mask_phones(text: str) -> str:
    """Keep the last four digits, so support can still match a lead they are told about.

    Numbers are found by ``phonenumbers.PhoneNumberMatcher``, the parser lead capture uses,
    so every format a lead accepts ("138.1234.5678", "(010) 12345678", full-width digits)
    is masked; the pattern below then catches number-like runs the matcher finds invalid."""
    if not any(ch.isdigit() for ch in text):
        return text
    folded = _width_folded(text)
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(folded, "CN", leniency=Leniency.VALID)
    ]
    for start, end in reversed(spans):
        text = text[:start] + _hide(text[start:end]) + text[end:]
    return _PHONE.sub(lambda m: _hide(m.group(0)), text)


def mask_name(value: str) -> str:
    value = value.strip()
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return mask_name(value) if key.lower() in _NAME_FIELDS else mask_phones(value)
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    return value


class PrivacyFilter(logging.Filter):
    """Adds ``request_id`` and masks personal data in the message and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line
            message = str(record.msg)
        record.msg, record.args = mask_phones(message), None
        if record.exc_info:
            # Tracebacks quote values (a failed INSERT shows its parameters): mask the
            # formatted text once and drop the live exception so no formatter re-renders it.
            text = record.exc_text or _FORMATTER.formatException(record.exc_info)
            record.exc_text, record.exc_info = mask_phones(text), None
        elif record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _RESERVED and key not in ("request_id", "message"):
                setattr(record, key, _mask_value(key, value))
        return True


def configure(settings: Settings) -> None:
    """Route the app's and uvicorn's logs through one handler (JSON or plain text)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}{process}",
                style="{",
                rename_fields={
                    "asctime": "time",
                    "levelname": "level",
                    "name": "logger",
                    "process": "pid",
                },
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    level = settings.log_level.upper()
    for name in ("assistant", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = []
        logger.propagate = True
    # One access line per request comes from our middleware (with the request id).
    logging.getLogger("uvicorn.access").disabled = True
