"""Document metadata (front matter) and the loaded-document type shared by the pipeline."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Lang = Literal["zh", "en"]
DocType = Literal["policy", "guide", "faq"]

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:[.,'%-][A-Za-z0-9]+)*")


class IngestError(Exception):
    """A file could not be ingested; ``reason`` is shown to the operator next to the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DocMeta(BaseModel):
    """Front matter every knowledge document carries.

    ``extra="forbid"`` turns a typo such as ``langg: zh`` into a clear error instead of a
    silently missing field.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$", description="Stable document id.")
    title: str = Field(min_length=1, max_length=300)
    lang: Lang
    doc_type: DocType
    version: str = Field(min_length=1, max_length=40)
    effective: date
    sources: list[str] = Field(min_length=1)
    counterpart: str | None = Field(None, description="Id of the other-language version.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `version: 1.0` as a float; the version is a label, not a number.
        return str(value) if isinstance(value, int | float) else value

    @field_validator("sources")
    @classmethod
    def _non_blank_sources(cls, value: list[str]) -> list[str]:
        if any(not str(s).strip() for s in value):
            raise ValueError("sources must not contain blank entries")
        return value


def format_validation_error(err: ValidationError) -> str:
    """One line per bad field, naming the field: 'lang: Input should be 'zh' or 'en''."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_meta(raw: dict[str, Any], *, where: str = "front matter") -> DocMeta:
    """Validate a front-matter mapping, raising :class:`IngestError` with field names."""
    try:
        return DocMeta.model_validate(raw)
    except ValidationError as err:
        raise IngestError(f"bad {where}: {format_validation_error(err)}") from None


def detect_lang(text: str) -> Lang:
    """'zh' when CJK characters outnumber latin words, else 'en'."""
    cjk = len(_CJK_RE.findall(text))
    words = len(_LATIN_WORD_RE.findall(text))
    return "zh" if cjk >= words else "en"


def text_units(text: str) -> int:
    """Length in units that mean the same in both languages: CJK chars + latin words.

    A character count would make an English chunk hold four times less meaning than a
    Chinese one of the same ``chunk_size``; this unit is close to a model token in both.
    """
    return len(_CJK_RE.findall(text)) + len(_WORD_RE.findall(text))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed source file: validated metadata plus Markdown-flavoured body text."""

    meta: DocMeta
    text: str
    source: str  # path as shown to users (relative to the project when possible)
    has_front_matter: bool
    # Answer-bank files: one mapping per knowledge point (see assistant.knowledge.bank).
    entries: tuple[dict[str, Any], ...] = ()
