"""UI wording: every label, button, placeholder and message comes from the ``ui:`` section
of ``assistant/locales/{zh,en}.yaml``, so the business can reword the page without a code
change and the two languages cannot drift apart silently (a missing key raises).
"""

from __future__ import annotations

from typing import Any

from assistant.i18n import items, lookup, t
from assistant.models import Lang

LANGS = ("zh", "en")
DEFAULT_LANG: Lang = "zh"


def norm_lang(lang: str | None) -> Lang:
    """The UI language from the switch; anything unexpected falls back to Chinese."""
    return "en" if lang == "en" else "zh"


def ui_text(lang: str | None, key: str, **values: Any) -> str:
    """``ui.<key>`` in ``lang``, with ``{name}`` placeholders filled."""
    return t(norm_lang(lang), f"ui.{key}", **values)


def ui_list(lang: str | None, key: str) -> list[str]:
    return items(norm_lang(lang), f"ui.{key}")


def ui_map(lang: str | None, key: str) -> dict[str, str]:
    """A mapping section (e.g. the causes of loss by id) as plain strings."""
    value = lookup(norm_lang(lang), f"ui.{key}")
    if not isinstance(value, dict):
        raise KeyError(f"locale {lang}: ui.{key} is not a mapping")
    return {str(k): str(v) for k, v in value.items()}
