"""The wording the dialogue manager checks, read from ``knowledge/vocabulary.yaml``.

Each entry lists alternatives (``any``) that join with ``|`` into one regular expression,
case-insensitive unless the entry says ``ignore_case: false``. The file is read once, when
this module is first imported, so a bad pattern fails at start-up (and in ``make test``),
never in the middle of a conversation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.config import PROJECT_ROOT

VOCABULARY_FILE = PROJECT_ROOT / "knowledge" / "vocabulary.yaml"


class VocabularyError(ValueError):
    """An entry of the vocabulary file is missing or does not compile."""


def _compile(path: Path, group: str, name: str, entry: Any) -> re.Pattern[str]:
    where = f"{path.name}: {group}.{name}"
    if not isinstance(entry, dict) or not isinstance(entry.get("any"), list) or not entry["any"]:
        raise VocabularyError(f"{where}: needs a non-empty `any` list")
    alternatives = [str(a) for a in entry["any"]]
    flags = 0 if entry.get("ignore_case") is False else re.IGNORECASE
    try:
        return re.compile("|".join(alternatives), flags)
    except re.error as exc:
        raise VocabularyError(f"{where}: {exc}") from exc


@lru_cache(maxsize=4)
def load(path: Path = VOCABULARY_FILE) -> dict[str, dict[str, re.Pattern[str]]]:
    """Every group of the file, each an ordered mapping of name to compiled pattern."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise VocabularyError(f"{path.name}: expected a mapping of groups")
    return {
        group: {name: _compile(path, group, name, entry) for name, entry in (entries or {}).items()}
        for group, entries in data.items()
    }


def group(name: str) -> dict[str, re.Pattern[str]]:
    """One group of patterns, in file order (``causes`` are checked in that order)."""
    try:
        return load()[name]
    except KeyError as exc:
        raise VocabularyError(f"{VOCABULARY_FILE.name}: no group {name!r}") from exc


def pattern(name: str, group_name: str = "patterns") -> re.Pattern[str]:
    """One named pattern (by default from the ``patterns`` group)."""
    try:
        return group(group_name)[name]
    except KeyError as exc:
        raise VocabularyError(f"{VOCABULARY_FILE.name}: no pattern {group_name}.{name}") from exc
