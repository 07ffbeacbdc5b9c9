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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


_DSO_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "head": "DSO 为 {dso} 天：按 {period} 天的期间计算，一笔赊销平均约 {dso} 天后收回现金。",
        "late": (
            "比付款条件 {terms} 天平均晚约 {diff} 天，说明有客户在拖延付款，"
            "应看账龄表找出逾期的客户。"
        ),
        "ok": "没有超过付款条件 {terms} 天，回款总体按约定进行。",
        "daily": "日均赊销额约 {daily}，DSO 每缩短 1 天约释放 {daily}的资金。",
        "caveat": (
            "DSO 是平均数，可能掩盖个别严重逾期的客户，宜结合账龄分析并按月看趋势；"
            "应收账款和赊销额都应使用含税口径。"
        ),
    },
    "en": {
        "head": "DSO is {dso} days: over the {period}-day period, a credit sale turns into "
        "cash after about {dso} days on average.",
        "late": "That is about {diff} days beyond your {terms}-day terms, so some customers "
        "are paying late; check the ageing report to find them.",
        "ok": "That is within your {terms}-day terms: collections broadly follow the terms.",
        "daily": "Credit sales average {daily} a day, so each day of DSO saved frees about "
        "{daily} of cash.",
        "caveat": "DSO is an average and can hide one badly overdue customer: read it with an "
        "ageing analysis and watch the monthly trend. Use receivables and credit sales both "
        "including VAT.",
    },
}


def dso(inp: DsoInput, *, lang: Lang = "zh") -> DsoResult:
    """DSO = receivables ÷ credit sales × days, compared with the terms the customer gives."""
    t = _DSO_TEXT[lang]
    days = half_up(inp.receivables / inp.credit_sales * inp.period_days, 1)
    daily = half_up(inp.credit_sales / inp.period_days)
    parts = [t["head"].format(dso=num(days, 1), period=inp.period_days)]
    beyond: float | None = None
    if inp.credit_terms_days is not None:
        beyond = half_up(days - inp.credit_terms_days, 1)
        key = "late" if beyond > 0 else "ok"
        parts.append(t[key].format(terms=inp.credit_terms_days, diff=num(beyond, 1)))
    parts.append(t["daily"].format(daily=money(daily, lang)))
    parts.append(t["caveat"])
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


_LIQ_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "head": "现金比率为 {ratio}：每 1 元短期债务，手上有 {ratio} 元可以立即动用的钱。",
        "strong": "≥ {strong}：现金足以覆盖全部流动负债，短期偿债能力很强。",
        "idle": "但长期远高于 {idle} 可能说明资金闲置，没有投入经营，资金回报偏低。",
        "adequate": (
            "在 {weak}–{strong} 之间：多数正常经营的中小企业在这个区间，"
            "是否安全要看应收账款质量和回款节奏。"
        ),
        "weak": (
            "低于 {weak}：企业高度依赖按时回款来付账，一旦大客户拖欠，"
            "很容易出现付不了货款、发不了工资的情况。"
        ),
        "current": "流动比率为 {ratio}，{verdict}",
        "current_sound": "达到 {sound} 以上，较为稳健。",
        "current_low": "低于 {sound} 的稳健水平。",
        "gap": "两个比率差距越大，流动性越依赖应收账款和存货的变现，回款质量越关键。",
        "trend": "请结合行业特点和趋势看，月末、年末的数值通常偏高。",
    },
    "en": {
        "head": "The cash ratio is {ratio}: for every 1 yuan of short-term debt there is "
        "{ratio} yuan available immediately.",
        "strong": "At {strong} or more, cash covers all current liabilities: short-term "
        "liquidity is strong.",
        "idle": "A ratio staying far above {idle}, though, may mean cash is sitting idle "
        "instead of funding the business.",
        "adequate": "Between {weak} and {strong} is where many healthy SMEs sit; whether it is "
        "safe depends on the quality of receivables and how reliably customers pay.",
        "weak": "Below {weak}, the company depends on on-time collections to pay its bills: one "
        "large customer paying late can leave it unable to pay suppliers or staff.",
        "current": "The current ratio is {ratio}; {verdict}",
        "current_sound": "at {sound} or more it is generally considered sound.",
        "current_low": "that is below the sound level of {sound}.",
        "gap": "The wider the gap between the two ratios, the more liquidity depends on "
        "turning receivables and inventory into cash, so collections matter more.",
        "trend": "Read it against your industry and its trend; month-end and year-end figures "
        "tend to be higher.",
    },
}


def liquidity(inp: LiquidityInput, *, lang: Lang = "zh") -> LiquidityResult:
    """Cash ratio (and current ratio if current assets are given), read as the guide reads them."""
    t = _LIQ_TEXT[lang]
    raw = (inp.cash + inp.marketable_securities) / inp.current_liabilities
    ratio = half_up(raw, 2)
    bands = {
        "strong": f"{CASH_RATIO_STRONG:.1f}",
        "weak": f"{CASH_RATIO_WEAK:.1f}",
        "idle": f"{CASH_RATIO_IDLE:.1f}",
    }
    parts = [t["head"].format(ratio=f"{ratio:.2f}")]
    if raw >= CASH_RATIO_STRONG:
        parts.append(t["strong"].format(**bands))
        if raw > CASH_RATIO_IDLE:
            parts.append(t["idle"].format(**bands))
    elif raw >= CASH_RATIO_WEAK:
        parts.append(t["adequate"].format(**bands))
    else:
        parts.append(t["weak"].format(**bands))
    current: float | None = None
    if inp.current_assets is not None:
        current = half_up(inp.current_assets / inp.current_liabilities, 2)
        sound = f"{CURRENT_RATIO_SOUND:.1f}"
        verdict = t["current_sound" if current >= CURRENT_RATIO_SOUND else "current_low"]
        parts.append(
            t["current"].format(ratio=f"{current:.2f}", verdict=verdict.format(sound=sound))
        )
        parts.append(t["gap"])
    parts.append(t["trend"])
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


_REC_TEXT: dict[Lang, str] = {
    "zh": (
        "按 {margin}% 的利润率，要多做 {sales}的销售（坏账金额的 {multiple} 倍）"
        "才能把这笔 {debt}的坏账赚回来。利润率越薄，一笔坏账要用越多的正常销售来弥补。"
    ),
    "en": (
        "At a {margin}% margin, it takes {sales} of extra sales ({multiple} times the loss) to "
        "earn back a bad debt of {debt}. The thinner the margin, the more normal sales one bad "
        "debt wipes out."
    ),
}


def recovery_sales(inp: RecoveryInput, *, lang: Lang = "zh") -> RecoveryResult:
    """Sales needed = bad debt ÷ margin: how a loss looks in the owner's own terms."""
    sales = half_up(inp.bad_debt / (inp.margin_pct / 100))
    multiple = half_up(100 / inp.margin_pct, 2)
    text = _REC_TEXT[lang].format(
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
    original_due_date: SaneDate = Field(
        description="Original due date of the oldest unpaid invoice (YYYY-MM-DD)."
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
    needs_consent: bool = Field(
        description="Falls after the maximum extension period: insurer's prior consent needed."
    )
    days_after_due: int


class PaymentPlanResult(BaseModel):
    schedule: list[Instalment]
    total: float
    mep_end: date = Field(description="Last day of the maximum extension period.")
    notification_deadline: date
    needs_consent: bool
    warnings: list[str]
    notes: list[str] = Field(default_factory=list)
    clause: int = Field(description="Article on extensions and payment plans.")


_PLAN_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "consent": (
            "第 {first} 期起共 {count} 期晚于最长延展期届满日 {mep}（原应付款日后 {days} 天），"
            "签订前须取得保险人书面同意；未经同意，保险人可以拒绝或减少对该买方的赔偿（{clause}）。"
        ),
        "within": (
            "全部款项在最长延展期届满日 {mep} 前付清，可以自行约定，无需保险人同意（{clause}）。"
        ),
        "notice_open": (
            "还款计划不改变原应付款日：到 {deadline} 仍有未付款，逾期申报必须在该日前送达保险人，"
            "签了计划也不能免除（{clause}）。"
        ),
        "notice_backup": (
            "如有任何一期未按时支付，逾期申报仍须在 {deadline} 前送达保险人（{clause}）。"
        ),
        "past_claim": (
            "最后一期（{last}）晚于拖欠索赔截止日 {claim}：索赔和等待期仍从原应付款日起算，"
            "除非保险人书面同意调整（{clause}）。"
        ),
        "stop_credit": (
            "计划执行期间，新订单宜改为款到发货：提交逾期申报后或逾期超过 {days} 天后，"
            "对该买方的新赊销发货不受保障，除非保险人书面同意（{clause}）。"
        ),
        "monthly": "间隔 30 天按每月同一天排期，当月没有该日的取月末。",
        "rounding": "各期金额按分均分，尾差计入最后一期。",
    },
    "en": {
        "consent": (
            "{count} instalment(s) from no. {first} fall after the end of the maximum extension "
            "period, {mep} ({days} days after the original due date): get the insurer's written "
            "consent before agreeing the plan, or the insurer may refuse or reduce a claim on "
            "this buyer ({clause})."
        ),
        "within": "Everything is paid by the end of the maximum extension period, {mep}, so "
        "you may agree the plan without the insurer's consent ({clause}).",
        "notice_open": (
            "A payment plan does not change the original due date: as money will still be "
            "unpaid on {deadline}, the overdue notification must reach the insurer by then, "
            "plan or no plan ({clause})."
        ),
        "notice_backup": "If any instalment is missed, the overdue notification must still "
        "reach the insurer by {deadline} ({clause}).",
        "past_claim": (
            "The last instalment ({last}) is after the protracted-default claim deadline, "
            "{claim}: the claim deadline and waiting period still run from the original due "
            "date unless the insurer agrees otherwise in writing ({clause})."
        ),
        "stop_credit": (
            "While the plan runs, switch new orders to payment before delivery: after an "
            "overdue notification, or once an invoice is more than {days} days overdue, new "
            "credit deliveries to this buyer are not covered without the insurer's written "
            "consent ({clause})."
        ),
        "monthly": "A 30-day interval is scheduled monthly on the same day of the month, or "
        "the month's last day when that day does not exist.",
        "rounding": "Amounts are split evenly to the cent; the rounding difference is in the "
        "last instalment.",
    },
}


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
    """
    t = _PLAN_TEXT[lang]
    c = policy.clauses
    due = inp.original_due_date
    mep_end = due + timedelta(days=policy.overdue.mep_days)
    notice = due + timedelta(days=policy.overdue.notification_days)
    claim_deadline = notice + timedelta(
        days=policy.claim_deadline.default_days_after_notification_deadline
    )
    dates = _instalment_dates(inp.first_date, inp.instalments, inp.interval_days)
    schedule = [
        Instalment(
            n=i + 1,
            date=d,
            amount=a,
            needs_consent=d > mep_end,
            days_after_due=(d - due).days,
        )
        for i, (d, a) in enumerate(
            zip(dates, _split_cents(inp.amount, inp.instalments), strict=True)
        )
    ]
    late = [item for item in schedule if item.needs_consent]
    plan_clause = clause_label(c.after_overdue, lang)
    notice_clause = clause_label(c.overdue_notification, lang)

    warnings: list[str] = []
    notes: list[str] = []
    if late:
        warnings.append(
            t["consent"].format(
                first=late[0].n,
                count=len(late),
                mep=fmt_date(mep_end, lang),
                days=policy.overdue.mep_days,
                clause=plan_clause,
            )
        )
    else:
        notes.append(t["within"].format(mep=fmt_date(mep_end, lang), clause=plan_clause))
    if dates[-1] > notice:
        warnings.append(
            t["notice_open"].format(deadline=fmt_date(notice, lang), clause=notice_clause)
        )
    else:
        warnings.append(
            t["notice_backup"].format(deadline=fmt_date(notice, lang), clause=notice_clause)
        )
    if dates[-1] > claim_deadline:
        warnings.append(
            t["past_claim"].format(
                last=fmt_date(dates[-1], lang),
                claim=fmt_date(claim_deadline, lang),
                clause=clause_label(c.claim_deadline, lang),
            )
        )
    notes.append(t["stop_credit"].format(days=policy.overdue.mep_days, clause=plan_clause))
    if inp.interval_days == MONTHLY_INTERVAL_DAYS and inp.instalments > 1:
        notes.append(t["monthly"])
    if inp.instalments > 1:
        notes.append(t["rounding"])

    return PaymentPlanResult(
        schedule=schedule,
        total=float(sum(Decimal(repr(item.amount)) for item in schedule)),
        mep_end=mep_end,
        notification_deadline=notice,
        needs_consent=bool(late),
        warnings=warnings,
        notes=notes,
        clause=c.after_overdue,
    )
