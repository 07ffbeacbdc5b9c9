"""Follow-ups in any phrasing: after a result, a message that carries a value of that
tool updates it and re-runs it, as a statement ("客户二十来家"), a correction ("其实账期是
90天"), a what-if ("如果账期是90天呢？", "what if we wanted 80% indemnity?") or a statement
that reads like a question ("前两年都没什么坏账"). Each row: the message that produced the
result, the follow-up, the tool that must run again, and the arguments it must now have.
"Today" is 28 November 2026 (dates in the claim rows are read against it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.advisor import Assistant
from assistant.config import Settings
from tests.test_dialogue import build

QZ = "年赊销5000万，做电子产品的，账期60天，保费多少"
QZ0 = "我们年销售额五千万，保费大概多少？"
QE = "Premium estimate: RMB 50m credit sales a year, electronics, 60-day terms"
QE0 = "How much would credit insurance cost on 12 million RMB of annual credit sales?"
CZ = "买家拖欠货款，我要索赔，发票9月1日到期"
CE = "The buyer hasn't paid, I want to claim. The invoice was due on 1 September."
DZ = "应收账款1500万，月赊销500万，DSO是多少"
DE = "Receivables are 1.5m and credit sales 500k a month. What is our DSO?"
LZ = "帮我算下现金比率：货币资金300万，流动负债1000万"
LE = "Cash ratio please: cash 3m, current liabilities 10m"
ROWS = [
    # quote, zh
    (QZ, "客户二十来家", "estimate_premium", {"buyer_count": 20}),
    (QZ, "30家客户", "estimate_premium", {"buyer_count": 30}),
    (
        QZ,
        "客户有30家左右，最大的占两成",
        "estimate_premium",
        {"buyer_count": 30, "largest_buyer_share_pct": 20},
    ),
    (QZ, "最大的客户占一半", "estimate_premium", {"largest_buyer_share_pct": 50}),
    (QZ, "第一大客户占40%", "estimate_premium", {"largest_buyer_share_pct": 40}),
    (QZ, "前两年没坏账", "estimate_premium", {"bad_debt_losses_3y": 0}),
    (QZ, "前两年都没什么坏账", "estimate_premium", {"bad_debt_losses_3y": 0}),
    (QZ, "過去三年冇壞賬", "estimate_premium", {"bad_debt_losses_3y": 0}),
    (QZ, "客户都几好，差唔多冇坏账", "estimate_premium", {"bad_debt_losses_3y": 0}),
    (QZ, "近三年坏账一共60万", "estimate_premium", {"bad_debt_losses_3y": 600000}),
    (QZ, "去年坏了50万", "estimate_premium", {"bad_debt_losses_3y": 500000}),
    (QZ, "赔付比例想要九成", "estimate_premium", {"indemnity_pct": 90}),
    (QZ, "赔偿比例80%", "estimate_premium", {"indemnity_pct": 80}),
    (QZ, "改做化工的", "estimate_premium", {"industry": "chemicals"}),
    (QZ, "那如果是做化工的呢", "estimate_premium", {"industry": "chemicals"}),
    (QZ, "其实我们是做钢材贸易的", "estimate_premium", {"industry": "steel_metals"}),
    (QZ, "其实账期是90天", "estimate_premium", {"avg_credit_days": 90}),
    (QZ, "如果账期是90天呢？", "estimate_premium", {"avg_credit_days": 90}),
    (QZ, "账期改成月结30天", "estimate_premium", {"avg_credit_days": 30}),
    (QZ, "不对，是3000万", "estimate_premium", {"annual_credit_sales": 30_000_000}),
    (QZ, "销售额说错了，是8000万", "estimate_premium", {"annual_credit_sales": 80_000_000}),
    (QZ, "有几个客户给到150天", "estimate_premium", {"max_credit_days": 150}),
    (
        QZ0,
        "做电子元器件的",
        "estimate_premium",
        {"industry": "electronics", "annual_credit_sales": 50_000_000},
    ),
    (
        QZ0,
        "做家电的，账期一般两个月",
        "estimate_premium",
        {"industry": "electronics", "avg_credit_days": 60},
    ),
    (QZ0, "45天", "estimate_premium", {"avg_credit_days": 45}),
    (QZ0, "一个半月", "estimate_premium", {"avg_credit_days": 45}),
    (QZ0, "食品", "estimate_premium", {"industry": "food_agri"}),
    (QZ0, "客户主要是建材经销商", "estimate_premium", {"industry": "construction"}),
    (QZ, "客户大概50家", "estimate_premium", {"buyer_count": 50}),
    (QZ, "最大客户占三成", "estimate_premium", {"largest_buyer_share_pct": 30}),
    (QZ, "赔付比例改成85%", "estimate_premium", {"indemnity_pct": 85}),
    (QZ, "账期改成120天", "estimate_premium", {"avg_credit_days": 120}),
    (QZ, "我们其实做纺织服装", "estimate_premium", {"industry": "textiles_apparel"}),
    (QZ, "年赊销其实是1.2亿", "estimate_premium", {"annual_credit_sales": 120_000_000}),
    (QZ, "要是赊销做到一个亿呢", "estimate_premium", {"annual_credit_sales": 100_000_000}),
    # quote, en
    (QE, "actually terms are net 45", "estimate_premium", {"avg_credit_days": 45}),
    (QE, "how about net 90?", "estimate_premium", {"avg_credit_days": 90}),
    (QE, "we have about 25 customers", "estimate_premium", {"buyer_count": 25}),
    (
        QE,
        "so that's 6 customers in total, the big one is about 25% of sales",
        "estimate_premium",
        {"largest_buyer_share_pct": 25},
    ),
    (QE, "largest buyer is half of sales", "estimate_premium", {"largest_buyer_share_pct": 50}),
    (QE, "our biggest customer is 35%", "estimate_premium", {"largest_buyer_share_pct": 35}),
    (QE, "no bad debts in the last three years", "estimate_premium", {"bad_debt_losses_3y": 0}),
    (
        QE,
        "we wrote off RMB 200k of bad debts over three years",
        "estimate_premium",
        {"bad_debt_losses_3y": 200000},
    ),
    (QE, "what if we wanted 80% indemnity?", "estimate_premium", {"indemnity_pct": 80}),
    (QE, "we're actually in chemicals", "estimate_premium", {"industry": "chemicals"}),
    (
        QE,
        "sorry, it's actually 30 million",
        "estimate_premium",
        {"annual_credit_sales": 30_000_000},
    ),
    (QE, "what if sales were RMB 80m?", "estimate_premium", {"annual_credit_sales": 80_000_000}),
    (
        QE0,
        "textiles, mostly net 45",
        "estimate_premium",
        {"industry": "textiles_apparel", "avg_credit_days": 45},
    ),
    (QE0, "we sell steel", "estimate_premium", {"industry": "steel_metals"}),
    (QE0, "60 days", "estimate_premium", {"avg_credit_days": 60}),
    (QE, "about 40 buyers", "estimate_premium", {"buyer_count": 40}),
    (QE, "make it 90 days", "estimate_premium", {"avg_credit_days": 90}),
    (QE, "our top customer accounts for 30%", "estimate_premium", {"largest_buyer_share_pct": 30}),
    (QE, "indemnity 85% please", "estimate_premium", {"indemnity_pct": 85}),
    (QE, "we're in textiles really", "estimate_premium", {"industry": "textiles_apparel"}),
    # claim, zh
    (CZ, "其实是8月15日到期的", "claim_checklist", {"due_date": "2026-08-15"}),
    (CZ, "如果是10月1日到期呢？", "claim_checklist", {"due_date": "2026-10-01"}),
    (CZ, "逾期申报已经报过了", "claim_checklist", {"overdue_reported": True}),
    (CZ, "还没报逾期", "claim_checklist", {"overdue_reported": False}),
    (CZ, "发票上写的到期日是8月31号，18万", "claim_checklist", {"amount": 180000}),
    (
        CE,
        "update: we got a court judgment in our favour, effective 2 November",
        "claim_checklist",
        {"judgment_on": "2026-11-02"},
    ),
    (CZ, "欠款大概80万", "claim_checklist", {"amount": 800000}),
    (CZ, "合同和发票都有", "claim_checklist", {"documents_held": ["invoices", "sales_contract"]}),
    (CZ, "不对，买家已经破产了", "claim_checklist", {"cause": "insolvency"}),
    (CZ, "金额是50万", "claim_checklist", {"amount": 500000}),
    (CZ, "逾期申报10月20日报的", "claim_checklist", {"reported_on": "2026-10-20"}),
    (CZ, "对账单也有", "claim_checklist", {"documents_held": ["statement_of_account"]}),
    # claim, en
    (CE, "actually it was due 15 August", "claim_checklist", {"due_date": "2026-08-15"}),
    (CE, "we already sent the overdue notification", "claim_checklist", {"overdue_reported": True}),
    (CE, "the amount is RMB 800k", "claim_checklist", {"amount": 800000}),
    (
        CE,
        "we have the contract and invoices",
        "claim_checklist",
        {"documents_held": ["invoices", "sales_contract"]},
    ),
    (CE, "we haven't notified the insurer yet", "claim_checklist", {"overdue_reported": False}),
    (CE, "what if it was due on 1 October?", "claim_checklist", {"due_date": "2026-10-01"}),
    # DSO
    (DZ, "如果应收降到1000万呢？", "dso", {"receivables": 10_000_000}),
    (DZ, "应收其实是1200万", "dso", {"receivables": 12_000_000}),
    (DZ, "按一个季度算", "dso", {"period_days": 90}),
    (DZ, "赊销额改成600万", "dso", {"credit_sales": 6_000_000}),
    (DE, "what if receivables were 1m?", "dso", {"receivables": 1_000_000}),
    (DE, "credit sales are actually 600k", "dso", {"credit_sales": 600_000}),
    (DE, "make it quarterly", "dso", {"period_days": 90}),
    (DZ, "应收降到800万会怎样", "dso", {"receivables": 8_000_000}),
    (DZ, "赊销额是一个季度的", "dso", {"period_days": 90}),
    # liquidity
    (LZ, "流动资产有1500万", "liquidity", {"current_assets": 15_000_000}),
    (LZ, "货币资金其实是500万", "liquidity", {"cash": 5_000_000}),
    (LZ, "如果流动负债降到800万呢？", "liquidity", {"current_liabilities": 8_000_000}),
    (LE, "current assets are 15m", "liquidity", {"current_assets": 15_000_000}),
    (LE, "what if cash were 5m?", "liquidity", {"cash": 5_000_000}),
    (LE, "current liabilities are actually 8m", "liquidity", {"current_liabilities": 8_000_000}),
    (LZ, "流动资产1200万", "liquidity", {"current_assets": 12_000_000}),
]


@pytest.fixture(scope="module")
def advisor(
    full_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Assistant]:
    a = build(full_settings, tmp_path_factory.mktemp("followups") / "a.db")
    yield a
    a.store.close()


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, list):
        return set(want) <= set(got or [])
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(got, (int, float)) and abs(got - want) < 1e-6
    return bool(got == want)


def test_the_table_covers_each_tool_in_both_languages() -> None:
    assert len(ROWS) >= 80
    tools = {tool for _, _, tool, _ in ROWS}
    assert tools == {"estimate_premium", "claim_checklist", "dso", "liquidity"}
    english = [r for r in ROWS if r[1].isascii()]
    assert len(english) >= 25 and len(ROWS) - len(english) >= 40


@pytest.mark.parametrize(("start", "follow_up", "tool", "want"), ROWS, ids=[r[1] for r in ROWS])
def test_a_follow_up_reruns_the_tool_with_its_value(
    advisor: Assistant, start: str, follow_up: str, tool: str, want: dict[str, Any]
) -> None:
    sid = f"fu-{uuid.uuid4().hex[:12]}"
    first = advisor.chat(start, session_id=sid)
    assert any(c.name == tool for c in first.tool_calls), (start, first.answer[:200])
    reply = advisor.chat(follow_up, session_id=sid)
    call = next((c for c in reply.tool_calls if c.name == tool), None)
    assert call is not None, (reply.intent, reply.answer[:300])
    bad = {k: call.args.get(k) for k, v in want.items() if not _same(call.args.get(k), v)}
    assert not bad, (bad, want)
    # The values of the first result are kept: only what the follow-up named changed.
    before = next(c for c in first.tool_calls if c.name == tool).args
    kept = {k for k in before if k not in want and k not in ("today", "documents_held")}
    assert all(k in call.args for k in kept), (before, call.args)
