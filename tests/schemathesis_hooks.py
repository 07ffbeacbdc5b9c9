"""Schemathesis generators that know the API's cross-field rules.

A few schema-valid bodies are refused on purpose, by rules JSON Schema cannot state. The
schemathesis warning for this case ("validation_mismatch") says: tighten the schema or
extend the generators to match the runtime rules. These hooks do the second, so the
``positive_data_acceptance`` check can run on every operation: a positive (schema-valid)
case is made to respect the rules below just before it is sent, in every phase; negative
cases are left as they are, so the negative checks still see them.

- ``POST /v1/leads``: the phone must be a real mainland number (``consent: true`` is in
  the schema itself: required, ``const``).
- ``POST /v1/tools/premium-estimate``: the longest terms are not below the average, and
  the largest buyer's share is possible for the number of buyers (at least 100 / n %).
- ``POST /v1/tools/liquidity``: current assets are not below cash plus securities.
- ``POST /v1/tools/claim-checklist``: a report date means the overdue was reported.
- ``POST /v1/tools/payment-plan``: each instalment is at least one fen.
- ``POST /v1/chat/completions``: the conversation ends in a user message with text.

For the CLI: ``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks schemathesis run ...``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, get_args

import schemathesis

from assistant.api.openai_compat import ChatMessage
from assistant.tools._text import MAX_AMOUNT

MAX_DAYS = 720  # the credit-days fields' bound (PremiumInput)
PHONE = "13812345678"
ROLES = set(get_args(ChatMessage.model_fields["role"].annotation))


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _lead(body: dict[str, Any]) -> None:
    if isinstance(body.get("phone"), str) and len(body["phone"]) <= 40:
        body["phone"] = PHONE


def _premium(body: dict[str, Any]) -> None:
    avg, longest = body.get("avg_credit_days"), body.get("max_credit_days")
    if _number(avg, 0, MAX_DAYS) and _number(longest, 0, MAX_DAYS) and longest < avg:
        body["max_credit_days"] = avg
    buyers, share = body.get("buyer_count"), body.get("largest_buyer_share_pct")
    if (
        isinstance(buyers, int)
        and _number(buyers, 1, 1_000_000)
        and _number(share, 0, 100)
        and share < 100 / buyers
    ):
        body["largest_buyer_share_pct"] = min(100.0, math.ceil(1000 / buyers) / 10)


def _liquidity(body: dict[str, Any]) -> None:
    cash, assets = body.get("cash"), body.get("current_assets")
    securities = body.get("marketable_securities", 0)
    if not (
        _number(cash, 0, MAX_AMOUNT)
        and _number(securities, 0, MAX_AMOUNT)
        and _number(assets, 0, MAX_AMOUNT)
    ):
        return
    liquid = cash + securities
    if assets < liquid:
        if liquid <= MAX_AMOUNT:
            body["current_assets"] = liquid
        else:
            del body["current_assets"]  # optional: the current ratio is then left out


def _claim(body: dict[str, Any]) -> None:
    if body.get("overdue_reported") is False and isinstance(body.get("reported_on"), str):
        body["overdue_reported"] = True


def _plan(body: dict[str, Any]) -> None:
    amount, count = body.get("amount"), body.get("instalments")
    if _number(amount, 0.01, MAX_AMOUNT) and _number(count, 1, 60) and amount * 100 < count:
        body["amount"] = float(count)  # one yuan per instalment


def _completion(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return
    last = messages[-1]
    if last.get("role") not in ROLES:
        return
    content = last.get("content")
    parts_valid = isinstance(content, list) and all(
        isinstance(part, dict)
        and isinstance(part.get("type"), str)
        and (part.get("text") is None or isinstance(part.get("text"), str))
        for part in content
    )
    if isinstance(content, str) and content.strip():
        last["role"] = "user"
    elif content is None or isinstance(content, str) or parts_valid:
        last["role"], last["content"] = "user", "你好"


RULES = {
    "POST /v1/leads": _lead,
    "POST /v1/tools/premium-estimate": _premium,
    "POST /v1/tools/liquidity": _liquidity,
    "POST /v1/tools/claim-checklist": _claim,
    "POST /v1/tools/payment-plan": _plan,
    "POST /v1/chat/completions": _completion,
}


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Every phase (coverage, fuzzing, stateful) sends its cases through here. Only a
    positive case is adjusted: a negative one must stay invalid."""
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    mode = getattr(generation, "mode", None)
    if mode is not None and not mode.is_positive:
        return
    rule = RULES.get(getattr(case.operation, "label", ""))
    if rule is not None and isinstance(case.body, dict):
        body = copy.deepcopy(case.body)  # generated values may be shared: change a copy
        rule(body)
        case.body = body
