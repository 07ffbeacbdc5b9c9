"""Helpers shared by the tools: free-text alias matching, rounding and bilingual formatting.

Kept apart from the tools so premium (industries) and claims (documents) match customer
wording the same way, and every tool rounds money and writes dates and clauses alike.
"""

from __future__ import annotations

import math
import re
import types
import typing
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Annotated, Any

from pydantic import BaseModel, ValidationInfo, WithJsonSchema, field_validator

from assistant.models import Lang

_ASCII_WORD = re.compile(r"^[\x00-\x7f]+$")
_ZH_DIGITS = "零一二三四五六七八九"
# Not strftime("%B"): month names would follow the server's locale.
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def normalise(text: str) -> str:
    """Full-width to half-width, case-folded, single spaces: how users type varies."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _occurrences(text: str, alias: str) -> Iterable[tuple[int, int]]:
    # English aliases must sit on word boundaries ("po" is not in "report"); a plural
    # "s"/"es" still counts ("invoice" matches "invoices"). Chinese has no word boundaries.
    if _ASCII_WORD.match(alias):
        pattern = rf"(?<![a-z0-9]){re.escape(alias)}(?:s|es)?(?![a-z0-9])"
        for m in re.finditer(pattern, text):
            yield m.start(), m.end()
        return
    start = text.find(alias)
    while start != -1:
        yield start, start + len(alias)
        start = text.find(alias, start + 1)


def match_aliases(text: str, entries: Sequence[tuple[str, Iterable[str]]]) -> list[str]:
    """Keys whose aliases occur in ``text``, best match first.

    Overlapping matches are resolved longest first, so "担保合同" is a guarantee and not also a
    sales contract ("合同"). Among equally long matches the earlier one in the text wins, then
    the earlier entry. A key appears at most once.
    """
    norm = normalise(text)
    found: list[tuple[int, int, int, str]] = []  # (-length, start, entry order, key)
    for order, (key, aliases) in enumerate(entries):
        for alias in {normalise(a) for a in aliases if a.strip()}:
            for start, end in _occurrences(norm, alias):
                found.append((-(end - start), start, order, key))
    taken: list[tuple[int, int]] = []
    keys: list[str] = []
    for neg_len, start, _order, key in sorted(found):
        end = start - neg_len
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        if key not in keys:
            keys.append(key)
    return keys


MAX_AMOUNT = 1e15
"""Largest amount a tool accepts, in CNY (1,000 trillion): far above any real SME figure,
and small enough that every result rounds and prints exactly."""

MIN_AMOUNT = 0.01
"""Smallest positive amount a tool accepts where zero makes no sense (a divisor, a loss):
one fen. Smaller figures round to zero and would divide by it."""

EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)
"""Dates a tool accepts: an invoice, notice or judgment outside these is a typing slip, and
the deadlines computed from it must stay inside Python's date range."""


# The accepted range written into the JSON schema (years 1990-2100), so API clients and
# schema-driven tools know it; ``sane_date`` enforces the exact bounds.
SaneDate = Annotated[
    date,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        }
    ),
]


def sane_date(value: date | None) -> date | None:
    """Pydantic validator body: refuse a date outside ``EARLIEST_DATE``..``LATEST_DATE``."""
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(
            f"date_out_of_range: {value.isoformat()} is outside "
            f"{EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()}"
        )
    return value


def half_up(value: float, places: int = 0) -> float:
    """Commercial rounding (0.5 up), not Python's banker's rounding, for money and rates."""
    if not math.isfinite(value):
        return value
    quantum = Decimal(1).scaleb(-places)
    # Enough digits for any finite float (up to ~1.8e308) plus the decimals: the default
    # 28-digit context raises InvalidOperation above ~1e26.
    with localcontext() as ctx:
        ctx.prec = 340 + places
        return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def num(value: float, places: int = 2) -> str:
    """A number for prose: thousands separators, no trailing zeros (60, 0.5, 1,234.56)."""
    text = f"{half_up(value, places):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: float, lang: Lang, currency: str = "CNY") -> str:
    if lang == "zh":
        return f"{num(value)} 元" if currency == "CNY" else f"{currency} {num(value)}"
    return f"{currency} {num(value)}"


def fmt_date(day: date, lang: Lang) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def zh_numeral(n: int) -> str:
    """Chinese numerals for article numbers (1-999), as the wording writes them: 第二十五条."""
    if not 0 < n < 1000:
        raise ValueError(f"article number out of range: {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _ZH_DIGITS[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _ZH_DIGITS[tens]) + "十"
    if ones:
        out += _ZH_DIGITS[ones]
    return out


def clause_label(n: int, lang: Lang) -> str:
    return f"第{zh_numeral(n)}条" if lang == "zh" else f"Article {n}"


def _takes_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_bool(a) for a in typing.get_args(annotation))
    return False


class ToolInput(BaseModel):
    """Base of the tools' input models: JSON ``true`` / ``false`` is no number. (Pydantic's
    lax mode reads ``true`` as 1, so ``{"receivables": true}`` would compute a DSO.)"""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        if isinstance(value, bool) and name and not _takes_bool(cls.model_fields[name].annotation):
            raise ValueError("expected a number or text, not true/false")
        return value
