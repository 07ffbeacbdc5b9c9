"""Reply and UI wording, read from ``assistant/locales/{zh,en}.yaml``.

Wording is data: the business edits the YAML, not the code. A missing key is a bug, so it
raises instead of showing the key to a user.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGS = ("zh", "en")


@cache
def catalog(lang: str) -> dict[str, Any]:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    data = yaml.safe_load((LOCALES_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def lookup(lang: str, key: str) -> Any:
    node: Any = catalog(lang)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"locale {lang}: no key {key!r}")
        node = node[part]
    return node


def t(lang: str, key: str, **values: Any) -> str:
    """The text at ``key`` (dotted path) in ``lang``, with ``{name}`` placeholders filled."""
    text = lookup(lang, key)
    if not isinstance(text, str):
        raise KeyError(f"locale {lang}: {key!r} is not a string")
    return text.format(**values) if values else text


def items(lang: str, key: str) -> list[str]:
    value = lookup(lang, key)
    if not isinstance(value, list):
        raise KeyError(f"locale {lang}: {key!r} is not a list")
    return [str(v) for v in value]
