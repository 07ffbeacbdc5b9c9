"""Finds policy numbers written out literally where a placeholder belongs.

An answer that says "逾期60天内申报" goes stale the day ``policy.yaml`` changes; the bank
writes ``{{ policy.overdue.notification_days }}`` instead. This check flags a number that
equals a policy parameter *with the parameter's kind of unit* (a ``…_days`` key with 天 /
days, a ``…_pct`` key with % / 成, a money key with 元 / 万 …) in a sentence that talks
about the policy (保险, 索赔, 限额, claim, limit …). A day count in an example ("账期30天的
客户"), a date ("5月15日") or the payment rule for large firms ("60日内付款") passes.
"""

from __future__ import annotations

import re
from typing import Any

_SKIP_KEYS = {"clauses", "clause", "reminders", "documents", "causes_of_loss", "label"}
_POLICY_WORDS = re.compile(
    r"保险|保单|条款|索赔|理赔|赔付|赔款|赔偿|赔|申报|限额|保费|等待期|延展|续保|投保|"
    r"\b(?:polic(?:y|ies)|insur\w*|claims?|indemn\w*|limits?|premiums?|waiting|notif\w*|"
    r"declar\w*|renew\w*|cover(?:ed|age|s)?)\b",
    re.IGNORECASE,
)
# Unit words by kind. "个月", never a bare "月": "2月10日" is a date, not two months.
UNITS = {
    "day": r"个?工作日|天|日|working days?|days?",
    "month": r"个月|months?",
    "year": r"年|years?",
    "pct": r"%|％|percent|成",
    "money": r"元|万|yuan|CNY|RMB",
    "times": r"倍|times|x|×",
}
_UNIT_OF_WORD = [(kind, re.compile(rf"^(?:{pattern})$", re.I)) for kind, pattern in UNITS.items()]
_ANY_UNIT = "|".join(UNITS.values())
# A number right after a digit, a separator or "<n>月" is part of a date or a longer figure.
_NUMBER = rf"(?<![\d.,/-])(?<!\d月)(\d[\d,]*(?:\.\d+)?)\s*({_ANY_UNIT})"
_CN_NUMBERS = {
    "五": 5,
    "十": 10,
    "十五": 15,
    "三十": 30,
    "五十": 50,
    "六十": 60,
    "九十": 90,
    "一百五十": 150,
    "一百八十": 180,
    "两": 2,
    "三": 3,
    "十二": 12,
    "七": 7,
    "九": 9,
    "二十": 20,
}


def _kind_of(key: str) -> str | None:
    """The unit kind a parameter is written with, from its name."""
    if key.endswith(("_days", "day_of_next_month")):
        return "day"
    if key.endswith(("_months", "_12m")) and "orders" not in key:
        return "month"
    if key.endswith("_years"):
        return "year"
    if key.endswith("_pct"):
        return "pct"
    if key.startswith("max_liability_multiple"):
        return "times"
    if key in {
        "max_amount",
        "minimum_premium",
        "check_fee_per_buyer",
        "credit_check_fee_per_buyer",
    }:
        return "money"
    return None


def _numbers(node: Any, key: str = "") -> set[tuple[float, str]]:
    if key in _SKIP_KEYS:
        return set()
    if isinstance(node, dict):
        return {n for k, v in node.items() for n in _numbers(v, str(k))}
    if isinstance(node, bool) or not isinstance(node, int | float):
        return set()
    kind = _kind_of(key)
    return {(float(node), kind)} if kind else set()


def policy_values(params: dict[str, Any]) -> set[tuple[float, str]]:
    """(value, unit kind) of every number the parameters define, plus the default-claim
    day they imply (notification deadline + claim period)."""
    policy = params.get("policy") or {}
    values = _numbers(policy) | _numbers(params.get("rating") or {})
    try:
        day = float(policy["overdue"]["notification_days"]) + float(
            policy["claim_deadline"]["default_days_after_notification_deadline"]
        )
        values.add((day, "day"))
    except (KeyError, TypeError):
        pass
    return {(v, k) for v, k in values if v >= 2}


def _unit_kind(unit: str) -> str | None:
    return next((kind for kind, rx in _UNIT_OF_WORD if rx.match(unit.strip())), None)


def _as_number(raw: str, unit: str) -> float | None:
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return None
    if unit == "成":  # 九成 = 90%
        return value * 10
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
            kind = _unit_kind(m.group(2))
            value = _as_number(m.group(1), m.group(2))
            if value is not None and (value, kind) in values:
                found.append(m.group(0).strip())
        for word, number in _CN_NUMBERS.items():
            for m in re.finditer(
                rf"(?<![一二三四五六七八九十百两])({word})\s*({_ANY_UNIT})", sentence, re.I
            ):
                kind = _unit_kind(m.group(2))
                value = number * 10 if kind == "pct" and m.group(2) == "成" else number
                value = value * 10000 if m.group(2) == "万" else value
                if (float(value), kind) in values:
                    found.append(m.group(0))
        problems += [
            f"literal policy number '{f}' (use a {{{{ policy.… }}}} placeholder)" for f in found
        ]
    return problems
