"""Shared pydantic types: what a turn returns and what the tools exchange.

``Reply`` is the public contract of :meth:`assistant.Assistant.chat`; the API, the UI and
the evals read these fields, so their names are fixed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Lang = Literal["zh", "en"]
Mode = Literal["grounded", "llm"]
Channel = Literal["api", "ui", "widget", "cli", "eval"]


class Citation(BaseModel):
    """One numbered source behind an answer; ``n`` matches the [n] marker in the text."""

    n: int = Field(ge=1)
    doc_id: str
    title: str
    section: str = ""
    clause: str = ""
    snippet: str = ""
    source: str = ""
    score: float = 0.0


class ToolCall(BaseModel):
    """A tool the turn used, with the validated arguments and the result as plain data."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | list[Any] | str | None = None


class Reply(BaseModel):
    """One assistant turn."""

    session_id: str
    message_id: str
    answer: str = Field(description="Markdown with [n] citation markers.")
    lang: Lang
    mode: Mode = "grounded"
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    handoff: bool = False
    lead_id: str | None = None
    intent: str | None = Field(None, description="What the turn was routed as (for evals/logs).")
