"""Credit-management calculators: DSO, liquidity ratios, sales to recover a bad debt, and
payment plans checked against the sample policy's maximum extension period.

The interpretation bands follow the knowledge base's own guides (guide-dso,
guide-cash-ratio, guide-payment-plans), so a calculator never contradicts what the
assistant cites; policy numbers come from ``policy.yaml``.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant import i18n
from assistant.knowledge.params import PolicyParams
from assistant.models import Lang
from assistant.tools._text import (
    MAX_AMOUNT,
    MIN_AMOUNT,
    SaneDate,
    ToolInput,
    clause_label,
    fmt_date,
    half_up,
    money,
    num,
    sane_date,
)

# Cash-ratio reading, as guide-cash-ratio states it: >= 1.0 strong, 0.5-1.0 where most
# healthy SMEs sit, below 0.5 dependent on collections; far above 2.0 may mean idle cash.
CASH_RATIO_STRONG = 1.0
CASH_RATIO_WEAK = 0.5
CASH_RATIO_IDLE = 2.0
# guide-cash-ratio: a current ratio of 1.5 or more is generally considered sound.
CURRENT_RATIO_SOUND = 1.5

# An interval of this many days means "monthly": same day next month (see payment_plan).
MONTHLY_INTERVAL_DAYS = 30


# --- DSO ------------------------------------------------------------------------------


class DsoInput(ToolInput):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    receivables: float = Field(
        ge=0,
        le=MAX_AMOUNT,
        description="Trade receivables at the end of the period, in CNY including VAT.",
    )
    credit_sales: float = Field(
        ge=MIN_AMOUNT,
        le=MAX_AMOUNT,
        description="Credit sales in the same period, in CNY including VAT (no cash sales).",
    )
    period_days: int = Field(
        365, ge=1, le=730, description="Length of the period in days (365 for a year)."
    )
    credit_terms_days: int | None = Field(
        None, ge=0, le=720, description="Usual payment terms granted, in days (e.g. 30)."
    )


class DsoResult(BaseModel):
    dso_days: float = Field(description="Days sales outstanding, 1 decimal.")
    period_days: int
    credit_terms_days: int | None
    days_beyond_terms: float | None = Field(
        description="DSO minus the payment terms; negative when customers pay early."
    )
    daily_credit_sales: float = Field(
        description="Credit sales per day, CNY: cash freed by each day of DSO saved."
    )
    interpretation: str


def _t(lang: Lang, key: str, **values: Any) -> str:
    """This tool's wording (locale section ``tools.calculators``)."""
    return i18n.t(lang, f"tools.calculators.{key}", **values)


def dso(inp: DsoInput, *, lang: Lang = "zh") -> DsoResult:
    """DSO = receivables ÷ credit sales × days, compared with the terms the customer gives."""
    days = half_up(inp.receivables / inp.credit_sales * inp.period_days, 1)
    daily = half_up(inp.credit_sales / inp.period_days)
    parts = [_t(lang, "dso.head", dso=num(days, 1), period=inp.period_days)]
    beyond: float | None = None
    if inp.credit_terms_days is not None:
        beyond = half_up(days - inp.credit_terms_days, 1)
        key = "late" if beyond > 0 else "ok"
        parts.append(_t(lang, f"dso.{key}", terms=inp.credit_terms_days, diff=num(beyond, 1)))
    parts.append(_t(lang, "dso.daily", daily=money(daily, lang)))
    parts.append(_t(lang, "dso.caveat"))
    return DsoResult(
        dso_days=days,
        period_days=inp.period_days,
        credit_terms_days=inp.credit_terms_days,
        days_beyond_terms=beyond,
        daily_credit_sales=daily,
        interpretation=("" if lang == "zh" else " ").join(parts),
    )


# --- liquidity ------------------------------------------------------------------------


class LiquidityInput(ToolInput):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    current_liabilities: float = Field(
        ge=MIN_AMOUNT,
        le=MAX_AMOUNT,
        description="Current liabilities (due within one year), in CNY.",
    )
    cash: float = Field(
        ge=0,
        le=MAX_AMOUNT,
        description="Cash and unrestricted bank deposits, in CNY (exclude frozen deposits).",
    )
    marketable_securities: float = Field(
        0,
        ge=0,
        le=MAX_AMOUNT,
        description=(
            "Cash equivalents: deposits and money-market funds maturing within 3 months, in "
            "CNY (not shares, not bank acceptance bills)."
        ),
    )
    current_assets: float | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="Total current assets, in CNY, for the current ratio.",
    )

    @model_validator(mode="after")
    def _cash_within_current_assets(self) -> LiquidityInput:
        liquid = self.cash + self.marketable_securities
        if self.current_assets is not None and self.current_assets < liquid:
            raise ValueError(
                f"current_assets ({num(self.current_assets)}) cannot be less than cash plus "
                f"marketable_securities ({num(liquid)}): they are part of current assets"
            )
        return self


class LiquidityResult(BaseModel):
    cash_ratio: float = Field(description="(cash + cash equivalents) ÷ current liabilities.")
    current_ratio: float | None = Field(description="current assets ÷ current liabilities.")
    interpretation: str


def liquidity(inp: LiquidityInput, *, lang: Lang = "zh") -> LiquidityResult:
    """Cash ratio (and current ratio if current assets are given), read as the guide reads them."""
    raw = (inp.cash + inp.marketable_securities) / inp.current_liabilities
    ratio = half_up(raw, 2)
    bands = {
        "strong": f"{CASH_RATIO_STRONG:.1f}",
        "weak": f"{CASH_RATIO_WEAK:.1f}",
        "idle": f"{CASH_RATIO_IDLE:.1f}",
    }
    parts = [_t(lang, "liquidity.head", ratio=f"{ratio:.2f}")]
    if raw >= CASH_RATIO_STRONG:
        parts.append(_t(lang, "liquidity.strong", **bands))
        if raw > CASH_RATIO_IDLE:
            parts.append(_t(lang, "liquidity.idle", **bands))
    elif raw >= CASH_RATIO_WEAK:
        parts.append(_t(lang, "liquidity.adequate", **bands))
    else:
        parts.append(_t(lang, "liquidity.weak", **bands))
    current: float | None = None
    if inp.current_assets is not None:
        current = half_up(inp.current_assets / inp.current_liabilities, 2)
        sound = f"{CURRENT_RATIO_SOUND:.1f}"
        verdict = _t(
            lang,
            "liquidity.current_sound"
            if current >= CURRENT_RATIO_SOUND
            else "liquidity.current_low",
        )
        parts.append(
            _t(
                lang,
                "liquidity.current",
                ratio=f"{current:.2f}",
                verdict=verdict.format(sound=sound),
            )
        )
        parts.append(_t(lang, "liquidity.gap"))
    parts.append(_t(lang, "liquidity.trend"))
    return LiquidityResult(
        cash_ratio=ratio,
        current_ratio=current,
        interpretation=("" if lang == "zh" else " ").join(parts),
    )


# --- sales to recover a bad debt ------------------------------------------------------


class RecoveryInput(ToolInput):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    bad_debt: float = Field(
        ge=MIN_AMOUNT, le=MAX_AMOUNT, description="The bad debt written off, in CNY."
    )
    margin_pct: float = Field(
        ge=0.01, le=100, description="Net profit margin on sales, in percent (0.01 to 100)."
    )


class RecoveryResult(BaseModel):
    sales_needed: float = Field(description="Extra sales needed to earn the loss back, CNY.")
    multiple: float = Field(description="sales_needed ÷ bad_debt.")
    interpretation: str


def recovery_sales(inp: RecoveryInput, *, lang: Lang = "zh") -> RecoveryResult:
    """Sales needed = bad debt ÷ margin: how a loss looks in the owner's own terms."""
    sales = half_up(inp.bad_debt / (inp.margin_pct / 100))
    multiple = half_up(100 / inp.margin_pct, 2)
    text = _t(
        lang,
        "recovery",
        margin=num(inp.margin_pct),
        sales=money(sales, lang),
        multiple=num(multiple),
        debt=money(inp.bad_debt, lang),
    )
    return RecoveryResult(sales_needed=sales, multiple=multiple, interpretation=text)


# --- payment plan ---------------------------------------------------------------------


class PaymentPlanInput(ToolInput):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    amount: float = Field(
        ge=MIN_AMOUNT,
        le=MAX_AMOUNT,
        description="Total amount to be paid by instalments, in CNY (at least one fen per "
        "instalment).",
    )
    instalments: int = Field(ge=1, le=60, description="Number of instalments (1-60).")
    first_date: SaneDate = Field(description="Date of the first instalment (YYYY-MM-DD).")
    interval_days: int = Field(
        30,
        ge=1,
        le=365,
        description=("Days between instalments; 30 means monthly, on the same day of each month."),
    )
    original_due_date: SaneDate | None = Field(
        None,
        description="Original due date of the oldest unpaid invoice (YYYY-MM-DD). Optional: "
        "without it the schedule is laid out but not checked against the policy's "
        "60-day line, and the result says so.",
    )

    _sane_dates = field_validator("first_date", "original_due_date")(staticmethod(sane_date))

    @model_validator(mode="after")
    def _at_least_a_cent_each(self) -> PaymentPlanInput:
        if Decimal(repr(self.amount)) * 100 < self.instalments:
            raise ValueError(
                f"amount {num(self.amount)} is too small for {self.instalments} instalments"
            )
        return self


class Instalment(BaseModel):
    n: int
    date: date
    amount: float
    needs_consent: bool | None = Field(
        description="Falls after the maximum extension period: insurer's prior consent needed "
        "(null when the original due date was not given)."
    )
    days_after_due: int | None


class PaymentPlanResult(BaseModel):
    schedule: list[Instalment]
    total: float
    mep_end: date | None = Field(
        description="Last day of the maximum extension period (null without the due date)."
    )
    notification_deadline: date | None
    needs_consent: bool | None
    warnings: list[str]
    notes: list[str] = Field(default_factory=list)
    clause: int = Field(description="Article on extensions and payment plans.")


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _instalment_dates(first: date, count: int, interval_days: int) -> list[date]:
    # Monthly plans are counted from the first date, not from the previous instalment, so a
    # plan starting on the 31st returns to the 31st after a short month (31 May, 30 June,
    # 31 July), as people write month-end plans. Other intervals are plain day counts.
    if interval_days == MONTHLY_INTERVAL_DAYS:
        return [add_months(first, k) for k in range(count)]
    return [first + timedelta(days=interval_days * k) for k in range(count)]


def _split_cents(amount: float, count: int) -> list[float]:
    cents = int((Decimal(repr(amount)) * 100).to_integral_value())
    each = cents // count
    amounts = [each] * (count - 1) + [cents - each * (count - 1)]
    return [float(Decimal(a) / 100) for a in amounts]


def payment_plan(
    inp: PaymentPlanInput, policy: PolicyParams, *, lang: Lang = "zh"
) -> PaymentPlanResult:
    """An instalment schedule with each date checked against the policy's 60-day line.

    Instalments after the maximum extension period need the insurer's prior consent
    (clause 26); the overdue notification deadline (clause 25) applies regardless.
    Without the original due date the schedule is laid out first and marked unchecked.
    """
    c = policy.clauses
    due = inp.original_due_date
    mep_end = due + timedelta(days=policy.overdue.mep_days) if due else None
    notice = due + timedelta(days=policy.overdue.notification_days) if due else None
    dates = _instalment_dates(inp.first_date, inp.instalments, inp.interval_days)
    schedule = [
        Instalment(
            n=i + 1,
            date=d,
            amount=a,
            needs_consent=None if mep_end is None else d > mep_end,
            days_after_due=None if due is None else (d - due).days,
        )
        for i, (d, a) in enumerate(
            zip(dates, _split_cents(inp.amount, inp.instalments), strict=True)
        )
    ]
    plan_clause = clause_label(c.after_overdue, lang)
    if due is None or mep_end is None or notice is None:
        warnings = [_t(lang, "plan.unchecked", days=policy.overdue.mep_days, clause=plan_clause)]
        notes: list[str] = []
    else:
        warnings, notes = _plan_checks(schedule, mep_end, notice, policy, lang)
    notes.append(_t(lang, "plan.stop_credit", days=policy.overdue.mep_days, clause=plan_clause))
    if inp.interval_days == MONTHLY_INTERVAL_DAYS and inp.instalments > 1:
        notes.append(_t(lang, "plan.monthly"))
    if inp.instalments > 1:
        notes.append(_t(lang, "plan.rounding"))
    return PaymentPlanResult(
        schedule=schedule,
        total=float(sum(Decimal(repr(item.amount)) for item in schedule)),
        mep_end=mep_end,
        notification_deadline=notice,
        needs_consent=None if due is None else any(i.needs_consent for i in schedule),
        warnings=warnings,
        notes=notes,
        clause=c.after_overdue,
    )


def _plan_checks(
    schedule: list[Instalment], mep_end: date, notice: date, policy: PolicyParams, lang: Lang
) -> tuple[list[str], list[str]]:
    """(warnings, notes) of a schedule checked against the 60-day line and the deadlines."""
    c = policy.clauses
    claim_deadline = notice + timedelta(
        days=policy.claim_deadline.default_days_after_notification_deadline
    )
    last = schedule[-1].date
    late = [item for item in schedule if item.needs_consent]
    plan_clause = clause_label(c.after_overdue, lang)
    notice_clause = clause_label(c.overdue_notification, lang)
    warnings: list[str] = []
    notes: list[str] = []
    if late:
        warnings.append(
            _t(
                lang,
                "plan.consent",
                first=late[0].n,
                count=len(late),
                mep=fmt_date(mep_end, lang),
                days=policy.overdue.mep_days,
                clause=plan_clause,
            )
        )
    else:
        notes.append(_t(lang, "plan.within", mep=fmt_date(mep_end, lang), clause=plan_clause))
    key = "plan.notice_open" if last > notice else "plan.notice_backup"
    warnings.append(_t(lang, key, deadline=fmt_date(notice, lang), clause=notice_clause))
    if last > claim_deadline:
        warnings.append(
            _t(
                lang,
                "plan.past_claim",
                last=fmt_date(last, lang),
                claim=fmt_date(claim_deadline, lang),
                clause=clause_label(c.claim_deadline, lang),
            )
        )
    return warnings, notes
