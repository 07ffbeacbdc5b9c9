"""Indicative premium for the sample policy, priced from ``knowledge/rating.yaml``.

A function rather than the model's arithmetic so that a quote is reproducible and explainable
factor by factor; every number (base ranges, bands, defaults, minimum premium) comes from the
YAML the business edits, and the clause numbers from ``policy.yaml``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant import i18n
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
    industry: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=(
            "Industry of the buyers: a rating key such as 'electronics' or 'steel_metals', its "
            "Chinese or English label, or free text such as '钢材贸易' or 'garments'. Text "
            "that matches no industry is rated as 'other'; omitted, the 'other' range is "
            "used and listed as an assumption."
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
    industry_assumed: bool = Field(
        False, description="No industry was given: the 'other' range was used."
    )
    breakdown: list[FactorLine]
    combined_factor: float = Field(description="Product of the factors in the breakdown.")
    minimum_premium: float
    minimum_applied: bool = Field(description="The central premium was raised to the minimum.")
    low_at_minimum: bool = Field(
        False,
        description="The low end was raised to the minimum premium: its rated premium "
        "(rate_low_pct of sales) is below it.",
    )
    high_at_minimum: bool = Field(
        False, description="The high end too was raised to the minimum premium."
    )
    credit_check_fee_per_buyer: float = Field(
        description="Charged per buyer whose credit limit is applied for; not in the premium."
    )
    assumptions: list[str]
    warnings: list[str]
    disclaimer: str


def _t(lang: Lang, key: str, **values: Any) -> str:
    """This tool's wording (locale section ``tools.premium``)."""
    return i18n.t(lang, f"tools.premium.{key}", **values)


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
    if key == "credit_terms_days":
        unit = _t(lang, "unit_days")
        return f"{num(value)}{unit[:-1] if lang == 'en' and value == 1 else unit}"
    if key == "buyer_count":
        unit = _t(lang, "unit_buyers")
        return f"{num(value)}{unit[:-1] if lang == 'en' and value == 1 else unit}"
    return f"{num(value, 3)}%"


def _band_text(key: FactorKey, bands: list[Band], index: int, lang: Lang) -> str:
    hi = bands[index].max
    lo = bands[index - 1].max if index > 0 else None
    if hi is None:
        return _t(lang, "band_above", lo=_with_unit(key, lo or 0, lang))
    if lo is None:
        return _t(lang, "band_upto", hi=_with_unit(key, hi, lang))
    return _t(lang, "band_between", lo=_with_unit(key, lo, lang), hi=_with_unit(key, hi, lang))


def estimate_premium(
    inp: PremiumInput, rating: RatingParams, policy: PolicyParams, *, lang: Lang = "zh"
) -> PremiumEstimate:
    """Low / central / high annual premium with the factor-by-factor reasoning behind it.

    Rates: industry min, midpoint and max, each times the product of the factors. Missing
    inputs take rating.yaml's defaults and are listed as assumptions, so the answer can say
    what a better quote would need.
    """
    clauses = policy.clauses
    assumptions: list[str] = []
    warnings: list[str] = []

    key = resolve_industry(inp.industry, rating) if inp.industry is not None else None
    if key is None:
        key = FALLBACK_INDUSTRY
        label = getattr(rating.industries[key], lang)
        assumptions.append(
            _t(lang, "industry_default", label=label)
            if inp.industry is None
            else _t(lang, "industry_unknown", text=inp.industry.strip(), label=label)
        )
    industry = rating.industries[key]
    industry_label: str = getattr(industry, lang)
    exact = {key, key.replace("_", " "), industry.zh, industry.en}
    if (
        inp.industry is not None
        and key != FALLBACK_INDUSTRY
        and normalise(inp.industry) not in {normalise(n) for n in exact}
    ):
        assumptions.append(
            _t(lang, "industry_resolved", text=inp.industry.strip(), label=industry_label)
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
        explain["largest_buyer_share_pct"] = _t(
            lang,
            "default_share_raised",
            label=_t(lang, "largest_buyer_share_pct"),
            value=_with_unit("largest_buyer_share_pct", share, lang),
            n=buyers,
        )
    else:
        values["largest_buyer_share_pct"] = (d.largest_buyer_share_pct, True)
    if inp.bad_debt_losses_3y is not None:
        # Rounded so that float noise cannot push a ratio of exactly a band bound over it.
        ratio = half_up(inp.bad_debt_losses_3y * 100 / (3 * inp.annual_credit_sales), 6)
        values["bad_debt_ratio_pct"] = (ratio, False)
        explain["bad_debt_ratio_pct"] = _t(
            lang,
            "bad_debt_ratio",
            losses=money(inp.bad_debt_losses_3y, lang, rating.currency),
            sales=money(inp.annual_credit_sales, lang, rating.currency),
            ratio=num(ratio, 3),
        )
    else:
        values["bad_debt_ratio_pct"] = (d.bad_debt_ratio_pct, True)
    indemnity = inp.indemnity_pct
    if indemnity is None:
        indemnity = policy.indemnity.approved_limit_pct
        explain["indemnity_pct"] = _t(
            lang,
            "default_indemnity",
            value=f"{num(indemnity)}%",
            clause=clause_label(clauses.indemnity_pct, lang),
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
        label = _t(lang, fkey)
        value_text = _with_unit(fkey, value, lang)
        band = _band_text(fkey, bands, index, lang)
        breakdown.append(
            FactorLine(
                key=fkey,
                label=label,
                value=value_text,
                factor=factor,
                note=_t(lang, "band_note", band=band),
                assumed=assumed,
            )
        )
        if fkey in explain:
            assumptions.append(explain[fkey])
        elif assumed:
            assumptions.append(_t(lang, "default", label=label, value=value_text))
        if beyond and fkey == "credit_terms_days":
            top = bands[-1].max or 0
            warnings.append(_t(lang, "warn_terms_band", days=num(value), top=num(top)))
        elif beyond:
            warnings.append(_t(lang, "warn_beyond_band", label=label, value=value_text, band=band))

    longest = inp.max_credit_days if inp.max_credit_days is not None else inp.avg_credit_days
    if longest is not None and longest > policy.max_credit_period_days:
        warnings.insert(
            0,
            _t(
                lang,
                "warn_terms_outside",
                days=longest,
                max=policy.max_credit_period_days,
                clause=clause_label(clauses.max_credit_period, lang),
            ),
        )
    share_given = inp.largest_buyer_share_pct
    if share_given is not None and share_given >= rating.concentration_warning_pct:
        warnings.append(
            _t(
                lang,
                "warn_concentration",
                pct=num(share_given),
                limit=num(rating.concentration_warning_pct),
            )
        )
    if indemnity > policy.indemnity.approved_limit_pct:
        warnings.append(
            _t(
                lang,
                "warn_indemnity",
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
            _t(
                lang,
                "warn_minimum",
                calc=money(base, lang, rating.currency),
                minimum=money(minimum, lang, rating.currency),
                clause=clause_label(clauses.minimum_premium, lang),
            )
        )
    assumptions.append(
        _t(
            lang,
            "check_fee",
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
        industry_assumed=inp.industry is None,
        breakdown=breakdown,
        combined_factor=half_up(combined, 4),
        minimum_premium=minimum,
        minimum_applied=minimum_applied,
        low_at_minimum=low < minimum,
        high_at_minimum=high < minimum,
        credit_check_fee_per_buyer=rating.credit_check_fee_per_buyer,
        assumptions=assumptions,
        warnings=warnings,
        disclaimer=getattr(rating.disclaimer, lang),
    )
