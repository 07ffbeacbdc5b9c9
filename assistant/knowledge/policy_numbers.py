"""Finds policy numbers written out literally where a placeholder belongs.

An answer that says "逾期60天内申报" goes stale the day ``policy.yaml`` changes; the bank
writes ``{{ policy.overdue.notification_days }}`` instead. This check flags a number that
equals a policy parameter, next to a unit (天, %, 万, days …), in a sentence that talks
about the policy (保险, 索赔, 限额, claim, limit …). A day count in an example ("账期30天的
客户") or in the payment rule for large firms ("60日内付款") has no policy word and passes.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

_SKIP_KEYS = {"clauses", "clause", "reminders", "documents", "causes_of_loss", "label"}
_POLICY_WORDS = re.compile(
    r"保险|保单|条款|索赔|理赔|赔付|赔款|赔偿|赔|申报|限额|保费|等待期|延展|续保|投保|"
    r"policy|insur|claim|indemn|limit|premium|waiting|notif|declar|renew|cover",
    re.IGNORECASE,
)
# "个月", never a bare "月": "2月10日" is a date, not a period of two months.
_UNIT_AFTER = (
    r"\s*(?:个?工作日|天|日|个月|%|％|倍|元|万|working days?|days?|months?|times|x|×|percent)"
)
# A number right after a digit, a separator or 月 is part of a date or a longer figure.
_NUMBER = rf"(?<![\d.,/-])(?<!\d月)(\d[\d,]*(?:\.\d+)?)({_UNIT_AFTER})"
_CN_DIGITS = {
    "五": 5,
    "十": 10,
    "十五": 15,
    "三十": 30,
    "六十": 60,
    "九十": 90,
    "一百五十": 150,
    "一百八十": 180,
    "七成": 70,
    "九成": 90,
    "两万": 20000,
    "二万": 20000,
    "三十万": 300000,
}


def _numbers(node: Any, key: str = "") -> set[float]:
    if key in _SKIP_KEYS:
        return set()
    if isinstance(node, dict):
        return {n for k, v in node.items() for n in _numbers(v, str(k))}
    if isinstance(node, list):
        return {n for v in node for n in _numbers(v, key)}
    if isinstance(node, bool) or not isinstance(node, int | float):
        return set()
    return {float(node)}


def policy_values(params: dict[str, Any]) -> set[float]:
    """Every number the policy parameters define, plus the default-claim day it implies."""
    policy = params.get("policy") or {}
    values = _numbers(policy)
    rating = params.get("rating") or {}
    for key in ("minimum_premium", "credit_check_fee_per_buyer"):
        if isinstance(rating.get(key), int | float):
            values.add(float(rating[key]))
    with contextlib.suppress(KeyError, TypeError):
        values.add(
            float(policy["overdue"]["notification_days"])
            + float(policy["claim_deadline"]["default_days_after_notification_deadline"])
        )
    return {v for v in values if v >= 2}


def _as_number(raw: str, unit: str) -> float | None:
    raw = raw.replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value * 10000 if unit.startswith("万") else value


def literal_policy_numbers(template: str, params: dict[str, Any]) -> list[str]:
    """Problems: literal policy numbers in a template (placeholders removed first)."""
    values = policy_values(params)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", template, flags=re.S)
    problems: list[str] = []
    for sentence in re.split(r"(?<=[。！？!?；;\n])|(?<=\.)\s+", text):
        if not _POLICY_WORDS.search(sentence):
            continue
        found: list[str] = []
        for m in re.finditer(_NUMBER, sentence, re.I):
            value = _as_number(m.group(1), m.group(2).strip())
            if value is not None and value in values:
                found.append(m.group(0).strip())
        for word, value in _CN_DIGITS.items():
            tail = "" if word.endswith(("成", "万")) else _UNIT_AFTER
            if float(value) in values and re.search(
                rf"(?<![一二三四五六七八九十百]){word}{tail}", sentence
            ):
                found.append(word)
        problems += [
            f"literal policy number '{f}' (use a {{{{ policy.… }}}} placeholder)" for f in found
        ]
    return problems
