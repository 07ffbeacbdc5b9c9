"""Quantities in chat messages: Chinese first, English second, spans into the original text."""

from __future__ import annotations

import time
from datetime import date

import pytest

from assistant.dialogue.parsing import (
    Quantity,
    find_counts,
    find_dates,
    find_days,
    find_money,
    find_pct,
    normalize_text,
    parse_count,
    parse_date,
    parse_days,
    parse_money,
    parse_number,
    parse_pct,
)

TODAY = date(2026, 11, 28)  # a Saturday

# --- money -----------------------------------------------------------------------------

MONEY_ZH = [
    ("5000万", 50_000_000),
    ("五千万", 50_000_000),
    ("三千万元", 30_000_000),
    ("2.5亿", 250_000_000),
    ("120万元", 1_200_000),
    ("一个亿", 100_000_000),
    ("八十万", 800_000),
    ("5千万", 50_000_000),
    ("两千五百万", 25_000_000),
    ("3百万", 3_000_000),
    ("1.5千万", 15_000_000),
    ("人民币50万元", 500_000),
    ("十二万三千", 123_000),
    ("年销售额大概五千多万", 50_000_000),
    ("１２００万", 12_000_000),  # full-width digits
    ("100多万", 1_000_000),
    ("两个亿", 200_000_000),
    ("去年坏账30万左右", 300_000),
    # A range of two neighbouring digits before the units takes the upper bound, as
    # "三四家" does: "营业额才五六百万" is about 6 million, not unreadable.
    ("一年营业额才五六百万", 6_000_000),
    ("三四千万", 40_000_000),
    ("两三百万", 3_000_000),
]
MONEY_EN = [
    ("1,200,000", 1_200_000),
    ("1200000", 1_200_000),
    ("¥300,000", 300_000),
    ("￥300,000", 300_000),
    ("30w", 300_000),
    ("30W", 300_000),
    ("50 million", 50_000_000),
    ("RMB 3m", 3_000_000),
    ("3M", 3_000_000),
    ("1.2 million yuan", 1_200_000),
    ("CNY 800k", 800_000),
    ("$2 million", 2_000_000),  # the symbol only marks money; no exchange rate
]


@pytest.mark.parametrize(("text", "expected"), MONEY_ZH + MONEY_EN)
def test_parse_money(text: str, expected: float) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "90天",
        "30%",
        "百分之三十",
        "20个客户",
        "2026年8月15日",
        "2026-08-15",
        "第25条",
        "60",
        "2026",  # a year, not 2,026 yuan
        "13812345678",  # a mobile number
        "ISO9001",
        "三成",
        "",
    ],
)
def test_not_money(text: str) -> None:
    assert find_money(text) == []
    assert parse_money(text) is None


def test_money_spans_point_at_the_amount() -> None:
    text = "我们年销售额大概五千多万，去年坏账人民币50万元"
    found = find_money(text)
    assert [q.value for q in found] == [50_000_000, 500_000]
    assert [text[q.start : q.end] for q in found] == ["五千多万", "人民币50万元"]
    assert all(q.raw == text[q.start : q.end] and q.kind == "money" for q in found)


def test_money_in_a_mixed_message_skips_dates_percentages_and_counts() -> None:
    text = "年销售3000万，账期90天，最大客户占40%，有20个客户，2026年8月15日到期，单笔1,200,000元"
    assert [q.value for q in find_money(text)] == [30_000_000, 1_200_000]


# --- durations -------------------------------------------------------------------------

DAYS_ZH = [
    ("90天", 90),
    ("三个月", 90),
    ("两个月", 60),
    ("半年", 180),
    ("一个半月", 45),
    ("45日", 45),
    ("月结30天", 30),
    ("账期60天左右", 60),
    ("两周", 14),
    ("一年", 365),
    ("30-60天", 60),  # a range takes the upper bound
    ("3个月", 90),
    ("三个多月", 90),
    ("30天到60天", 60),
    ("两三个月", 90),
    ("账期60", 60),
    ("半个月", 15),
]
DAYS_EN = [
    ("net 60", 60),
    ("Net30", 30),
    ("60 days", 60),
    ("3 months", 90),
    ("6 weeks", 42),
    ("T/T 90 days", 90),
    ("30 to 60 days", 60),
]


@pytest.mark.parametrize(("text", "expected"), DAYS_ZH + DAYS_EN)
def test_parse_days(text: str, expected: int) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize(
    "text", ["2026年", "3月15日到期", "3月", "每月15日付款", "3天前", "上半年", "2026年8月"]
)
def test_not_days(text: str) -> None:
    assert find_days(text) == []


def test_days_range_is_one_quantity_with_the_upper_bound() -> None:
    text = "账期30-60天"
    (q,) = find_days(text)
    assert q == Quantity(60.0, 2, 8, "30-60天", "days")


# --- percentages -----------------------------------------------------------------------

PCT_CASES = [
    ("30%", 30),
    ("３０％", 30),
    ("百分之三十", 30),
    ("三成", 30),
    ("一半", 50),
    ("七成五", 75),
    ("0.5%", 0.5),
    ("百分之九十", 90),
    ("最大客户占三成", 30),
    ("百分之零点五", 0.5),
    ("30 percent", 30),
    ("half", 50),
]


@pytest.mark.parametrize(("text", "expected"), PCT_CASES)
def test_parse_pct(text: str, expected: float) -> None:
    assert parse_pct(text) == expected


@pytest.mark.parametrize("text", ["九折", "成本", "30天", "half a year", "150%"])
def test_not_pct(text: str) -> None:
    assert parse_pct(text) is None


def test_pct_span() -> None:
    text = "最大客户占百分之三十"
    (q,) = find_pct(text)
    assert (q.value, text[q.start : q.end]) == (30.0, "百分之三十")


# --- counts ----------------------------------------------------------------------------

COUNT_CASES = [
    ("20个客户", 20),
    ("二十来家", 20),
    ("十几家", 15),  # 十几 is taken as 15
    ("大概30家买家", 30),
    ("三家", 3),
    ("一百多个", 100),
    ("分3期", 3),
    ("about 20 buyers", 20),
    ("5 customers", 5),
    ("30", 30),  # a bare answer to "how many buyers?"
]


@pytest.mark.parametrize(("text", "expected"), COUNT_CASES)
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["三个月", "很多", "5000万", "30%"])
def test_not_count(text: str) -> None:
    assert find_counts(text) == []
    assert parse_count(text) is None


# --- bare numbers ----------------------------------------------------------------------

NUMBER_CASES = [
    ("五千万", 50_000_000),
    ("60", 60),
    ("三十", 30),
    ("1,200", 1200),
    ("两百", 200),
    ("一般三十天", 30),  # 一 in 一般 is a word, not a number
]


@pytest.mark.parametrize(("text", "expected"), NUMBER_CASES)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == expected


# --- dates -----------------------------------------------------------------------------

DATES_ZH = [
    ("2026年8月15日", date(2026, 8, 15)),
    ("8月15日", date(2026, 8, 15)),
    ("8月15号", date(2026, 8, 15)),
    ("9月1日", date(2026, 9, 1)),
    ("去年12月31日", date(2025, 12, 31)),
    ("上个月底", date(2026, 10, 31)),
    ("上月底", date(2026, 10, 31)),
    ("月底", date(2026, 11, 30)),
    ("本月底", date(2026, 11, 30)),
    ("上个月15号", date(2026, 10, 15)),
    ("昨天", date(2026, 11, 27)),
    ("前天", date(2026, 11, 26)),
    ("今天", date(2026, 11, 28)),
    ("3天前", date(2026, 11, 25)),
    ("三天前", date(2026, 11, 25)),
    ("两周前", date(2026, 11, 14)),
    ("一个月前", date(2026, 10, 28)),
    ("上周五", date(2026, 11, 20)),
    ("年初", date(2026, 1, 1)),
    ("二〇二六年八月十五日", date(2026, 8, 15)),
    ("发票3月15日到期", date(2026, 3, 15)),
    ("12月31日", date(2026, 12, 31)),  # 33 days ahead: still this year
    ("2028年2月29日", date(2028, 2, 29)),
]
DATES_EN = [
    ("2026-08-15", date(2026, 8, 15)),
    ("2026/8/15", date(2026, 8, 15)),
    ("2026.8.15", date(2026, 8, 15)),
    ("15 August 2026", date(2026, 8, 15)),
    ("August 15, 2026", date(2026, 8, 15)),
    ("Aug 15", date(2026, 8, 15)),
    ("yesterday", date(2026, 11, 27)),
    ("3 days ago", date(2026, 11, 25)),
    ("last month end", date(2026, 10, 31)),
    ("end of last month", date(2026, 10, 31)),
    ("two weeks ago", date(2026, 11, 14)),
]


@pytest.mark.parametrize(("text", "expected"), DATES_ZH + DATES_EN)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["2月30日", "2027年2月29日", "13月1日", "we may 3 times", "上个月", "", "3个月"]
)
def test_no_date(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_month_day_more_than_183_days_ahead_is_last_year() -> None:
    assert parse_date("12月20日", date(2026, 1, 10)) == date(2025, 12, 20)
    assert parse_date("3月1日", date(2026, 1, 10)) == date(2026, 3, 1)


def test_a_month_ago_clamps_to_month_end() -> None:
    assert parse_date("一个月前", date(2026, 3, 31)) == date(2026, 2, 28)
    assert parse_date("1 month ago", date(2028, 3, 31)) == date(2028, 2, 29)


def test_date_spans_and_order() -> None:
    text = "货是上个月底发的，发票2026年8月15日到期"
    found = find_dates(text, TODAY)
    assert [(d, text[s:e]) for d, s, e in found] == [
        (date(2026, 10, 31), "上个月底"),
        (date(2026, 8, 15), "2026年8月15日"),
    ]


# --- normalisation and robustness ------------------------------------------------------


def test_normalize_text() -> None:
    assert normalize_text("　１２００万，３０％　") == "1200万,30%"
    assert normalize_text("a\x00b") == "a b"


def test_spans_refer_to_the_original_text_after_full_width_and_controls() -> None:
    text = "\x00　年销售１２００万"
    (q,) = find_money(text)
    assert (q.start, q.end, q.raw) == (5, 10, "１２００万")


ODD_INPUTS = [
    "",
    "   ",
    "😀🎉👍",
    "\x00\x01\x02\x7f",
    "\u200b\u200b",
    "一" * 20_000,
    "1" * 20_000,
    "a" * 20_000,
    "十十十",
    "点点点",
    "分之" * 7500,  # no 百分之百 in it
]


@pytest.mark.parametrize("text", ODD_INPUTS, ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_odd_input_never_raises(text: str) -> None:
    assert find_money(text) == []
    assert find_days(text) == []
    assert parse_pct(text) is None
    assert parse_count(text) is None
    assert parse_number(text) is None
    assert find_dates(text, TODAY) == []


def test_long_message_is_quick() -> None:
    text = ("年销售五千万，账期30-60天，最大客户占三成，2026年8月15日到期，有20个客户。" * 400)[
        :20_000
    ]
    started = time.perf_counter()
    money = find_money(text)
    days = find_days(text)
    dates = find_dates(text, TODAY)
    parse_pct(text)
    parse_count(text)
    parse_number(text)
    assert time.perf_counter() - started < 5
    assert money[0].value == 50_000_000 and days[0].value == 60
    assert dates[0][0] == date(2026, 8, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we only found out on the 24th", date(2026, 11, 24)),
        ("the 30th", date(2026, 10, 30)),  # still ahead this month: last month's
        ("on the 24th of March", date(2026, 3, 24)),
        ("判决上个月中生效的", date(2026, 10, 15)),
        ("9月中旬", date(2026, 9, 15)),
    ],
)
def test_ordinal_days_and_mid_month(text: str, expected: date) -> None:
    assert parse_date(text, date(2026, 11, 28)) == expected


@pytest.mark.parametrize(("text", "days"), [("账期一般俩月", 60), ("90-day terms", 90)])
def test_colloquial_and_hyphenated_durations(text: str, days: int) -> None:
    assert parse_days(text) == days


def test_money_with_shorthand_unit_before_a_date_word() -> None:
    assert parse_money("今年赊销一共4300w 年底应收还挂着860w") == 43_000_000
