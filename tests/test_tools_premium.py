"""estimate_premium and resolve_industry against hand-computed numbers from rating.yaml.

Expected premiums are worked out by hand from the shipped rating.yaml (industry range ×
product of band factors × sales), so a changed band, default or rounding rule fails here.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from assistant.knowledge.params import (
    ParamsError,
    PolicyParams,
    RatingParams,
    load_policy_params,
    load_rating_params,
)
from assistant.models import Lang
from assistant.tools.premium import (
    PremiumEstimate,
    PremiumInput,
    estimate_premium,
    resolve_industry,
)

POLICY = load_policy_params(Path("knowledge/policy.yaml"))
RATING = load_rating_params(Path("knowledge/rating.yaml"))


def quote(lang: Lang = "zh", **fields: Any) -> PremiumEstimate:
    return estimate_premium(PremiumInput(**fields), RATING, POLICY, lang=lang)


def factors(est: PremiumEstimate) -> dict[str, float]:
    return {line.key: line.factor for line in est.breakdown}


# --- the maths ---------------------------------------------------------------------------


def test_defaults_only_electronics_hand_computed() -> None:
    # electronics 0.18-0.40 (mid 0.29); defaults: 60 days 1.00, 20 buyers 1.10,
    # share 30% 1.10, bad debts 0% 0.90, indemnity 90% 1.00 -> product 1.089.
    est = quote(annual_credit_sales=10_000_000, industry="电子产品")
    assert est.industry == "electronics"
    assert est.industry_label == "电子电器"
    assert factors(est) == {
        "credit_terms_days": 1.00,
        "buyer_count": 1.10,
        "largest_buyer_share_pct": 1.10,
        "bad_debt_ratio_pct": 0.90,
        "indemnity_pct": 1.00,
    }
    assert all(line.assumed for line in est.breakdown)
    assert est.combined_factor == 1.089
    assert (est.rate_low_pct, est.rate_pct, est.rate_high_pct) == (0.196, 0.316, 0.436)
    # low 19,602 is below the 20,000 minimum and is raised; the base is not.
    assert (est.low, est.base, est.high) == (20_000, 31_581, 43_560)
    assert est.minimum_applied is False
    assert est.minimum_premium == 20_000
    assert est.credit_check_fee_per_buyer == 500
    assert est.warnings == []
    assert est.currency == "CNY"


def test_full_inputs_steel_trading_hand_computed() -> None:
    # steel_metals 0.30-0.70 (mid 0.50); 95 days 1.25, 8 buyers 1.10, share 45% 1.25,
    # bad debts 1,500,000/3/50,000,000 = 1.0% -> 1.20, indemnity 80% 0.92 -> 1.8975.
    est = quote(
        annual_credit_sales=50_000_000,
        industry="钢材贸易",
        buyer_count=8,
        largest_buyer_share_pct=45,
        avg_credit_days=95,
        max_credit_days=120,
        bad_debt_losses_3y=1_500_000,
        indemnity_pct=80,
    )
    assert est.industry == "steel_metals"
    assert factors(est) == {
        "credit_terms_days": 1.25,
        "buyer_count": 1.10,
        "largest_buyer_share_pct": 1.25,
        "bad_debt_ratio_pct": 1.20,
        "indemnity_pct": 0.92,
    }
    assert not any(line.assumed for line in est.breakdown)
    assert est.combined_factor == 1.8975
    assert (est.rate_low_pct, est.rate_pct, est.rate_high_pct) == (0.569, 0.949, 1.328)
    assert (est.low, est.base, est.high) == (284_625, 474_375, 664_125)
    assert est.warnings == []
    assert any("1%" in a for a in est.assumptions), est.assumptions  # the bad-debt ratio shown


def test_minimum_premium_raises_all_three_and_is_flagged() -> None:
    # 2,000,000 × 0.31581% = 6,316 < 20,000.
    est = quote(annual_credit_sales=2_000_000, industry="electronics")
    assert (est.low, est.base, est.high) == (20_000, 20_000, 20_000)
    assert est.minimum_applied is True
    assert any("6,316" in w and "20,000" in w and "第二十条" in w for w in est.warnings)


def test_premium_scales_linearly_with_sales_above_the_minimum() -> None:
    one = quote(annual_credit_sales=20_000_000, industry="construction")
    two = quote(annual_credit_sales=40_000_000, industry="construction")
    # construction 0.40-0.90, product 1.089: base 20,000,000 × 0.65 × 1.089% = 141,570.
    assert one.base == 141_570
    assert two.base == 2 * one.base


@pytest.mark.parametrize(
    ("fields", "key", "factor"),
    [
        ({"avg_credit_days": 30}, "credit_terms_days", 0.90),  # value == max stays in band
        ({"avg_credit_days": 31}, "credit_terms_days", 1.00),
        ({"avg_credit_days": 180}, "credit_terms_days", 1.45),
        ({"avg_credit_days": 0}, "credit_terms_days", 0.90),
        ({"buyer_count": 5}, "buyer_count", 1.30),
        ({"buyer_count": 6, "largest_buyer_share_pct": 30}, "buyer_count", 1.10),
        ({"buyer_count": 51}, "buyer_count", 0.90),
        ({"largest_buyer_share_pct": 20}, "largest_buyer_share_pct", 1.00),
        ({"largest_buyer_share_pct": 20.5}, "largest_buyer_share_pct", 1.10),
        ({"largest_buyer_share_pct": 100, "buyer_count": 1}, "largest_buyer_share_pct", 1.45),
        ({"bad_debt_losses_3y": 0}, "bad_debt_ratio_pct", 0.90),
        ({"bad_debt_losses_3y": 150_000}, "bad_debt_ratio_pct", 1.00),  # exactly 0.5%
        ({"bad_debt_losses_3y": 150_003}, "bad_debt_ratio_pct", 1.20),
        ({"bad_debt_losses_3y": 450_000}, "bad_debt_ratio_pct", 1.20),  # exactly 1.5%
        ({"bad_debt_losses_3y": 450_003}, "bad_debt_ratio_pct", 1.50),
        ({"indemnity_pct": 70}, "indemnity_pct", 0.85),
        ({"indemnity_pct": 95}, "indemnity_pct", 1.08),
    ],
)
def test_band_bounds_are_inclusive(fields: dict[str, Any], key: str, factor: float) -> None:
    est = quote(annual_credit_sales=10_000_000, industry="other", **fields)
    assert factors(est)[key] == factor


def test_missing_average_terms_never_exceed_the_maximum_given() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="food", max_credit_days=20)
    line = est.breakdown[0]
    assert (line.key, line.value, line.factor, line.assumed) == (
        "credit_terms_days",
        "20 天",
        0.90,
        True,
    )


def test_default_share_is_raised_when_few_buyers_make_it_impossible() -> None:
    # 2 buyers: the largest has at least 50%, not the 30% default.
    est = quote(annual_credit_sales=10_000_000, industry="electronics", buyer_count=2)
    share = next(line for line in est.breakdown if line.key == "largest_buyer_share_pct")
    assert (share.value, share.factor, share.assumed) == ("50%", 1.25, True)
    # 1.0 × 1.30 × 1.25 × 0.90 × 1.00
    assert est.combined_factor == 1.4625
    assert est.rate_pct == 0.424  # 0.29 × 1.4625 = 0.424125


def test_assumptions_list_every_default_and_the_check_fee() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="electronics")
    text = "\n".join(est.assumptions)
    for expected in ("60 天", "20 家", "30%", "0%", "90%", "500 元", "第二十一条", "第二十二条"):
        assert expected in text, expected
    given = quote(
        annual_credit_sales=10_000_000,
        industry="electronics",
        avg_credit_days=45,
        buyer_count=30,
        largest_buyer_share_pct=25,
        bad_debt_losses_3y=0,
        indemnity_pct=90,
    )
    # Everything given, industry by its exact key: only the bad-debt working and the fee note.
    assert len(given.assumptions) == 2
    assert not any(line.assumed for line in given.breakdown)


# --- warnings ----------------------------------------------------------------------------


def test_terms_beyond_the_policy_maximum_warn_with_clause_17() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="other", max_credit_days=210)
    assert any("210" in w and "180" in w and "第十七条" in w for w in est.warnings), est.warnings
    avg_only = quote(annual_credit_sales=10_000_000, industry="other", avg_credit_days=181)
    assert any("第十七条" in w for w in avg_only.warnings)
    at_max = quote(annual_credit_sales=10_000_000, industry="other", max_credit_days=180)
    assert at_max.warnings == []


def test_average_terms_above_the_last_band_use_the_top_factor_and_warn() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="other", avg_credit_days=200)
    assert factors(est)["credit_terms_days"] == 1.45
    assert any("200" in w and "≤ 180" in w for w in est.warnings), est.warnings


@pytest.mark.parametrize(("share", "warned"), [(49.9, False), (50, True), (80, True)])
def test_concentration_warning_from_the_configured_threshold(share: float, warned: bool) -> None:
    est = quote(annual_credit_sales=10_000_000, industry="other", largest_buyer_share_pct=share)
    assert any("集中度" in w for w in est.warnings) is warned


def test_indemnity_above_policy_and_bands_warns_twice() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="other", indemnity_pct=98, lang="en")
    assert factors(est)["indemnity_pct"] == 1.08
    assert any("above the highest rating band" in w for w in est.warnings)
    assert any("90%" in w and "70%" in w and "Article 22" in w for w in est.warnings)


# --- industries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("electronics", "electronics"),
        ("steel_metals", "steel_metals"),
        ("纺织服装", "textiles_apparel"),
        ("Pharma and medical devices", "pharma_medical"),
        ("电子产品", "electronics"),
        ("做服装的", "textiles_apparel"),
        ("钢材贸易", "steel_metals"),
        ("化工", "chemicals"),
        ("食品", "food_agri"),
        ("建材", "construction"),
        ("汽配", "auto_parts"),
        ("医疗器械", "pharma_medical"),
        ("医疗设备", "pharma_medical"),  # not manufacturing's 设备
        ("农药", "chemicals"),  # not pharma's 药
        ("textiles", "textiles_apparel"),
        ("steel", "steel_metals"),
        ("Steel trading", "steel_metals"),  # goods beat the generic trading
        ("贸易公司", "wholesale"),
        ("物流服务", "services"),
        ("ＳＴＥＥＬ", "steel_metals"),  # full-width input
        ("spaceships", None),
        ("", None),
    ],
)
def test_resolve_industry(text: str, key: str | None) -> None:
    assert resolve_industry(text, RATING) == key


def test_unrecognised_industry_is_rated_as_other_with_an_assumption() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="航天器", lang="zh")
    assert est.industry == "other"
    assert est.industry_label == "其他行业"
    assert "航天器" in est.assumptions[0] and "其他行业" in est.assumptions[0]
    # other 0.20-0.50, product 1.089: base 10,000,000 × 0.35 × 1.089% = 38,115.
    assert est.base == 38_115


def test_english_output_text() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="做服装的", lang="en")
    assert est.industry_label == "Textiles and apparel"
    assert est.breakdown[0].label == "Average credit terms"
    assert est.breakdown[0].value == "60 days"
    assert est.breakdown[1].note.startswith("band > 5 buyers and ≤ 20 buyers")
    assert est.disclaimer.startswith("This is an indicative estimate")
    assert any("Article 21" in a for a in est.assumptions)


def test_chinese_disclaimer_says_indicative_and_underwriting() -> None:
    est = quote(annual_credit_sales=10_000_000, industry="electronics")
    assert "指示性" in est.disclaimer and "核保" in est.disclaimer


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"annual_credit_sales": 0}, "annual_credit_sales"),
        ({"annual_credit_sales": -5}, "annual_credit_sales"),
        ({"industry": ""}, "industry"),
        ({"largest_buyer_share_pct": 120}, "largest_buyer_share_pct"),
        ({"largest_buyer_share_pct": 0}, "largest_buyer_share_pct"),
        ({"avg_credit_days": 721}, "avg_credit_days"),
        ({"avg_credit_days": -1}, "avg_credit_days"),
        ({"buyer_count": 0}, "buyer_count"),
        ({"bad_debt_losses_3y": -1}, "bad_debt_losses_3y"),
        ({"indemnity_pct": 101}, "indemnity_pct"),
        ({"avg_credit_days": 90, "max_credit_days": 60}, "max_credit_days"),
        ({"buyer_count": 3, "largest_buyer_share_pct": 20}, "100/3 = 33.3%"),
        ({"turnover": 5}, "turnover"),
    ],
)
def test_invalid_input_names_the_field(fields: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"annual_credit_sales": 1_000_000, "industry": "other", **fields}
    with pytest.raises(ValidationError) as info:
        PremiumInput(**args)
    assert field in str(info.value)


def test_input_schema_describes_every_field_for_the_llm() -> None:
    props = PremiumInput.model_json_schema()["properties"]
    assert props["annual_credit_sales"]["description"].endswith("in CNY including VAT.")
    assert all(p.get("description") for p in props.values())


# --- rating.yaml schema --------------------------------------------------------------------


def test_rating_yaml_without_the_fallback_industry_fails(tmp_path: Path) -> None:
    data = yaml.safe_load(Path("knowledge/rating.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    del data["industries"]["other"]
    path = tmp_path / "rating.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match="other"):
        load_rating_params(path)


def test_every_industry_has_aliases_and_only_business_models_are_generic() -> None:
    assert all(ind.aliases.zh and ind.aliases.en for ind in RATING.industries.values())
    assert {k for k, ind in RATING.industries.items() if ind.generic} == {
        "wholesale",
        "services",
        "other",
    }


def test_fixtures_are_the_shipped_types() -> None:
    assert isinstance(POLICY, PolicyParams) and isinstance(RATING, RatingParams)
