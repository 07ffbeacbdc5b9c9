"""Slot extraction: which number in a message fills which field of a form.

SME owners put several facts in one line ("年销售五千万，做服装的，账期90天，最大客户占三成")
or answer a question with a bare value ("60"). Each quantity is found by the parsers in
``parsing``, then given to the field whose cue words sit nearest before it (or just after
it). A value with no cue goes to the field the assistant just asked for, then to the form's
default field for that kind of quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from assistant.dialogue import parsing, vocabulary
from assistant.dialogue.parsing import Quantity


@dataclass(frozen=True)
class SlotSpec:
    name: str
    kind: str  # money | days | pct | count | date | instalments | interval
    cues: str  # regular expression of words that name this field
    default: bool = False  # takes an un-cued value of its kind
    # A date still to come (a first instalment): a bare day of the month ("10号") already
    # past this month means next month's.
    future: bool = False


def _cue_distance(text: str, q_start: int, q_end: int, cues: re.Pattern[str]) -> int | None:
    """Characters between the quantity and the nearest cue (before it, or right after)."""
    best: int | None = None
    before = text[max(0, q_start - 40) : q_start]
    for m in cues.finditer(before):
        d = len(before) - m.end()
        best = d if best is None else min(best, d)
    after = text[q_end : q_end + 12]
    for m in cues.finditer(after):
        d = m.start() + 4  # a cue after the number binds less tightly than one before
        best = d if best is None else min(best, d)
    return best


def _clause_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The comma-delimited clause around a quantity, so cues do not leak across clauses."""
    seps = "，,。;；\n!！?？"
    left = max((text.rfind(s, 0, start) for s in seps), default=-1) + 1
    rights = [i for i in (text.find(s, end) for s in seps) if i != -1]
    return left, min(rights) if rights else len(text)


def _quantities(text: str, kind: str, today: date) -> list[Quantity]:
    if kind == "money":
        return parsing.find_money(text)
    if kind == "days":
        return parsing.find_days(text)
    if kind == "pct":
        return parsing.find_pct(text)
    if kind == "count":
        return _find_counts(text)
    if kind == "date":
        found = [
            Quantity(value=float(d.toordinal()), start=s, end=e, raw=text[s:e], kind="date")
            for d, s, e in parsing.find_dates(text, today)
        ]
        return sorted(found + _monthly_days(text, today, found), key=lambda q: q.start)
    if kind == "instalments":
        return _find_instalments(text)
    if kind == "interval":
        return _find_interval(text)
    return []


_MONTHLY_DAY = re.compile(
    r"每(?:个)?月\s*(\d{1,2})\s*[号日]|\bon the (\d{1,2})(?:st|nd|rd|th)? of (?:each|every) month",
    re.I,
)
_BARE_DAY = re.compile(r"^\s*(?:the\s+)?(\d{1,2})\s*(?:[号日]|st|nd|rd|th)\s*$", re.I)


def _next_day_of_month(day: int, today: date) -> date | None:
    """The next date (after today) falling on ``day`` of a month."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            d = date(year, month, day)
        except ValueError:
            d = None
        if d is not None and d > today:
            return d
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _monthly_days(text: str, today: date, found: list[Quantity]) -> list[Quantity]:
    """ "每月10号还", "on the 10th of each month": the first such day to come."""
    out = []
    for m in _MONTHLY_DAY.finditer(text):
        if any(q.start < m.end() and m.start() < q.end for q in found):
            continue
        d = _next_day_of_month(int(m.group(1) or m.group(2)), today)
        if d is not None:
            # The day alone is the date; "每月" stays for the interval.
            g = 1 if m.group(1) else 2
            out.append(Quantity(float(d.toordinal()), m.start(g), m.end(), m.group(0), "date"))
    return out


def _value(spec: SlotSpec, q: Quantity, today: date) -> Any:
    """A quantity as the field's value: a future date field rolls a past bare day forward."""
    value = _typed(spec.kind, q.value)
    m = _BARE_DAY.match(q.raw) if spec.kind == "date" else None
    if spec.future and m and value <= today:
        return _next_day_of_month(int(m.group(1)), today) or value
    return value


_COUNT_RE = re.compile(
    r"((?:\d+|[一二三四五六七八九十两百几]+)\s*(?:来|多)?\s*"
    r"(?:个|家|户|位)?\s*(?:客户|买家|买方|下游|经销商|采购商)|"
    r"(?:\d+|[一二三四五六七八九十两百几]+)\s*(?:来|多)?\s*(?:家|户)|"
    r"\d+\s*(?:buyers?|customers?|clients?|accounts?))",
    re.IGNORECASE,
)


def _find_counts(text: str) -> list[Quantity]:
    out = []
    for m in _COUNT_RE.finditer(text):
        v = parsing.parse_count(m.group(0))
        if v is not None:
            out.append(Quantity(float(v), m.start(), m.end(), m.group(0), "count"))
    return out


_INST_RE = re.compile(
    r"(?<![第每])(?:分\s*|共\s*|总共\s*|一共\s*)?(\d+|[一二三四五六七八九十两]+)\s*(?:期|次|笔|个月还清)(?!限)|"
    r"分\s*(\d+|[一二三四五六七八九十两]+)\s*个月|"
    r"\bover (\d+|two|three|four|five|six|seven|eight|nine|ten|twelve) months\b|"
    r"(\d+|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(?:equal\s+|monthly\s+)?"
    r"(?:instal+ments?|payments|parts|tranches)",
    re.IGNORECASE,
)


def _find_instalments(text: str) -> list[Quantity]:
    out = []
    for m in _INST_RE.finditer(text):
        raw = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        v = parsing.parse_number(raw)  # digits, Chinese numerals and English words
        before = text[max(0, m.start() - 2) : m.start()]
        if re.search(r"[还付]$", before) and not m.group(0).startswith(("分", "共")):
            continue  # "每两周还一次": how often, not how many
        if v is not None and 1 <= v <= 60 and not text[m.end() : m.end() + 1].isdigit():
            out.append(Quantity(float(v), m.start(), m.end(), m.group(0), "instalments"))
    return out


_EVERY_N = re.compile(
    r"每隔?\s*(\d+|[一二三四五六七八九十两]+)\s*(天|日|周|个?星期|个月)|every (\d+) (days?|weeks?|months?)",
    re.I,
)

_INTERVALS = [
    (re.compile(r"每(个)?月|按月|月付|monthly|every month|each month|a month", re.I), 30),
    (re.compile(r"每两周|每隔两周|双周|biweekly|fortnightly|every (two|2) weeks", re.I), 14),
    (re.compile(r"每周|每星期|按周|weekly|every week", re.I), 7),
    (re.compile(r"每季度|按季|每三个月|quarterly|every quarter", re.I), 90),
]


def _find_interval(text: str) -> list[Quantity]:
    m0 = _EVERY_N.search(text)
    if m0:
        n = parsing.parse_number(m0.group(1) or m0.group(3))
        unit = (m0.group(2) or m0.group(4) or "").lower()
        if n:
            mult = (
                7
                if ("周" in unit or "星期" in unit or unit.startswith("week"))
                else (30 if ("月" in unit or unit.startswith("month")) else 1)
            )
            return [Quantity(float(n * mult), m0.start(), m0.end(), m0.group(0), "interval")]
    for pattern, days in _INTERVALS:
        m = pattern.search(text)
        if m:
            return [Quantity(float(days), m.start(), m.end(), m.group(0), "interval")]
    return []


# "账期不是60天是90天", "20 million, not 30": the negated value is the wrong one.
_NEGATED_VALUE = re.compile(r"(不是|并非|而不是|不再是|\bnot|isn'?t|instead of)\s*$", re.I)
_PROMISED = vocabulary.pattern("promised_date")
_PER_YEAR = re.compile(
    r"^(一|1|每|全|整|两|二|三|四|五|\d)?\s*个?\s*年$|^(a|one|per|\d+|two|three)\s+years?$|^years?$",
    re.I,
)


def _per_year(text: str, q: Quantity) -> bool:
    """'一年赊销两千万', '一年最多赔多少': a year as a period, not a credit term of 365 days."""
    if q.value < 365 or not _PER_YEAR.search(q.raw):
        return False
    return not re.search(r"(账期|信用期|terms?|net)\s*(为|是|有)?\s*$", text[: q.start], re.I)


def extract(
    text: str,
    specs: list[SlotSpec],
    *,
    today: date,
    asked: list[str] | None = None,
    use_defaults: bool = True,
) -> dict[str, Any]:
    """Values for the fields of one form found in ``text``.

    Each quantity goes to at most one field; each field takes the first quantity that
    binds to it. Dates come back as ``date``, counts and days as ``int``. With
    ``use_defaults=False`` an un-cued value fills only a field just asked for: a message
    that may be about something else must not overwrite a form's figures.
    """
    asked = asked or []
    found: dict[str, Any] = {}
    used: list[tuple[int, int]] = []
    kinds = {s.kind for s in specs}
    for kind in ("date", "money", "pct", "days", "count", "instalments", "interval"):
        if kind not in kinds:
            continue
        kind_specs = [s for s in specs if s.kind == kind]
        by_name = {s.name: s for s in kind_specs}
        cue_res = {s.name: re.compile(s.cues, re.IGNORECASE) for s in kind_specs if s.cues}
        quantities = [
            q
            for q in _quantities(text, kind, today)
            if not any(q.start < e and s < q.end for s, e in used)
            and not _NEGATED_VALUE.search(text[max(0, q.start - 6) : q.start])
            and not (kind == "days" and _per_year(text, q))
        ]
        # Phase 1: quantities named by a cue, nearest cue first ("法院上周一受理的，我今天才知道":
        # 今天 is when they learned, whatever date came first).
        bids: list[tuple[int, int, str]] = []
        for qi, q in enumerate(quantities):
            c0, c1 = _clause_span(text, q.start, q.end)
            clause = text[c0:c1]
            for s in kind_specs:
                if s.name in cue_res:
                    d = _cue_distance(clause, q.start - c0, q.end - c0, cue_res[s.name])
                    if cue_res[s.name].search(text[q.start : q.end]):
                        d = 0  # the cue is part of the quantity: "25 customers", "30家客户"
                    if d is not None:
                        bids.append((d, qi, s.name))
        taken: set[int] = set()
        for _, qi, name in sorted(bids):
            if qi in taken or name in found:
                continue
            taken.add(qi)
            found[name] = _value(by_name[name], quantities[qi], today)
        # Phase 2: the rest go to the field just asked for, then to the default field.
        for qi, q in enumerate(quantities):
            if qi in taken:
                continue
            free = [s.name for s in kind_specs if s.name not in found]
            target = next((n for n in asked if n in free), None)
            if (
                target is None
                and use_defaults
                and not (kind == "date" and _PROMISED.search(text[max(0, q.start - 8) : q.start]))
            ):
                # A date the buyer promised ("每次都说下周一定") is no date of the case.
                target = next((s.name for s in kind_specs if s.default and s.name in free), None)
            if target is None:
                continue
            taken.add(qi)
            found[target] = _value(by_name[target], q, today)
        used += [(quantities[qi].start, quantities[qi].end) for qi in taken]
    return found


def _typed(kind: str, value: float) -> Any:
    if kind == "date":
        return date.fromordinal(int(value))
    if kind in ("days", "count", "instalments", "interval"):
        return round(value)
    return value


def bare_value(text: str, kind: str, today: date) -> Any:
    """A reply that is only a value ("60", "三千万", "9月1日") for a field just asked."""
    stripped = re.sub(r"[\s，,。.!！~]+", "", text)
    if not stripped or len(stripped) > 16:
        return None
    if kind == "date":
        d = parsing.parse_date(text, today)
        return d
    if kind == "money":
        v = parsing.parse_money(text)
        if v is None:
            n = parsing.parse_number(text)
            return n if n is not None and n > 0 else None
        return v
    if kind in ("days", "count", "instalments", "interval"):
        v2 = parsing.parse_days(text) if kind == "days" else None
        if v2 is None:
            n = parsing.parse_number(re.sub(r"[天日家个期次%％]", "", stripped))
            v2 = int(n) if n is not None and n > 0 else None
        return v2
    if kind == "pct":
        p = parsing.parse_pct(text)
        if p is None:
            n = parsing.parse_number(stripped)
            p = n if n is not None and 0 < n <= 100 else None
        return p
    return None


# --- overdue duration -> due date --------------------------------------------------------

_OVERDUE_RE = re.compile(
    r"(?:逾期|拖了|拖欠了?|欠了|超期|过期|晚了|拖)\s*(?:快|将近|差不多|大概|有)?\s*"
    r"(?P<zh>[\d一二三四五六七八九十两半]+\s*(?:个多?月|多?个?月|天|日|周|星期|年))|"
    r"(?P<en>\d+\s*(?:days?|weeks?|months?))\s*(?:overdue|late|past due)|"
    r"(?:overdue|late) (?:for|by) (?P<en2>\d+\s*(?:days?|weeks?|months?))",
    re.IGNORECASE,
)


def overdue_period(text: str) -> tuple[str, int, bool] | None:
    """'拖了三个月没付' -> ('三个月', 90, True): the words, their days, and whether they are
    approximate (months, weeks or years, counted as 30, 7 and 365 days)."""
    m = _OVERDUE_RE.search(text)
    if not m:
        return None
    raw = (m.group("zh") or m.group("en") or m.group("en2") or "").strip()
    days = parsing.parse_days(raw)
    if days is None:
        return None
    exact = re.search(r"[天日]|days?", raw, re.IGNORECASE) is not None
    return raw, int(days), not exact


def overdue_due_date(text: str, today: date) -> date | None:
    """'拖了三个月没付' -> the due date three months ago, so deadlines can be worked out."""
    period = overdue_period(text)
    return today - timedelta(days=period[1]) if period else None


# --- yes / no -------------------------------------------------------------------------

_NEG_REPORTED = re.compile(
    r"(还没|没有?|未|尚未|忘了|忘记)[^，,。；;]{0,8}?(报|申报|通知|告诉)|"
    r"(申报|逾期申报|通知)[^，,。；;]{0,4}(还没|没有|没|未)|not (yet )?(reported|notified)|"
    r"haven'?t (reported|notified|told)|didn'?t (report|notify)",
    re.IGNORECASE,
)
_POS_REPORTED = re.compile(
    r"(已经?|早就|已)\s*(报|申报|通知)|报过|申报过|申报了|报了逾期|(already |have )(reported|notified)|"
    r"(sent|filed|submitted|lodged) (the |an |our )?(overdue|notification|notice)|notified the insurer",
    re.IGNORECASE,
)


def reported_flag(text: str) -> bool | None:
    if _NEG_REPORTED.search(text):
        return False
    if _POS_REPORTED.search(text):
        return True
    return None


# --- the period a sales figure covers ------------------------------------------------------

_NUM = r"[\d一二三四五六七八九十两]+"
_EN_NUM = r"\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_SALES_WORD = re.compile(r"赊销|销售|营收|营业额|收入|出货|sales|turnover|revenue|invoiced", re.I)
# "账期三个月", "月结", "net 30 a month": the payment terms, not the period of the sales.
_TERMS_BEFORE = re.compile(
    r"(账期|月结|信用期|付款期|放账期?|结算期|回款期|terms?|\bnet)[^，,。;；\d]{0,6}$", re.I
)
# (pattern, days per unit, whether group "n" counts units). Most specific first: one
# alternation is scanned left to right, so "今年前三个季度" is three quarters, not a year.
_PERIOD_PATTERNS: list[tuple[str, int, bool]] = [
    (rf"(?:今年|本年|去年|上一?年)?(?:前|头|近|最近|过去)\s*(?P<n>{_NUM})\s*个?\s*季度?", 90, True),
    (rf"(?P<n>{_NUM})\s*个\s*季度", 90, True),
    (
        r"(?:今年|本年|去年)?第?\s*[1-4一二三四]\s*季度|(?:这个|这一?|本|上个?|上一个|当|"
        r"一个|每个?|单|整个?)季度?(?!末|底|初)|季度",
        90,
        False,
    ),
    (r"上半年|下半年|半年度?|半个年", 180, False),
    (
        rf"(?:前|头|近|最近|过去)?\s*(?P<n>{_NUM})\s*个\s*(?:半\s*)?多?\s*月(?![底末初中份])",
        30,
        True,
    ),
    (r"(?:前|头|近|最近|过去)\s*(?P<n>两|俩)\s*月(?![底末初中份])", 30, True),
    (
        r"(?:这个|这一?个?|本|当|上个?|上一个|前一个|最近一个|近一个|过去一个|每个?|单|整)"
        r"月(?![底末初中份结号日\d])|月度|月均|月(?=赊销|销售|营收|出货|销量)",
        30,
        False,
    ),
    (
        r"(?<![\d一二三四五六七八九十])(?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])\s*月份?(?=的?(?:赊销|销售|营收|出货))",
        30,
        False,
    ),
    (
        r"全年|一整年|整年|一年|每年|今年|本年度?|去年|上一?年度?|年度|近一年|最近一年|过去一年|"
        r"年(?=赊销|销售|营收|营业额|出货|收入)",
        365,
        False,
    ),
    (
        rf"\b(?:first|last|past|previous|prior)\s+(?P<n>{_EN_NUM})\s+quarters\b",
        90,
        True,
    ),
    (
        r"\b(?:this|last|previous|prior|the|a|per|each|one|current|that|in a|over a|for a)\s+"
        r"quarter\b|\bquarterly\b|\bquarter'?s\b|\bQ[1-4]\b",
        90,
        False,
    ),
    (r"\bhalf[- ]?(?:a[- ])?year\b|\bsemi-?annual(?:ly)?\b|\bH[12]\b", 180, False),
    (rf"\b(?:(?:first|last|past|previous|prior)\s+)?(?P<n>{_EN_NUM})\s+months\b", 30, True),
    (
        r"\b(?:this|last|previous|prior|the|a|per|each|one|current|that|single)\s+month\b|"
        r"\bmonthly\b|\bmonth'?s\b|/\s*(?:month|mo)\b",
        30,
        False,
    ),
    (
        r"\b(?:this|last|previous|prior|the|a|per|each|one|current|that|full|whole)\s+year\b|"
        r"\bannual(?:ly)?\b|\byearly\b|\bper annum\b|\byear'?s\b|\btwelve months\b",
        365,
        False,
    ),
]
_PERIOD_RE = [(re.compile(p, re.I), days, counted) for p, days, counted in _PERIOD_PATTERNS]


def _period_matches(text: str) -> list[tuple[int, int, int]]:
    """(start, end, days) of each named period, without overlaps (earlier patterns win)."""
    out: list[tuple[int, int, int]] = []
    for pattern, days, counted in _PERIOD_RE:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e, _ in out):
                continue
            if _TERMS_BEFORE.search(text[max(0, m.start() - 10) : m.start()]):
                continue
            if re.match(r"\s*(前|后|以前|以后|之前|之后|内到期|ago|later)", text[m.end() :]):
                continue  # "三个月前": a date, not a period
            n = 1.0
            if counted:
                n = parsing.parse_number(m.group("n")) or 0.0
                if m.group(0).endswith(("年", "year")) or not 0 < n <= 24:
                    continue
            out.append((m.start(), m.end(), round(days * n)))
    return sorted(out)


def named_period(text: str) -> int | None:
    """The period a sales figure covers, from how it is named: "这个月赊销50万" -> 30,
    "本季度" -> 90, "今年前三个季度" -> 270, "半年" -> 180, "annual sales" -> 365.

    DSO is only right when receivables are set against the sales of a stated period; a
    month's sales read as a year's give a DSO twelve times too long. Payment terms
    ("账期三个月", "月结") are not a period. With several, the one nearest a sales word wins
    ("上个月应收35万，全年赊销500万" is a year).
    """
    found = _period_matches(text)
    if not found:
        return None
    sales = [m.start() for m in _SALES_WORD.finditer(text)]
    if not sales:
        return found[0][2]

    def gap(item: tuple[int, int, int]) -> int:
        s, e, _ = item
        return min(max(s - p, p - e, 0) for p in sales)

    return min(found, key=gap)[2]
