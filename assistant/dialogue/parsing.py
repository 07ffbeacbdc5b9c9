"""Quantities in what SME owners type: money, durations, percentages, counts and dates.

Owners answer in Simplified Chinese first and mix notations freely ("年销售五千多万",
"账期 30-60 天", "最大客户占三成", "上个月底到期", "RMB 3m", "net 60"). Slot filling needs
the value *and* where it sits, so every finder returns spans into the caller's text.

Design choices (the why):

* Chinese numerals are read by ``cn2an`` (smart mode also reads "5千万", "2.5亿"). Only what
  cn2an cannot know is done here: unit suffixes after a numeral ("1.5千万", "五千多万",
  "一个亿"), "十几" (taken as 15), adjacent digits as a range ("两三个月" = 3 months).
* Normalisation is length-preserving (full-width forms to ASCII, control characters to
  spaces, one character for one), so all spans refer to the ORIGINAL text. Only the public
  ``normalize_text`` strips, because callers use it to compare text, not to locate it.
* A quantity belongs to one kind: date expressions are found first and mask their digits
  ("2026年8月15日" is not money, "3月15日" is not a duration); percentages mask money;
  a number followed by a non-money unit (天, 个, 家, %, 年 ...) is never money.
* Approximations ("多", "余", "来", "左右", "大概") keep the stated base: for limits and
  premiums the owner's figure is the figure. Ranges of durations take the upper bound,
  the conservative reading of a credit term ("30-60天" -> 60).
* A month-day without a year is this year, unless that is more than 183 days ahead of
  ``today``; then it is last year (owners mostly talk about invoices already issued).
* Currency symbols and codes ($, USD, RMB, 元) only mark a number as money; no exchange
  rate is applied, the value is the stated number.
* Percentages above 100 are dropped: every percentage asked for is a share of a whole.
* Every function is total: odd input (empty, emoji, control characters, 20k characters)
  gives ``None`` or ``[]``, never an exception. Regexes are bounded so time stays linear.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import cn2an

__all__ = [
    "Quantity",
    "find_counts",
    "find_dates",
    "find_days",
    "find_money",
    "find_pct",
    "normalize_text",
    "parse_count",
    "parse_date",
    "parse_days",
    "parse_money",
    "parse_number",
    "parse_pct",
]


@dataclass(frozen=True)
class Quantity:
    value: float  # CNY for money, days for durations, percent 0-100 for pct, count for counts
    start: int  # span in the ORIGINAL text
    end: int
    raw: str
    kind: str  # "money" | "days" | "pct" | "count" | "number"


# --- normalisation ---------------------------------------------------------------------

_TABLE: dict[int, str] = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
_TABLE.update({0x3000: " ", 0xFFE5: "¥", 0xFFE0: "¢", 0xFFE1: "£", 0x301C: "~", 0xFE6A: "%"})
_TABLE.update({c: " " for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))})
_TABLE.update({ord("俩"): "两", ord("仨"): "三"})  # colloquial 俩月 = 两个月, 仨 = 三


def _norm(text: str) -> str:
    # One character for one: spans found in the result are spans in the input.
    return text.translate(_TABLE)


def normalize_text(text: str) -> str:
    """Full-width digits and punctuation to ASCII, control characters to spaces, stripped.

    The finders do not strip (they use the same mapping unstripped), so their spans refer
    to the original text; spans into this function's result are off by the leading
    whitespace it removed.
    """
    return _norm(text).strip()


# --- numbers ---------------------------------------------------------------------------

_D = "零〇一二三四五六七八九两壹贰叁肆伍陆柒捌玖"
_SMALL_U = "十拾百佰千仟"
_BIG_U = "万萬亿億"
_CN = _D + _SMALL_U + _BIG_U
_UNIT_VALUE = {
    "十": 10,
    "拾": 10,
    "百": 100,
    "佰": 100,
    "千": 1000,
    "仟": 1000,
    "万": 10_000,
    "萬": 10_000,
    "亿": 100_000_000,
    "億": 100_000_000,
}
_EN_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}
_EN_NUM_ALT = "|".join(sorted(_EN_NUMBERS, key=len, reverse=True))
_CN_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2, "〇": 0}

_NUM_RE = re.compile(
    # Arabic: 1,200,000 | 5000 | 2.5, optionally with Chinese units straight after (5千万).
    r"(?:(?P<ar>(?<!\d)(?<!\d[.,])(?:\d{1,3}(?:,\d{3}){1,5}|\d{1,15})(?:\.\d{1,6})?)(?!\d)"
    rf"(?P<arunit>[{_SMALL_U}{_BIG_U}]{{0,3}})"
    # Chinese numeral: starts with a digit or 十, whole runs only (bounded length).
    rf"|(?P<cn>(?<![{_D}{_SMALL_U}])[{_D}十拾][{_CN}]{{0,19}}(?:点[{_D}]{{1,6}})?)(?![{_CN}])"
    rf"|(?i:(?<![a-z])(?P<en>{_EN_NUM_ALT})(?![a-z])))"
    r"(?P<ji>几)?"
    # "五千多万", "一个亿", "两个多亿": a big unit after an approximation or classifier.
    rf"(?:(?P<mid>[多余来个]{{1,2}})?(?P<mag>[{_BIG_U}]{{1,2}}))?"
)


@dataclass(frozen=True)
class _Num:
    value: float
    start: int
    end: int
    kind: str  # "ar" | "cn" | "en"
    int_digits: int  # Arabic only: digits before the decimal point
    has_sep: bool  # Arabic only: written with thousands separators
    big_unit: bool  # carries 万 or 亿
    bare_single_cn: bool  # one Chinese digit and nothing else ("一般", "十分")


@lru_cache(maxsize=4096)
def _cn_value(s: str) -> float | None:
    if len(s) == 2 and s[0] in _CN_DIGIT_VALUE and s[1] in _CN_DIGIT_VALUE:
        a, b = _CN_DIGIT_VALUE[s[0]], _CN_DIGIT_VALUE[s[1]]
        if b == a + 1 or s == "两三":
            return float(b)  # "两三个" / "三四家": a range, take the upper bound
    if len(s) > 2 and s[0] in _CN_DIGIT_VALUE and s[1] in _CN_DIGIT_VALUE:
        a, b = _CN_DIGIT_VALUE[s[0]], _CN_DIGIT_VALUE[s[1]]
        if b == a + 1 or s.startswith("两三"):
            return _cn_value(s[1:])  # "五六百万", "三四千": the upper bound, as above
    try:
        v = cn2an.cn2an(s, "smart")
    except Exception:  # cn2an raises ValueError, and others on odd input
        return None
    return float(v) if isinstance(v, (int, float)) else None


def _small_int(s: str) -> int | None:
    """A day, month, year or count written in Arabic or Chinese digits."""
    if s.isascii() and s.isdigit():
        return int(s)
    v = _cn_value(s)
    return int(v) if v is not None and v == int(v) else None


@lru_cache(maxsize=16)
def _scan(text: str) -> tuple[_Num, ...]:
    """Every number in ``text`` (cached: one message is read by several finders)."""
    out: list[_Num] = []
    for m in _NUM_RE.finditer(text):
        ar, cn, en = m.group("ar"), m.group("cn"), m.group("en")
        big = False
        int_digits = 0
        has_sep = False
        value: float | None
        if ar is not None:
            has_sep = "," in ar
            int_digits = len(ar.split(".")[0].replace(",", ""))
            value = float(ar.replace(",", ""))
            for ch in m.group("arunit"):
                value *= _UNIT_VALUE[ch]
                big = big or ch in _BIG_U
            kind = "ar"
        elif cn is not None:
            value = _cn_value(cn)
            big = any(ch in _BIG_U for ch in cn)
            kind = "cn"
        else:
            value = float(_EN_NUMBERS[en.lower()])
            kind = "en"
        if value is None:
            continue
        if m.group("ji") and (cn or "").endswith(("十", "拾")):
            value += 5  # "十几" / "二十几": about halfway into the next ten
        if m.group("mag"):
            for ch in m.group("mag"):
                value *= _UNIT_VALUE[ch]
            big = True
        bare_single = (
            kind == "cn" and cn is not None and len(cn) == 1 and not m.group("mag")
        ) and not m.group("ji")
        out.append(_Num(value, m.start(), m.end(), kind, int_digits, has_sep, big, bare_single))
    return tuple(out)


class _Mask:
    """Spans already claimed by another kind; a bisect keeps long messages linear-ish."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for s, e in sorted(spans):
            if merged and s < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self._starts = [s for s, _e in merged]
        self._ends = [e for _s, e in merged]

    def hits(self, start: int, end: int) -> bool:
        i = bisect_right(self._ends, start)
        return i < len(self._ends) and self._starts[i] < end


def _round(v: float) -> float:
    return float(round(v, 6))


# --- dates -----------------------------------------------------------------------------

_M = r"(?P<m>\d{1,2}|十[一二]?|[一二三四五六七八九])"
_DD = r"(?P<d>\d{1,2}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_DAY_END = r"(?:(?P<e>底|末)|(?P<b>初)|(?P<mid>中(?!旬|间|心|国|文)|中旬))"
_EN_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_EN_MONTH_RE = (
    r"(?P<mon>january|february|march|april|(?-i:May|MAY)|june|july|august|september|october"
    r"|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)  # "may" only capitalised: in "we may 3 times" it is a verb
_REL_DAYS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
    "yesterday": -1,
    "today": 0,
    "tomorrow": 1,
    "the day before yesterday": -2,
    "the day after tomorrow": 2,
}
_REL_YEARS = {"前年": -2, "去年": -1, "今年": 0, "本年": 0, "明年": 1}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}


def _last_day(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1]


def _add_months(d: date, n: int) -> date:
    """Same day ``n`` months away, clamped to the month's end (3-31 minus 1 month = 2-28)."""
    y, m0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m0 + 1, min(d.day, _last_day(y, m0 + 1)))


def _day_in_month(y: int, m: int, g: re.Match[str]) -> date | None:
    groups = g.groupdict()
    if groups.get("e"):
        return date(y, m, _last_day(y, m))
    if groups.get("b"):
        return date(y, m, 1)
    if groups.get("mid"):
        return date(y, m, 15)  # "上个月中": the middle of the month
    d = _small_int(groups.get("d") or groups.get("d2") or "")
    return None if d is None else date(y, m, d)


def _guess_year(m: int, g: re.Match[str], today: date) -> date | None:
    """This year, or last year if the date would be more than 183 days ahead."""
    d = _day_in_month(today.year, m, g)
    if d is not None and (d - today).days > 183:
        return _day_in_month(today.year - 1, m, g)
    return d


def _h_ymd(g: re.Match[str], today: date) -> date | None:
    y, m = _small_int(g.group("y")), _small_int(g.group("m"))
    if y is None or m is None:
        return None
    return _day_in_month(y + 2000 if y < 100 else y, m, g)  # "26年8月15日"


def _h_rel_year_md(g: re.Match[str], today: date) -> date | None:
    m = _small_int(g.group("m"))
    return None if m is None else _day_in_month(today.year + _REL_YEARS[g.group("ry")], m, g)


def _h_md(g: re.Match[str], today: date) -> date | None:
    m = _small_int(g.group("m"))
    return None if m is None else _guess_year(m, g, today)


def _h_year_edge(g: re.Match[str], today: date) -> date | None:
    if g.group("y"):
        y = _small_int(g.group("y"))
        if y is None:
            return None
    else:
        y = today.year + _REL_YEARS.get(g.group("ry") or "今年", 0)
    if g.groupdict().get("mid"):
        return date(y, 6, 30)
    return date(y, 12, 31) if g.group("e") else date(y, 1, 1)


def _h_rel_month(g: re.Match[str], today: date) -> date | None:
    rm = g.groupdict().get("rm") or ""
    shift = -2 if rm.startswith("上上") else -1 if rm.startswith("上") else 1 if "下" in rm else 0
    first = _add_months(today.replace(day=1), shift)
    return _day_in_month(first.year, first.month, g)


def _h_rel_day(g: re.Match[str], today: date) -> date | None:
    return today + timedelta(days=_REL_DAYS[" ".join(g.group("w").lower().split())])


def _ago(today: date, n: float, unit: str) -> date | None:
    if unit in ("天", "日", "day"):
        return today - timedelta(days=round(n))
    if unit in ("周", "星期", "礼拜", "week"):
        return today - timedelta(days=round(n * 7))
    if unit in ("月", "month"):
        if n != int(n):
            return today - timedelta(days=round(n * 30))
        return _add_months(today, -int(n))
    if unit in ("年", "year") and n == int(n) and n <= 100:
        return _add_months(today, -12 * int(n))
    return None


def _h_ago_cn(g: re.Match[str], today: date) -> date | None:
    raw, unit = g.group("n"), g.group("u")
    if unit == "月" and not g.group("ge"):
        return None  # "3月前" is "before March", not "3 months ago"
    n = 0.5 if raw == "半" else _small_int(raw)
    return None if n is None else _ago(today, n, unit)


def _h_ago_en(g: re.Match[str], today: date) -> date | None:
    raw = g.group("n").lower()
    n = 1 if raw in ("a", "an") else _EN_NUMBERS.get(raw)
    if n is None:
        n = _small_int(raw)
    unit = g.group("u").lower().rstrip("s")
    return None if n is None else _ago(today, n, unit)


def _h_weekday(g: re.Match[str], today: date) -> date | None:
    rw, wd = g.group("rw"), g.group("wd")
    weekday = int(wd) - 1 if wd.isdigit() else _WEEKDAYS[wd]
    weeks = {"上上": -2, "上": -1, "本": 0, "这": 0, "下": 1}[rw]
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(days=7 * weeks + weekday)


def _h_en_date(g: re.Match[str], today: date) -> date | None:
    mon = _EN_MONTHS[g.group("mon").lower()[:3]]
    d = int(g.group("d"))
    if g.group("y"):
        return date(int(g.group("y")), mon, d)
    return _recent(today, mon, d)


def _h_en_ordinal(g: re.Match[str], today: date) -> date | None:
    """'on the 24th'."""
    return _day_of_recent_month(today, int(g.group("d")))


def _day_of_recent_month(today: date, d: int) -> date | None:
    """Day ``d`` of this month, or of last month if it is still ahead; None if invalid."""
    if not 1 <= d <= 31:
        return None
    first = today.replace(day=1)
    if d > today.day:
        first = _add_months(first, -1)
    return date(first.year, first.month, d) if d <= _last_day(first.year, first.month) else None


def _h_en_month_end(g: re.Match[str], today: date) -> date | None:
    rel = (g.group("r1") or g.group("r2") or "this").lower()
    shift = -1 if rel in ("last", "previous") else 1 if rel == "next" else 0
    first = _add_months(today.replace(day=1), shift)
    return date(first.year, first.month, _last_day(first.year, first.month))


_NOT_BEFORE_DIGIT = r"(?<![\d〇零一二三四五六七八九十两])"
_DatePattern = tuple[re.Pattern[str], Callable[[re.Match[str], date], date | None]]
_HOLIDAYS = {
    "国庆": (10, 1),
    "元旦": (1, 1),
    "双十一": (11, 11),
    "双11": (11, 11),
    "五一": (5, 1),
    "劳动节": (5, 1),
    "圣诞": (12, 25),
}


def _recent(today: date, month: int, day: int) -> date:
    """This year's date, or last year's if it would be more than 183 days ahead."""
    d = date(today.year, month, day)
    return date(today.year - 1, month, day) if (d - today).days > 183 else d


def _h_slash(g: re.Match[str], today: date) -> date | None:
    """'15/09/2026', '11/25', '01/10/2026': day first unless that cannot be a date.

    Day-month-year is the reading for an ambiguous pair (British usage, common in trade
    documents); a first number above 12 must be the day, a second above 12 the day too.
    """
    a, b = int(g.group("a")), int(g.group("b"))
    y_raw = g.group("y")
    if a > 12 and b <= 12:
        d, m = a, b
    elif b > 12 and a <= 12:
        m, d = a, b
    elif a <= 12 and b <= 12:
        d, m = a, b
    else:
        return None
    if d > 31 or m < 1 or d < 1:
        return None
    if y_raw:
        y = int(y_raw) + (2000 if len(y_raw) == 2 else 0)
        return date(y, m, d) if d <= _last_day(y, m) else None
    if d > _last_day(today.year, m):
        return None
    return _recent(today, m, d)


def _h_holiday(g: re.Match[str], today: date) -> date | None:
    """'国庆节前到期' -> 30 September; '元旦' -> 1 January (fixed-date holidays only)."""
    month, day = _HOLIDAYS[g.group("hol")]
    d = _recent(today, month, day)
    return d - timedelta(days=1) if g.group("rel") in ("前", "之前") else d


def _h_bare_day(g: re.Match[str], today: date) -> date | None:
    """'10号到期'."""
    d = _small_int(g.group("d"))
    return None if d is None else _day_of_recent_month(today, d)


_DATE_PATTERNS: list[_DatePattern] = [
    (
        re.compile(r"(?<![\d/.\-])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})(?![\d/])"),
        _h_slash,
    ),
    (
        # Without a year only after a date word: "1/3的客户" is a third, not 1 March.
        re.compile(
            r"(?i:(?<=due )|(?<=on )|(?<=by )|(?<=from )|(?<=until )|(?<=starting )|(?<=dated ))"
            r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\d/])(?P<y>)"
        ),
        _h_slash,
    ),
    (
        re.compile(r"(?P<hol>国庆|元旦|双十一|双11|五一|劳动节|圣诞)节?(?P<rel>之前|之后|前|后)?"),
        _h_holiday,
    ),
    (
        re.compile(
            r"(?<![\d月.\-/年第])(?P<d>[0-3]?\d|[一二三四五六七八九十]{1,3})\s*号(?!码|线|楼|店)"
        ),
        _h_bare_day,
    ),
    (
        re.compile(r"(?<![\d.])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d)"),
        _h_ymd,
    ),
    (
        re.compile(
            r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"
        ),
        _h_ymd,
    ),
    (
        re.compile(
            rf"{_NOT_BEFORE_DIGIT}(?P<y>\d{{4}}|\d{{2}}|[〇零一二三四五六七八九]{{4}})\s*年\s*{_M}\s*月\s*"
            rf"(?:{_DD}(?![\d天个%万元])\s*[日号]?|{_DAY_END})"
        ),
        _h_ymd,
    ),
    (
        re.compile(
            rf"(?P<ry>前年|去年|今年|本年|明年)\s*{_M}\s*月\s*"
            rf"(?:{_DD}(?![\d天个%万元])\s*[日号]?|{_DAY_END})"
        ),
        _h_rel_year_md,
    ),
    (
        re.compile(
            rf"(?:(?P<y>\d{{4}})\s*年|(?P<ry>前年|去年|今年|本年|明年)\s*年?|(?<![\d年每])年)"
            rf"\s*{_DAY_END}"
        ),
        _h_year_edge,
    ),
    (
        re.compile(
            rf"(?<![\d〇零一二三四五六七八九十两个上下本这当每年])(?<!\d\.)(?<!\d-)(?<!\d/){_M}\s*月\s*"
            rf"(?:{_DD}\s*[日号]|(?P<d2>\d{{1,2}})(?![\d天个%万元.日号])|{_DAY_END})"
        ),
        _h_md,
    ),
    (
        re.compile(
            rf"(?P<rm>上上个?月|上个?月|本月|这个?月|当月|下个?月)\s*(?:{_DD}\s*[日号]|{_DAY_END})"
        ),
        _h_rel_month,
    ),
    (
        re.compile(rf"(?<![\d〇零一二三四五六七八九十两个上下本这当每年])月\s*{_DAY_END}"),
        _h_rel_month,
    ),
    (
        re.compile(
            r"(?<![提之以目从此其先最然])(?P<w>大前天|前天|昨天|昨日|今天|今日|明天|明日|大后天|后天)"
        ),
        _h_rel_day,
    ),
    (
        re.compile(
            rf"{_NOT_BEFORE_DIGIT}(?<!月)(?P<n>\d{{1,4}}|[〇零一二三四五六七八九十两百]{{1,4}}|半)\s*"
            r"(?P<ge>个)?\s*(?P<u>天|日|周|星期|礼拜|月|年)\s*(?:之前|以前|前)"
        ),
        _h_ago_cn,
    ),
    (
        re.compile(
            r"(?P<rw>上上|上|本|这|下)\s*个?\s*(?:周|星期|礼拜)(?P<wd>[一二三四五六日天七1-7])(?![\d])"
        ),
        _h_weekday,
    ),
    (
        re.compile(
            r"(?i)(?<![a-z])(?P<w>the\s+day\s+before\s+yesterday|the\s+day\s+after\s+tomorrow"
            r"|yesterday|today|tomorrow)(?![a-z])"
        ),
        _h_rel_day,
    ),
    (
        re.compile(
            rf"(?i)(?<![a-z\d])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?{_EN_MONTH_RE}\.?"
            r"(?![a-z])(?:,?\s*(?P<y>\d{4})(?!\d))?"
        ),
        _h_en_date,
    ),
    (
        re.compile(
            rf"(?i)(?<![a-z]){_EN_MONTH_RE}\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\da-z])"
            r"(?:,?\s*(?P<y>\d{4})(?!\d))?"
        ),
        _h_en_date,
    ),
    (
        re.compile(
            r"(?i)(?<![a-z\d])the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)(?![a-z\d])"
            rf"(?!\s*(?:of\s+)?{_EN_MONTH_RE})"
        ),
        _h_en_ordinal,
    ),
    (
        re.compile(
            rf"(?i)(?<![a-z\d])(?P<n>\d{{1,4}}|an?|{_EN_NUM_ALT})\s+"
            r"(?P<u>days?|weeks?|months?|years?)\s+ago(?![a-z])"
        ),
        _h_ago_en,
    ),
    (
        re.compile(
            r"(?i)(?<![a-z])(?:(?P<r1>last|this|next|previous|current)\s+month[\s-]?end"
            r"|end\s+of\s+(?:the\s+)?(?:(?P<r2>last|this|next|previous|current)\s+)?month"
            r"|month[\s-]?end)(?![a-z])"
        ),
        _h_en_month_end,
    ),
]


@lru_cache(maxsize=16)
def _date_matches(text: str) -> tuple[tuple[re.Match[str], int], ...]:
    """Date expressions, leftmost-longest, not overlapping; validity is not checked here."""
    cands: list[tuple[int, int, int, re.Match[str]]] = []
    for i, (pattern, _handler) in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(text):
            if m.end() > m.start():
                cands.append((m.start(), -(m.end() - m.start()), i, m))
    cands.sort(key=lambda c: (c[0], c[1], c[2]))
    out: list[tuple[re.Match[str], int]] = []
    last_end = -1
    for start, _neg, i, m in cands:
        if start >= last_end:
            out.append((m, i))
            last_end = m.end()
    return tuple(out)


def _date_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m, _i in _date_matches(text)]


def _date_mask(text: str) -> _Mask:
    return _Mask(_date_spans(text))


def find_dates(text: str, today: date) -> list[tuple[date, int, int]]:
    """Dates in ``text`` with their spans; expressions naming no valid date are skipped."""
    if not text:
        return []
    norm = _norm(text)
    out: list[tuple[date, int, int]] = []
    for m, i in _date_matches(norm):
        try:
            d = _DATE_PATTERNS[i][1](m, today)
        except (ValueError, OverflowError, KeyError):
            d = None  # "2月30日", year 0, ...: no such date
        if d is not None:
            out.append((d, m.start(), m.end()))
    return out


def parse_date(text: str, today: date) -> date | None:
    found = find_dates(text, today)
    return found[0][0] if found else None


# --- percentages -----------------------------------------------------------------------

_PCT_AFTER = re.compile(r"\s*(?:%|‰|个百分点|个点|(?i:percent|per\s?cent|pct)(?![a-z]))")
_PCT_BEFORE = re.compile(r"百分之\s*\Z")
_CHENG_RE = re.compile(
    rf"(?<![{_CN}\d.])(?P<a>10|\d|十|[一二三四五六七八九两])成"
    rf"(?:(?P<b>\d|[一二三四五六七八九])(?![{_CN}\d]))?"
    r"(?![本功立为交员熟品都长绩果就效型分份年])"
)
_HALF_RE = re.compile(
    r"一半|半数|百分之百|(?i:(?<![a-z])half(?![a-z])(?!\s+(?:an?\s+)?(?:year|month|week|day)))"
)


def find_pct(text: str) -> list[Quantity]:
    """Percentages 0-100: "30%", "百分之三十", "三成", "七成五", "一半", "30 percent"."""
    if not text:
        return []
    norm = _norm(text)
    found: list[Quantity] = []
    for n in _scan(norm):
        after = _PCT_AFTER.match(norm, n.end)
        before = _PCT_BEFORE.search(norm, max(0, n.start - 6), n.start)
        if not (after or before):
            continue
        start = before.start() if before else n.start
        end = after.end() if after else n.end
        value = n.value / 10 if after and after.group().strip() == "‰" else n.value
        found.append(Quantity(_round(value), start, end, text[start:end], "pct"))
    for m in _CHENG_RE.finditer(norm):
        a = _small_int(m.group("a"))
        b = _small_int(m.group("b")) if m.group("b") else 0
        if a is None or b is None:
            continue
        found.append(
            Quantity(float(a * 10 + b), m.start(), m.end(), text[m.start() : m.end()], "pct")
        )
    for m in _HALF_RE.finditer(norm):
        v = 100.0 if m.group() == "百分之百" else 50.0
        found.append(Quantity(v, m.start(), m.end(), text[m.start() : m.end()], "pct"))
    return [q for q in _dedupe(found) if 0 <= q.value <= 100]


def parse_pct(text: str) -> float | None:
    found = find_pct(text)
    return found[0].value if found else None


def _dedupe(qs: list[Quantity]) -> list[Quantity]:
    """Leftmost-longest, non-overlapping, in text order."""
    out: list[Quantity] = []
    last_end = -1
    for q in sorted(qs, key=lambda q: (q.start, -(q.end - q.start))):
        if q.start >= last_end:
            out.append(q)
            last_end = q.end
    return out


# --- money -----------------------------------------------------------------------------

_CUR_BEFORE = re.compile(r"(?:[¥$€£]|(?i:(?<![a-z])(?:rmb|cny|usd|us\$|hk\$))|人民币)\s*\Z")
_MONEY_AFTER = re.compile(
    r"(?P<emag>\s*(?i:millions?|mn|mio|mil|billions?|bn|thousand|kw|k|m|w)(?![a-z]))?"
    r"(?P<cur>\s*[多余]?\s*(?:元|块钱|块|圆|美元|美金|港元|港币|欧元|人民币"
    r"|(?i:yuan|rmb|cny|usd|dollars?)(?![a-z])))?"
)
_EN_MAG = {
    "million": 1e6,
    "millions": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "thousand": 1e3,
    "k": 1e3,
    "w": 1e4,
    "kw": 1e7,  # 千万, as in "1.2kw"
    "mil": 1e6,
}
_NOT_MONEY_AFTER = re.compile(
    r"\s*[多余来几]?\s*(?:[个家位名户间笔期次单人天日号年月周%‰倍条款岁度点成折]|项(?!目)|星期|礼拜"
    r"|(?i:percent|per\s?cent|pct|days?|weeks?|months?|years?|buyers?|customers?|clients?"
    r"|times)(?![a-z]))"
)


def _emag_value(m: re.Match[str]) -> float:
    emag = m.group("emag")
    return _EN_MAG[emag.strip().lower()] if emag else 1.0


_MIXED_DIGIT = re.compile(
    r"(?<![\d.])\d(?=[千百][\d一二三四五六七八九十两]?[千百万亿])|(?<=[千百])\d(?![\d.])"
)
_CN_DIGITS = "零一二三四五六七八九"


def find_money(text: str) -> list[Quantity]:
    """Amounts of money, in order. A bare number counts only with 4+ digits or separators."""
    if not text:
        return []
    # "2千5百万": digits inside a Chinese numeral read as Chinese digits (one for one).
    norm = _MIXED_DIGIT.sub(lambda m: _CN_DIGITS[int(m.group())], _norm(text))
    masked = _Mask(_date_spans(norm) + [(q.start, q.end) for q in find_pct(text)])
    out: list[Quantity] = []
    for n in _scan(norm):
        if masked.hits(n.start, n.end) or n.kind == "en":
            continue
        if norm[max(0, n.start - 1) : n.start] == "第":
            continue  # "第25条": a clause number
        before = _CUR_BEFORE.search(norm, max(0, n.start - 8), n.start)
        after = _MONEY_AFTER.match(norm, n.end)
        if after is None:  # cannot happen: every group is optional
            continue
        emag, cur = after.group("emag"), after.group("cur")
        end_num = after.end("emag") if emag else n.end
        # "600万 年赊销": a space ends the amount; what follows is the next phrase.
        spaced = bool(emag or n.big_unit) and norm[end_num : end_num + 1].isspace()
        if not cur and not spaced and _NOT_MONEY_AFTER.match(norm, end_num):
            continue
        value = n.value * _emag_value(after)
        if not (before or cur or emag or n.big_unit) and not _bare_money(norm, n):
            continue
        start = before.start() if before else n.start
        end = after.end()
        out.append(Quantity(_round(value), start, end, text[start:end], "money"))
    return out


def _bare_money(norm: str, n: _Num) -> bool:
    """A number with no unit is money only if it looks like an amount, not a year/phone/id."""
    if n.kind == "cn":
        return n.value >= 1000
    if not (n.has_sep or n.int_digits >= 4):
        return False
    prev = norm[max(0, n.start - 1) : n.start]
    nxt = norm[n.end : n.end + 1]
    if re.match(r"[A-Za-z#/_\-]", prev) or re.match(r"[A-Za-z_/\-]", nxt):
        return False  # part of an id or code: INV-2026001, ISO9001
    if not n.has_sep and n.int_digits == 4 and 1900 <= n.value <= 2100 and n.value == int(n.value):
        return False  # a year
    return not (n.int_digits == 11 and norm[n.start] == "1") and n.int_digits <= 12


def parse_money(text: str) -> float | None:
    found = find_money(text)
    return found[0].value if found else None


# --- durations -------------------------------------------------------------------------

_DAYS_AFTER = re.compile(
    r"(?:\s*|-)[多余来]?\s*(?:"
    r"(?P<d>天|日(?![期元])|个?工作日|(?i:days?|d)(?![a-z]))"
    r"|(?P<mo>个\s*(?P<moh>半)?\s*多?\s*月|(?i:months?|mos?)(?![a-z]))"
    r"|(?P<wk>个?\s*多?\s*(?:周(?!年)|星期|礼拜)|(?i:weeks?|wks?)(?![a-z]))"
    r"|(?P<yr>个?\s*多?\s*年(?P<yh>半)?(?![初底末度份])|(?i:years?|yrs?)(?![a-z]))"
    r")"
)
_DAYS_BEFORE = re.compile(
    r"(?:(?i:(?<![a-z])(?:net|n|o/a|oa|d/a)\s*-?)|(?:月结|账期|信用期|放账期?|赊销期?)"
    r"\s*(?:为|是|约|大概|大约|差不多|有)?)\s*\Z"
)
_HALF_DUR = re.compile(
    r"(?<![上下前后一二三四五六七八九十两\d])半\s*(?:个\s*)?(?P<u>月|年)"
    r"|(?i:(?<![a-z])half\s+(?:an?\s+)?(?P<eu>year|month)(?![a-z]))"
)
_CJK_NEXT = re.compile(r"[\u4e00-\u9fff]")
_RANGE_SEP = re.compile(r"\s*(?:-|~|—|–|到|至|或|(?i:to|or))\s*")
# After "net 45": a unit or a letter stuck to the number ("net 45k", "账期45万") is no
# day count; a following word is ("net 45 for most of them").
_NON_DAYS_AFTER = re.compile(r"\s*[万亿%个家元块号月年]|(?i:[a-z])")
_YEAR_THEN_MONTH = re.compile(rf"\s*[\d{_D}十]{{1,3}}\s*月")


def _duration(n: _Num, m: re.Match[str]) -> float | None:
    v = n.value
    if m.group("d"):
        return v
    if m.group("mo"):
        return (v + (0.5 if m.group("moh") else 0)) * 30
    if m.group("wk"):
        return v * 7
    if (n.kind == "ar" and (n.int_digits >= 3 or n.has_sep)) or v > 30:
        return None  # "2026年" is a year, not 2026 years
    return v * 365 + (180 if m.group("yh") else 0)


def find_days(text: str) -> list[Quantity]:
    """Durations in days. A range ("30-60天") is one quantity with the upper bound."""
    if not text:
        return []
    norm = _norm(text)
    dates = _date_mask(norm)
    nums = [n for n in _scan(norm) if not dates.hits(n.start, n.end)]
    found: list[Quantity] = []
    for i, n in enumerate(nums):
        value: float | None = None
        end = n.end
        m = _DAYS_AFTER.match(norm, n.end)
        if m:
            if m.group("d") and norm[n.start - 1 : n.start] == "月":
                continue  # "每月15日" is a day of the month
            if m.group("yr") and _YEAR_THEN_MONTH.match(norm, m.end()):
                continue  # "26年8月"
            value, end = _duration(n, m), m.end()
        elif norm[n.start : n.end] == "两" and re.match(
            r"月(?![\d日号份初底末中旬])", norm[n.end :]
        ):
            value, end = 60.0, n.end + 1  # "俩月" / "两月" = two months
        elif _DAYS_BEFORE.search(norm, max(0, n.start - 8), n.start):
            if n.big_unit or _NON_DAYS_AFTER.match(norm, n.end) or not 0 < n.value <= 720:
                continue
            if n.kind != "ar" and _CJK_NEXT.match(norm, n.end):
                continue  # "账期一般60天": 一 starts a word, it is not a number of days
            value = n.value
        if value is None:
            continue
        start = n.start
        if i > 0 and _RANGE_SEP.fullmatch(norm, nums[i - 1].end, n.start):
            prev = nums[i - 1]
            start = prev.start
            value = max(value, value * prev.value / n.value) if n.value else value
        found.append(Quantity(_round(value), start, end, text[start:end], "days"))
    for m in _HALF_DUR.finditer(norm):
        if dates.hits(m.start(), m.end()):
            continue
        value = 15.0 if (m.group("u") or m.group("eu").lower()) in ("月", "month") else 180.0
        found.append(Quantity(value, m.start(), m.end(), text[m.start() : m.end()], "days"))
    return _merge_ranges(norm, text, _dedupe(found))


def _merge_ranges(norm: str, text: str, qs: list[Quantity]) -> list[Quantity]:
    """ "30天到60天" is one range; keep its upper bound."""
    out: list[Quantity] = []
    for q in qs:
        if out and _RANGE_SEP.fullmatch(norm, out[-1].end, q.start):
            p = out.pop()
            q = Quantity(max(p.value, q.value), p.start, q.end, text[p.start : q.end], "days")
        out.append(q)
    return out


def parse_days(text: str) -> int | None:
    found = find_days(text)
    return round(found[0].value) if found else None


# --- counts ----------------------------------------------------------------------------

_COUNT_AFTER = re.compile(
    r"\s*[多余来几]?\s*(?:"
    r"个(?!\s*[多半]?\s*(?:月|亿|万|星期|礼拜|工作日|小时|百分点|点|钟))"
    r"|[家位名户间笔期次单人]"
    r"|(?i:(?:[a-z-]+\s+)?(?:buyers?|customers?|clients?|debtors?|compan(?:y|ies)|accounts?"
    r"|instal?l?ments?|invoices?|orders?|shipments?|suppliers?|distributors?|importers?"
    r"|retailers?|countries|markets?)(?![a-z]))"
    r")"
)


def find_counts(text: str) -> list[Quantity]:
    """Counts of things with a classifier or noun: "20个客户", "十几家", "about 20 buyers"."""
    if not text:
        return []
    norm = _norm(text)
    dates = _date_mask(norm)
    out: list[Quantity] = []
    for n in _scan(norm):
        if dates.hits(n.start, n.end) or n.value != int(n.value) or n.value < 0:
            continue
        m = _COUNT_AFTER.match(norm, n.end)
        if m:
            out.append(Quantity(n.value, n.start, m.end(), text[n.start : m.end()], "count"))
    return out


def parse_count(text: str) -> int | None:
    """A count; without a classifier, the first whole number that is no other quantity."""
    found = find_counts(text)
    if found:
        return int(found[0].value)
    if not text:
        return None
    taken = _Mask(
        [(q.start, q.end) for q in (*find_money(text), *find_days(text), *find_pct(text))]
    )
    for q in _bare_numbers(text):
        if not taken.hits(q.start, q.end) and q.value == int(q.value) and q.value >= 0:
            return int(q.value)
    return None


# --- bare numbers ----------------------------------------------------------------------

_UNIT_CHARS = set("个家位名户间笔期次单人天日号年月周万亿元块成%")


def _bare_numbers(text: str) -> list[Quantity]:
    norm = _norm(text)
    dates = _date_mask(norm)
    out: list[Quantity] = []
    for n in _scan(norm):
        if dates.hits(n.start, n.end):
            continue
        nxt = norm[n.end : n.end + 1]
        if n.bare_single_cn and nxt and "\u4e00" <= nxt <= "\u9fff" and nxt not in _UNIT_CHARS:
            continue  # "一般", "十分", "三思": words, not numbers
        after = _MONEY_AFTER.match(norm, n.end)
        value = n.value
        end = n.end
        if after and after.group("emag") and after.group("emag").strip().lower() != "m":
            value *= _emag_value(after)
            end = after.end("emag")
        out.append(Quantity(_round(value), n.start, end, text[n.start : end], "number"))
    return out


def parse_number(text: str) -> float | None:
    """The first number, when the question already says what unit it is in."""
    if not text:
        return None
    found = _bare_numbers(text)
    return found[0].value if found else None
