"""Tool results as short Markdown replies, in the user's language.

Every figure shown comes from the tool result; this module only lays it out.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from assistant.i18n import t
from assistant.knowledge.chunking import clause_number


def money(value: float | None, lang: str) -> str:
    """'5,000万元' reads naturally to a Chinese SME owner; English gets CNY with commas."""
    if value is None:
        return "—"
    if lang == "zh":
        v = float(value)
        if abs(v) >= 1e8:
            return f"{_trim(v / 1e8)}亿元"
        if abs(v) >= 1e4:
            return f"{_trim(v / 1e4)}万元"
        return f"{_trim(v)}元"
    return f"CNY {value:,.0f}"


def _trim(v: float) -> str:
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    return text


def pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def day(d: date | str | None, lang: str) -> str:
    if d is None:
        return "—"
    if isinstance(d, str):
        d = date.fromisoformat(d)
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.strftime("%-d %B %Y")


def status(days_left: int, lang: str) -> str:
    if days_left == 0:
        return t(lang, "claim.today")
    if days_left > 0:
        text = t(lang, "claim.days_left", n=days_left)
    else:
        text = t(lang, "claim.days_passed", n=-days_left)
    return text.replace("1 days", "1 day") if abs(days_left) == 1 else text


_CLAUSE_REF = re.compile(r"第[零〇一二三四五六七八九十百两\d]+条|Article \d+")


def cite_refs(line: str, numbers: dict[int, int]) -> str:
    """Append the [n] of every policy clause a tool's sentence names ("…（第二十六条）")."""
    marks = []
    for m in _CLAUSE_REF.finditer(line):
        n = numbers.get(clause_number(m.group(0)))
        if n is not None and f"[{n}]" not in marks:
            marks.append(f"[{n}]")
    return f"{line} {' '.join(marks)}" if marks else line


def clause_refs(lines: list[str]) -> list[int]:
    return [clause_number(m.group(0)) for line in lines for m in _CLAUSE_REF.finditer(line)]


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines if line)


def premium(
    result: Any, lang: str, sales: float, cite: dict[int, int], unknown: list[str] | None = None
) -> str:
    """``cite`` maps policy clause numbers to citation markers; ``unknown`` names the fields
    the user has not given (assumed in the quote, invited at its end)."""
    header = t(lang, "quote.header", industry=result.industry_label, sales=money(sales, lang))
    if result.industry_assumed:
        header += "\n\n" + t(lang, "quote.industry_assumed", label=result.industry_label)
    figures = {
        "minimum": money(result.minimum_premium, lang),
        "low": money(result.low, lang),
        "high": money(result.high, lang),
        "base": money(result.base, lang),
        "rate_low": pct(result.rate_low_pct),
        "rate_high": pct(result.rate_high_pct),
        "rate": pct(result.rate_pct),
    }
    if result.minimum_applied and result.high <= result.minimum_premium:
        key = "quote.flat"  # the whole range is the minimum: "20,000 – 20,000" says nothing
    elif result.minimum_applied:
        key = "quote.min_range"  # the midpoint is lifted: "from the minimum, up to X"
    elif sales * result.rate_low_pct / 100 < result.minimum_premium:
        # Only the low end is lifted to the minimum: name it, and show no low rate that
        # the low figure does not equal (every rate shown is premium / sales).
        key = "quote.low_min_range"
    else:
        key = "quote.range"
    figure = t(lang, key, **figures)
    parts = [header, figure]
    if result.minimum_applied:
        mark = f" [{cite[20]}]" if 20 in cite else ""
        parts.append(t(lang, "quote.minimum", minimum=money(result.minimum_premium, lang)) + mark)
    rows = []
    for line in result.breakdown:
        flag = t(lang, "quote.assumed") if line.assumed else ""
        note = t(lang, "quote.factor_note", note=line.note) if line.note else ""
        rows.append(
            t(
                lang,
                "quote.factor_row",
                label=line.label,
                value=line.value,
                flag=flag,
                factor=f"{line.factor:g}",
                note=note,
            )
        )
    parts.append(t(lang, "quote.breakdown") + "\n" + bullets(rows))
    if result.warnings:
        parts.append(t(lang, "quote.warnings") + "\n" + bullets(list(result.warnings)))
    if result.credit_check_fee_per_buyer:
        parts.append(t(lang, "quote.fee", fee=money(result.credit_check_fee_per_buyer, lang)))
    parts.append(f"*{result.disclaimer}*")
    if unknown:
        names = [t(lang, f"quote.unknown.{name}") for name in unknown]
        fields = t(lang, "quote.unknown_join").join(names)
        parts.append(t(lang, "quote.refine_unknown", fields=fields))
    else:
        parts.append(t(lang, "quote.refine"))
    return "\n\n".join(parts)


def claim(
    result: Any,
    lang: str,
    cite: dict[int, int],
    amount: float | None = None,
    *,
    documents_in_full: bool = True,
) -> str:
    """Dates and warnings first (they answer "are we too late?"), then the money, then the
    documents: in full the first time, as a count when the list has not changed."""

    def mark(clause: int | None) -> str:
        return f" [{cite[clause]}]" if clause is not None and clause in cite else ""

    parts = [t(lang, "claim.header", cause=result.cause_label)]
    if result.key_dates:
        rows = [
            t(
                lang,
                "claim.date_line",
                label=k.label,
                date=day(k.date, lang),
                status=status(k.days_left, lang),
            )
            + mark(k.clause)
            for k in result.key_dates
        ]
        parts.append(t(lang, "claim.dates") + "\n" + bullets(rows))
    if result.warnings:
        warn = [cite_refs(f"⚠ {w}", cite) for w in result.warnings]
        parts.append(t(lang, "claim.warnings") + "\n" + bullets(warn))
    if amount and result.estimated_indemnity is not None:
        marks = " ".join(f"[{cite[c]}]" for c in (22, 24) if c in cite)
        line = t(
            lang,
            "claim.indemnity",
            pct=pct(result.indemnity_pct),
            amount=money(amount, lang),
            paid=money(result.estimated_indemnity, lang),
        )
        parts.append(f"{line} {marks}".rstrip())
    held = [d for d in result.documents if d.held]
    if documents_in_full:
        docs = []
        for d in result.documents:
            tag = t(lang, "claim.held") if d.held else t(lang, "claim.missing")
            box = "✅" if d.held else "⬜"
            docs.append(t(lang, "claim.document_line", box=box, name=d.name, tag=tag))
        parts.append(t(lang, "claim.documents") + "\n" + bullets(docs))
    else:
        parts.append(
            t(
                lang,
                "claim.documents_same",
                held=len(held),
                missing=len(result.documents) - len(held),
            )
        )
    if result.next_steps:
        missing = [d.name for d in result.documents if not d.held]
        # The checklist already lists missing documents; skip a step that repeats it.
        steps = [
            cite_refs(s, cite) for s in result.next_steps if sum(name in s for name in missing) < 2
        ]
        parts.append(t(lang, "claim.next_steps") + "\n" + bullets(steps))
    return "\n\n".join(parts)
