"""Indicative premium for the sample policy, priced from ``knowledge/rating.yaml``.

A function rather than the model's arithmetic so that a quote is reproducible and explainable
factor by factor; every number (base ranges, bands, defaults, minimum premium) comes from the
YAML the business edits, and the clause numbers from ``policy.yaml``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.knowledge.params import FALLBACK_INDUSTRY, Band, PolicyParams, RatingParams
from assistant.models import Lang
from assistant.tools._text import (
    MAX_AMOUNT,
    ToolInput,
    clause_label,
    half_up,
    match_aliases,
    money,
    normalise,
    num,
)

FactorKey = Literal[
    "credit_terms_days",
    "buyer_count",
    "largest_buyer_share_pct",
    "bad_debt_ratio_pct",
    "indemnity_pct",
]
FACTOR_KEYS: tuple[FactorKey, ...] = (
    "credit_terms_days",
    "buyer_count",
    "largest_buyer_share_pct",
    "bad_debt_ratio_pct",
    "indemnity_pct",
)

# A share below 100/N is impossible with N buyers; allow this much for rounded inputs.
_SHARE_TOLERANCE_PCT = 1.0


class PremiumInput(ToolInput):
    """What the customer told us about their credit sales; only sales and industry are needed."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    annual_credit_sales: float = Field(
        gt=0,
        le=MAX_AMOUNT,
        description="Annual credit sales to be insured (insured turnover), in CNY including VAT.",
    )
    industry: str = Field(
        min_length=1,
        max_length=200,
        description=(
            "Industry of the buyers: a rating key such as 'electronics' or 'steel_metals', its "
            "Chinese or English label, or free text such as '钢材贸易' or 'garments'. Text "
            "that matches no industry is rated as 'other'."
        ),
    )
    buyer_count: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Number of buyers the insured sells to on credit. Omit if unknown.",
    )
    largest_buyer_share_pct: float | None = Field(
        None,
        gt=0,
        le=100,
        description="Largest buyer's share of annual credit sales, in percent (0-100].",
    )
    avg_credit_days: int | None = Field(
        None,
        ge=0,
        le=720,
        description="Average credit terms granted to buyers, in days after delivery or invoice.",
    )
    max_credit_days: int | None = Field(
        None,
        ge=0,
        le=720,
        description="Longest credit terms granted to any buyer, in days.",
    )
    bad_debt_losses_3y: float | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="Total bad-debt losses over the last 3 years, in CNY (0 if none).",
    )
    indemnity_pct: float | None = Field(
        None,
        gt=0,
        le=100,
        description=(
            "Indemnity percentage wanted, in percent. Omit to use the policy's percentage for "
            "approved credit limits."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> PremiumInput:
        if (
            self.avg_credit_days is not None
            and self.max_credit_days is not None
            and self.max_credit_days < self.avg_credit_days
        ):
            raise ValueError(
                f"max_credit_days ({self.max_credit_days}) must not be below "
                f"avg_credit_days ({self.avg_credit_days})"
            )
        if self.buyer_count is not None and self.largest_buyer_share_pct is not None:
            floor = 100 / self.buyer_count
            if self.largest_buyer_share_pct < floor - _SHARE_TOLERANCE_PCT:
                raise ValueError(
                    f"largest_buyer_share_pct ({num(self.largest_buyer_share_pct)}) is impossible "
                    f"with {self.buyer_count} buyers: the largest buyer has at least "
                    f"100/{self.buyer_count} = {num(floor, 1)}% of credit sales"
                )
        return self


class FactorLine(BaseModel):
    key: FactorKey = Field(description="Rating factor, as named in rating.yaml.")
    label: str = Field(description="Factor name in the reply language.")
    value: str = Field(description="The value rated, human readable with its unit.")
    factor: float = Field(description="Multiplier applied to the base rate.")
    note: str = Field(description="The band of rating.yaml the value fell in.")
    assumed: bool = Field(description="True when the customer did not give this value.")


class PremiumEstimate(BaseModel):
    currency: str
    low: float = Field(description="Premium at the low end of the industry range, whole yuan.")
    base: float = Field(description="Premium at the middle of the industry range, whole yuan.")
    high: float = Field(description="Premium at the high end of the industry range, whole yuan.")
    rate_low_pct: float = Field(description="Low rate, percent of insured turnover.")
    rate_pct: float = Field(description="Central rate, percent of insured turnover.")
    rate_high_pct: float = Field(description="High rate, percent of insured turnover.")
    industry: str = Field(description="rating.yaml industry key used.")
    industry_label: str
    breakdown: list[FactorLine]
    combined_factor: float = Field(description="Product of the factors in the breakdown.")
    minimum_premium: float
    minimum_applied: bool = Field(description="The central premium was raised to the minimum.")
    credit_check_fee_per_buyer: float = Field(
        description="Charged per buyer whose credit limit is applied for; not in the premium."
    )
    assumptions: list[str]
    warnings: list[str]
    disclaimer: str


_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "credit_terms_days": "平均信用期限",
        "buyer_count": "买方数量",
        "largest_buyer_share_pct": "最大买方占比",
        "bad_debt_ratio_pct": "近三年年均坏账率",
        "indemnity_pct": "赔偿比例",
        "unit_days": " 天",
        "unit_buyers": " 家",
        "band_upto": "≤ {hi}",
        "band_between": "> {lo} 且 ≤ {hi}",
        "band_above": "> {lo}",
        "band_note": "档位 {band}",
        "assumed_note": "（未提供，按默认值）",
        "default": "未提供{label}，按默认值 {value}计。",
        "default_share_raised": "未提供{label}；只有 {n} 家买方，按最低可能值 {value} 计。",
        "default_indemnity": "未提供赔偿比例，按核定信用限额的赔偿比例 {value} 计（{clause}）。",
        "bad_debt_ratio": "坏账率 = 近三年坏账 {losses} ÷ 3 ÷ 年赊销额 {sales} = {ratio}%。",
        "industry_unknown": "未能从“{text}”识别行业，按“{label}”的费率区间估算。",
        "industry_resolved": "行业“{text}”按“{label}”的费率区间估算。",
        "check_fee": "保费未含信用限额审核费：每个申请核定信用限额的买方 {fee}（{clause}）。",
        "warn_terms_outside": (
            "信用期限 {days} 天超过示例条款的最长信用期限 {max} 天：约定账期超过 {max} 天的"
            "交易整笔不在承保范围内（{clause}），也不应计入投保营业额。"
        ),
        "warn_terms_band": (
            "平均信用期限 {days} 天超出费率表最高档（≤ {top} 天），按最高档系数估算，"
            "实际费率可能更高。"
        ),
        "warn_beyond_band": "{label} {value} 超出费率表最高档（{band}），按最高档系数估算。",
        "warn_concentration": (
            "最大买方占赊销额 {pct}%（≥ {limit}%），集中度高：这一家出险对企业影响很大，"
            "保险人可能提高费率或对该买方单独审核限额。"
        ),
        "warn_indemnity": (
            "示例条款的赔偿比例为核定信用限额 {approved}%、自行掌握信用限额 {disc}%（{clause}）；"
            "{pct}% 需保险人另行同意。"
        ),
        "warn_minimum": (
            "按费率计算的保费 {calc} 低于最低保险费，按最低保险费 {minimum} 计（{clause}）。"
        ),
    },
    "en": {
        "credit_terms_days": "Average credit terms",
        "buyer_count": "Number of buyers",
        "largest_buyer_share_pct": "Largest buyer's share",
        "bad_debt_ratio_pct": "Bad-debt ratio (3-year annual average)",
        "indemnity_pct": "Indemnity percentage",
        "unit_days": " days",
        "unit_buyers": " buyers",
        "band_upto": "≤ {hi}",
        "band_between": "> {lo} and ≤ {hi}",
        "band_above": "> {lo}",
        "band_note": "band {band}",
        "assumed_note": " (not given, default used)",
        "default": "{label} not given; the default of {value} is assumed.",
        "default_share_raised": "{label} not given; with only {n} buyers the lowest possible "
        "value, {value}, is assumed.",
        "default_indemnity": "Indemnity percentage not given; the percentage for approved credit "
        "limits, {value}, is assumed ({clause}).",
        "bad_debt_ratio": "Bad-debt ratio = bad debts of {losses} over 3 years ÷ 3 ÷ annual "
        "credit sales of {sales} = {ratio}%.",
        "industry_unknown": "No industry recognised in '{text}'; rated with the range for "
        "'{label}'.",
        "industry_resolved": "Industry '{text}' rated with the range for '{label}'.",
        "check_fee": "The premium excludes credit-check fees: {fee} per buyer whose credit "
        "limit is applied for ({clause}).",
        "warn_terms_outside": (
            "Credit terms of {days} days exceed the sample policy's maximum credit period of "
            "{max} days: a sale on terms longer than {max} days is wholly outside cover "
            "({clause}) and should not be counted in the insured turnover."
        ),
        "warn_terms_band": (
            "Average credit terms of {days} days are above the highest rating band (≤ {top} "
            "days); the top band's factor is used and the real rate may be higher."
        ),
        "warn_beyond_band": "{label} of {value} is above the highest rating band ({band}); the "
        "top band's factor is used.",
        "warn_concentration": (
            "The largest buyer takes {pct}% of credit sales (≥ {limit}%): a loss on that one "
            "buyer would hit hard, and the insurer may raise the rate or review that buyer's "
            "limit separately."
        ),
        "warn_indemnity": (
            "The sample policy indemnifies {approved}% under approved credit limits and {disc}% "
            "under discretionary limits ({clause}); {pct}% needs the insurer's agreement."
        ),
        "warn_minimum": "The premium at this rate, {calc}, is below the minimum premium, so the "
        "minimum of {minimum} applies ({clause}).",
    },
}


def resolve_industry(text: str, rating: RatingParams) -> str | None:
    """The rating.yaml industry a customer's wording names, or ``None`` if none is recognised.

    An exact key or label wins; otherwise aliases are matched, goods industries before
    ``generic`` ones, so "钢材贸易" is steel rather than trading.
    """
    norm = normalise(text)
    if not norm:
        return None
    for key, ind in rating.industries.items():
        names = {key, key.replace("_", " "), ind.zh, ind.en}
        if norm in {normalise(name) for name in names}:
            return key
    for generic in (False, True):
        entries = [
            (key, [*ind.aliases.zh, *ind.aliases.en, ind.zh, ind.en, key.replace("_", " ")])
            for key, ind in rating.industries.items()
            if ind.generic == generic
        ]
        keys = match_aliases(norm, entries)
        if keys:
            return keys[0]
    return None


def _pick_band(value: float, bands: list[Band]) -> tuple[int, bool]:
    """Index of the band holding ``value``; ``True`` when it is above every band (top used)."""
    for i, band in enumerate(bands):
        if band.max is None or value <= band.max:
            return i, False
    return len(bands) - 1, True


def _with_unit(key: FactorKey, value: float, lang: Lang) -> str:
    t = _TEXT[lang]
    if key == "credit_terms_days":
        unit = t["unit_days"]
        return f"{num(value)}{unit[:-1] if lang == 'en' and value == 1 else unit}"
    if key == "buyer_count":
        unit = t["unit_buyers"]
        return f"{num(value)}{unit[:-1] if lang == 'en' and value == 1 else unit}"
    return f"{num(value, 3)}%"


def _band_text(key: FactorKey, bands: list[Band], index: int, lang: Lang) -> str:
    t = _TEXT[lang]
    hi = bands[index].max
    lo = bands[index - 1].max if index > 0 else None
    if hi is None:
        return t["band_above"].format(lo=_with_unit(key, lo or 0, lang))
    if lo is None:
        return t["band_upto"].format(hi=_with_unit(key, hi, lang))
    return t["band_between"].format(lo=_with_unit(key, lo, lang), hi=_with_unit(key, hi, lang))


def estimate_premium(
    inp: PremiumInput, rating: RatingParams, policy: PolicyParams, *, lang: Lang = "zh"
) -> PremiumEstimate:
    """Low / central / high annual premium with the factor-by-factor reasoning behind it.

    Rates: industry min, midpoint and max, each times the product of the factors. Missing
    inputs take rating.yaml's defaults and are listed as assumptions, so the answer can say
    what a better quote would need.
    """
    t = _TEXT[lang]
    clauses = policy.clauses
    assumptions: list[str] = []
    warnings: list[str] = []

    key = resolve_industry(inp.industry, rating)
    if key is None:
        key = FALLBACK_INDUSTRY
        label = getattr(rating.industries[key], lang)
        assumptions.append(t["industry_unknown"].format(text=inp.industry.strip(), label=label))
    industry = rating.industries[key]
    industry_label: str = getattr(industry, lang)
    exact = {key, key.replace("_", " "), industry.zh, industry.en}
    if key != FALLBACK_INDUSTRY and normalise(inp.industry) not in {normalise(n) for n in exact}:
        assumptions.append(
            t["industry_resolved"].format(text=inp.industry.strip(), label=industry_label)
        )

    d = rating.defaults
    values: dict[FactorKey, tuple[float, bool]] = {}
    explain: dict[FactorKey, str] = {}  # assumption text for a value not taken as given
    if inp.avg_credit_days is not None:
        values["credit_terms_days"] = (inp.avg_credit_days, False)
    else:
        # An average cannot exceed the longest terms the customer told us about.
        avg = d.avg_credit_days
        if inp.max_credit_days is not None:
            avg = min(avg, inp.max_credit_days)
        values["credit_terms_days"] = (avg, True)
    buyers = inp.buyer_count if inp.buyer_count is not None else d.buyer_count
    values["buyer_count"] = (buyers, inp.buyer_count is None)
    if inp.largest_buyer_share_pct is not None:
        values["largest_buyer_share_pct"] = (inp.largest_buyer_share_pct, False)
    elif d.largest_buyer_share_pct < 100 / buyers:
        # With few buyers the default share is impossible; take the smallest possible one.
        share = half_up(100 / buyers, 1)
        values["largest_buyer_share_pct"] = (share, True)
        explain["largest_buyer_share_pct"] = t["default_share_raised"].format(
            label=t["largest_buyer_share_pct"],
            value=_with_unit("largest_buyer_share_pct", share, lang),
            n=buyers,
        )
    else:
        values["largest_buyer_share_pct"] = (d.largest_buyer_share_pct, True)
    if inp.bad_debt_losses_3y is not None:
        # Rounded so that float noise cannot push a ratio of exactly a band bound over it.
        ratio = half_up(inp.bad_debt_losses_3y * 100 / (3 * inp.annual_credit_sales), 6)
        values["bad_debt_ratio_pct"] = (ratio, False)
        explain["bad_debt_ratio_pct"] = t["bad_debt_ratio"].format(
            losses=money(inp.bad_debt_losses_3y, lang, rating.currency),
            sales=money(inp.annual_credit_sales, lang, rating.currency),
            ratio=num(ratio, 3),
        )
    else:
        values["bad_debt_ratio_pct"] = (d.bad_debt_ratio_pct, True)
    indemnity = inp.indemnity_pct
    if indemnity is None:
        indemnity = policy.indemnity.approved_limit_pct
        explain["indemnity_pct"] = t["default_indemnity"].format(
            value=f"{num(indemnity)}%", clause=clause_label(clauses.indemnity_pct, lang)
        )
    values["indemnity_pct"] = (indemnity, inp.indemnity_pct is None)

    breakdown: list[FactorLine] = []
    combined = 1.0
    for fkey in FACTOR_KEYS:
        value, assumed = values[fkey]
        bands: list[Band] = getattr(rating.factors, fkey)
        index, beyond = _pick_band(value, bands)
        factor = bands[index].factor
        combined *= factor
        label = t[fkey]
        value_text = _with_unit(fkey, value, lang)
        band = _band_text(fkey, bands, index, lang)
        breakdown.append(
            FactorLine(
                key=fkey,
                label=label,
                value=value_text,
                factor=factor,
                note=t["band_note"].format(band=band) + (t["assumed_note"] if assumed else ""),
                assumed=assumed,
            )
        )
        if fkey in explain:
            assumptions.append(explain[fkey])
        elif assumed:
            assumptions.append(t["default"].format(label=label, value=value_text))
        if beyond and fkey == "credit_terms_days":
            top = bands[-1].max or 0
            warnings.append(t["warn_terms_band"].format(days=num(value), top=num(top)))
        elif beyond:
            warnings.append(t["warn_beyond_band"].format(label=label, value=value_text, band=band))

    longest = inp.max_credit_days if inp.max_credit_days is not None else inp.avg_credit_days
    if longest is not None and longest > policy.max_credit_period_days:
        warnings.insert(
            0,
            t["warn_terms_outside"].format(
                days=longest,
                max=policy.max_credit_period_days,
                clause=clause_label(clauses.max_credit_period, lang),
            ),
        )
    share_given = inp.largest_buyer_share_pct
    if share_given is not None and share_given >= rating.concentration_warning_pct:
        warnings.append(
            t["warn_concentration"].format(
                pct=num(share_given), limit=num(rating.concentration_warning_pct)
            )
        )
    if indemnity > policy.indemnity.approved_limit_pct:
        warnings.append(
            t["warn_indemnity"].format(
                approved=num(policy.indemnity.approved_limit_pct),
                disc=num(policy.indemnity.discretionary_limit_pct),
                pct=num(indemnity),
                clause=clause_label(clauses.indemnity_pct, lang),
            )
        )

    mid_pct = (industry.min_pct + industry.max_pct) / 2
    rates = (industry.min_pct * combined, mid_pct * combined, industry.max_pct * combined)
    low, base, high = (half_up(inp.annual_credit_sales * r / 100) for r in rates)
    minimum = rating.minimum_premium
    minimum_applied = base < minimum
    if minimum_applied:
        warnings.append(
            t["warn_minimum"].format(
                calc=money(base, lang, rating.currency),
                minimum=money(minimum, lang, rating.currency),
                clause=clause_label(clauses.minimum_premium, lang),
            )
        )
    assumptions.append(
        t["check_fee"].format(
            fee=money(rating.credit_check_fee_per_buyer, lang, rating.currency),
            clause=clause_label(clauses.credit_check_fee, lang),
        )
    )

    return PremiumEstimate(
        currency=rating.currency,
        low=max(low, minimum),
        base=max(base, minimum),
        high=max(high, minimum),
        rate_low_pct=half_up(rates[0], 3),
        rate_pct=half_up(rates[1], 3),
        rate_high_pct=half_up(rates[2], 3),
        industry=key,
        industry_label=industry_label,
        breakdown=breakdown,
        combined_factor=half_up(combined, 4),
        minimum_premium=minimum,
        minimum_applied=minimum_applied,
        credit_check_fee_per_buyer=rating.credit_check_fee_per_buyer,
        assumptions=assumptions,
        warnings=warnings,
        disclaimer=getattr(rating.disclaimer, lang),
    )
