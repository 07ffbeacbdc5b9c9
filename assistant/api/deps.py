"""Dependencies shared by the routers (one place builds the Assistant)."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BeforeValidator

from assistant.config import Settings

_build_lock = threading.Lock()


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_assistant(request: Request) -> Any:
    return assistant_of(request.app)


def assistant_of(app: Any) -> Any:
    """The process's Assistant, built once (loading the index takes a few seconds)."""
    state = app.state
    if state.assistant is None:
        with _build_lock:
            if state.assistant is None:
                from assistant.advisor import Assistant

                bot = Assistant.from_settings(state.settings)
                bot.warm_up()
                state.assistant = bot
    return state.assistant


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AssistantDep = Annotated[Any, Depends(get_assistant)]


def _iso_datetime(value: Any) -> Any:
    """Only an ISO 8601 date-time, as the schema says: pydantic would also read a bare
    number ("0.0") as a Unix timestamp, which a client never means by ``since``."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("expected an ISO 8601 date-time such as 2026-12-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
