"""Conversations an exploratory test session found mishandled, kept so they stay fixed.

Each is phrased the way the tester (writing as an SME owner) typed it; "today" is Saturday
28 November 2026.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from assistant.advisor import Assistant
from assistant.config import Settings
from assistant.i18n import t
from assistant.knowledge.chunking import clause_number
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


# --- DSO: the period the credit sales cover -----------------------------------------------


def _dso(reply: Reply) -> dict:
    return tool(reply, "dso")


@pytest.mark.parametrize(
    ("message", "low", "high"),
    [
        ("应收账款35万，这个月赊销50万，DSO多少", 28, 31),
        ("应收账款35万，上个月赊销50万，DSO是多少天", 28, 31),
        ("这个季度赊销50万，应收账款35万，帮我算下DSO", 89, 92),
        ("应收35万，本季度赊销50万，DSO多少", 89, 92),
        ("今年前三个季度赊销50万，应收账款35万，算一下DSO", 270, 273),
        ("半年赊销50万，应收账款35万，DSO多少", 180, 184),
        ("过去90天赊销50万，应收35万，DSO多少", 90, 90),
        ("Receivables are 350,000 and credit sales 500,000 over 31 days", 31, 31),
        (
            "Our receivables are 350k and last month's credit sales were 500k. What's our DSO?",
            28,
            31,
        ),
        ("AR is 350k, credit sales this quarter 500k, what's the DSO?", 89, 92),
        ("Receivables 350k, we sell about 500k per month on credit. DSO?", 28, 31),
        ("monthly credit sales 500k, receivables 350k, calculate DSO", 28, 31),
        ("Receivables 350k, credit sales 500k a year, DSO please", 365, 366),
    ],
)
def test_dso_uses_the_period_the_sales_are_stated_for(
    bot: Assistant, message: str, low: int, high: int
) -> None:
    reply = talk(bot, message)
    args = _dso(reply)
    assert (args["receivables"], args["credit_sales"]) == (350_000, 500_000)
    assert low <= args["period_days"] <= high
    # The assumed-period note is for figures with no period only.
    assert t(reply.lang, "calculator.dso_assumed", days=365) not in reply.answer


def test_a_months_sales_give_a_dso_of_about_three_weeks(bot: Assistant) -> None:
    result = next(c.result for c in talk(bot, "应收账款35万，这个月赊销50万，DSO多少").tool_calls)
    assert isinstance(result, dict)
    assert 19 <= result["dso_days"] <= 22  # 35万 / 50万 x ~30 days, not 255.5


def test_payment_terms_in_months_are_not_the_sales_period(bot: Assistant) -> None:
    args = _dso(talk(bot, "应收300万，全年赊销1800万，账期三个月，DSO多少"))
    assert args["period_days"] == 365
    assert args["credit_terms_days"] == 90


@pytest.mark.parametrize(
    ("message", "lang"),
    [
        ("应收账款35万，赊销50万，DSO多少", "zh"),
        ("Receivables 350k, credit sales 500k, DSO?", "en"),
    ],
)
def test_an_unstated_period_is_assumed_out_loud(bot: Assistant, message: str, lang: str) -> None:
    reply = talk(bot, message)
    assert _dso(reply)["period_days"] == 365
    assert reply.lang == lang
    assert t(lang, "calculator.dso_assumed", days=365) in reply.answer


@pytest.mark.parametrize(
    ("first", "correction", "period"),
    [
        ("应收账款35万，赊销50万，DSO多少", "按一个月算", 30),
        ("应收账款35万，赊销50万，DSO多少", "那是一个季度的", 90),
        ("应收账款35万，赊销50万，DSO多少", "如果是一个月的呢？", 30),
        ("应收账款35万，赊销50万，DSO多少", "不对，赊销是一个月的", 30),
        ("Receivables 350k, credit sales 500k, what's our DSO?", "that was monthly", 30),
        ("Receivables 350k, credit sales 500k, what's our DSO?", "actually it was quarterly", 90),
    ],
)
def test_naming_the_period_afterwards_reruns_the_dso(
    bot: Assistant, first: str, correction: str, period: int
) -> None:
    args = _dso(talk(bot, first, correction))
    assert args["period_days"] == period
    assert (args["receivables"], args["credit_sales"]) == (350_000, 500_000)


@pytest.mark.parametrize("aside", ["这个月生意不好", "我们每个月都有新客户"])
def test_a_remark_about_this_month_does_not_rerun_the_dso(bot: Assistant, aside: str) -> None:
    reply = talk(bot, "应收账款35万，赊销50万，DSO多少", aside)
    assert not [c for c in reply.tool_calls if c.name == "dso"]


# --- DSO without the word "DSO" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "receivables", "sales"),
    [
        ("Receivables are 350,000 and credit sales 500,000 over 31 days", 350_000, 500_000),
        ("How many days does it take us to collect? AR is 2m, annual sales 12m", 2e6, 12e6),
        ("我们应收账款300万，年销售额2400万，回款周期算下来多少天", 3e6, 24e6),
        ("应收账款300万，年赊销2400万，收款周期多少天", 3e6, 24e6),
        ("Accounts receivable 1.5m, credit sales last quarter 4.5m", 1.5e6, 4.5e6),
    ],
)
def test_receivables_beside_credit_sales_is_a_dso_calculation(
    bot: Assistant, message: str, receivables: float, sales: float
) -> None:
    reply = talk(bot, message)
    assert reply.intent == "calculator"
    args = _dso(reply)
    assert (args["receivables"], args["credit_sales"]) == (receivables, sales)


@pytest.mark.parametrize(
    "message",
    [
        "年赊销5000万，保费多少",
        "our credit sales are 50m a year, what would cover cost",
        "应收800万，年赊销5000万，做电子的，保费大概多少",
        "应收800万，年赊销5000万，做电子的，账期60天",
    ],
)
def test_credit_sales_in_a_premium_request_stay_a_quote(bot: Assistant, message: str) -> None:
    reply = talk(bot, message)
    assert reply.intent == "quote"
    assert not [c for c in reply.tool_calls if c.name == "dso"]


@pytest.mark.parametrize(
    "message",
    ["怎么缩短回款周期", "回款周期是什么意思", "How can we shorten our collection period?"],
)
def test_asking_about_the_collection_period_is_a_knowledge_question(
    bot: Assistant, message: str
) -> None:
    assert talk(bot, message).intent == "knowledge"


# --- rule questions while a claim form is open ---------------------------------------------


@pytest.mark.parametrize(
    ("opening", "question", "asked"),
    [
        ("买家破产了要准备什么材料？", "逾期申报期限是多久？", "claim.ask_aware"),
        ("买家破产了要准备什么材料？", "索赔期限是多少天？", "claim.ask_aware"),
        ("客户拖欠货款，要索赔", "什么是最长延长期？", "claim.ask_due"),
        ("客户拖欠货款，要索赔", "逾期申报期限是多久？", "claim.ask_due"),
        (
            "Our buyer went bankrupt, what documents do I need?",
            "How long is the waiting period?",
            "claim.ask_aware",
        ),
        (
            "The buyer hasn't paid, I want to make a claim",
            "How long do I have to report an overdue invoice?",
            "claim.ask_due",
        ),
    ],
)
def test_a_rule_question_mid_claim_is_answered_and_the_form_resumes(
    bot: Assistant, opening: str, question: str, asked: str
) -> None:
    first = talk(bot, opening)
    reply = bot.chat(question, session_id=first.session_id)
    assert reply.intent == "knowledge"
    assert reply.citations
    assert not [c for c in reply.tool_calls if c.name == "claim_checklist"]
    assert reply.answer.rstrip().endswith(t(reply.lang, asked))


def test_the_overdue_notification_question_cites_its_clause(bot: Assistant) -> None:
    first = talk(bot, "买家破产了要准备什么材料？")
    reply = bot.chat("逾期申报期限是多久？", session_id=first.session_id)
    clause = bot.toolbox.policy.clauses.overdue_notification
    assert any(clause_number(c.clause) == clause for c in reply.citations)
    assert "60" in reply.answer
    # The form is still open: the date answers the question it asked before.
    after = bot.chat("上个月底知道的", session_id=first.session_id)
    args = tool(after, "claim_checklist")
    assert (args["cause"], args["aware_on"]) == ("insolvency", "2026-10-31")


@pytest.mark.parametrize(
    ("opening", "value", "field", "expected"),
    [
        ("客户拖欠货款，要索赔", "什么是最长延长期？||9月1日到期的", "due_date", "2026-09-01"),
        (
            "买家破产了要准备什么材料？",
            "索赔期限是多少天？||上个月底知道的",
            "aware_on",
            "2026-10-31",
        ),
        (
            "The buyer hasn't paid, I want to make a claim",
            "How long is the waiting period?||It was due on 1 September",
            "due_date",
            "2026-09-01",
        ),
    ],
)
def test_form_values_after_a_side_question_still_fill_the_claim(
    bot: Assistant, opening: str, value: str, field: str, expected: str
) -> None:
    reply = talk(bot, opening, *value.split("||"))
    assert tool(reply, "claim_checklist")[field] == expected


@pytest.mark.parametrize(
    ("opening", "ask"),
    [
        ("客户拖欠货款，要索赔", "还缺什么"),
        ("客户拖欠货款，要索赔", "要准备什么材料"),
        ("The buyer hasn't paid, I want to make a claim", "what's still missing?"),
    ],
)
def test_asking_for_the_checklist_mid_claim_shows_it_with_what_is_held(
    bot: Assistant, opening: str, ask: str
) -> None:
    held = (
        "发票和合同都有" if opening.startswith("客户") else "I have the invoices and the contract"
    )
    reply = talk(bot, opening, held, ask)
    assert tool(reply, "claim_checklist")["documents_held"] == ["invoices", "sales_contract"]
    assert "✅" in reply.answer and "⬜" in reply.answer  # the list itself, not a count


@pytest.mark.parametrize(
    ("message", "lang"),
    [
        ("客户破产了，发票9999年12月31日到期", "zh"),
        ("the invoice was due on 31 December 9999, buyer defaulted", "en"),
        ("分期还款：欠款30万分6期，第一期9999年1月1日，原应付款日2026年3月31日", "zh"),
    ],
)
def test_a_date_outside_a_sane_range_gets_a_clear_reply_not_an_error(
    bot: Assistant, message: str, lang: str
) -> None:
    """ "9999年12月31日" used to overflow Python's date range while the claim deadlines were
    computed, and the user saw the generic error reply."""
    reply = talk(bot, message)
    assert t(lang, "dialogue.date_out_of_range") in reply.answer
    assert t(lang, "dialogue.error") not in reply.answer
    assert reply.intent in ("claim", "calculator"), reply.intent


@pytest.mark.parametrize(
    "message",
    [
        "网贷逾期了，催收的天天打电话给我家里人，这合法吗",
        "我们客户都是打个电话就下单的，没签合同，现在对方不认账怎么办",
    ],
)
def test_a_phone_call_in_the_story_is_not_a_request_to_be_called(
    bot: Assistant, message: str
) -> None:
    """ "打电话" alone matched the hand-off cue: someone else's calls opened the lead form."""
    assert talk(bot, message).intent != "lead"


@pytest.mark.parametrize(
    "message",
    ["找个人给我打个电话吧", "你们顾问能不能打电话给我", "请回电"],
)
def test_asking_to_be_called_is_still_a_hand_off(bot: Assistant, message: str) -> None:
    assert talk(bot, message).intent == "lead"


def test_a_story_with_figures_that_asks_about_another_topic_is_answered(bot: Assistant) -> None:
    """Amounts and days alone (no word asking for a claim check) made a claim form; the
    question was where to complain."""
    reply = talk(bot, "有家大型国企欠我们小公司60多万货款大半年了，除了起诉，还能去哪里投诉？")
    assert reply.intent == "knowledge", (reply.intent, reply.answer)
    assert any(c.name == "search_knowledge" for c in reply.tool_calls)


def test_a_case_told_about_its_insurance_still_opens_the_claim_check(bot: Assistant) -> None:
    reply = talk(bot, "客户上周被法院受理破产了，欠我们货款八十多万，保险这边要怎么弄")
    assert tool(reply, "claim_checklist")["cause"] == "insolvency"


def test_the_chat_hand_off_shows_the_consent_notice_and_records_consent(bot: Assistant) -> None:
    """个人信息保护法: the request for a number carries the notice; a number given after it
    is stored with the consent time and notice version."""
    ask = bot.chat("转人工")
    notice_start = t("zh", "consent.notice").split("{")[0]
    assert ask.intent == "lead" and notice_start in ask.answer
    done = bot.chat("13812349876 王先生", session_id=ask.session_id)
    assert done.lead_id and notice_start not in done.answer  # shown once is enough
    lead = bot.store.get_lead(done.lead_id)
    assert lead is not None and lead["consent_at"]
    assert lead["consent_version"] == bot.settings.privacy_notice_version


def test_a_number_given_before_the_notice_is_kept_and_the_notice_follows(bot: Assistant) -> None:
    reply = bot.chat("找个人联系我 13812345670")
    assert reply.lead_id  # never dropped
    assert t("zh", "consent.notice").split("{")[0] in reply.answer
    lead = bot.store.get_lead(reply.lead_id)
    assert lead is not None and lead["consent_at"] is None and lead["consent_version"] == ""


def test_a_stated_count_is_not_a_question_and_the_quote_keeps_its_figures(bot: Assistant) -> None:
    """The message "有几个大客户给到了200天" states a fact: with sales, industry and terms
    given, the quote runs (the "几个" question cue once sent it to a bank answer)."""
    reply = talk(bot, "做钢材的，年赊销1.5亿，平均账期90天，有几个大客户给到了200天")
    args = tool(reply, "estimate_premium")
    assert args["annual_credit_sales"] == 150_000_000
    assert args["max_credit_days"] == 200


@pytest.mark.parametrize(
    ("turns", "lang"),
    [
        (["逾期多久要申报？"], "zh"),
        (["When must I report an overdue?"], "en"),
        (["联系专家", "13812345678"], "zh"),
        (["Talk to a specialist", "+86 138 1234 5678"], "en"),
        (["年销售5000万，保费大概多少？"], "zh"),
    ],
)
def test_chips_never_offer_what_was_just_done_nor_one_chip_twice(
    bot: Assistant, turns: list[str], lang: str
) -> None:
    sid = None
    for text in turns:
        reply = bot.chat(text, session_id=sid, lang=lang)
        sid = reply.session_id
        keys = [re.sub(r"[\W_]+", "", s).lower() for s in reply.suggestions]
        assert len(keys) == len(set(keys)), reply.suggestions
        assert re.sub(r"[\W_]+", "", text).lower() not in keys
        if reply.intent in ("lead", "quote"):
            routed = [bot.manager.router.classify(s.lower()).intent for s in reply.suggestions]
            assert reply.intent not in routed, reply.suggestions


def test_net_terms_followed_by_words_re_run_the_quote(bot: Assistant) -> None:
    reply = talk(
        bot,
        "how much does credit insurance cost? about RMB 45m of invoices a year, food distributors",
        "actually terms are net 45 for most of them",
    )
    args = tool(reply, "estimate_premium")
    assert (args["annual_credit_sales"], args["avg_credit_days"]) == (45_000_000, 45)


@pytest.mark.parametrize(
    ("first", "then", "expected"),
    [
        (
            "客户欠我们货款24万，原定10月31号付的，分4期还，第一次12月10号，以后每月10号",
            "那改成两期呢，12月10号一次，12月25号一次",
            (2, "2026-12-10", 15),
        ),
        (
            "A customer will clear 120k in 6 monthly instalments from Dec 15; due was Oct 20",
            "what if they pay it in two goes instead, Dec 5 and Dec 15?",
            (2, "2026-12-05", 10),
        ),
    ],
)
def test_a_plan_given_as_its_dates_re_runs_with_those_dates(
    bot: Assistant, first: str, then: str, expected: tuple[int, str, int]
) -> None:
    args = tool(talk(bot, first, then), "payment_plan")
    got = (args["instalments"], str(args["first_date"]), args["interval_days"])
    assert got == expected


def test_the_full_name_after_the_surname_is_the_name(bot: Assistant) -> None:
    reply = talk(bot, "想找个懂国内贸易险的顾问详细聊聊", "我姓周，周海峰，手机139 1234 5678")
    assert tool(reply, "capture_lead")["name"] == "周海峰"


def test_a_calculator_named_by_no_cue_word_is_the_one_the_model_reads(bot: Assistant) -> None:
    reply = talk(
        bot,
        "If I can't collect a 50,000 invoice and we run a 20% margin, "
        "how much in sales do we need to offset it?",
    )
    assert tool(reply, "recovery_sales") == {"bad_debt": 50_000, "margin_pct": 20}


@pytest.mark.parametrize(
    "message",
    [
        "发货3个月了钱还没到账，客户也没说货有什么问题，就是一直拖着说资金周转困难，"
        "我们买了信用险，这个能报吗",
        "Our customer is 90 days late on a 200k invoice and our credit insurance covers them. "
        "Can we claim?",
    ],
)
def test_an_insured_account_gone_bad_asked_about_is_a_claim_to_check(
    bot: Assistant, message: str
) -> None:
    reply = talk(bot, message)
    assert tool(reply, "claim_checklist")["cause"] == "protracted_default"


def test_a_promised_date_is_not_the_due_date_and_project_money_is_money(
    bot: Assistant,
) -> None:
    reply = talk(
        bot,
        "有个客户欠我们30万项目款，要了快两年了，每次都说再等等下周一定，这种情况还能找保险公司理赔吗",
    )
    args = tool(reply, "claim_checklist")
    assert args["amount"] == 300_000
    assert "due_date" not in args  # "下周一定" is the buyer's promise
    later = talk(bot, "客户欠我们30万项目款，每次都说下周一定 我要索赔", "合同约定2024年12月底付清")
    assert tool(later, "claim_checklist")["due_date"] == "2024-12-31"


def test_the_small_claims_tribunal_is_a_court_not_an_insurance_claim(bot: Assistant) -> None:
    reply = talk(
        bot,
        "HK company here. customer owes us HK$68,000 for goods delivered and just ignores our "
        "invoices. can i take them to the Small Claims Tribunal myself?",
    )
    assert not [c for c in reply.tool_calls if c.name == "claim_checklist"], reply.answer


def test_a_plan_by_months_and_day_of_month_answers_first_then_checks_the_due_date(
    bot: Assistant,
) -> None:
    first = talk(bot, "帮我排个还款计划，客户欠12万，分6个月，每月10号还")
    args = tool(first, "payment_plan")
    assert (args["instalments"], args["first_date"], args["interval_days"]) == (
        6,
        "2026-12-10",  # the next 10th after 28 November
        30,
    )
    assert "original_due_date" not in args  # answered first, not asked for
    result = next(c for c in first.tool_calls if c.name == "payment_plan").result
    assert result["needs_consent"] is None and result["mep_end"] is None
    assert "原应付款日" in first.answer
    checked = talk(bot, "帮我排个还款计划，客户欠12万，分6个月，每月10号还", "原来是10月20号到期的")
    again = next(c for c in checked.tool_calls if c.name == "payment_plan").result
    assert again["mep_end"] == "2026-12-19"
    assert [i["needs_consent"] for i in again["schedule"]][:2] == [False, True]


def test_a_bare_first_instalment_day_already_past_means_next_month(bot: Assistant) -> None:
    reply = talk(bot, "客户欠6万，分3期还，10号还第一期，原定10月20号到期")
    assert tool(reply, "payment_plan")["first_date"] == "2026-12-10"


def test_figures_with_a_how_it_works_question_get_the_result_and_the_answer(
    bot: Assistant,
) -> None:
    reply = talk(
        bot,
        "老板天天说要把DSO降下来，DSO到底怎么算？我们月销售500万左右，应收账款挂着1500万，这算高吗",
    )
    assert tool(reply, "dso")["receivables"] == 15_000_000
    search = tool(reply, "search_knowledge")
    assert search["query"]
    entry = next(c for c in reply.tool_calls if c.name == "search_knowledge").result
    assert entry["kind"] == "faq" and entry["entry_ids"][0].startswith("zh-dso")
    # The bank answer's markers follow the tool's: every [n] in the text has its citation.
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", reply.answer)}
    assert markers and markers <= {c.n for c in reply.citations}
    assert len({c.n for c in reply.citations}) == len(reply.citations)


def test_a_plain_request_for_the_figure_gets_the_form_alone(bot: Assistant) -> None:
    reply = talk(bot, "年销售5000万，做电子产品，保费大概多少？")
    assert tool(reply, "estimate_premium")["annual_credit_sales"] == 50_000_000
    assert not [c for c in reply.tool_calls if c.name == "search_knowledge"]


def test_chips_never_offer_a_value_the_quote_already_holds(bot: Assistant) -> None:
    first = talk(bot, "年销售5000万，保费多少")
    offered = [c for c in first.suggestions if "40%" in c]
    assert offered, first.suggestions  # the refinement chip is offered at first…
    sid = first.session_id
    second = bot.chat("最大客户占40%", session_id=sid)
    assert tool(second, "estimate_premium")["largest_buyer_share_pct"] == 40
    assert not [c for c in second.suggestions if "40%" in c], second.suggestions  # …not after


def test_sales_with_another_question_get_the_quote_first_then_the_answer(
    bot: Assistant,
) -> None:
    reply = talk(
        bot,
        "Is credit insurance even worth it for us? Five clients trading around 50k each and one "
        "bigger one at about 150k. Credit sales are roughly RMB 6 million a year",
    )
    assert tool(reply, "estimate_premium")["annual_credit_sales"] == 6_000_000
    entry = next(c for c in reply.tool_calls if c.name == "search_knowledge").result
    assert entry["kind"] == "faq" and entry["entry_ids"]
    assert reply.answer.index("CNY") < reply.answer.index("**On “")


def test_a_short_price_question_beside_the_figures_adds_no_entry(bot: Assistant) -> None:
    reply = talk(
        bot,
        "we sell food products, 40m RMB credit turnover, 30 day terms, zero bad debts the last "
        "3 years. we'd want 95% cover. ballpark premium?",
    )
    assert tool(reply, "estimate_premium")["annual_credit_sales"] == 40_000_000
    assert not [c for c in reply.tool_calls if c.name == "search_knowledge"]
