"""DSO, liquidity, recovery and payment-plan calculators against the guides' own examples.

The DSO and cash-ratio figures are the worked examples in guide-dso and guide-cash-ratio;
the payment plans are the examples in clause 26 and guide-payment-plans, so the calculators
and the documents the assistant cites cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assistant.knowledge.params import load_policy_params
from assistant.tools.calculators import (
    DsoInput,
    LiquidityInput,
    PaymentPlanInput,
    PaymentPlanResult,
    RecoveryInput,
    add_months,
    dso,
    liquidity,
    payment_plan,
    recovery_sales,
)

POLICY = load_policy_params(Path("knowledge/policy.yaml"))


# --- DSO -------------------------------------------------------------------------------


def test_dso_quarterly_example_from_the_guide() -> None:
    # 3,000,000 ÷ 6,000,000 × 90 = 45 days; Net 30 -> about 15 days late.
    result = dso(
        DsoInput(
            receivables=3_000_000, credit_sales=6_000_000, period_days=90, credit_terms_days=30
        )
    )
    assert result.dso_days == 45.0
    assert result.days_beyond_terms == 15.0
    assert result.daily_credit_sales == 66_667  # 6,000,000 / 90
    assert result.interpretation.startswith("DSO 为 45 天")
    assert "晚约 15 天" in result.interpretation
    assert "66,667 元" in result.interpretation


def test_dso_monthly_example_is_21_7_not_22_3() -> None:
    result = dso(DsoInput(receivables=35_000, credit_sales=50_000, period_days=31))
    assert result.dso_days == 21.7
    assert result.days_beyond_terms is None
    assert result.credit_terms_days is None


def test_dso_annual_period_end_example() -> None:
    # 10,000,000 ÷ 36,500,000 × 365 = 100 days; daily sales 100,000.
    result = dso(DsoInput(receivables=10_000_000, credit_sales=36_500_000), lang="en")
    assert result.period_days == 365
    assert result.dso_days == 100.0
    assert result.daily_credit_sales == 100_000
    assert "CNY 100,000" in result.interpretation


def test_dso_within_terms_is_read_as_on_time() -> None:
    result = dso(
        DsoInput(receivables=500_000, credit_sales=12_000_000, credit_terms_days=30), lang="en"
    )
    # 500,000 / 12,000,000 × 365 = 15.2 days, 14.8 days inside the terms.
    assert result.dso_days == 15.2
    assert result.days_beyond_terms == -14.8
    assert "within your 30-day terms" in result.interpretation


@pytest.mark.parametrize(
    "fields",
    [
        {"receivables": -1, "credit_sales": 1},
        {"receivables": 1, "credit_sales": 0},
        {"receivables": 1, "credit_sales": 1, "period_days": 0},
        {"receivables": 1, "credit_sales": 1, "credit_terms_days": 721},
    ],
)
def test_dso_rejects_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DsoInput(**fields)


# --- liquidity ---------------------------------------------------------------------------


def test_cash_ratio_example_from_the_guide() -> None:
    # (1,200,000 + 300,000) ÷ 2,500,000 = 0.60; current ratio 5,650,000 ÷ 2,500,000 = 2.26.
    result = liquidity(
        LiquidityInput(
            current_liabilities=2_500_000,
            cash=1_200_000,
            marketable_securities=300_000,
            current_assets=5_650_000,
        )
    )
    assert result.cash_ratio == 0.60
    assert result.current_ratio == 2.26
    assert result.interpretation.startswith("现金比率为 0.60")
    assert "0.5–1.0" in result.interpretation  # the guide's middle band
    assert "达到 1.5 以上" in result.interpretation


@pytest.mark.parametrize(
    ("cash", "ratio", "phrase"),
    [
        (400_000, 0.40, "低于 0.5"),
        (500_000, 0.50, "在 0.5–1.0 之间"),  # 0.5 is in the middle band
        (999_000, 1.00, "在 0.5–1.0 之间"),  # 0.999 rounds to 1.00 but is still below 1
        (1_000_000, 1.00, "≥ 1.0"),
        (2_500_000, 2.50, "资金闲置"),
    ],
)
def test_cash_ratio_bands_follow_the_guide(cash: float, ratio: float, phrase: str) -> None:
    result = liquidity(LiquidityInput(current_liabilities=1_000_000, cash=cash))
    assert result.cash_ratio == ratio
    assert result.current_ratio is None
    assert phrase in result.interpretation


def test_low_current_ratio_is_flagged_in_english() -> None:
    result = liquidity(
        LiquidityInput(current_liabilities=1_000_000, cash=200_000, current_assets=1_200_000),
        lang="en",
    )
    assert (result.cash_ratio, result.current_ratio) == (0.20, 1.20)
    assert "Below 0.5" in result.interpretation
    assert "below the sound level of 1.5" in result.interpretation


def test_current_assets_below_cash_is_rejected() -> None:
    with pytest.raises(ValidationError, match="current_assets"):
        LiquidityInput(
            current_liabilities=100, cash=80, marketable_securities=30, current_assets=100
        )


def test_zero_current_liabilities_is_rejected() -> None:
    with pytest.raises(ValidationError, match="current_liabilities"):
        LiquidityInput(current_liabilities=0, cash=1)


# --- recovery sales ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_debt", "margin", "sales", "multiple"),
    [
        (100_000, 5, 2_000_000, 20.0),
        (100_000, 3, 3_333_333, 33.33),
        (80_000, 100, 80_000, 1.0),
        (50_000, 8, 625_000, 12.5),
    ],
)
def test_recovery_sales(bad_debt: float, margin: float, sales: float, multiple: float) -> None:
    result = recovery_sales(RecoveryInput(bad_debt=bad_debt, margin_pct=margin))
    assert (result.sales_needed, result.multiple) == (sales, multiple)


def test_recovery_interpretation_in_both_languages() -> None:
    zh = recovery_sales(RecoveryInput(bad_debt=100_000, margin_pct=5))
    assert "2,000,000 元的销售" in zh.interpretation and "20 倍" in zh.interpretation
    en = recovery_sales(RecoveryInput(bad_debt=100_000, margin_pct=5), lang="en")
    assert "CNY 2,000,000" in en.interpretation and "20 times" in en.interpretation


@pytest.mark.parametrize(
    "fields",
    [
        {"bad_debt": 0, "margin_pct": 5},
        {"bad_debt": 100, "margin_pct": 0},
        {"bad_debt": 100, "margin_pct": 100.5},
    ],
)
def test_recovery_rejects_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RecoveryInput(**fields)


# --- payment plans -----------------------------------------------------------------------


def plan(**fields: Any) -> PaymentPlanResult:
    return payment_plan(PaymentPlanInput(**fields), POLICY)


def test_clause_26_example_three_instalments_within_the_mep() -> None:
    # Due 31 March; 20 April, 10 May, 30 May -> no consent needed (30 May is day 60).
    result = plan(
        amount=100_000,
        instalments=3,
        first_date=date(2026, 4, 20),
        interval_days=20,
        original_due_date=date(2026, 3, 31),
    )
    assert [i.date for i in result.schedule] == [
        date(2026, 4, 20),
        date(2026, 5, 10),
        date(2026, 5, 30),
    ]
    assert [i.amount for i in result.schedule] == [33_333.33, 33_333.33, 33_333.34]
    assert [i.days_after_due for i in result.schedule] == [20, 40, 60]
    assert result.mep_end == date(2026, 5, 30)
    assert result.notification_deadline == date(2026, 5, 30)
    assert result.needs_consent is False
    assert not any(i.needs_consent for i in result.schedule)
    assert result.clause == 26
    assert any("无需保险人同意" in n and "第二十六条" in n for n in result.notes)
    # Still a reminder that the notification deadline applies if an instalment is missed.
    assert any("2026年5月30日" in w and "第二十五条" in w for w in result.warnings)


def test_clause_26_example_instalment_on_30_june_needs_consent() -> None:
    result = plan(
        amount=90_000,
        instalments=2,
        first_date=date(2026, 5, 30),
        interval_days=31,
        original_due_date=date(2026, 3, 31),
    )
    assert [i.date for i in result.schedule] == [date(2026, 5, 30), date(2026, 6, 30)]
    assert [i.needs_consent for i in result.schedule] == [False, True]
    assert result.needs_consent is True
    assert result.warnings[0].startswith("第 2 期起共 1 期晚于最长延展期届满日 2026年5月30日")
    assert "书面同意" in result.warnings[0]


def test_guide_plan_two_monthly_from_month_end() -> None:
    # guide-payment-plans: due 30 April 2026, MEP ends 29 June; 100,000 at each month end
    # from 31 May to 31 October; 30 June and later need the insurer's consent.
    result = plan(
        amount=600_000,
        instalments=6,
        first_date=date(2026, 5, 31),
        original_due_date=date(2026, 4, 30),
    )
    assert [i.date for i in result.schedule] == [
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 10, 31),
    ]
    assert [i.needs_consent for i in result.schedule] == [False, True, True, True, True, True]
    assert all(i.amount == 100_000 for i in result.schedule)
    assert result.mep_end == date(2026, 6, 29)
    assert result.total == 600_000
    text = "\n".join(result.warnings)
    assert "2026年6月29日" in text and "第二十五条" in text
    # The last instalment is after the claim deadline (due + 150 = 27 September).
    assert "2026年9月27日" in text and "第二十八条" in text


def test_monthly_interval_clamps_to_month_end_without_drifting() -> None:
    result = plan(
        amount=3_000,
        instalments=4,
        first_date=date(2026, 1, 31),
        original_due_date=date(2026, 1, 31),
    )
    assert [i.date for i in result.schedule] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert [i.days_after_due for i in result.schedule] == [0, 28, 59, 89]
    assert [i.needs_consent for i in result.schedule] == [False, False, False, True]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # across a year end
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 0, date(2026, 5, 31)),
        (date(2026, 1, 31), 25, date(2028, 2, 29)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("amount", "count"),
    [(100_000, 3), (0.05, 5), (1_000_000.01, 7), (999.99, 60), (12_345.67, 1)],
)
def test_instalments_sum_exactly_and_differ_only_in_the_last(amount: float, count: int) -> None:
    result = plan(
        amount=amount,
        instalments=count,
        first_date=date(2026, 4, 1),
        interval_days=7,
        original_due_date=date(2026, 3, 31),
    )
    amounts = [Decimal(repr(i.amount)) for i in result.schedule]
    assert sum(amounts) == Decimal(repr(amount))
    assert len(set(amounts[:-1])) <= 1
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts)
    assert [i.n for i in result.schedule] == list(range(1, count + 1))


def test_plan_running_past_the_notification_deadline_says_notify_anyway() -> None:
    result = payment_plan(
        PaymentPlanInput(
            amount=10_000,
            instalments=2,
            first_date=date(2026, 5, 1),
            interval_days=45,
            original_due_date=date(2026, 3, 31),
        ),
        POLICY,
        lang="en",
    )
    assert any("still be unpaid on 30 May 2026" in w and "Article 25" in w for w in result.warnings)
    assert any("Article 26" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"instalments": 0}, "instalments"),
        ({"instalments": 61}, "instalments"),
        ({"interval_days": 0}, "interval_days"),
        ({"interval_days": 366}, "interval_days"),
        ({"amount": 0.02, "instalments": 3}, "too small"),
        ({"first_date": "2026-13-01"}, "first_date"),
    ],
)
def test_payment_plan_rejects_bad_input(fields: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "amount": 1_000,
        "instalments": 2,
        "first_date": "2026-04-01",
        "original_due_date": "2026-03-31",
        **fields,
    }
    with pytest.raises(ValidationError) as info:
        PaymentPlanInput(**args)
    assert field in str(info.value)


@pytest.mark.parametrize("value", [1e26, 1e30, 1.7e308])
def test_rounding_handles_any_finite_amount(value: float) -> None:
    from assistant.tools._text import half_up

    assert half_up(value, 2) == value  # no decimal.InvalidOperation above 28 digits
    assert half_up(2.675, 2) == 2.68  # still commercial rounding


def test_plan_without_the_original_due_date_is_laid_out_and_says_it_is_unchecked() -> None:
    result = payment_plan(
        PaymentPlanInput(amount=90_000, instalments=3, first_date=date(2026, 6, 1)),
        POLICY,
        lang="en",
    )
    assert [i.date for i in result.schedule] == [
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 8, 1),
    ]
    assert result.total == 90_000
    assert result.needs_consent is None and result.mep_end is None
    assert all(i.needs_consent is None for i in result.schedule)
    assert "original due date" in result.warnings[0]
