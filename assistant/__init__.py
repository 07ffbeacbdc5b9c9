"""信保顾问 Credit Advisor.

Importing the package first forces the offline environment (see ``assistant.offline``).
"""

from assistant import offline as _offline  # noqa: F401  (side effect: offline env)

__all__: list[str] = []
