"""The forms' callbacks: raw widget values in, the tool's result as HTML out.

The forms call the same tools as the chat, through ``Toolbox.run`` (same validation, same
parameters from ``knowledge/*.yaml``, same clock), and the lead form stores leads the way
``POST /v1/leads`` does. Amounts are typed the way owners say them ("5000万",
"50,000,000") and read with the dialogue's own parser. A refused input comes back as a
list of messages in the UI language that name the form's own labels, never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from assistant.api.errors import describe_error
from assistant.dialogue.parsing import normalize_text, parse_date, parse_money, parse_number
from assistant.i18n import t
from assistant.knowledge.params import PolicyParams
from assistant.tools import leads
from assistant.tools.claims import ClaimInput, claim_checklist
from assistant.ui import render
from assistant.ui.strings import norm_lang, ui_text

log = logging.getLogger(__name__)

# Tool name -> (form field -> ui locale key of the field's label), for error messages.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "estimate_premium": {
        "annual_credit_sales": "premium.sales",
        "industry": "premium.industry",
        "buyer_count": "premium.buyers",
        "largest_buyer_share_pct": "premium.share",
        "avg_credit_days": "premium.avg_days",
        "max_credit_days": "premium.max_days",
        "bad_debt_losses_3y": "premium.bad_debt",
        "indemnity_pct": "premium.indemnity",
    },
    "claim_checklist": {
        "cause": "claim.cause",
        "due_date": "claim.due_date",
        "aware_on": "claim.aware_on",
        "judgment_on": "claim.judgment_on",
        "amount": "claim.amount",
        "overdue_reported": "claim.reported",
        "documents_held": "claim.documents",
    },
    "dso": {
        "receivables": "calc.receivables",
        "credit_sales": "calc.credit_sales",
        "period_days": "calc.period_days",
        "credit_terms_days": "calc.terms_days",
    },
    "liquidity": {
        "cash": "calc.cash",
        "marketable_securities": "calc.securities",
        "current_liabilities": "calc.liabilities",
        "current_assets": "calc.current_assets",
    },
    "payment_plan": {
        "amount": "calc.plan_amount",
        "instalments": "calc.instalments",
        "first_date": "calc.first_date",
        "interval_days": "calc.interval",
        "original_due_date": "calc.original_due",
    },
    "lead": {
        "name": "lead.name",
        "phone": "lead.phone",
        "company": "lead.company",
        "need": "lead.need",
        "details": "lead.details",
    },
}

RENDERERS: dict[str, Callable[[Any, str], str]] = {
    "estimate_premium": render.premium_html,
    "claim_checklist": render.claim_html,
    "dso": render.dso_html,
    "liquidity": render.liquidity_html,
    "payment_plan": render.plan_html,
}

_UNIT_GAP = re.compile(r"(\d)\s+(?=[万亿千百])")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d,，]*(?:\.\d+)?$")
_RULE = re.compile(r"^([a-z_]+)\b")


class FormInputError(ValueError):
    """Input refused before the tool runs (an amount that is not a number)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _label(lang: str, tool: str, field: str) -> str:
    key = FIELD_LABELS.get(tool, {}).get(field)
    return ui_text(lang, key) if key else field


def parse_amount(text: str | float | None) -> float | None:
    """An amount as people type it: "5000万", "1.2亿", "50,000,000", "¥300,000", "0".

    ``None`` for blank input; ``ValueError`` when nothing numeric can be read.
    """
    if isinstance(text, int | float):
        return float(text)
    raw = (text or "").strip()
    if not raw:
        return None
    if _PLAIN_NUMBER.match(raw):
        return float(re.sub(r"[,，]", "", raw))
    value = parse_money(_UNIT_GAP.sub(r"\1", raw))
    if value is None:
        raise ValueError(f"not an amount: {raw!r}")
    return value


def parse_quantity(text: str | float | None) -> float | int | None:
    """A count, a number of days or a percentage: "30", "60天", "35%", "月结60天".

    Whole numbers come back as ``int`` so integer fields accept them; a sign is kept, so
    "-5" reaches the tool's own range check instead of being read as 5.
    """
    if isinstance(text, int | float):
        value = float(text)
    else:
        raw = (text or "").strip().rstrip("%％").strip()
        if not raw:
            return None
        if _PLAIN_NUMBER.match(raw):
            value = float(re.sub(r"[,，]", "", raw))
        else:
            found = parse_number(raw)
            if found is None:
                raise ValueError(f"not a number: {raw!r}")
            value = found
    return int(value) if value.is_integer() else value


def _read(
    lang: str,
    tool: str,
    money: Mapping[str, object] | None = None,
    numbers: Mapping[str, object] | None = None,
) -> dict[str, float | int]:
    """Parse the form's typed amounts and numbers; every unreadable field is reported
    together, by its label, before the tool runs."""
    out: dict[str, float | int] = {}
    bad: list[str] = []
    parsers: tuple[tuple[Mapping[str, object], Callable[[Any], float | int | None], str], ...] = (
        (money or {}, parse_amount, "errors.amount"),
        (numbers or {}, parse_quantity, "errors.number"),
    )
    for fields, parse, key in parsers:
        for field, raw in fields.items():
            try:
                value = parse(raw)
            except ValueError:
                bad.append(ui_text(lang, key, field=_label(lang, tool, field)))
                continue
            if value is not None:
                out[field] = value
    if bad:
        raise FormInputError(bad)
    return out


def _present(values: Mapping[str, object]) -> dict[str, object]:
    """Drop blank optional fields, so the tool's defaults apply (and are listed)."""
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


def parse_form_date(text: object, today: date) -> date | None:
    """A typed date as chat reads it: "9月1日", "上月底", "2026/9/1", "1 Sept" (blank: not
    given; unreadable: ValueError)."""
    raw = str(text or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    found = parse_date(normalize_text(raw), today)
    if found is None:
        raise ValueError(f"not a date: {raw!r}")
    return found


def _dates(
    lang: str, tool: str, today: date, fields: Mapping[str, object]
) -> dict[str, date | None]:
    """Parse the form's typed dates; every unreadable one is reported by its label."""
    out: dict[str, date | None] = {}
    bad: list[str] = []
    for field, raw in fields.items():
        try:
            out[field] = parse_form_date(raw, today)
        except ValueError:
            bad.append(ui_text(lang, "errors.date", field=_label(lang, tool, field)))
    if bad:
        raise FormInputError(bad)
    return out


def _today(assistant: Any) -> date:
    clock = getattr(assistant, "today", None)
    return clock() if callable(clock) else date.today()


def validation_messages(err: ValidationError, tool: str, lang: str) -> list[str]:
    """pydantic errors in the UI language, naming the form's labels.

    Field errors use the shared per-type templates (``validation:`` in the locale files);
    the tools' cross-field rules start with the first field's name and get a sentence of
    their own from ``ui.errors.rules``.
    """
    lang = norm_lang(lang)
    messages: list[str] = []
    for e in err.errors(include_url=False):
        loc = e.get("loc") or ()
        field = str(loc[0]) if loc else ""
        if field == "phone" or (tool == "lead" and "phone" in loc):
            messages.append(leads.phone_error_message(lang))
            continue
        if field:
            messages.append(describe_error({**e, "loc": (_label(lang, tool, field),)}, lang))
            continue
        reason = str(e.get("msg", "")).removeprefix("Value error, ")
        rule = _RULE.match(reason)
        try:
            messages.append(ui_text(lang, f"errors.rules.{rule.group(1) if rule else '-'}"))
        except KeyError:
            messages.append(ui_text(lang, "errors.invalid", reason=reason))
    return list(dict.fromkeys(messages))


def run_tool(assistant: Any, tool: str, args: dict[str, Any], lang: str) -> str:
    """Run one tool as the chat would and render its result (or why it was refused)."""
    lang = norm_lang(lang)
    try:
        result, _call = assistant.toolbox.run(tool, args, lang)
    except ValidationError as err:
        return render.errors_html(validation_messages(err, tool, lang), lang)
    except (ArithmeticError, ValueError):
        # Valid input beyond what the maths handles (a date past 9999, a huge sum).
        log.info("ui tool %s: input out of range", tool)
        return render.errors_html([ui_text(lang, "errors.out_of_range")], lang)
    return RENDERERS[tool](result, lang)


# --- the forms ---------------------------------------------------------------------------


def premium(
    assistant: Any,
    lang: str,
    sales: str | None,
    industry: str | None,
    buyers: str | None,
    share: str | None,
    avg_days: str | None,
    max_days: str | None,
    bad_debt: str | None,
    indemnity: str | None,
) -> str:
    tool = "estimate_premium"
    try:
        values = _read(
            lang,
            tool,
            money={"annual_credit_sales": sales, "bad_debt_losses_3y": bad_debt},
            numbers={
                "buyer_count": buyers,
                "largest_buyer_share_pct": share,
                "avg_credit_days": avg_days,
                "max_credit_days": max_days,
                "indemnity_pct": indemnity,
            },
        )
    except FormInputError as err:
        return render.errors_html(err.messages, lang)
    return run_tool(assistant, tool, _present({**values, "industry": industry}), lang)


REPORTED = ("unknown", "yes", "no")


def claim(
    assistant: Any,
    lang: str,
    cause: str | None,
    due_date: object,
    aware_on: object,
    judgment_on: object,
    amount: str | None,
    reported: str | None,
    documents: Sequence[str] | None,
) -> str:
    tool = "claim_checklist"
    try:
        money = _read(lang, tool, money={"amount": amount})
        # The other causes' dates stay in their hidden fields; only read the cause's own.
        dates = _dates(
            lang,
            tool,
            _today(assistant),
            {
                "due_date": due_date,
                "aware_on": aware_on if cause == "insolvency" else None,
                "judgment_on": judgment_on if cause == "dispute" else None,
            },
        )
    except FormInputError as err:
        return render.errors_html(err.messages, lang)
    args = _present(
        {
            "cause": cause,
            **dates,
            "amount": money.get("amount"),
            "overdue_reported": {"yes": True, "no": False}.get(reported or ""),
            "documents_held": list(documents or []),
        }
    )
    return run_tool(assistant, tool, args, lang)


def documents_for(policy: PolicyParams, cause: str, lang: str) -> list[tuple[str, str]]:
    """(name, id) of the documents a claim for ``cause`` needs, for the checkboxes: asked of
    the checklist tool itself, so the form never offers a document the tool would ignore."""
    inp = ClaimInput.model_validate({"cause": cause})
    result = claim_checklist(inp, policy, lang="en" if norm_lang(lang) == "en" else "zh")
    return [(doc.name, doc.id) for doc in result.documents]


def dso(
    assistant: Any,
    lang: str,
    receivables: str | None,
    credit_sales: str | None,
    period_days: float | None,
    terms_days: str | None,
) -> str:
    tool = "dso"
    try:
        values = _read(
            lang,
            tool,
            money={"receivables": receivables, "credit_sales": credit_sales},
            numbers={"period_days": period_days, "credit_terms_days": terms_days},
        )
    except FormInputError as err:
        return render.errors_html(err.messages, lang)
    return run_tool(assistant, tool, _present(values), lang)


def liquidity(
    assistant: Any,
    lang: str,
    cash: str | None,
    securities: str | None,
    liabilities: str | None,
    current_assets: str | None,
) -> str:
    tool = "liquidity"
    try:
        money = _read(
            lang,
            tool,
            money={
                "cash": cash,
                "marketable_securities": securities,
                "current_liabilities": liabilities,
                "current_assets": current_assets,
            },
        )
    except FormInputError as err:
        return render.errors_html(err.messages, lang)
    return run_tool(assistant, tool, _present(money), lang)


def payment_plan(
    assistant: Any,
    lang: str,
    amount: str | None,
    instalments: float | None,
    first_date: object,
    interval: float | None,
    original_due: object,
) -> str:
    tool = "payment_plan"
    try:
        values = _read(
            lang,
            tool,
            money={"amount": amount},
            numbers={"instalments": instalments, "interval_days": interval},
        )
        dates = _dates(
            lang,
            tool,
            _today(assistant),
            {"first_date": first_date, "original_due_date": original_due},
        )
    except FormInputError as err:
        return render.errors_html(err.messages, lang)
    args = _present({**values, **dates})
    return run_tool(assistant, tool, args, lang)


def lead(
    assistant: Any,
    lang: str,
    session_id: str,
    need: str | None,
    name: str | None,
    phone: str | None,
    company: str | None,
    details: str | None,
    *,
    consent: tuple[datetime, str] | None = None,
) -> tuple[str, str | None]:
    """Store a lead with the chat's transcript; returns (HTML, lead id or None). Nothing is
    stored without ``consent`` (the ticked notice: when, and the notice version).

    Idempotent per session: the key is derived from the session, phone and need, so a
    double click stores one lead. A name or company added on a repeat submit is filled in
    on the stored lead instead of being lost.
    """
    lang = norm_lang(lang)
    if consent is None:
        return render.errors_html([t(lang, "consent.required")], lang), None
    try:
        inp = leads.LeadInput(
            name=name or "",
            phone=phone or "",
            company=company or "",
            need=need or "credit_insurance",
            details=details or "",
            session_id=session_id,
            channel="ui",
        )
    except ValidationError as err:
        return render.errors_html(validation_messages(err, "lead", lang), lang), None
    result = leads.capture_lead(inp, assistant.store, lang=lang, consent=consent)
    if not result.created and (inp.name or inp.company):
        assistant.store.update_lead_contact(result.lead_id, name=inp.name, company=inp.company)
    return render.notice_html(result.message), result.lead_id
