"""Conversations an exploratory test session found mishandled, kept so they stay fixed.

Each is phrased the way the tester (writing as an SME owner) typed it; "today" is Saturday
28 November 2026.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.advisor import Assistant
from assistant.config import Settings
from assistant.models import Reply
from assistant.storage import Store

TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def bot(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    db = Path(tmp_path_factory.mktemp("regress")) / "r.db"
    return Assistant.from_settings(
        full_settings, store=Store(f"sqlite:///{db}"), today=lambda: TODAY
    )


def talk(bot: Assistant, *messages: str) -> Reply:
    sid = None
    reply = None
    for m in messages:
        reply = bot.chat(m, session_id=sid)
        sid = reply.session_id
    assert reply is not None
    return reply


def tool(reply: Reply, name: str) -> dict:
    found = [c for c in reply.tool_calls if c.name == name]
    assert found, (reply.intent, reply.tool_calls, reply.answer)
    return found[0].args


def test_digits_inside_a_chinese_number_keep_their_value(bot: Assistant) -> None:
    reply = talk(bot, "帮我估算保费", "卖衣服的", "一年大概2千5百万吧 月结30天")
    args = tool(reply, "estimate_premium")
    assert args["annual_credit_sales"] == 25_000_000
    assert args["industry"] == "textiles_apparel"


def test_first_instalment_words_do_not_become_the_instalment_count(bot: Assistant) -> None:
    reply = talk(
        bot, "客户要分期还款，总共24万 每两周还一次 分4次 第一次12月1号 原到期日是10月20号"
    )
    result = next(c for c in reply.tool_calls if c.name == "payment_plan").result
    assert isinstance(result, dict)
    assert len(result["schedule"]) == 4
    # Due 20 Oct: the 60-day extension ends 19 Dec, so 29 Dec and 12 Jan need consent.
    assert [i["needs_consent"] for i in result["schedule"]] == [False, False, True, True]


def test_a_due_date_after_a_late_payment_question_opens_the_claim_check(bot: Assistant) -> None:
    reply = talk(bot, "客户拖了快两个月没付款了 保险能赔吗", "货款是9月15号到期的")
    args = tool(reply, "claim_checklist")
    assert args["cause"] == "protracted_default"
    assert args["due_date"] == "2026-09-15"
    assert "2026年11月14日" in reply.answer  # notification deadline, already passed


def test_holiday_due_date_gets_tomorrows_notification_deadline(bot: Assistant) -> None:
    reply = talk(bot, "国庆节前到期的一笔货款 现在还没收到 要报逾期吗")
    args = tool(reply, "claim_checklist")
    assert args["due_date"] == "2026-09-30"
    assert "2026年11月29日" in reply.answer


def test_homophone_typo_is_understood(bot: Assistant) -> None:
    reply = talk(bot, "索陪时效多久")
    assert reply.intent == "knowledge"
    assert reply.citations
    assert "30" in reply.answer


def test_wanting_insurance_while_asking_a_question_is_not_a_lead(bot: Assistant) -> None:
    reply = talk(bot, "我想投保但是有个客户已经逾期了 这个客户能保吗")
    assert reply.intent != "lead"
    assert not reply.handoff


def test_sales_needed_after_a_bad_debt_is_the_calculator(bot: Assistant) -> None:
    reply = talk(
        bot, "If I lose 200k to a bad debt and my margin is 8%, how much extra do I need to sell?"
    )
    args = tool(reply, "recovery_sales")
    assert args == {"bad_debt": 200000.0, "margin_pct": 8.0}
    assert reply.lang == "en"


def test_is_my_dso_high_is_a_question_not_a_calculation(bot: Assistant) -> None:
    reply = talk(bot, "DSO 75天算高吗")
    assert reply.intent == "knowledge"


def test_english_not_paying_starts_a_default_claim(bot: Assistant) -> None:
    reply = talk(
        bot,
        "Our customer owes us RMB 420,000 and just isn't paying. No complaints about the goods,"
        " they just ghost us. Can you help me get a claim together?",
    )
    args = tool(reply, "claim_checklist")
    assert args["cause"] == "protracted_default"
    assert args["amount"] == 420000


def test_negated_cause_correction_switches_the_cause(bot: Assistant) -> None:
    reply = talk(bot, "客户跑路了，要理赔", "是拖欠 不是破产")
    assert tool(reply, "claim_checklist")["cause"] == "protracted_default"


def test_a_mentioned_document_is_not_a_held_document(bot: Assistant) -> None:
    reply = talk(bot, "I want to make a claim, the buyer is late and the invoice was due Aug 20")
    assert "invoices" not in tool(reply, "claim_checklist").get("documents_held", [])


def test_claim_with_an_amount_says_roughly_what_it_pays(bot: Assistant) -> None:
    reply = talk(bot, "客户欠我们80万，破产了，上周五知道的，合同发票都有")
    assert "72万元" in reply.answer  # 90% of 800,000 under the sample wording
    assert tool(reply, "claim_checklist")["documents_held"] == ["invoices", "sales_contract"]


@pytest.mark.parametrize(
    ("message", "intent"),
    [("帮我写个年终总结", "oos"), ("帮我看看", "help"), ("Hello! Morning", "greeting")],
)
def test_vague_and_off_topic_messages(bot: Assistant, message: str, intent: str) -> None:
    assert talk(bot, message).intent == intent


def test_share_in_tenths_refines_the_last_quote(bot: Assistant) -> None:
    reply = talk(bot, "年销售5000万，做电子的，账期60天，保费多少", "最大客户占6成")
    assert tool(reply, "estimate_premium")["largest_buyer_share_pct"] == 60


def test_company_given_after_the_hand_off_is_added_to_the_lead(bot: Assistant) -> None:
    first = talk(bot, "转人工")
    sid = first.session_id
    captured = bot.chat("13800138000 张总", session_id=sid)
    assert captured.handoff and captured.lead_id
    reply = bot.chat("公司是宁波海曙某某贸易", session_id=sid)
    assert reply.intent == "lead"
    lead = bot.store.get_lead(captured.lead_id)
    assert lead is not None
    assert lead["company"] == "宁波海曙某某贸易"
    assert lead["name"] == "张总"


def test_an_open_quote_does_not_swallow_a_message_about_something_else(bot: Assistant) -> None:
    reply = talk(
        bot,
        "Quote: plastics, RMB 18m credit sales, 60 day terms",
        "One of those buyers owes RMB 500k and wants to pay over 5 months.",
    )
    assert not [c for c in reply.tool_calls if c.name == "estimate_premium"]


def test_a_generic_word_does_not_replace_the_industry(bot: Assistant) -> None:
    reply = talk(
        bot,
        "Quote for auto parts, 30m turnover, net 60",
        "Our biggest dealer is about 35% of our AR",
    )
    args = tool(reply, "estimate_premium")
    assert args["industry"] == "auto_parts"
    assert args["largest_buyer_share_pct"] == 35


def test_day_first_slash_dates_are_read(bot: Assistant) -> None:
    reply = talk(bot, "Buyer hasn't paid, the invoice was due 15/09/2026, I want to claim")
    assert tool(reply, "claim_checklist")["due_date"] == "2026-09-15"


def test_titled_name_is_kept_and_a_corrected_phone_updates_the_same_lead(
    full_settings: Settings, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lead.db'}")
    own = Assistant.from_settings(full_settings, store=store, today=lambda: TODAY)
    first = own.chat("转人工，我是温州鞋厂的陈总，电话13812345678")
    assert first.handoff and first.lead_id
    again = own.chat("号码打错了 应该是 135 7777 8899", session_id=first.session_id)
    assert again.lead_id == first.lead_id
    leads = store.list_leads()
    assert len(leads) == 1
    assert leads[0]["phone"] == "+8613577778899"
    assert leads[0]["name"] == "陈总"


def test_minimum_premium_is_shown_as_a_floor_not_a_midpoint(bot: Assistant) -> None:
    reply = talk(bot, "年赊销500万，做电子的，账期60天，保费多少")
    assert "起" in reply.answer
    assert "中间值" not in reply.answer


def test_a_long_paste_is_answered_in_the_language_of_its_question(bot: Assistant) -> None:
    contract = "The Buyer shall pay within 150 days of delivery. " * 60
    reply = talk(bot, contract + "\n这个买家的应收账款能投保吗？")
    assert reply.lang == "zh"


@pytest.mark.parametrize(
    "message",
    [
        "做电子的，每月赊销200万，账期60天，保费多少",
        "quote: electronics, about 2M RMB per month on credit, net 60",
    ],
)
def test_monthly_sales_are_annualised(bot: Assistant, message: str) -> None:
    assert tool(talk(bot, message), "estimate_premium")["annual_credit_sales"] == 24_000_000


def test_a_follow_up_claim_turn_leads_with_dates_and_does_not_repeat_the_document_list(
    bot: Assistant,
) -> None:
    first = talk(bot, "客户拖欠货款，9月15号到期的")
    assert "⬜" in first.answer
    assert first.answer.index("关键日期") < first.answer.index("需要准备的材料")
    second = bot.chat("还没报逾期", session_id=first.session_id)
    assert tool(second, "claim_checklist")["overdue_reported"] is False
    assert "⬜" not in second.answer
    assert "材料清单同上" in second.answer
