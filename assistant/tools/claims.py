"""Claim checklist for the sample policy: documents, deadlines, warnings and next steps.

Deadlines decide whether a loss is paid at all (a late overdue notification or claim may be
refused), so they are computed here from ``policy.yaml`` rather than left to the model's
date arithmetic. Every date names the article it comes from so the answer can cite it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.knowledge.params import ClaimDocument, PolicyParams
from assistant.models import Lang
from assistant.tools._text import (
    MAX_AMOUNT,
    SaneDate,
    ToolInput,
    clause_label,
    fmt_date,
    half_up,
    match_aliases,
    money,
    num,
    sane_date,
)

Cause = Literal["insolvency", "protracted_default", "dispute"]
DateKey = Literal[
    "notification_deadline",
    "claim_deadline",
    "date_of_loss",
    "payment_due_by",
    "insolvency_claim_deadline",
    "dispute_claim_deadline",
]


class ClaimInput(ToolInput):
    """The facts of one unpaid buyer; only the cause is required."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    cause: Cause = Field(
        description=(
            "Why the buyer has not paid: 'insolvency' (court accepted a bankruptcy petition, "
            "court-approved composition, or enforcement ended with no assets), "
            "'protracted_default' (not paying, no dispute), or 'dispute' (the buyer disputes "
            "the debt, e.g. over quality, quantity or price)."
        )
    )
    due_date: SaneDate | None = Field(
        None,
        description=(
            "Original due date of the oldest unpaid invoice (YYYY-MM-DD). Extensions and "
            "payment plans do not change it."
        ),
    )
    today: SaneDate | None = Field(
        None, description="Date to count days from (YYYY-MM-DD); defaults to today."
    )
    amount: float | None = Field(
        None,
        gt=0,
        le=MAX_AMOUNT,
        description="Unpaid amount owed by this buyer, in CNY including VAT.",
    )
    overdue_reported: bool | None = Field(
        None,
        description=(
            "Whether the overdue notification (possible-loss notice) has been sent to the "
            "insurer; omit if unknown."
        ),
    )
    reported_on: SaneDate | None = Field(
        None, description="Date the insurer received the overdue notification (YYYY-MM-DD)."
    )
    aware_on: SaneDate | None = Field(
        None,
        description=(
            "Insolvency only: date the insured learned of the insolvency event (YYYY-MM-DD)."
        ),
    )
    judgment_on: SaneDate | None = Field(
        None,
        description=(
            "Dispute only: date the judgment or arbitral award confirming the debt took "
            "effect (YYYY-MM-DD)."
        ),
    )
    documents_held: list[str] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Documents the insured already has, as free text (e.g. '合同、发票和送货单', "
            "\"lawyer's letter\") or document ids (e.g. 'invoices')."
        ),
    )

    _sane_dates = field_validator("due_date", "today", "reported_on", "aware_on", "judgment_on")(
        staticmethod(sane_date)
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClaimInput:
        if self.overdue_reported is False and self.reported_on is not None:
            raise ValueError("reported_on is given but overdue_reported is false; omit one of them")
        return self


class DocumentItem(BaseModel):
    id: str = Field(description="Stable document id from policy.yaml.")
    name: str
    held: bool
    clause: int | None = Field(description="Article of the sample wording that asks for it.")


class KeyDate(BaseModel):
    key: DateKey
    label: str
    date: date
    days_left: int = Field(description="Days from today; negative once the date has passed.")
    passed: bool
    clause: int


class ClauseRef(BaseModel):
    doc_id: str = Field(description="Corpus id of the sample wording in the reply language.")
    clause_no: int
    label: str


class ClaimChecklist(BaseModel):
    cause: Cause
    cause_label: str
    documents: list[DocumentItem]
    missing: list[str] = Field(description="Names of the documents not yet held.")
    key_dates: list[KeyDate]
    warnings: list[str] = Field(description="Risks to the claim, most urgent first.")
    notes: list[str] = Field(
        default_factory=list, description="How dates and amounts were worked out."
    )
    next_steps: list[str]
    indemnity_pct: float
    estimated_indemnity: float | None = Field(
        description=(
            "amount × indemnity percentage for approved limits, whole yuan; before deductions "
            "and capped in reality by the buyer's credit limit."
        )
    )
    citations: list[ClauseRef]


_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "cause_dispute": "争议应收账款",
        "notification_deadline": "逾期申报截止日",
        "claim_deadline": "拖欠索赔截止日",
        "date_of_loss": "损失发生日（等待期届满）",
        "date_of_loss_insolvency": "损失发生日（以知悉日近似）",
        "payment_due_by": "最迟赔付日（单证齐全时）",
        "insolvency_claim_deadline": "破产索赔截止日",
        "dispute_claim_deadline": "争议索赔截止日（判决或裁决生效后）",
        "warn_claim_passed": (
            "索赔期限（{date}）已过 {n} 天：超过索赔期限提出的，保险人可以拒绝赔偿（{clause}）。"
        ),
        "warn_claim_near": (
            "距索赔截止日（{date}）仅剩 {n} 天，请尽快提交索赔申请书和现有单证（{clause}）。"
        ),
        "warn_notice_passed": (
            "逾期申报期限（{date}）已过 {n} 天{reported}；逾期申报晚于期限送达的，"
            "保险人可以拒绝赔偿对该买方的损失（{clause}）。请立即申报并说明情况。"
        ),
        "not_reported": "，且尚未申报",
        "maybe_not_reported": "（如已申报，请核对保险人收到的日期）",
        "warn_notice_near": (
            "距逾期申报截止日（{date}）仅剩 {n} 天，{reported}"
            "请尽快向保险人提交书面逾期申报（{clause}）。"
        ),
        "warn_notice_unknown": "如尚未申报，",
        "warn_reported_late": (
            "逾期申报于 {reported} 送达，比截止日 {date} 晚 {n} 天；"
            "保险人可以拒绝赔偿对该买方的损失（{clause}）。"
        ),
        "warn_not_due": "原应付款日 {date} 还没到，款项尚未逾期；以下日期为按该日推算的预计日期。",
        "warn_mep_passed": (
            "原应付款日后 {mep} 天的最长延展期已于 {date} 届满：此后对该买方以赊销方式交付的"
            "货物或服务不受保障，除非保险人事先书面同意（{clause}）。"
        ),
        "warn_reported_stop": (
            "已提交逾期申报：此后对该买方以赊销方式交付的货物或服务不受保障，"
            "除非保险人事先书面同意（{clause}）。"
        ),
        "warn_need_due": "缺少最早一笔未付发票的原应付款日，无法计算逾期申报、索赔和损失发生日。",
        "warn_need_aware": (
            "缺少知悉破产事件的日期："
            "破产索赔须在知悉事件之日起 {days} 日内提出（{clause}），请提供该日期。"
        ),
        "warn_dispute": (
            "买方有异议的部分，在取得确认债务的生效判决或仲裁裁决并向法院申请强制执行之前，"
            "保险人不定损也不赔付（{clause}）；纠纷期间索赔期限中止，须在判决或裁决生效后 "
            "{days} 日内附强制执行申请证明提出索赔。"
        ),
        "note_insolvency_loss": (
            "破产或无力偿付的损失发生日是事件发生之日（如法院裁定受理之日），不适用等待期"
            "（{clause}）；这里以知悉日近似，实际以事件日期为准。"
        ),
        "note_insolvency_exempt": (
            "买方在原应付款日前已发生破产或无力偿付事件的，无需逾期申报（{clause}）。"
        ),
        "note_claim_early": (
            "拖欠索赔可以在损失发生日之前提出，保险人在损失发生日之后赔付（{clause}）。"
        ),
        "note_payment": (
            "最迟赔付日按损失发生日与今天两者较晚者加 {days} 天估算，前提是单证已经齐全；"
            "单证晚于该日补齐的，赔付相应顺延（{clause}）。"
        ),
        "note_indemnity": (
            "估算赔款 {paid} = 未付金额 {amount} × {pct}%（核定信用限额，{clause_pct}）。"
            "实际损失金额要先扣除已付款、红字发票或折让、可抵销债权和担保所得，并以该买方的"
            "有效信用限额为上限（{clause_loss}）；自行掌握信用限额的赔偿比例为 {disc}%。"
        ),
        "note_undisputed": "买方没有异议的部分照常按拖欠处理，适用逾期申报和拖欠索赔期限。",
        "step_notify_now": (
            "立即向保险人提交书面逾期申报，"
            "列明逾期发票、金额、原应付款日和已采取的催收措施（{clause}）。"
        ),
        "step_stop_credit": "暂停对该买方的赊销发货，新订单改为款到发货（{clause}）。",
        "step_collect": (
            "继续催收，发出正式催款函或律师函，保留送达凭证和全部往来记录（{clause}）。"
        ),
        "step_claim_by": (
            "在 {date} 前提交索赔申请书和现有单证，缺少的单证可以之后补齐（{clause}）。"
        ),
        "step_claim_now": (
            "索赔期限已过，仍应立即提交索赔申请书和现有单证并说明延误原因，"
            "是否赔付由保险人决定（{clause}）。"
        ),
        "step_claim_insolvency": (
            "在知悉破产事件之日起 {days} 日内提交索赔申请书和现有单证（{clause}）。"
        ),
        "step_file_debt": (
            "在法院公告的期限内向破产管理人申报债权，并把管理人的通知及时转交保险人（{clause}）。"
        ),
        "step_dispute_notify": (
            "书面告知保险人争议金额和理由，保存往来函件、验收记录、质检报告等证据（{clause}）。"
        ),
        "step_dispute_sue": (
            "起诉或申请仲裁前先告知保险人；取得生效判决或裁决后向法院申请强制执行（{clause}）。"
        ),
        "step_dispute_claim": (
            "判决或裁决生效后 {days} 日内附强制执行申请证明提出索赔（{clause}）。"
        ),
        "step_missing": "准备缺少的单证：{docs}。",
        "sep": "、",
    },
    "en": {
        "cause_dispute": "Disputed receivables",
        "notification_deadline": "Overdue notification deadline",
        "claim_deadline": "Protracted-default claim deadline",
        "date_of_loss": "Date of loss (end of the waiting period)",
        "date_of_loss_insolvency": "Date of loss (date of awareness used as a proxy)",
        "payment_due_by": "Latest payment date (if documents are complete)",
        "insolvency_claim_deadline": "Insolvency claim deadline",
        "dispute_claim_deadline": "Dispute claim deadline (after the judgment or award)",
        "warn_claim_passed": "The claim deadline ({date}) passed {n} day(s) ago: the insurer may "
        "refuse a claim filed after the deadline ({clause}).",
        "warn_claim_near": "Only {n} day(s) left until the claim deadline ({date}): file the claim "
        "form with the documents you have soon ({clause}).",
        "warn_notice_passed": (
            "The overdue notification deadline ({date}) passed {n} day(s) ago{reported}. If the "
            "notification arrives late, the insurer may refuse to pay any loss on this buyer "
            "({clause}). Notify now and explain the delay."
        ),
        "not_reported": " and no notification has been sent",
        "maybe_not_reported": " (if you have notified, check the date the insurer received it)",
        "warn_notice_near": "Only {n} day(s) left until the overdue notification deadline "
        "({date}). {reported}Send the insurer a written overdue notification soon ({clause}).",
        "warn_notice_unknown": "If you have not notified yet: ",
        "warn_reported_late": (
            "The overdue notification arrived on {reported}, {n} day(s) after the deadline of "
            "{date}; the insurer may refuse to pay any loss on this buyer ({clause})."
        ),
        "warn_not_due": "The original due date, {date}, has not arrived yet, so nothing is "
        "overdue; the dates below are projected from it.",
        "warn_mep_passed": (
            "The maximum extension period of {mep} days after the original due date ended on "
            "{date}: goods or services delivered to this buyer on credit after that are not "
            "covered unless the insurer agreed in writing beforehand ({clause})."
        ),
        "warn_reported_stop": (
            "An overdue notification has been sent: goods or services delivered to this buyer "
            "on credit from now on are not covered unless the insurer agrees in writing "
            "beforehand ({clause})."
        ),
        "warn_need_due": "The original due date of the oldest unpaid invoice is missing, so "
        "the notification, claim and date-of-loss dates cannot be worked out.",
        "warn_need_aware": "The date you learned of the insolvency event is missing: an "
        "insolvency claim must be filed within {days} days of learning of it ({clause}).",
        "warn_dispute": (
            "For the disputed part, the insurer neither assesses nor pays the loss until you "
            "hold an effective judgment or arbitral award confirming the debt and have applied "
            "to the court for enforcement ({clause}); the claim deadline is suspended meanwhile, "
            "and the claim, with proof of the enforcement application, must be filed within "
            "{days} days after the judgment or award takes effect."
        ),
        "note_insolvency_loss": (
            "For insolvency the date of loss is the date of the event itself (e.g. the court's "
            "acceptance of the petition), with no waiting period ({clause}); the date you "
            "learned of it is used here as a proxy."
        ),
        "note_insolvency_exempt": "The insolvency event happened before the original due "
        "date, so no overdue notification is needed ({clause}).",
        "note_claim_early": "A protracted-default claim may be filed before the date of loss; "
        "the insurer pays after the date of loss ({clause}).",
        "note_payment": (
            "The latest payment date is the later of the date of loss and today, plus {days} "
            "days, assuming the documents are complete; if they are completed later, payment "
            "moves back accordingly ({clause})."
        ),
        "note_indemnity": (
            "Estimated indemnity {paid} = unpaid amount {amount} × {pct}% (approved credit "
            "limit, {clause_pct}). The loss is first reduced by payments, credit notes, set-off "
            "and security realised, and is capped at the buyer's credit limit ({clause_loss}); "
            "under a discretionary limit the percentage is {disc}%."
        ),
        "note_undisputed": "Any part the buyer does not dispute is handled as a normal "
        "protracted default, with the usual notification and claim deadlines.",
        "step_notify_now": "Send the insurer a written overdue notification now, listing the "
        "overdue invoices, amounts, original due date and collection steps taken ({clause}).",
        "step_stop_credit": "Stop delivering to this buyer on credit; switch new orders to "
        "payment before delivery ({clause}).",
        "step_collect": "Keep chasing payment; send a formal demand or lawyer's letter and keep "
        "proof of delivery of it and all correspondence ({clause}).",
        "step_claim_by": "File the claim form with the documents you have by {date}; missing "
        "documents can follow later ({clause}).",
        "step_claim_now": "The claim deadline has passed: still file the claim form and the "
        "documents you have now, explaining the delay; the insurer decides whether to pay "
        "({clause}).",
        "step_claim_insolvency": "File the claim form with the documents you have within {days} "
        "days of learning of the insolvency event ({clause}).",
        "step_file_debt": "File your proof of debt with the administrator within the period the "
        "court announces, and forward the administrator's notices to the insurer ({clause}).",
        "step_dispute_notify": "Tell the insurer in writing the disputed amount and the reasons, "
        "and keep the correspondence, acceptance records and inspection reports ({clause}).",
        "step_dispute_sue": "Tell the insurer before suing or starting arbitration; once the "
        "judgment or award is effective, apply to the court for enforcement ({clause}).",
        "step_dispute_claim": "File the claim with proof of the enforcement application within "
        "{days} days after the judgment or award takes effect ({clause}).",
        "step_missing": "Gather the missing documents: {docs}.",
        "sep": "; ",
    },
}

# Free text is split into phrases so that "有合同，没有发票" keeps the contract and drops
# the invoice; a phrase that contains a negation is not counted as held.
_PHRASE_SPLIT = re.compile(r"[、，,;；/\n。!！?？]|\.\s|但是|但|不过|\bbut\b|\bhowever\b")
_NEGATION = re.compile(
    r"没|缺|暂无|尚无|未取得|未拿到|未收到|找不到|丢了|丢失"
    r"|\b(?:no|not|without|missing|lack|lacking|don't|dont|haven't|none|lost)\b",
    re.IGNORECASE,
)


def _documents_for(policy: PolicyParams, cause: Cause) -> list[ClaimDocument]:
    """Documents a claim for ``cause`` needs: the common set plus the cause's own."""
    docs = policy.documents
    if cause == "insolvency":
        return [*docs.common, *docs.insolvency]
    if cause == "protracted_default":
        return [*docs.common, *docs.protracted_default]
    # A dispute ends as a default claim once judgment is obtained, so it needs both sets.
    return [*docs.common, *docs.protracted_default, *docs.dispute]


def match_documents(held: list[str], policy: PolicyParams, cause: Cause) -> set[str]:
    """Ids of the documents for ``cause`` that the customer's free text says they hold.

    Matching is by the aliases in policy.yaml (longest first, so "担保合同" is a guarantee
    and not also a sales contract); a phrase containing a negation ("没有发票", "no invoices")
    counts for nothing.
    """
    entries = [
        (
            doc.id,
            [doc.id, doc.id.replace("_", " "), doc.zh, doc.en, *doc.aliases.zh, *doc.aliases.en],
        )
        for doc in _documents_for(policy, cause)
    ]
    found: set[str] = set()
    for text in held:
        for phrase in _PHRASE_SPLIT.split(text):
            if not phrase.strip() or _NEGATION.search(phrase):
                continue
            found.update(match_aliases(phrase, entries))
    return found


def _cause_label(policy: PolicyParams, cause: Cause, lang: Lang) -> tuple[str, int]:
    if cause == "dispute":
        return _TEXT[lang]["cause_dispute"], policy.clauses.disputed_receivables
    info = policy.causes_of_loss[cause]
    return getattr(info, lang), info.clause


def _plural(text: str) -> str:
    """'passed 1 day(s) ago' -> 'passed 1 day ago'; any other count -> 'days'."""
    text = re.sub(r"\b1 day\(s\)", "1 day", text)
    return text.replace("day(s)", "days")


def claim_checklist(inp: ClaimInput, policy: PolicyParams, *, lang: Lang = "zh") -> ClaimChecklist:
    """Everything the insured must do and hold to claim on one buyer, with the dates."""
    t = _TEXT[lang]
    c = policy.clauses
    today = inp.today or date.today()
    refs: set[int] = set()

    def cite(clause: int) -> str:
        refs.add(clause)
        return clause_label(clause, lang)

    def day(d: date) -> str:
        return fmt_date(d, lang)

    cause_label, cause_clause = _cause_label(policy, inp.cause, lang)
    refs.add(cause_clause)

    # --- documents --------------------------------------------------------------------
    held = match_documents(inp.documents_held, policy, inp.cause)
    documents = [
        DocumentItem(id=doc.id, name=getattr(doc, lang), held=doc.id in held, clause=doc.clause)
        for doc in _documents_for(policy, inp.cause)
    ]
    refs.update(doc.clause for doc in documents if doc.clause is not None)
    missing = [doc.name for doc in documents if not doc.held]

    # --- dates ------------------------------------------------------------------------
    key_dates: list[KeyDate] = []

    def add_date(key: DateKey, when: date, clause: int, label: str | None = None) -> KeyDate:
        refs.add(clause)
        left = (when - today).days
        item = KeyDate(
            key=key,
            label=label or t[key],
            date=when,
            days_left=left,
            passed=left < 0,
            clause=clause,
        )
        key_dates.append(item)
        return item

    warnings: list[str] = []
    notes: list[str] = []
    steps: list[str] = []
    due = inp.due_date
    near = policy.reminders.deadline_warning_days
    reported = inp.overdue_reported is True or inp.reported_on is not None

    # Insolvency before the due date needs no overdue notification (clause 6).
    exempt = (
        inp.cause == "insolvency"
        and due is not None
        and inp.aware_on is not None
        and inp.aware_on < due
    )
    if exempt:
        notes.append(t["note_insolvency_exempt"].format(clause=cite(c.cover_conditions)))

    notice: KeyDate | None = None
    if due is not None:
        if due > today:
            warnings.append(t["warn_not_due"].format(date=day(due)))
        notice = add_date(
            "notification_deadline",
            due + timedelta(days=policy.overdue.notification_days),
            c.overdue_notification,
        )
    elif inp.cause != "insolvency":
        warnings.append(t["warn_need_due"])

    claim_dates: list[KeyDate] = []
    if inp.cause == "protracted_default" and due is not None and notice is not None:
        # Clause 27 worked example: due 31 March -> notify by 30 May, claim by 28 August,
        # date of loss 27 September.
        claim = add_date(
            "claim_deadline",
            notice.date
            + timedelta(days=policy.claim_deadline.default_days_after_notification_deadline),
            c.claim_deadline,
        )
        claim_dates.append(claim)
        loss = add_date(
            "date_of_loss", due + timedelta(days=policy.waiting_period_days), c.waiting_period
        )
        add_date(
            "payment_due_by",
            max(loss.date, today) + timedelta(days=policy.claim_payment_days),
            c.claim_payment,
        )
        notes.append(t["note_claim_early"].format(clause=cite(c.claim_deadline)))
        notes.append(
            t["note_payment"].format(days=policy.claim_payment_days, clause=cite(c.claim_payment))
        )
    elif inp.cause == "insolvency":
        if inp.aware_on is not None:
            claim_dates.append(
                add_date(
                    "insolvency_claim_deadline",
                    inp.aware_on
                    + timedelta(days=policy.claim_deadline.insolvency_days_after_awareness),
                    c.claim_deadline,
                )
            )
            add_date(
                "date_of_loss",
                inp.aware_on,
                c.insolvency_event,
                label=t["date_of_loss_insolvency"],
            )
            add_date(
                "payment_due_by",
                max(inp.aware_on, today) + timedelta(days=policy.claim_payment_days),
                c.claim_payment,
            )
            notes.append(t["note_insolvency_loss"].format(clause=cite(c.insolvency_event)))
            notes.append(
                t["note_payment"].format(
                    days=policy.claim_payment_days, clause=cite(c.claim_payment)
                )
            )
        else:
            warnings.append(
                t["warn_need_aware"].format(
                    days=policy.claim_deadline.insolvency_days_after_awareness,
                    clause=cite(c.claim_deadline),
                )
            )
    elif inp.cause == "dispute":
        warnings.append(
            t["warn_dispute"].format(
                clause=cite(c.dispute_precedent),
                days=policy.claim_deadline.dispute_days_after_judgment,
            )
        )
        if inp.judgment_on is not None:
            claim_dates.append(
                add_date(
                    "dispute_claim_deadline",
                    inp.judgment_on
                    + timedelta(days=policy.claim_deadline.dispute_days_after_judgment),
                    c.dispute_precedent,
                )
            )
        notes.append(t["note_undisputed"])

    # --- warnings, most urgent first ----------------------------------------------------
    for claim in claim_dates:
        if claim.passed:
            warnings.insert(
                0,
                t["warn_claim_passed"].format(
                    date=day(claim.date), n=-claim.days_left, clause=cite(claim.clause)
                ),
            )
        elif claim.days_left <= near:
            warnings.append(
                t["warn_claim_near"].format(
                    date=day(claim.date), n=claim.days_left, clause=cite(claim.clause)
                )
            )

    if notice is not None and not exempt:
        clause = cite(c.overdue_notification)
        if inp.reported_on is not None:
            late = (inp.reported_on - notice.date).days
            if late > 0:
                warnings.insert(
                    0,
                    t["warn_reported_late"].format(
                        reported=day(inp.reported_on),
                        date=day(notice.date),
                        n=late,
                        clause=clause,
                    ),
                )
        elif not reported:
            if notice.passed:
                unknown = inp.overdue_reported is None
                status = t["maybe_not_reported"] if unknown else t["not_reported"]
                warnings.insert(
                    0,
                    t["warn_notice_passed"].format(
                        date=day(notice.date),
                        n=-notice.days_left,
                        reported=status,
                        clause=clause,
                    ),
                )
            elif notice.days_left <= near:
                status = "" if inp.overdue_reported is False else t["warn_notice_unknown"]
                warnings.append(
                    t["warn_notice_near"].format(
                        date=day(notice.date),
                        n=notice.days_left,
                        reported=status,
                        clause=clause,
                    )
                )

    if due is not None:
        mep_end = due + timedelta(days=policy.overdue.mep_days)
        if today > mep_end:
            warnings.append(
                t["warn_mep_passed"].format(
                    mep=policy.overdue.mep_days, date=day(mep_end), clause=cite(c.after_overdue)
                )
            )
        elif reported:
            warnings.append(t["warn_reported_stop"].format(clause=cite(c.after_overdue)))

    # --- next steps ---------------------------------------------------------------------
    not_due_yet = due is not None and due > today
    if notice is not None and not exempt and not reported and not not_due_yet:
        # Nothing is overdue before the due date: "notify now" would be wrong advice.
        steps.append(t["step_notify_now"].format(clause=cite(c.overdue_notification)))
    if inp.cause == "insolvency":
        steps.append(t["step_file_debt"].format(clause=cite(c.insolvency_documents)))
    elif inp.cause == "dispute":
        steps.append(t["step_dispute_notify"].format(clause=cite(c.disputed_receivables)))
        steps.append(t["step_dispute_sue"].format(clause=cite(c.dispute_precedent)))
    else:
        steps.append(t["step_collect"].format(clause=cite(c.default_documents)))
    for claim in claim_dates:
        template = "step_claim_now" if claim.passed else "step_claim_by"
        steps.append(t[template].format(date=day(claim.date), clause=cite(claim.clause)))
    if inp.cause == "insolvency" and inp.aware_on is None:
        steps.append(
            t["step_claim_insolvency"].format(
                days=policy.claim_deadline.insolvency_days_after_awareness,
                clause=cite(c.claim_deadline),
            )
        )
    if inp.cause == "dispute" and inp.judgment_on is None:
        steps.append(
            t["step_dispute_claim"].format(
                days=policy.claim_deadline.dispute_days_after_judgment,
                clause=cite(c.dispute_precedent),
            )
        )
    steps.append(t["step_stop_credit"].format(clause=cite(c.after_overdue)))
    if missing:
        steps.append(t["step_missing"].format(docs=t["sep"].join(missing)))

    # --- indemnity ----------------------------------------------------------------------
    pct = policy.indemnity.approved_limit_pct
    estimated: float | None = None
    if inp.amount is not None:
        estimated = half_up(inp.amount * pct / 100)
        notes.append(
            t["note_indemnity"].format(
                paid=money(estimated, lang, policy.currency),
                amount=money(inp.amount, lang, policy.currency),
                pct=num(pct),
                disc=num(policy.indemnity.discretionary_limit_pct),
                clause_pct=cite(c.indemnity_pct),
                clause_loss=cite(c.loss_amount),
            )
        )

    doc_id = f"{policy.policy_id}-{lang}"
    citations = [
        ClauseRef(doc_id=doc_id, clause_no=n, label=clause_label(n, lang)) for n in sorted(refs)
    ]
    return ClaimChecklist(
        cause=inp.cause,
        cause_label=cause_label,
        documents=documents,
        missing=missing,
        key_dates=key_dates,
        warnings=[_plural(w) for w in warnings],
        notes=[_plural(n) for n in notes],
        next_steps=[_plural(s) for s in steps],
        indemnity_pct=pct,
        estimated_indemnity=estimated,
        citations=citations,
    )
