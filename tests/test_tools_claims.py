"""claim_checklist and match_documents against the sample wording's own worked examples.

Dates are checked against the examples written into the policy (clause 25, 27, 32, 33) and
the guides (cash-ratio: due 31 January 2026), plus a leap year, so a changed day count in
policy.yaml or an off-by-one in the arithmetic fails here.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from assistant.knowledge.params import ParamsError, load_policy_params
from assistant.models import Lang
from assistant.tools._text import zh_numeral
from assistant.tools.claims import (
    ClaimChecklist,
    ClaimInput,
    claim_checklist,
    match_documents,
)

POLICY = load_policy_params(Path("knowledge/policy.yaml"))
WORDING = {
    lang: Path(f"knowledge/policy/domestic-tci.{lang}.md").read_text(encoding="utf-8")
    for lang in ("zh", "en")
}


def check(lang: Lang = "zh", **fields: Any) -> ClaimChecklist:
    return claim_checklist(ClaimInput(**fields), POLICY, lang=lang)


def dates(result: ClaimChecklist) -> dict[str, date]:
    return {k.key: k.date for k in result.key_dates}


def joined(items: list[str]) -> str:
    return "\n".join(items)


# --- dates -------------------------------------------------------------------------------


def test_clause_27_worked_example_exactly() -> None:
    # Clause 27: due 31 March 2026 -> notify by 30 May, claim by 28 August,
    # waiting period ends (date of loss) 27 September 2026.
    result = check(cause="protracted_default", due_date=date(2026, 3, 31), today=date(2026, 4, 10))
    assert dates(result) == {
        "notification_deadline": date(2026, 5, 30),
        "claim_deadline": date(2026, 8, 28),
        "date_of_loss": date(2026, 9, 27),
        "payment_due_by": date(2026, 10, 27),
    }
    by_key = {k.key: k for k in result.key_dates}
    assert by_key["notification_deadline"].days_left == 50
    assert by_key["notification_deadline"].passed is False
    assert {k.key: k.clause for k in result.key_dates} == {
        "notification_deadline": 25,
        "claim_deadline": 28,
        "date_of_loss": 27,
        "payment_due_by": 32,
    }
    assert result.warnings == []


def test_clause_32_example_payment_after_the_later_of_loss_and_documents() -> None:
    # Clause 32: date of loss 27 September 2026, complete documents 15 October -> pay by
    # 14 November. Asked on the day the documents are complete, the tool gives that date.
    result = check(cause="protracted_default", due_date=date(2026, 3, 31), today=date(2026, 10, 15))
    assert dates(result)["payment_due_by"] == date(2026, 11, 14)


def test_month_end_due_date_matches_the_cash_ratio_guide() -> None:
    # guide-cash-ratio: due 31 January 2026 -> notify by 1 April, claim by 30 June, date of
    # loss 30 July, paid at the latest about 29 August 2026.
    result = check(cause="protracted_default", due_date=date(2026, 1, 31), today=date(2026, 2, 1))
    assert dates(result) == {
        "notification_deadline": date(2026, 4, 1),
        "claim_deadline": date(2026, 6, 30),
        "date_of_loss": date(2026, 7, 30),
        "payment_due_by": date(2026, 8, 29),
    }


def test_leap_year() -> None:
    # 31 December 2027 + 60 days = 29 February 2028 (a leap day); +150 = 29 May; +180 = 28 June.
    result = check(cause="protracted_default", due_date=date(2027, 12, 31), today=date(2028, 1, 5))
    assert dates(result) == {
        "notification_deadline": date(2028, 2, 29),
        "claim_deadline": date(2028, 5, 29),
        "date_of_loss": date(2028, 6, 28),
        "payment_due_by": date(2028, 7, 28),
    }


def test_insolvency_dates_from_awareness() -> None:
    result = check(
        cause="insolvency",
        aware_on=date(2026, 1, 31),
        today=date(2026, 2, 10),
    )
    # 31 January + 30 days = 2 March 2026 (February has 28 days).
    assert dates(result) == {
        "insolvency_claim_deadline": date(2026, 3, 2),
        "date_of_loss": date(2026, 1, 31),
        "payment_due_by": date(2026, 3, 12),  # today (later than the event) + 30
    }
    by_key = {k.key: k for k in result.key_dates}
    assert by_key["insolvency_claim_deadline"].days_left == 20
    assert by_key["date_of_loss"].clause == 7
    assert "近似" in by_key["date_of_loss"].label
    assert any("知悉日近似" in n for n in result.notes)


def test_insolvency_with_due_date_also_shows_the_notification_deadline() -> None:
    result = check(
        cause="insolvency",
        due_date=date(2026, 3, 31),
        aware_on=date(2026, 6, 1),
        today=date(2026, 6, 2),
    )
    assert dates(result)["notification_deadline"] == date(2026, 5, 30)
    assert dates(result)["insolvency_claim_deadline"] == date(2026, 7, 1)


def test_insolvency_before_the_due_date_needs_no_overdue_notification() -> None:
    result = check(
        cause="insolvency",
        due_date=date(2026, 3, 31),
        aware_on=date(2026, 3, 10),
        today=date(2026, 6, 20),  # notification deadline long passed
        overdue_reported=False,
    )
    assert not any("逾期申报期限" in w for w in result.warnings), result.warnings
    assert any("无需逾期申报" in n and "第六条" in n for n in result.notes)


def test_dispute_deadline_matches_clause_33_example() -> None:
    # Clause 33: judgment effective 10 December 2026 -> claim by 9 January 2027.
    result = check(cause="dispute", judgment_on=date(2026, 12, 10), today=date(2026, 12, 20))
    assert dates(result) == {"dispute_claim_deadline": date(2027, 1, 9)}
    assert result.key_dates[0].clause == 33
    assert result.key_dates[0].days_left == 20


# --- warnings ------------------------------------------------------------------------------


def test_passed_claim_deadline_warns_with_the_days_and_says_file_now() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 9, 1),
        overdue_reported=True,
        reported_on=date(2026, 5, 1),
    )
    assert result.warnings[0].startswith("索赔期限（2026年8月28日）已过 4 天")
    assert "拒绝赔偿" in result.warnings[0] and "第二十八条" in result.warnings[0]
    assert any(s.startswith("索赔期限已过") for s in result.next_steps)
    assert {k.key: k.passed for k in result.key_dates}["claim_deadline"] is True


def test_claim_deadline_near_warns() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 8, 20),
        overdue_reported=True,
    )
    assert any("仅剩 8 天" in w and "2026年8月28日" in w for w in result.warnings)


def test_notification_deadline_passed_and_not_reported() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 6, 10),
        overdue_reported=False,
    )
    first = result.warnings[0]
    assert first.startswith("逾期申报期限（2026年5月30日）已过 11 天，且尚未申报")
    assert "可以拒绝赔偿" in first and "第二十五条" in first
    assert result.next_steps[0].startswith("立即向保险人提交书面逾期申报")


def test_notification_deadline_passed_and_reporting_unknown_asks_to_check() -> None:
    result = check(cause="protracted_default", due_date=date(2026, 3, 31), today=date(2026, 6, 10))
    assert "如已申报" in result.warnings[0]
    en = check(
        "en", cause="protracted_default", due_date=date(2026, 3, 31), today=date(2026, 6, 10)
    )
    assert en.warnings[0].startswith(
        "The overdue notification deadline (30 May 2026) passed 11 days ago"
    )


@pytest.mark.parametrize(
    ("today", "left"),
    [(date(2026, 5, 16), 14), (date(2026, 5, 30), 0)],
)
def test_notification_deadline_near_warns(today: date, left: int) -> None:
    result = check(
        cause="protracted_default", due_date=date(2026, 3, 31), today=today, overdue_reported=False
    )
    assert any(f"仅剩 {left} 天" in w and "逾期申报" in w for w in result.warnings)


def test_notification_deadline_15_days_away_does_not_warn() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 5, 15),
        overdue_reported=False,
    )
    assert result.warnings == []


def test_notification_received_after_the_deadline() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 6, 5),
        reported_on=date(2026, 6, 2),
    )
    assert result.warnings[0].startswith(
        "逾期申报于 2026年6月2日 送达，比截止日 2026年5月30日 晚 3 天"
    )
    assert not any("尚未申报" in w for w in result.warnings)
    assert not any(s.startswith("立即向保险人提交书面逾期申报") for s in result.next_steps)


def test_notification_on_time_stops_cover_for_new_credit_deliveries() -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 5, 1),
        reported_on=date(2026, 4, 28),
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("已提交逾期申报") and "第二十六条" in result.warnings[0]


def test_due_date_in_the_future() -> None:
    result = check(cause="protracted_default", due_date=date(2026, 3, 31), today=date(2026, 3, 1))
    assert result.warnings == [
        "原应付款日 2026年3月31日 还没到，款项尚未逾期；以下日期为按该日推算的预计日期。"
    ]
    assert {k.key: k.days_left for k in result.key_dates}["notification_deadline"] == 90


@pytest.mark.parametrize(
    ("today", "warned"), [(date(2026, 5, 30), False), (date(2026, 5, 31), True)]
)
def test_mep_passed_warns_about_further_credit_sales(today: date, warned: bool) -> None:
    result = check(
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=today,
        overdue_reported=True,
    )
    mep = [w for w in result.warnings if "最长延展期" in w]
    assert bool(mep) is warned
    if warned:
        assert "2026年5月30日" in mep[0] and "第二十六条" in mep[0]


def test_dispute_always_warns_about_the_precedent_condition() -> None:
    result = check(cause="dispute", today=date(2026, 6, 1))
    assert any("生效判决或仲裁裁决" in w and "第三十三条" in w for w in result.warnings)
    assert any("30 日内" in s for s in result.next_steps)
    en = check("en", cause="dispute", today=date(2026, 6, 1))
    assert any("Article 33" in w and "enforcement" in w for w in en.warnings)


def test_dispute_claim_deadline_passed() -> None:
    result = check(cause="dispute", judgment_on=date(2026, 12, 10), today=date(2027, 1, 19))
    assert any(w.startswith("索赔期限（2027年1月9日）已过 10 天") for w in result.warnings)


def test_missing_dates_are_asked_for() -> None:
    default = check(cause="protracted_default", today=date(2026, 6, 1))
    assert default.key_dates == []
    assert any("原应付款日" in w for w in default.warnings)
    insolvency = check(cause="insolvency", today=date(2026, 6, 1))
    assert insolvency.key_dates == []
    assert any("知悉" in w and "30 日" in w for w in insolvency.warnings)


# --- documents ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "cause", "expected"),
    [
        (
            ["合同、发票和送货单"],
            "protracted_default",
            {"sales_contract", "invoices", "proof_of_delivery"},
        ),
        (
            ["订单", "签收单", "对账单"],
            "protracted_default",
            {"sales_contract", "proof_of_delivery", "statement_of_account"},
        ),
        (["催款记录", "律师函"], "protracted_default", {"collection_records", "demand_letters"}),
        (["担保合同"], "protracted_default", {"security_documents"}),  # not also a sales contract
        (["已确认的对账单"], "protracted_default", {"buyer_acknowledgement"}),
        (["有合同，没有发票"], "protracted_default", {"sales_contract"}),
        (["合同有但发票还没拿到"], "protracted_default", {"sales_contract"}),
        (["没有对账单"], "protracted_default", set()),
        (["破产裁定", "债权申报回执"], "insolvency", {"insolvency_ruling", "proof_of_debt"}),
        (["破产裁定"], "protracted_default", set()),  # not a document of this cause
        (
            ["judgment", "enforcement application"],
            "dispute",
            {"judgment_or_award", "enforcement_application"},
        ),
        (
            ["invoices, delivery notes and the lawyer's letter"],
            "protracted_default",
            {"invoices", "proof_of_delivery", "demand_letters"},
        ),
        (["we don't have the purchase order"], "protracted_default", set()),
        (["Quality report"], "dispute", {"dispute_correspondence"}),
        (["report"], "protracted_default", set()),  # "po" must not match inside words
        (
            ["claim_form", "overdue_notification"],
            "protracted_default",
            {"claim_form", "overdue_notification"},
        ),
    ],
)
def test_match_documents(held: list[str], cause: Any, expected: set[str]) -> None:
    assert match_documents(held, POLICY, cause) == expected


def test_documents_by_cause_and_missing_names() -> None:
    result = check(
        cause="protracted_default",
        today=date(2026, 4, 1),
        documents_held=["合同、发票、送货单"],
    )
    ids = [d.id for d in result.documents]
    assert ids == [
        *(d.id for d in POLICY.documents.common),
        *(d.id for d in POLICY.documents.protracted_default),
    ]
    held = {d.id for d in result.documents if d.held}
    assert held == {"sales_contract", "invoices", "proof_of_delivery"}
    assert "索赔申请书" in result.missing and "发票" not in result.missing
    assert len(result.missing) == len(ids) - 3
    assert any(s.startswith("准备缺少的单证：索赔申请书") for s in result.next_steps)


def test_dispute_needs_common_default_and_dispute_documents() -> None:
    result = check(cause="dispute", today=date(2026, 4, 1), lang="en")
    ids = {d.id for d in result.documents}
    assert {
        "claim_form",
        "overdue_notification",
        "judgment_or_award",
        "enforcement_application",
    } <= ids
    assert "insolvency_ruling" not in ids
    clauses = {d.id: d.clause for d in result.documents}
    assert (clauses["claim_form"], clauses["demand_letters"], clauses["judgment_or_award"]) == (
        29,
        31,
        33,
    )
    assert result.cause_label == "Disputed receivables"


def test_insolvency_documents() -> None:
    result = check(cause="insolvency", today=date(2026, 4, 1), documents_held=["破产裁定"])
    ids = [d.id for d in result.documents]
    assert ids[-2:] == ["insolvency_ruling", "proof_of_debt"]
    assert "overdue_notification" not in ids
    assert result.cause_label == "买方破产或无力偿付"


# --- indemnity and citations ------------------------------------------------------------------


def test_estimated_indemnity_is_amount_times_approved_pct_with_a_caveat() -> None:
    result = check(cause="protracted_default", today=date(2026, 4, 1), amount=200_000)
    assert result.indemnity_pct == 90
    assert result.estimated_indemnity == 180_000  # clause 22's own example
    note = next(n for n in result.notes if n.startswith("估算赔款"))
    assert "180,000 元" in note and "上限" in note and "70%" in note
    assert check(cause="insolvency", today=date(2026, 4, 1)).estimated_indemnity is None


def test_estimated_indemnity_rounds_half_up_to_whole_yuan() -> None:
    result = check(cause="insolvency", today=date(2026, 4, 1), amount=12_345.5)
    assert result.estimated_indemnity == 11_111  # 11,110.95


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_citations_point_at_existing_clauses_of_the_wording_in_that_language(lang: Lang) -> None:
    result = check(
        lang,
        cause="protracted_default",
        due_date=date(2026, 3, 31),
        today=date(2026, 6, 10),
        amount=100_000,
    )
    numbers = [c.clause_no for c in result.citations]
    assert numbers == sorted(set(numbers))
    assert {25, 26, 27, 28, 29, 31, 32} <= set(numbers)
    for ref in result.citations:
        assert ref.doc_id == f"policy-domestic-tci-{lang}"
        assert f"\n### {ref.label} " in WORDING[lang], ref.label
    # Every clause a text mentions is in the citations.
    text = joined(result.warnings + result.notes + result.next_steps)
    pattern = r"第([一二三四五六七八九十百零]+)条" if lang == "zh" else r"Article (\d+)"
    mentioned = set(re.findall(pattern, text))
    labels = {zh_numeral(n) if lang == "zh" else str(n) for n in numbers}
    assert mentioned <= labels


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "一"),
        (9, "九"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (25, "二十五"),
        (33, "三十三"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
    ],
)
def test_zh_numeral(n: int, text: str) -> None:
    assert zh_numeral(n) == text


# --- policy.yaml ------------------------------------------------------------------------------

CLAUSE_TITLES = {
    "cover_conditions": "保险责任",
    "insolvency_event": "买方破产",
    "protracted_default": "买方拖欠",
    "disputed_receivables": "争议应收账款",
    "max_credit_period": "最长信用期限",
    "minimum_premium": "最低保险费",
    "credit_check_fee": "审核费",
    "indemnity_pct": "赔偿比例",
    "loss_amount": "损失金额",
    "overdue_notification": "逾期申报",
    "after_overdue": "还款计划",
    "waiting_period": "等待期",
    "claim_deadline": "索赔期限",
    "claim_documents": "索赔单证",
    "insolvency_documents": "破产索赔",
    "default_documents": "拖欠索赔",
    "claim_payment": "赔付时限",
    "dispute_precedent": "纠纷先决",
}


def test_clause_numbers_in_policy_yaml_point_at_the_right_headings() -> None:
    numbers = POLICY.clauses.model_dump()
    assert set(numbers) == set(CLAUSE_TITLES)
    for field, n in numbers.items():
        heading = re.search(rf"^### 第{zh_numeral(n)}条 (.*)$", WORDING["zh"], re.M)
        assert heading and CLAUSE_TITLES[field] in heading.group(1), (field, n)


def test_document_clauses_name_documents_clauses() -> None:
    docs = POLICY.documents
    assert {d.clause for d in docs.common} == {POLICY.clauses.claim_documents}
    assert {d.clause for d in docs.insolvency} == {POLICY.clauses.insolvency_documents}
    assert {d.clause for d in docs.protracted_default} == {POLICY.clauses.default_documents}
    assert all(
        d.aliases.zh and d.aliases.en
        for group in (docs.common, docs.insolvency, docs.protracted_default, docs.dispute)
        for d in group
    )


def _write_policy(tmp_path: Path, edit: Any) -> Path:
    data = copy.deepcopy(yaml.safe_load(Path("knowledge/policy.yaml").read_text(encoding="utf-8")))
    edit(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_duplicate_document_id_fails_loading(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["documents"]["dispute"][0]["id"] = "invoices"

    with pytest.raises(ParamsError, match=r"policy.yaml: .*documents.*'invoices' is used twice"):
        load_policy_params(_write_policy(tmp_path, edit))


@pytest.mark.parametrize("bad", ["Invoices", "2nd", "claim-form", ""])
def test_bad_document_id_fails_loading(tmp_path: Path, bad: str) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["documents"]["common"][0]["id"] = bad

    with pytest.raises(ParamsError, match=r"documents\.common\.0\.id"):
        load_policy_params(_write_policy(tmp_path, edit))


def test_missing_dispute_documents_fail_loading(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"documents\.dispute"):
        load_policy_params(_write_policy(tmp_path, lambda d: d["documents"].pop("dispute")))


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"cause": "fraud"}, "cause"),
        ({"cause": "dispute", "amount": 0}, "amount"),
        ({"cause": "dispute", "due_date": "2026-02-30"}, "due_date"),
        (
            {"cause": "dispute", "overdue_reported": False, "reported_on": "2026-05-01"},
            "reported_on",
        ),
        ({"cause": "dispute", "buyer": "X"}, "buyer"),
    ],
)
def test_invalid_claim_input(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        ClaimInput(**fields)
    assert needle in str(info.value)


def test_today_defaults_to_the_real_date() -> None:
    result = check(cause="protracted_default", due_date=date.today())
    assert {k.key: k.days_left for k in result.key_dates}["notification_deadline"] == 60


def test_a_future_due_date_does_not_ask_for_an_overdue_notification_now() -> None:
    from assistant.tools.claims import ClaimInput, claim_checklist

    policy = load_policy_params(Path("knowledge/policy.yaml"))
    out = claim_checklist(
        ClaimInput(
            cause="protracted_default", due_date=date(2027, 3, 15), today=date(2026, 11, 28)
        ),
        policy,
    )
    assert any("尚未逾期" in w for w in out.warnings)
    assert not any("立即向保险人提交书面逾期申报" in s for s in out.next_steps)


@pytest.mark.parametrize("field", ["due_date", "reported_on", "aware_on", "judgment_on"])
def test_claim_dates_outside_a_sane_range_are_refused(field: str) -> None:
    from pydantic import ValidationError

    from assistant.tools.claims import ClaimInput

    with pytest.raises(ValidationError, match="date_out_of_range"):
        ClaimInput.model_validate({"cause": "insolvency", field: "9999-12-31"})
    assert ClaimInput.model_validate({"cause": "insolvency", field: "2026-03-31"})
