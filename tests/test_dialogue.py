"""Multi-turn grounded conversations through ``Assistant.chat``.

Each test is one conversation in its own session on a shared assistant (the lead tests get
their own store, since they count stored leads). "Today" is Saturday 28 November 2026, so
"上周五" is 20 November and the sample policy's 60-day notification deadline for a debt due
on 15 August fell on 14 October.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant.advisor import Assistant
from assistant.config import Settings
from assistant.i18n import t
from assistant.models import Reply, ToolCall
from assistant.storage import Store

TODAY = date(2026, 11, 28)
MARKER = re.compile(r"\[(\d{1,3})\]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# "9.8万元 – 21.78万元", "CNY 58,806 – CNY 130,680"
MONEY_RANGE = re.compile(r"\d[\d,.]*\s*万?元?\s*[–~-]+\s*(?:CNY\s*|RMB\s*)?\d")


def build(settings: Settings, db: Path) -> Assistant:
    return Assistant.from_settings(settings, store=Store(f"sqlite:///{db}"), today=lambda: TODAY)


def mostly_english(text: str) -> bool:
    return len(LATIN.findall(text)) >= 4 * len(CJK.findall(text))


def calls(reply: Reply, name: str) -> list[ToolCall]:
    return [c for c in reply.tool_calls if c.name == name]


def only_call(reply: Reply, name: str) -> ToolCall:
    found = calls(reply, name)
    assert len(found) == 1, (name, reply.intent, reply.tool_calls, reply.answer)
    return found[0]


def state_of(a: Assistant, sid: str) -> dict[str, Any]:
    state = a.session_state(sid)
    assert state is not None
    return state


def assert_markers_cited(reply: Reply) -> None:
    numbers = {c.n for c in reply.citations}
    assert {int(n) for n in MARKER.findall(reply.answer)} <= numbers


@pytest.fixture(scope="module")
def advisor(
    full_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Assistant]:
    a = build(full_settings, tmp_path_factory.mktemp("dialogue") / "a.db")
    yield a
    a.store.close()


@pytest.fixture
def sid() -> str:
    return f"d-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def lead_advisor(full_settings: Settings, tmp_path: Path) -> Iterator[Assistant]:
    a = build(full_settings, tmp_path / "a.db")
    yield a
    a.store.close()


# -- quote ------------------------------------------------------------------------------------


def test_a_premium_question_with_the_users_own_guess_gets_a_quote_that_answers_it(
    advisor: Assistant, sid: str
) -> None:
    # The sales figure is a range ("五六百万") and the user's own premium guess ("一万出头")
    # is no sales figure: the quote runs on about 6 million and says the minimum applies.
    text = "一年营业额才五六百万 按费率算下来保费一万出头，是不是就交一万多"
    r = advisor.chat(text, session_id=sid)
    quote = only_call(r, "estimate_premium")
    assert quote.args["annual_credit_sales"] == 6_000_000
    assert isinstance(quote.result, dict) and quote.result["low"] == 20_000
    # The low end is the minimum premium, named as such, with no low rate beside it that
    # 20,000 / 6,000,000 would not equal.
    assert "**2万元（最低保费）– " in r.answer, r.answer
    assert f"{quote.result['rate_low_pct']}%" not in r.answer


def test_quote_is_built_step_by_step_and_corrections_rerun_it(advisor: Assistant, sid: str) -> None:
    r1 = advisor.chat("我们年销售额五千万，保费大概多少？", session_id=sid)
    assert r1.intent == "quote"
    # Answer first: the sales figure alone gives a quote; the industry and the terms are
    # assumed, said so, and invited, and the form stays open for them.
    first = only_call(r1, "estimate_premium")
    assert first.args == {"annual_credit_sales": 50_000_000}
    assert isinstance(first.result, dict) and first.result["industry"] == "other"
    assert first.result["industry_assumed"] is True
    assert "您还没说买家所在行业" in r1.answer and "其他行业" in r1.answer
    assert "告诉我买家所在行业和一般给买家的账期" in r1.answer
    assert "平均信用期限：60 天（假设）" in r1.answer
    assert "还需要" not in r1.answer
    state = state_of(advisor, sid)
    assert state["active"] == "estimate_premium"
    assert set(state["asked"]) == {"industry", "avg_credit_days"}

    r2 = advisor.chat("做电子元器件的，账期一般60天", session_id=sid)
    quote = only_call(r2, "estimate_premium")
    assert quote.args["annual_credit_sales"] == 50_000_000
    assert quote.args["industry"] == "electronics"
    assert quote.args["avg_credit_days"] == 60
    result = quote.result
    assert isinstance(result, dict)
    assert 0 < result["low"] <= result["base"] <= result["high"]
    assert "保费" in r2.answer
    assert MONEY_RANGE.search(r2.answer), r2.answer
    assert_markers_cited(r2)
    assert state_of(advisor, sid)["active"] is None

    r3 = advisor.chat("不对，是3000万", session_id=sid)
    quote = only_call(r3, "estimate_premium")
    assert quote.args["annual_credit_sales"] == 30_000_000
    assert quote.args["industry"] == "electronics"
    assert quote.args["avg_credit_days"] == 60
    assert isinstance(quote.result, dict)
    assert quote.result["base"] < result["base"]

    r4 = advisor.chat("账期改成90天", session_id=sid)
    quote = only_call(r4, "estimate_premium")
    assert quote.args["avg_credit_days"] == 90
    assert quote.args["annual_credit_sales"] == 30_000_000
    assert quote.args["industry"] == "electronics"


def test_quote_in_one_english_message(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat(
        "Quick quote: electronics, RMB 30m credit sales a year, 60 days average.", session_id=sid
    )
    assert reply.lang == "en"
    assert reply.intent == "quote"
    quote = only_call(reply, "estimate_premium")
    assert quote.args["annual_credit_sales"] == 30_000_000
    assert quote.args["industry"] == "electronics"
    assert quote.args["avg_credit_days"] == 60
    assert "premium" in reply.answer.lower()
    assert MONEY_RANGE.search(reply.answer), reply.answer
    assert mostly_english(reply.answer), reply.answer


def test_side_question_during_quote_keeps_the_form_open(advisor: Assistant, sid: str) -> None:
    advisor.chat("我们年销售额五千万，保费大概多少？", session_id=sid)
    side = advisor.chat("逾期申报期限是多久？", session_id=sid)
    assert side.intent == "knowledge"
    assert side.citations
    assert_markers_cited(side)
    assert not calls(side, "estimate_premium")
    assert state_of(advisor, sid)["active"] == "estimate_premium"

    done = advisor.chat("电子行业，账期60天", session_id=sid)
    quote = only_call(done, "estimate_premium")
    assert quote.args["annual_credit_sales"] == 50_000_000
    assert quote.args["industry"] == "electronics"
    assert quote.args["avg_credit_days"] == 60


@pytest.mark.parametrize(
    "question",
    ["信用保险保什么？", "信用保险保什么、不保什么？", "保费是怎么算的？"],
    ids=["what-is-covered", "covered-and-excluded", "how-premium-is-priced"],
)
def test_domain_question_is_answered_not_turned_into_a_quote_form(
    advisor: Assistant, sid: str, question: str
) -> None:
    reply = advisor.chat(question, session_id=sid)
    assert reply.intent == "knowledge", (reply.intent, reply.answer)
    assert reply.citations
    assert_markers_cited(reply)
    assert state_of(advisor, sid).get("active") is None


# -- claims -----------------------------------------------------------------------------------


def test_insolvency_claim_lists_documents_then_dates_the_deadline(
    advisor: Assistant, sid: str
) -> None:
    r1 = advisor.chat("买家破产了要准备什么材料？", session_id=sid)
    assert r1.intent == "claim"
    check = only_call(r1, "claim_checklist")
    assert check.args["cause"] == "insolvency"
    assert "破产" in r1.answer
    assert "管理人" in r1.answer
    assert state_of(advisor, sid)["asked"] == ["aware_on"]
    assert "哪天" in r1.answer or "什么时候" in r1.answer
    assert_markers_cited(r1)

    r2 = advisor.chat("上周五知道的", session_id=sid)
    check = only_call(r2, "claim_checklist")
    assert check.args["cause"] == "insolvency"
    assert check.args["aware_on"] == "2026-11-20"
    assert "2026年12月20日" in r2.answer  # 30 days after learning of it (sample policy)
    assert_markers_cited(r2)


def test_protracted_default_past_notification_deadline_is_warned(
    advisor: Assistant, sid: str
) -> None:
    reply = advisor.chat("客户欠我们28万，8月15号到期的，一直没付，还没报逾期", session_id=sid)
    assert reply.intent == "claim"
    check = only_call(reply, "claim_checklist")
    assert check.args["cause"] == "protracted_default"
    assert check.args["due_date"] == "2026-08-15"
    assert check.args["overdue_reported"] is False
    assert check.args["amount"] == 280_000
    assert re.search(r"2026年10月14日[^\n]{0,20}已过", reply.answer), reply.answer
    assert_markers_cited(reply)


def test_dates_from_a_vague_overdue_period_say_how_it_was_counted(
    advisor: Assistant, sid: str
) -> None:
    # "逾期两个月" is not a date: the deadlines hang on counting it as 60 days, which the
    # reply says, with the due date it implies, until the user gives the real one.
    r1 = advisor.chat("客户逾期两个月了，我要索赔", session_id=sid)
    call = only_call(r1, "claim_checklist")
    due = TODAY - timedelta(days=60)
    assert call.args["due_date"] == due.isoformat()
    assert "“两个月”按 60 天计" in r1.answer
    assert f"{due.year}年{due.month}月{due.day}日" in r1.answer
    r2 = advisor.chat("到期日是10月10日", session_id=sid)
    assert only_call(r2, "claim_checklist").args["due_date"].endswith("-10-10")
    assert "按 60 天计" not in r2.answer  # a real date: nothing assumed any more
    exact = advisor.chat("另一个客户逾期45天了，我要索赔", session_id="vague-2")
    assert "天计" not in exact.answer  # days are exact
    en = advisor.chat("the buyer is 2 months late, I want to make a claim", session_id="vague-3")
    assert '"2 months" is counted as 60 days' in en.answer


def test_dispute_claim_points_to_judgment_or_arbitration(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat("客户说货有质量问题拒付15万，怎么索赔", session_id=sid)
    assert reply.intent == "claim"
    check = only_call(reply, "claim_checklist")
    assert check.args["cause"] == "dispute"
    assert "判决" in reply.answer or "仲裁" in reply.answer


# -- calculators ------------------------------------------------------------------------------


def test_dso_is_calculated_from_one_message(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat("应收账款1200万，全年赊销6000万，帮我算下DSO", session_id=sid)
    assert reply.intent == "calculator"
    dso = only_call(reply, "dso")
    assert dso.args["receivables"] == 12_000_000
    assert dso.args["credit_sales"] == 60_000_000
    assert isinstance(dso.result, dict)
    assert dso.result["dso_days"] == pytest.approx(73, abs=0.5)
    assert "73" in reply.answer


def test_payment_plan_flags_instalment_needing_consent(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat(
        "客户欠30万，原来11月15号到期，想分三期还，12月10号付第一期，每月一期", session_id=sid
    )
    assert reply.intent == "calculator"
    plan = only_call(reply, "payment_plan")
    assert plan.args["amount"] == 300_000
    assert plan.args["instalments"] == 3
    assert plan.args["first_date"] == "2026-12-10"
    assert plan.args["original_due_date"] == "2026-11-15"
    assert isinstance(plan.result, dict)
    schedule = plan.result["schedule"]
    assert len(schedule) == 3
    assert [i["needs_consent"] for i in schedule] == [False, False, True]
    assert "书面同意" in reply.answer
    assert_markers_cited(reply)


def test_payment_plan_warnings_cite_the_clause_they_name(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat(
        "客户欠30万，原来11月15号到期，想分三期还，12月10号付第一期，每月一期", session_id=sid
    )
    by_n = {c.n: c for c in reply.citations}
    checked = 0
    for line in reply.answer.splitlines():
        named = re.findall(r"（(第[一二三四五六七八九十百]+条)）", line)
        marks = [int(n) for n in MARKER.findall(line)]
        if len(named) == 1 and marks:
            checked += 1
            assert {by_n[n].clause for n in marks} == set(named), (line, reply.citations)
    assert checked >= 2, reply.answer


# -- lead -------------------------------------------------------------------------------------


def test_invalid_phone_during_lead_is_asked_again(lead_advisor: Assistant, sid: str) -> None:
    r1 = lead_advisor.chat("转人工", session_id=sid)
    assert r1.intent == "lead"
    assert not r1.tool_calls
    assert "电话" in r1.answer
    assert state_of(lead_advisor, sid)["asked"] == ["phone"]

    r2 = lead_advisor.chat("电话12345", session_id=sid)
    assert r2.intent == "lead", (r2.intent, r2.answer)
    assert not r2.tool_calls
    assert r2.answer == t("zh", "lead.invalid_phone")
    assert not r2.handoff
    assert state_of(lead_advisor, sid)["active"] == "lead"
    assert lead_advisor.store.list_leads() == []


def test_lead_is_captured_once_with_transcript(lead_advisor: Assistant, sid: str) -> None:
    store = lead_advisor.store
    r1 = lead_advisor.chat("转人工", session_id=sid)
    assert r1.intent == "lead"
    assert not r1.tool_calls

    r2 = lead_advisor.chat("我叫王建国，电话13912345678", session_id=sid)
    only_call(r2, "capture_lead")
    assert r2.handoff is True
    assert r2.lead_id
    lead = store.get_lead(r2.lead_id)
    assert lead is not None
    assert lead["phone"] == "+8613912345678"
    assert lead["name"] == "王建国"
    assert lead["session_id"] == sid
    said = [m["content"] for m in lead["transcript"] if m["role"] == "user"]
    assert said[0] == "转人工"
    assert "13912345678" in said[-1]
    assert any(m["role"] == "assistant" for m in lead["transcript"])
    assert len(store.list_leads()) == 1

    r3 = lead_advisor.chat("我叫王建国，电话13912345678", session_id=sid)
    assert len(store.list_leads()) == 1
    assert r3.lead_id in (None, r2.lead_id)


# -- language, small talk, out of scope -------------------------------------------------------


def test_switch_to_english_mid_conversation(advisor: Assistant, sid: str) -> None:
    r1 = advisor.chat("逾期申报期限是多久？", session_id=sid)
    assert r1.lang == "zh"
    r2 = advisor.chat("Can you answer in English? What's the waiting period?", session_id=sid)
    assert r2.lang == "en"
    assert mostly_english(r2.answer), r2.answer
    assert state_of(advisor, sid)["lang"] == "en"


@pytest.mark.parametrize(
    "question",
    ["What's the waiting period?", "Can you answer in English? What's the waiting period?"],
    ids=["plain", "after-language-request"],
)
def test_english_waiting_period_question_is_answered(
    advisor: Assistant, sid: str, question: str
) -> None:
    reply = advisor.chat(question, session_id=sid)
    assert reply.lang == "en"
    assert reply.intent == "knowledge"
    assert reply.citations, reply.answer
    assert_markers_cited(reply)
    assert "180" in reply.answer, reply.answer


def test_weather_question_is_out_of_scope(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat("明天上海天气怎么样", session_id=sid)
    assert reply.intent == "oos"
    assert not reply.citations
    assert not reply.tool_calls
    assert reply.answer.strip()


def test_hello_gets_greeting(advisor: Assistant, sid: str) -> None:
    reply = advisor.chat("你好", session_id=sid)
    assert reply.intent == "greeting"
    assert not reply.tool_calls
    assert not reply.citations
    assert reply.answer.strip()
