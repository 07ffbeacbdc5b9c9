"""Turns of one session are serialised through the database, not a lock in one process.

Two ``Assistant`` objects stand for two server processes (each has its own memory, as
replicas do) on one database: PostgreSQL (pgserver) and a SQLite file. Each turn is slowed
between reading the session state and saving it, so two turns sent at the same moment
would both start from the same state and the later save would drop the other's slot.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.advisor import Assistant
from assistant.config import Settings
from assistant.storage import Store

pytest.importorskip("pgserver")


def _replica(settings: Settings, url: str) -> Assistant:
    bot = Assistant.from_settings(settings, store=Store(url), today=lambda: date(2026, 11, 28))
    handle = bot.manager.handle

    def slow(*args: Any, **kwargs: Any) -> Any:
        out = handle(*args, **kwargs)
        time.sleep(0.6)  # between reading the state and saving the turn
        return out

    bot.manager.handle = slow  # type: ignore[method-assign]
    return bot


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_turns_of_one_session_on_two_replicas_at_once_keep_both_values(
    backend: str, pg_module_url: str, full_settings: Settings, tmp_path: Path
) -> None:
    url = pg_module_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'turns.db'}"
    a, b = _replica(full_settings, url), _replica(full_settings, url)
    sid = a.chat("帮我估算一下保费").session_id
    replies: dict[str, Any] = {}

    def send(name: str, bot: Assistant, text: str) -> None:
        replies[name] = bot.chat(text, session_id=sid)

    threads = [
        threading.Thread(target=send, args=("a", a, "我们年销售额5000万")),
        threading.Thread(target=send, args=("b", b, "做电子元器件的")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    last = a.chat("账期一般60天", session_id=sid)
    quote = next(c for c in last.tool_calls if c.name == "estimate_premium")
    assert quote.args["annual_credit_sales"] == 50_000_000
    assert quote.args["industry"] == "electronics"
    for bot in (a, b):
        bot.store.close()
