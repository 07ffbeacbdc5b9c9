"""Claim checklist for the sample policy: documents, deadlines, warnings and next steps.

Deadlines decide whether a loss is paid at all (a late overdue notification or claim may be
refused), so they are computed here from ``policy.yaml`` rather than left to the model's
date arithmetic. Every date names the article it comes from so the answer can cite it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant import i18n
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
        strict=True,  # true/false only: 0.0 or "yes" is not an answer to "reported?"
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


def _t(lang: Lang, key: str, **values: Any) -> str:
    """This tool's wording (locale section ``tools.claims``)."""
    return i18n.t(lang, f"tools.claims.{key}", **values)


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
        return _t(lang, "cause_dispute"), policy.clauses.disputed_receivables
    info = policy.causes_of_loss[cause]
    return getattr(info, lang), info.clause


def _plural(text: str) -> str:
    """'passed 1 day(s) ago' -> 'passed 1 day ago'; any other count -> 'days'."""
    text = re.sub(r"\b1 day\(s\)", "1 day", text)
    return text.replace("day(s)", "days")


def claim_checklist(inp: ClaimInput, policy: PolicyParams, *, lang: Lang = "zh") -> ClaimChecklist:
    """Everything the insured must do and hold to claim on one buyer, with the dates."""
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
            label=label or _t(lang, key),
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
        notes.append(_t(lang, "note_insolvency_exempt", clause=cite(c.cover_conditions)))

    notice: KeyDate | None = None
    if due is not None:
        if due > today:
            warnings.append(_t(lang, "warn_not_due", date=day(due)))
        notice = add_date(
            "notification_deadline",
            due + timedelta(days=policy.overdue.notification_days),
            c.overdue_notification,
        )
    elif inp.cause != "insolvency":
        warnings.append(_t(lang, "warn_need_due"))

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
        notes.append(_t(lang, "note_claim_early", clause=cite(c.claim_deadline)))
        notes.append(
            _t(lang, "note_payment", days=policy.claim_payment_days, clause=cite(c.claim_payment))
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
                label=_t(lang, "date_of_loss_insolvency"),
            )
            add_date(
                "payment_due_by",
                max(inp.aware_on, today) + timedelta(days=policy.claim_payment_days),
                c.claim_payment,
            )
            notes.append(_t(lang, "note_insolvency_loss", clause=cite(c.insolvency_event)))
            notes.append(
                _t(
                    lang,
                    "note_payment",
                    days=policy.claim_payment_days,
                    clause=cite(c.claim_payment),
                )
            )
        else:
            warnings.append(
                _t(
                    lang,
                    "warn_need_aware",
                    days=policy.claim_deadline.insolvency_days_after_awareness,
                    clause=cite(c.claim_deadline),
                )
            )
    elif inp.cause == "dispute":
        warnings.append(
            _t(
                lang,
                "warn_dispute",
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
        notes.append(_t(lang, "note_undisputed"))

    # --- warnings, most urgent first ----------------------------------------------------
    for claim in claim_dates:
        if claim.passed:
            warnings.insert(
                0,
                _t(
                    lang,
                    "warn_claim_passed",
                    date=day(claim.date),
                    n=-claim.days_left,
                    clause=cite(claim.clause),
                ),
            )
        elif claim.days_left <= near:
            warnings.append(
                _t(
                    lang,
                    "warn_claim_near",
                    date=day(claim.date),
                    n=claim.days_left,
                    clause=cite(claim.clause),
                )
            )

    if notice is not None and not exempt:
        clause = cite(c.overdue_notification)
        if inp.reported_on is not None:
            late = (inp.reported_on - notice.date).days
            if late > 0:
                warnings.insert(
                    0,
                    _t(
                        lang,
                        "warn_reported_late",
                        reported=day(inp.reported_on),
                        date=day(notice.date),
                        n=late,
                        clause=clause,
                    ),
                )
        elif not reported:
            if notice.passed:
                unknown = inp.overdue_reported is None
                status = _t(lang, "maybe_not_reported") if unknown else _t(lang, "not_reported")
                warnings.insert(
                    0,
                    _t(
                        lang,
                        "warn_notice_passed",
                        date=day(notice.date),
                        n=-notice.days_left,
                        reported=status,
                        clause=clause,
                    ),
                )
            elif notice.days_left <= near:
                status = "" if inp.overdue_reported is False else _t(lang, "warn_notice_unknown")
                warnings.append(
                    _t(
                        lang,
                        "warn_notice_near",
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
                _t(
                    lang,
                    "warn_mep_passed",
                    mep=policy.overdue.mep_days,
                    date=day(mep_end),
                    clause=cite(c.after_overdue),
                )
            )
        elif reported:
            warnings.append(_t(lang, "warn_reported_stop", clause=cite(c.after_overdue)))

    # --- next steps ---------------------------------------------------------------------
    not_due_yet = due is not None and due > today
    if notice is not None and not exempt and not reported and not not_due_yet:
        # Nothing is overdue before the due date: "notify now" would be wrong advice.
        steps.append(_t(lang, "step_notify_now", clause=cite(c.overdue_notification)))
    if inp.cause == "insolvency":
        steps.append(_t(lang, "step_file_debt", clause=cite(c.insolvency_documents)))
    elif inp.cause == "dispute":
        steps.append(_t(lang, "step_dispute_notify", clause=cite(c.disputed_receivables)))
        steps.append(_t(lang, "step_dispute_sue", clause=cite(c.dispute_precedent)))
    else:
        steps.append(_t(lang, "step_collect", clause=cite(c.default_documents)))
    for claim in claim_dates:
        template = "step_claim_now" if claim.passed else "step_claim_by"
        steps.append(_t(lang, template, date=day(claim.date), clause=cite(claim.clause)))
    if inp.cause == "insolvency" and inp.aware_on is None:
        steps.append(
            _t(
                lang,
                "step_claim_insolvency",
                days=policy.claim_deadline.insolvency_days_after_awareness,
                clause=cite(c.claim_deadline),
            )
        )
    if inp.cause == "dispute" and inp.judgment_on is None:
        steps.append(
            _t(
                lang,
                "step_dispute_claim",
                days=policy.claim_deadline.dispute_days_after_judgment,
                clause=cite(c.dispute_precedent),
            )
        )
    steps.append(_t(lang, "step_stop_credit", clause=cite(c.after_overdue)))
    if missing:
        steps.append(_t(lang, "step_missing", docs=_t(lang, "sep").join(missing)))

    # --- indemnity ----------------------------------------------------------------------
    pct = policy.indemnity.approved_limit_pct
    estimated: float | None = None
    if inp.amount is not None:
        estimated = half_up(inp.amount * pct / 100)
        notes.append(
            _t(
                lang,
                "note_indemnity",
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
