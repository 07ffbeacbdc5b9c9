"""信保顾问 Credit Advisor.

Importing the package first forces the offline environment (see ``assistant.offline``).
``Assistant`` and ``Reply`` load lazily, so ``python -m assistant.knowledge`` (ingest)
does not pay for the dialogue stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant import offline as _offline  # noqa: F401  (side effect: offline env)

if TYPE_CHECKING:
    from assistant.advisor import Assistant
    from assistant.models import Reply

__all__ = ["Assistant", "Reply"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant.advisor import Assistant

        return Assistant
    if name == "Reply":
        from assistant.models import Reply

        return Reply
    raise AttributeError(name)
