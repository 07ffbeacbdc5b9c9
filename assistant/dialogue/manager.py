"""Grounded mode: a deterministic dialogue manager over the knowledge base and the tools.

Each turn is routed (``intents``), then either answered from the knowledge base
(``answer``) or used to fill the form of a tool (``forms``/``slots``) until the tool can
run. The state that survives between turns is a plain JSON dict (stored per session):

- ``active``: the form waiting for an answer, or None;
- ``asked``: the fields the last reply asked for;
- ``slots``: the values gathered per form, kept after the tool ran so that a correction
  ("不对，是3000万") re-runs it;
- ``last_tool``, ``calc``, ``lead``.

Nothing here invents content: knowledge replies quote the knowledge base with [n]
citations, tool replies lay out tool results, everything else is fixed locale text.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from assistant import privacy
from assistant.dialogue import forms, parsing, render, slots, vocabulary
from assistant.dialogue.answer import Answerer, citation_for, offtopic_checked
from assistant.dialogue.intents import COMPUTE, MODEL_THRESHOLD, IntentRouter
from assistant.i18n import items, t
from assistant.matching import OFFTOPIC, EntryMatch
from assistant.models import Citation, ToolCall
from assistant.retrieval import normalize_query
from assistant.tools import leads, premium
from assistant.tools.calculators import MONTHLY_INTERVAL_DAYS, add_months
from assistant.tools.claims import Cause, match_documents
from assistant.tools.registry import Toolbox

log = logging.getLogger(__name__)

# The wording checked after routing lives in knowledge/vocabulary.yaml (each entry's
# `doc` says what it marks).
_QUESTION = vocabulary.pattern("question")
_WHAT_IF = vocabulary.pattern("what_if")
_A_VALUE = vocabulary.pattern("a_value")
_CORRECTION = vocabulary.pattern("correction")
LANG_REQUEST = vocabulary.pattern("language_request")
_CHECKLIST_AGAIN = vocabulary.pattern("checklist_again")
_ASKS_DOCS = vocabulary.pattern("asks_documents")
_DUE_WORDS = vocabulary.pattern("due_words")
_HAVE = vocabulary.pattern("have")
_NO_BAD_DEBT = vocabulary.pattern("no_bad_debt")
_OWN_CLAIM = vocabulary.pattern("own_claim")
_ASKS = vocabulary.pattern("asks")
_INSURANCE = vocabulary.pattern("insurance")
_DOMAIN = vocabulary.pattern("domain")
_INSURED_CASE = vocabulary.pattern("insured_case")
_PREMIUM_WORDS = vocabulary.pattern("premium_words")
_CLAIM_QUESTION = vocabulary.pattern("claim_question")
# The routing model's probability for a form at which a how-it-works reading by the
# answer bank no longer turns the turn into a knowledge question (set on the dev split).
MODEL_KEEPS_FORM = 0.7
# Bank categories a form serves: with the user's own figures the form answers them.
FORM_TOPICS = {
    "quote": {"premium"},
    "claim": {"claims", "disputes", "duties"},
    "calculator": {"dso", "cash_ratio", "payment_plans"},
}


@dataclass
class Turn:
    """What grounded mode produced for one user message."""

    answer: str
    intent: str
    citations: list[Citation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    handoff: bool = False
    lead_id: str | None = None
    refusal: bool = False
    asked: list[str] = field(default_factory=list)
    # Set when the turn did not answer outright: what the unanswered log keeps.
    unanswered: dict[str, Any] | None = None
    entry_id: str | None = None  # the answer-bank entry a knowledge turn answered with


def _fresh_chips(handle: Callable[..., Turn]) -> Callable[..., Turn]:
    """Every turn's chips pass :meth:`DialogueManager._not_just_done` on the way out."""

    @functools.wraps(handle)
    def wrapper(self: DialogueManager, text: str, state: dict[str, Any], **kw: Any) -> Turn:
        turn = handle(self, text, state, **kw)
        turn.suggestions = self._not_just_done(turn, text, state, kw.get("today"))
        return turn

    return wrapper


def _listed_instalments(text: str, today: date, found: dict[str, Any]) -> dict[str, Any]:
    """A plan given as its dates ("两期，12月10号一次，12月25号一次", "in two goes, Dec 5 and
    Dec 15"): that many instalments from the first date, evenly spaced at the first gap.
    The original due date ("原定9月1日到期") is not one of them."""
    due = found.get("original_due_date")
    dates = sorted({d for d, _, _ in parsing.find_dates(text, today) if d != due})
    if len(dates) < 2:
        return {}
    first = {"instalments": len(dates), "first_date": dates[0]}
    if all(d == add_months(dates[0], i) for i, d in enumerate(dates)):
        return {**first, "interval_days": MONTHLY_INTERVAL_DAYS}  # the same day each month
    gaps = {(b - a).days for a, b in itertools.pairwise(dates)}
    if len(gaps) != 1:
        return {}  # uneven dates: not a plan the schedule can draw
    return {**first, "interval_days": gaps.pop()}


def _chip_key(text: str) -> str:
    """A chip compared with what was said: case, spaces and punctuation aside."""
    return re.sub(r"[\W_]+", "", text).lower()


def _as_cause(value: Any) -> Cause:
    return (
        value if value in ("insolvency", "protracted_default", "dispute") else "protracted_default"
    )


_MONTHLY = vocabulary.pattern("monthly")


def _monthly(text: str, amount: float) -> bool:
    """Is this amount stated per month? The marker must sit right around the amount."""
    for q in parsing.find_money(text):
        if abs(q.value - amount) < 0.5:
            window = text[max(0, q.start - 10) : q.end + 12]
            return _MONTHLY.search(window) is not None and not re.search(
                r"年|year|annual", window, re.I
            )
    return False


# "按一个月算", "那是一个季度的", "that was monthly", "per quarter": the message is about
# which period the figures cover (not "这个月生意不好", "we get new buyers every month").
_PERIOD_POINT = vocabulary.pattern("period_point")


def _period_is_the_point(text: str) -> bool:
    """Is this short message about the period the sales cover (see ``_PERIOD_POINT``)?"""
    core = text.strip(" ，,。.!！?？~呢吧")
    return len(core) <= 30 and (len(core) <= 6 or _PERIOD_POINT.search(core) is not None)


def _basis_line(cites: list[Citation], lang: str) -> str:
    """'依据示例条款：第二十条 [1]、第二十二条 [2]' under a tool reply."""
    if not cites:
        return ""
    refs = t(lang, "format.list_sep").join(f"{c.clause} [{c.n}]" for c in cites)
    return f"\n\n{t(lang, 'claim.basis')}{t(lang, 'format.colon')}{refs}"


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


class DialogueManager:
    def __init__(self, toolbox: Toolbox, answerer: Answerer, router: IntentRouter) -> None:
        self.tools = toolbox
        self.answerer = answerer
        self.router = router
        self.typos = answerer.engine.synonyms.typos

    # -- entry ----------------------------------------------------------------------------

    def _not_just_done(
        self,
        turn: Turn,
        text: str,
        state: dict[str, Any] | None = None,
        today: date | None = None,
    ) -> list[str]:
        """Chips never offer what this turn just did: the question just asked or answered,
        the form or hand-off that just ran ("联系专家" after the hand-off), or a value the
        quote already holds ("最大客户占比40%" once 40% was given); nor one chip twice (a
        runner-up that is also a related entry)."""
        held = (state or {}).get("slots", {}).get("estimate_premium") or {}
        said = {_chip_key(text)}
        if turn.entry_id:
            said.add(_chip_key(self.answerer.engine.matcher.by_entry_id.get(turn.entry_id, "")))
        action = turn.intent if turn.intent in ("quote", "claim", "calculator", "lead") else None
        out = []
        for chip in turn.suggestions:
            if _chip_key(chip) in said:
                continue
            if action and self.router.hits(action, normalize_query(chip)):
                continue
            if turn.intent == "quote" and held:
                values = slots.extract(chip, forms.QUOTE.slots, today=today or date.today())
                if values and all(held.get(k) == v for k, v in values.items()):
                    continue  # re-running the quote with it would change nothing
            said.add(_chip_key(chip))  # and never the same chip twice
            out.append(chip)
        return out

    @_fresh_chips
    def handle(
        self,
        text: str,
        state: dict[str, Any],
        *,
        lang: str,
        today: date,
        session_id: str,
        transcript: list[dict[str, Any]],
        channel: str = "api",
    ) -> Turn:
        # Traditional characters and variants become simplified before any cue is read
        # ("我們做紡織品批發" routes like "我们做纺织品批发").
        text = normalize_query(parsing.normalize_text(text))
        if len(text) > 600:
            # A pasted contract with a question at the end: the question is what to read.
            tail = re.split(r"[\n。！？!?]\s*", text[:-1])[-1] if text[-1] in "?？" else ""
            text = (tail + text[-1]) if 4 <= len(tail) <= 300 else text[-300:]
        for wrong, right in self.typos.items():
            text = text.replace(wrong, right)
        stripped = LANG_REQUEST.sub(" ", text).strip(" ,，.。!！")
        if stripped and stripped != text:
            text = stripped
        elif not stripped:
            return self._fixed("greeting", lang)
        state.setdefault("slots", {})
        active = state.get("active")
        has_phone = bool(forms.PHONE_CANDIDATE.search(text))
        evidence = self._evidence(text, today, state)
        route = self.router.classify(text, has_phone=has_phone, evidence=evidence)
        intent = route.intent

        continuing = self._continues(text, state, intent, route.via, today)
        also_asked = False
        if continuing:
            intent = continuing
        elif intent in FORM_TOPICS and self._bank_says_knowledge(
            text,
            lang,
            intent,
            self._figures(text, intent, route.kind, evidence, today),
            cued=route.via == "rule",
        ):
            if intent == "quote" and evidence.get("quote") and self._in_scope(text, lang):
                # Answer first: their annual credit sales give a quote at once ("Is it even
                # worth it for us? … Credit sales are roughly RMB 6 million a year"), and the
                # bank's answer to what else they asked follows it.
                also_asked = True
            else:
                intent = "knowledge"
        elif intent == "knowledge" and self._insured_case(text, lang):
            intent = "claim"
        elif (
            intent in ("knowledge", "oos", "chitchat")
            and active == "lead"
            and (
                forms.LOOSE_PHONE.search(text)
                or forms.extract_name(text)
                or re.search(r"\d{5,}|电话|手机|号码|phone|number|mobile", text, re.I)
            )
        ):
            intent = "lead"

        routed_kind = False
        if (
            intent == "calculator"
            and route.kind
            and not continuing
            and forms.calculator_kind(text) is None
        ):
            intent = route.kind  # the model named the calculator the wording did not
            routed_kind = True

        lead = state.get("lead") or {}
        if lead.get("lead_id") and intent in ("knowledge", "chitchat") and len(text) <= 40:
            # "姓王" / "Company is Shanghai ABC Trading" right after the hand-off.
            name, company = forms.extract_name(text), forms.extract_company(text)
            if (name or company) and self.tools.store.update_lead_contact(
                lead["lead_id"], name=name, company=company
            ):
                return Turn(t(lang, "lead.updated"), "lead", handoff=True, lead_id=lead["lead_id"])

        log.debug("route %s via %s cues=%s (active=%s)", intent, route.via, route.cues, active)
        if intent == "injection":
            return self._fixed("injection", lang, refusal=True)
        if intent in ("greeting", "thanks", "help", "chitchat"):
            turn = self._fixed(intent, lang)
            if intent == "help":
                turn.suggestions = items(lang, "suggest.default")
            return turn
        # A message routed by its own words may fill any field; one that only continues an
        # open form fills cue-named fields and the one just asked for (see slots.extract).
        explicit = (
            intent in ("quote", "claim", "calculator")
            or routed_kind
            or bool(_CORRECTION.search(text))
        )
        if intent == "quote" or intent == "estimate_premium":
            turn = self._quote(text, state, lang, today, explicit)
            return self._also_asked(turn, text, lang, "quote", continuing, force=also_asked)
        if intent in ("claim", "claim_checklist"):
            turn = self._claim(text, state, lang, today, explicit)
            return self._also_asked(turn, text, lang, "claim", continuing)
        if intent in ("calculator", *forms.CALCULATORS):
            turn = self._calculator(text, state, lang, today, intent, explicit)
            return self._also_asked(turn, text, lang, "calculator", continuing)
        if intent == "lead":
            return self._lead(text, state, lang, session_id, transcript, channel)
        if intent == "oos":
            return self._oos(text, state, lang)
        return self._knowledge(text, state, lang)

    def _evidence(
        self, text: str, today: date, state: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """How many fields of each form this message fills (see ``IntentRouter.classify``)."""
        quote = slots.extract(text, forms.QUOTE.slots, today=today)
        industry = premium.resolve_industry(text, self.tools.rating)
        sales_named = re.search(forms.MONEY_SALES, text, re.I) is not None
        n_quote = len(quote) + (1 if industry else 0) if "annual_credit_sales" in quote else 0
        if not sales_named:
            n_quote = 0  # "客户欠240k" is an amount owed, not a turnover to insure
        cause = forms.detect_cause(text)
        if cause is None and state and state.get("context_cause") and _DUE_WORDS.search(text):
            # "货款是9月15号到期的" after a question about a late payer: the same case.
            cause = state["context_cause"]
        n_claim = 0
        if cause:
            claim = slots.extract(text, forms.claim_form(cause).slots, today=today)
            n_claim = 1 + len(claim)
        kind = forms.calculator_kind(text)
        if kind is None:
            # No cue word named a calculator: the one the routing model reads, if it is sure.
            kind = self.router.model_calculator(text)
        n_calc = 0
        if kind:
            # Figures only: a named period ("年赊销") is quote wording as much as DSO wording.
            n_calc = len(slots.extract(text, forms.CALCULATORS[kind].slots, today=today))
        return {"quote": n_quote, "claim": n_claim, "calculator": n_calc}

    def _bank_says_knowledge(
        self, text: str, lang: str, intent: str, figures: int, *, cued: bool = True
    ) -> bool:
        """A form opens for the user's own case, not for a question the answer bank
        answers ("投保要准备啥资料", "算DSO用含税的还是不含税的") or declines as off-topic
        ("车险理赔要什么材料").

        The form keeps statements of the user's case ("客户拖欠货款，要索赔"), requests to
        compute, claim questions (the checklist gives a cause's documents at once, then
        its dates), and the user's own figures (a sales amount; two claim or calculator
        facts) unless the question is strongly about another topic ("客户已经逾期90天了，
        现在投保还能赔吗" is about buying cover, not a claim to check)."""
        own = figures >= (1 if intent == "quote" else 2)
        cal = self.answerer.engine.matcher.cal
        matches = self._bank_matches(text, lang)
        if not matches:
            return False
        top = matches[0]
        if top.category == OFFTOPIC:  # 花呗欠了一千逾期三个月: figures, but not ours
            return top.score >= cal["answer" if own else "suggest"]
        if not (is_question(text) or _ASKS.search(text)):
            return False
        if self._model_says(text, intent, MODEL_THRESHOLD["other"] if own else MODEL_KEEPS_FORM):
            # The routing model reads a request for this form: at a lower bar when the
            # message carries the user's own figures for it.
            return False
        if (
            not cued
            and top.category not in FORM_TOPICS[intent]
            and top.score >= cal["answer"]
            and not (intent == "claim" and _INSURANCE.search(text))
        ):
            # The form was guessed from figures alone (no word asked for it): a story with
            # amounts and days that asks about another topic ("客户欠80万一年多了，有没有
            # 投诉平台", "owes HK$66k, 90 days late: should we use an agency?") is answered.
            return True
        if own and COMPUTE.search(text):
            return False  # their figures and a request to compute: the form's job
        if own:  # a definition of a term the user just used is no other topic either
            other = top.category not in FORM_TOPICS[intent] | {"glossary"}
            return other and top.score >= cal["override"]
        if intent == "claim":
            if not figures and not _OWN_CLAIM.search(text):
                # No cause and no facts of a case ("理赔要什么材料", "投保要准备啥资料"): a
                # question about how things work, which the bank answers, not a case to check.
                return True
            # A cause was named: only a clear answer on another topic beats the checklist.
            return top.category not in FORM_TOPICS["claim"] and top.score >= cal["answer"]
        if COMPUTE.search(text) and top.score < cal["override"]:
            return False
        return top.score >= cal["suggest"]

    def _insured_case(self, text: str, lang: str) -> bool:
        """The user's own insured account gone bad, asked about as a claim ("发货3个月了钱还
        没到账…我们买了信用险，这个能报吗", "our insurer covers them, can we claim?"): the
        claim checklist, unless the bank answers a narrower question on another topic
        outright ("…没在60天内报逾期，还能赔吗" is the late-notification rule)."""
        if not (
            forms.detect_cause(text) and _INSURED_CASE.search(text) and _CLAIM_QUESTION.search(text)
        ):
            return False
        cal = self.answerer.engine.matcher.cal
        matches = self._bank_matches(text, lang)
        if not matches:
            return True
        top = matches[0]
        return top.category != OFFTOPIC and not (
            top.category not in FORM_TOPICS["claim"] and top.score >= cal["override"]
        )

    @staticmethod
    def _figures(
        text: str, intent: str, kind: str | None, evidence: dict[str, int], today: date
    ) -> int:
        """The user's own figures for the routed form; for a calculator the model named
        (no cue word said which), that calculator's fields."""
        n = evidence.get(intent, 0)
        if intent == "calculator" and kind and not n and forms.calculator_kind(text) is None:
            n = len(slots.extract(text, forms.CALCULATORS[kind].slots, today=today))
        return n

    def _model_says(self, text: str, intent: str, bar: float) -> bool:
        """Does the trained routing model read ``text`` as a request for ``intent``'s form,
        at a probability (``bar``) the bank's topic should not overturn?"""
        form, _, p = self.router.model_form(text)
        return form == intent and p >= bar

    @staticmethod
    def _calc_values(
        kind: str, text: str, today: date, asked: list[str], *, explicit: bool
    ) -> dict[str, Any]:
        """A calculator's fields found in ``text``; for DSO also the period the sales cover.

        A named period ("这个月赊销50万", "monthly credit sales") sets ``period_days`` when
        no day count does. In a message that only continues the conversation it must be the
        point of the message ("按一个月算", "that was monthly"), so "这个月生意不好" after a
        DSO does not re-run it over 30 days.
        """
        form = forms.CALCULATORS[kind]
        found = slots.extract(text, form.slots, today=today, asked=asked, use_defaults=explicit)
        if kind == "payment_plan":
            found.update(_listed_instalments(text, today, found))
        if kind == "dso" and "period_days" not in found:
            period = slots.named_period(text)
            if period and (explicit or found or _period_is_the_point(text)):
                found["period_days"] = period
        return found

    def _continues(
        self, text: str, state: dict[str, Any], intent: str, via: str, today: date
    ) -> str | None:
        """Is this message an answer to the open form (or a correction of the last one)?"""
        active = state.get("active")
        target = active
        if intent not in ("knowledge", "oos", "chitchat") and via == "rule":
            # An explicit new request wins, unless it is the same kind as the open form.
            same = {
                "quote": "estimate_premium",
                "claim": "claim_checklist",
            }.get(intent)
            if same and same == active:
                return active
            if intent == "calculator" and active in forms.CALCULATORS:
                kind = forms.calculator_kind(text)
                return active if kind in (None, active) else None
            return None
        correction = bool(_CORRECTION.search(text))
        previous = active or state.get("last_tool")
        if _CHECKLIST_AGAIN.search(text) and previous == "claim_checklist":
            return "claim_checklist"  # "还缺什么": the checklist itself, with what is held
        if (
            previous == "dso"
            and not re.search(r"吗|怎么|什么|为什么|\b(how|what|why)\b", text, re.I)
            and slots.named_period(text)
            and _period_is_the_point(text)
        ):
            return "dso"  # "按一个月算", "如果是一个季度的呢？", "that was monthly"
        # A value for the tool that just ran, as a what-if or as a statement that reads
        # like a question ("前两年都没什么坏账"): re-run it.
        what_if = bool(_WHAT_IF.search(text)) and bool(
            _A_VALUE.search(text) or premium.resolve_industry(text, self.tools.rating)
        )  # "what happens if the notice is late?" names no value: a knowledge question
        rerun = (what_if or bool(_NO_BAD_DEBT.search(text))) and bool(state.get("last_tool"))
        if target is None and (correction or rerun or not is_question(text)):
            # "不对，是3000万" or "补充下，客户大概15家": more for the tool that just ran.
            target = state.get("last_tool")
        if target is None or target == "lead":
            return None
        follow_up = (
            bool(re.search(r"\d", text))
            and len(text) <= 24
            and not re.search(r"[?？]|吗|怎么|什么|为什么|how|what|why", text, re.I)
        )  # "流动资产900万呢": more numbers for the same calculation
        if (
            is_question(text)
            and not correction
            and not follow_up
            and not (rerun and target == state.get("last_tool"))
            and not self._answers_asked(text, state, today)
        ):
            return None
        if self._fills(target, text, state, today, loose=correction):
            return target
        return None

    def _answers_asked(self, text: str, state: dict[str, Any], today: date) -> bool:
        asked = state.get("asked") or []
        active = state.get("active")
        if not asked or not active:
            return False
        return self._fills(active, text, state, today, question=True)

    def _fills(
        self,
        form_name: str,
        text: str,
        state: dict[str, Any],
        today: date,
        loose: bool = False,
        *,
        question: bool = False,
    ) -> bool:
        """Does ``text`` give a value for ``form_name``?

        For a question, a cause-of-loss word alone is not an answer unless the cause is
        what was asked: "逾期申报期限是多久？" names 逾期 as a topic, it does not say the
        buyer is late, so it is a side question to answer from the knowledge base.
        """
        asked = state.get("asked") or []
        if form_name == "estimate_premium":
            if premium.resolve_industry(text, self.tools.rating) or _NO_BAD_DEBT.search(text):
                return True
            spec = forms.QUOTE
        elif form_name == "claim_checklist":
            if forms.detect_cause(text) and (not question or "cause" in asked):
                return True
            if slots.overdue_due_date(text, today):
                return True
            if slots.reported_flag(text) is not None:
                return True
            cause = state["slots"].get("claim_checklist", {}).get("cause")
            if _HAVE.search(text) and match_documents([text], self.tools.policy, _as_cause(cause)):
                return True
            spec = forms.claim_form(state["slots"].get("claim_checklist", {}).get("cause"))
        elif form_name in forms.CALCULATORS:
            if self._calc_values(form_name, text, today, asked, explicit=loose):
                return True
            spec = forms.CALCULATORS[form_name]
        else:
            return False
        if slots.extract(text, spec.slots, today=today, asked=asked, use_defaults=loose):
            return True
        for name in asked:
            kind = spec.kind(name) if any(s.name == name for s in spec.slots) else None
            if kind and slots.bare_value(text, kind, today) is not None:
                return True
        return False

    # -- fixed replies ----------------------------------------------------------------------

    def _fixed(self, key: str, lang: str, *, refusal: bool = False) -> Turn:
        return Turn(
            answer=t(lang, f"dialogue.{key}"),
            # A thank-you is small talk: reported as chit-chat, answered with its own line.
            intent="chitchat" if key == "thanks" else key,
            suggestions=items(lang, "suggest.default"),
            refusal=refusal,
        )

    # -- knowledge --------------------------------------------------------------------------

    def _knowledge(self, text: str, state: dict[str, Any], lang: str) -> Turn:
        cause = forms.detect_cause(text)
        if cause:
            state["context_cause"] = cause  # a later due date or amount is this case
        ka = self.answerer.answer(text, lang)
        call = self._search_call(text, ka)
        if ka.kind == "offtopic":
            # A near miss (信用卡逾期, 车险理赔): the exemplar's decline names what it is.
            turn = Turn(ka.body, "oos", suggestions=items(lang, "suggest.default"), refusal=True)
        elif ka.kind == "none":
            body = (
                t(lang, "knowledge.low_confidence") + "\n\n" + t(lang, "knowledge.offer_specialist")
            )
            turn = Turn(
                body, "knowledge", suggestions=items(lang, "suggest.knowledge"), refusal=True
            )
        elif ka.kind == "suggest":
            turn = Turn(ka.body, "did_you_mean", suggestions=ka.suggestions)
        else:
            parts = [ka.body]
            if any(c.doc_id.startswith("policy-") for c in ka.citations):
                parts.append(t(lang, "knowledge.sample_note"))
            turn = Turn(
                "\n\n".join(parts),
                "knowledge",
                citations=ka.citations,
                suggestions=ka.suggestions or items(lang, "suggest.knowledge"),
            )
        turn.tool_calls = [call]
        if ka.kind == "faq" and ka.entry_ids:
            turn.entry_id = ka.entry_ids[0]
        if ka.kind in ("offtopic", "none", "suggest"):
            turn.unanswered = ka.log_record()
        return self._remind(turn, state, lang)

    def _aside(self, form: str, text: str) -> str | None:
        """A question sentence beside the figures that asks nothing of the form ("We do
        about RMB 20m of credit sales a year. Do you cover services as well as goods?"):
        no figure in it and none of the form's cue words."""
        # Whole sentences only: a clause cut at a comma ("需要准备些什么") has lost the
        # context that says which form it is about.
        for sentence in re.split(r"(?<=[。？?！!；;\n])|(?<=\.)\s+", text):
            sentence = sentence.strip()
            if (
                len(sentence) >= 6
                and is_question(sentence)
                and not _A_VALUE.search(sentence)
                and not self.router.hits(form, sentence)
                and not (form == "quote" and _PREMIUM_WORDS.search(sentence))
                and not (form == "calculator" and forms.calculator_kind(sentence))
            ):
                return sentence
        return None

    def _bank_matches(self, text: str, lang: str) -> list[EntryMatch]:
        """The answer bank's best entries for a message, an off-topic exemplar stepping
        back when an in-scope entry is closer in meaning (the matcher caches per text)."""
        cal = self.answerer.engine.matcher.cal
        return offtopic_checked(self.answerer.engine.match_entries(text, lang, 8), cal["veto"])

    def _in_scope(self, text: str, lang: str) -> bool:
        """The answer bank does not read the message as off-topic (花呗, 车险 …)."""
        matches = self._bank_matches(text, lang)
        return not matches or matches[0].category != OFFTOPIC

    def _also_asked(
        self,
        turn: Turn,
        text: str,
        lang: str,
        form: str,
        continuing: str | None,
        *,
        force: bool = False,
    ) -> Turn:
        """A message with the user's figures that also asks how something works ("DSO到底
        怎么算？我们月销售500万，应收1500万，这算高吗", "Credit sales are about RMB 6m a year.
        Is credit insurance even worth it for us?") gets the form's result and, below it,
        the answer-bank entry the question matches outright, cited like any bank answer."""
        # A plain question for the form's own figure ("保费大概多少？") is the form's alone:
        # an answer is added for the form's how-it-works wording (its knowledge cues in
        # intents.yaml), for a quote kept over the bank's reading (``force``), or for a
        # sentence of its own that asks nothing of the form (``_aside``). (Any question on
        # another topic was tried: no dev gain, and 2 of 5 additions on the scripted
        # conversations were beside the point.)
        if continuing or turn.refusal:
            return turn
        query = text if force or self.router.knowledge_like(form, text) else self._aside(form, text)
        if not query:
            return turn
        ka = self.answerer.answer(query, lang)
        if ka.kind != "faq" or not ka.entry_ids or not ka.matches:
            return turn
        if ka.matches[0].category == OFFTOPIC:
            return turn
        offset = max((c.n for c in turn.citations), default=0)
        body = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", ka.body)
        head = t(lang, "dialogue.also_asked", question=ka.matches[0].question)
        turn.answer += f"\n\n{head}\n{body}"
        turn.citations = [
            *turn.citations,
            *(c.model_copy(update={"n": c.n + offset}) for c in ka.citations),
        ]
        turn.tool_calls = [*turn.tool_calls, self._search_call(query, ka)]
        return turn

    @staticmethod
    def _search_call(text: str, ka: Any) -> ToolCall:
        hits = ka.result.hits if ka.result is not None else ka.passages
        return ToolCall(
            name="search_knowledge",
            args={"query": text},
            result={
                "kind": ka.kind,
                "entry_ids": ka.entry_ids,
                "alternatives": ka.alternatives,
                "confidence": ka.confidence,
                "no_good_answer": ka.kind in ("none", "offtopic"),
                "entries": [m.as_dict() for m in ka.matches[:3]],
                "hits": [
                    {
                        "doc_id": h.metadata.get("doc_id"),
                        "clause": h.metadata.get("clause"),
                        "id": h.id,
                    }
                    for h in hits
                ],
            },
        )

    def _remind(self, turn: Turn, state: dict[str, Any], lang: str) -> Turn:
        """A side question during a form: answer it, then repeat what the form still needs."""
        active = state.get("active")
        asked = state.get("asked") or []
        if active and asked and active != "lead":
            prompts = [self._ask_text(active, a, lang, state) for a in asked]
            turn.answer += "\n\n" + t(lang, "dialogue.resume")
            turn.answer += " ".join(p for p in prompts if p)
        return turn

    def _oos(self, text: str, state: dict[str, Any], lang: str) -> Turn:
        # Another line of insurance or consumer credit named outright ("信用卡逾期",
        # "中信保诚的理赔"): only the bank's own decline for it (which names what it is),
        # never an answer on our topics.
        other = bool(self.router.other_line(text))
        if _DOMAIN.search(text) or other:
            turn = self._knowledge(text, state, lang)
            if turn.intent == "oos" or (not turn.refusal and not other):
                return turn
        turn = self._fixed("oos", lang, refusal=True)
        turn.unanswered = {"kind": "oos", "confidence": 0.0, "top": []}
        return turn

    # -- citations for tool replies -------------------------------------------------------------

    def _clause_citations(
        self, clauses: list[int], lang: str
    ) -> tuple[list[Citation], dict[int, int]]:
        doc_id = f"{self.tools.policy.policy_id}-{lang}"
        cites: list[Citation] = []
        numbers: dict[int, int] = {}
        for no in clauses:
            if no in numbers:
                continue
            hit = self.answerer.clause_hit(doc_id, no)
            if hit is None:
                continue
            numbers[no] = len(cites) + 1
            cites.append(citation_for(numbers[no], hit))
        return cites, numbers

    # -- quote ---------------------------------------------------------------------------

    def _ask_text(self, form_name: str, slot: str, lang: str, state: dict[str, Any]) -> str:
        if form_name == "estimate_premium":
            return t(lang, f"quote.ask.{slot}")
        if form_name == "claim_checklist":
            return {
                "cause": t(lang, "claim.ask_cause"),
                "due_date": t(lang, "claim.ask_due"),
                "aware_on": t(lang, "claim.ask_aware"),
            }.get(slot, "")
        if form_name in forms.CALCULATORS:
            return t(lang, f"calculator.ask.{form_name}.{slot}")
        return ""

    def _ask(
        self, form_name: str, missing: list[str], state: dict[str, Any], lang: str, intent: str
    ) -> Turn:
        ask = missing[:2]
        state["active"], state["asked"] = form_name, ask
        texts = [self._ask_text(form_name, s, lang, state) for s in ask]
        if len(texts) == 2:
            body = t(lang, "quote.ask_join", a=texts[0], b=texts[1])
        else:
            body = (
                t(lang, "quote.ask_one", a=texts[0]) if form_name != "claim_checklist" else texts[0]
            )
        return Turn(body, intent, suggestions=[], asked=ask)

    def _quote(
        self, text: str, state: dict[str, Any], lang: str, today: date, explicit: bool = True
    ) -> Turn:
        filled: dict[str, Any] = dict(state["slots"].get("estimate_premium", {}))
        asked = state.get("asked") if state.get("active") == "estimate_premium" else []
        industry = premium.resolve_industry(text, self.tools.rating)
        generic = industry is not None and self.tools.rating.industries[industry].generic
        if industry and not (generic and filled.get("industry") and not explicit):
            # "our biggest dealer is 35%": a generic word must not replace 汽配 mid-form.
            filled["industry"] = industry
        found = slots.extract(
            text, forms.QUOTE.slots, today=today, asked=asked, use_defaults=explicit
        )
        if _NO_BAD_DEBT.search(text):
            # Before the bare-value fallback: "過去三年冇壞賬" is no three-year credit term.
            found["bad_debt_losses_3y"] = 0.0
        if not found and asked:
            for name in asked:
                if name == "industry":
                    continue
                value = slots.bare_value(text, forms.QUOTE.kind(name), today)
                if value is not None:
                    found[name] = value
                    break
        share = found.pop("credit_share_pct", None)
        if share and "annual_credit_sales" in found:
            # "营收2.5亿，赊销大概占八成": only the credit part is insured.
            found["annual_credit_sales"] = round(found["annual_credit_sales"] * share / 100, 2)
        if "annual_credit_sales" in found and _monthly(text, found["annual_credit_sales"]):
            # "每月赊销200万" / "2.5M RMB per month": the form wants a year.
            found["annual_credit_sales"] = round(found["annual_credit_sales"] * 12, 2)
        filled.update(found)
        state["slots"]["estimate_premium"] = filled
        missing = forms.QUOTE.missing(filled)
        if missing:
            return self._ask("estimate_premium", missing, state, lang, "quote")
        # Answer first: what is still unknown is assumed and invited, and the form stays
        # open for it, so "做家电的" or "45天" next re-runs the quote.
        refine = [n for n in forms.QUOTE_REFINE if filled.get(n) in (None, "")]
        state["active"] = "estimate_premium" if refine else None
        state["asked"], state["last_tool"] = refine, "estimate_premium"
        try:
            result, call = self.tools.run("estimate_premium", filled, lang)
        except ValidationError as err:
            return self._invalid("estimate_premium", err, state, lang, "quote")
        clauses = [20, 22] + ([17] if result.warnings else [])
        cites, numbers = self._clause_citations(clauses, lang)
        body = render.premium(result, lang, filled["annual_credit_sales"], numbers, unknown=refine)
        body += _basis_line(cites, lang)
        return Turn(body, "quote", cites, [call], items(lang, "suggest.quote"))

    def _invalid(
        self, form_name: str, err: ValidationError, state: dict[str, Any], lang: str, intent: str
    ) -> Turn:
        """A value the tool refuses: drop it and ask for it again, naming the field."""
        errors = err.errors(include_url=False)
        bad = [str(e["loc"][0]) for e in errors if e["loc"]]
        filled = state["slots"].get(form_name, {})
        for name in bad:
            filled.pop(name, None)
        log.info("tool %s refused %s", form_name, bad)
        askable = [b for b in bad if self._ask_text(form_name, b, lang, state)]
        if askable:
            turn = self._ask(form_name, askable, state, lang, intent)
            if any("date_out_of_range" in str(e.get("msg", "")) for e in errors):
                # "9999年12月31日": say why the date is asked again.
                turn.answer = t(lang, "dialogue.date_out_of_range") + "\n\n" + turn.answer
            return turn
        state["active"], state["asked"] = None, []
        return Turn(t(lang, "dialogue.not_understood"), intent, refusal=True)

    # -- claim ---------------------------------------------------------------------------

    def _claim(
        self, text: str, state: dict[str, Any], lang: str, today: date, explicit: bool = True
    ) -> Turn:
        filled: dict[str, Any] = dict(state["slots"].get("claim_checklist", {}))
        for k in ("due_date", "reported_on", "aware_on", "judgment_on"):
            if isinstance(filled.get(k), str):
                filled[k] = date.fromisoformat(filled[k])
        cause = forms.detect_cause(text) or (
            None if filled.get("cause") else state.get("context_cause")
        )
        if cause and (
            not filled.get("cause")
            or cause != "protracted_default"  # "逾期" words must not undo an insolvency
            or "cause" in (state.get("asked") or [])
            or _CORRECTION.search(text)  # "是拖欠 不是破产"
            or re.search(r"不是|not", text, re.I)
        ):
            filled["cause"] = cause
        spec = forms.claim_form(filled.get("cause"))
        asked = state.get("asked") if state.get("active") == "claim_checklist" else []
        found = slots.extract(text, spec.slots, today=today, asked=asked, use_defaults=explicit)
        if not explicit and "amount" not in filled and "amount" not in found:
            # The claim's only money field: an amount in a follow-up ("到期日是8月31号，18万")
            # is the amount owed, cue word or not.
            amount = [s for s in spec.slots if s.name == "amount"]
            found.update(slots.extract(text, amount, today=today, use_defaults=True))
        if not found and asked:
            for name in asked:
                if name == "cause":
                    continue
                value = slots.bare_value(text, spec.kind(name), today)
                if value is not None:
                    found[name] = value
                    break
        filled.update(found)
        if "due_date" in found:
            state.pop("claim_due_assumed", None)
        else:
            period = slots.overdue_period(text)
            if period:
                filled["due_date"] = today - timedelta(days=period[1])
                # "逾期两个月": the dates hang on a count of days the user did not give.
                state["claim_due_assumed"] = list(period) if period[2] else None
        flag = slots.reported_flag(text)
        if flag is not None:
            filled["overdue_reported"] = flag
        if filled.get("reported_on"):
            filled["overdue_reported"] = True
        held = (
            match_documents([text], self.tools.policy, _as_cause(filled.get("cause")))
            if _HAVE.search(text)
            else set()
        )
        if filled.get("overdue_reported"):
            held.add("overdue_notification")  # they said they filed it
        if held:
            filled["documents_held"] = sorted(set(filled.get("documents_held", [])) | set(held))
        state["slots"]["claim_checklist"] = _jsonable(filled)
        if not filled.get("cause"):
            return self._ask("claim_checklist", ["cause"], state, lang, "claim")
        args = {k: v for k, v in filled.items() if v not in (None, "", [])}
        args["today"] = today
        try:
            result, call = self.tools.run("claim_checklist", args, lang)
        except ValidationError as err:
            return self._invalid("claim_checklist", err, state, lang, "claim")
        named = render.clause_refs([*result.warnings, *result.next_steps])
        clauses = sorted({c.clause_no for c in result.citations} | {n for n in named if n > 0})
        cites, numbers = self._clause_citations(clauses, lang)
        shown = f"{filled['cause']}:{','.join(sorted(filled.get('documents_held', [])))}"
        body = render.claim(
            result,
            lang,
            numbers,
            filled.get("amount"),
            # In full when the list changed or they ask for it again ("还缺什么").
            documents_in_full=state.get("claim_docs_shown") != shown
            or bool(_CHECKLIST_AGAIN.search(text) or _ASKS_DOCS.search(text)),
        )
        state["claim_docs_shown"] = shown
        assumed = state.get("claim_due_assumed")
        if assumed and filled.get("due_date") and filled["cause"] != "insolvency":
            head, _, rest = body.partition("\n\n")
            note = t(
                lang,
                "claim.due_assumed",
                words=assumed[0],
                days=assumed[1],
                date=render.day(str(filled["due_date"]), lang),
            )
            body = f"{head}\n\n{note}\n\n{rest}" if rest else f"{head}\n\n{note}"
        follow = ""
        if filled["cause"] == "insolvency" and not filled.get("aware_on"):
            follow = t(lang, "claim.ask_aware")
            state["active"], state["asked"] = "claim_checklist", ["aware_on"]
        elif filled["cause"] != "insolvency" and not filled.get("due_date"):
            follow = t(lang, "claim.ask_due")
            state["active"], state["asked"] = "claim_checklist", ["due_date"]
        else:
            state["active"], state["asked"] = None, []
        state["last_tool"] = "claim_checklist"
        if follow:
            body += "\n\n" + follow
        body += _basis_line(cites, lang)
        return Turn(body, "claim", cites, [call], items(lang, "suggest.claim"))

    # -- calculators ---------------------------------------------------------------------

    def _calculator(
        self,
        text: str,
        state: dict[str, Any],
        lang: str,
        today: date,
        intent: str,
        explicit: bool = True,
    ) -> Turn:
        kind = forms.calculator_kind(text) if intent == "calculator" else intent
        if kind is None and state.get("active") in forms.CALCULATORS:
            kind = state["active"]
        if kind is None:
            kind = state.get("calc")
        if kind is None:
            state["active"], state["asked"] = None, []
            return Turn(
                t(lang, "calculator.which"),
                "calculator",
                suggestions=items(lang, "suggest.calculator"),
            )
        state["calc"] = kind
        form = forms.CALCULATORS[kind]
        filled: dict[str, Any] = dict(state["slots"].get(kind, {}))
        for k, v in list(filled.items()):
            if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                filled[k] = date.fromisoformat(v)
        asked = state.get("asked") if state.get("active") == kind else []
        found = self._calc_values(kind, text, today, asked or [], explicit=explicit)
        if not found and asked:
            for name in asked:
                value = slots.bare_value(text, form.kind(name), today)
                if value is not None:
                    found[name] = value
                    break
        filled.update(found)
        state["slots"][kind] = _jsonable(filled)
        missing = form.missing(filled)
        if missing:
            return self._ask(kind, missing, state, lang, "calculator")
        state["active"], state["asked"], state["last_tool"] = None, [], kind
        try:
            result, call = self.tools.run(kind, filled, lang)
        except ValidationError as err:
            return self._invalid(kind, err, state, lang, "calculator")
        body, cites = self._render_calc(kind, result, filled, lang)
        return Turn(body, "calculator", cites, [call], items(lang, "suggest.calculator"))

    def _render_calc(
        self, kind: str, result: Any, filled: dict[str, Any], lang: str
    ) -> tuple[str, list[Citation]]:
        m = render.money
        if kind == "dso":
            body = t(
                lang,
                "calculator.dso",
                dso=f"{result.dso_days:.1f}",
                receivables=m(filled["receivables"], lang),
                sales=m(filled["credit_sales"], lang),
                days=result.period_days,
            )
            if "period_days" not in filled:
                # Nothing said which period the sales cover: say the year was assumed, so a
                # month's sales read as a year's can be corrected ("按一个月算").
                body += "\n\n" + t(lang, "calculator.dso_assumed", days=result.period_days)
            return body + "\n\n" + result.interpretation, []
        if kind == "liquidity":
            body = t(lang, "calculator.liquidity_cash", ratio=f"{result.cash_ratio:.2f}")
            if result.current_ratio is not None:
                body += "\n\n" + t(
                    lang, "calculator.liquidity_current", ratio=f"{result.current_ratio:.2f}"
                )
            return body + "\n\n" + result.interpretation, []
        if kind == "recovery_sales":
            body = t(
                lang,
                "calculator.recovery",
                sales=m(result.sales_needed, lang),
                bad_debt=m(filled["bad_debt"], lang),
                margin=render.pct(filled["margin_pct"]),
                multiple=f"{result.multiple:.1f}",
            )
            return body + "\n\n" + result.interpretation, []
        # payment plan
        lines = [*result.warnings, *result.notes]
        cites, numbers = self._clause_citations([result.clause, *render.clause_refs(lines)], lang)
        rows = [
            t(
                lang,
                "calculator.plan_row",
                n=i.n,
                date=render.day(i.date, lang),
                amount=m(i.amount, lang),
                flag=t(lang, "calculator.plan_flag") if i.needs_consent else "",
            )
            for i in result.schedule
        ]
        body = t(
            lang, "calculator.plan_header", n=len(result.schedule), amount=m(filled["amount"], lang)
        )
        body += "\n" + render.bullets(rows)
        if lines:
            body += "\n\n" + render.bullets([render.cite_refs(x, numbers) for x in lines])
        return body, cites

    # -- lead -----------------------------------------------------------------------------

    def _with_notice(self, text: str, state: dict[str, Any], lang: str) -> str:
        """``text`` followed by the consent notice (once per session is enough)."""
        settings = self.tools.settings
        if settings is None or state.get("consent_shown"):
            return text
        state["consent_shown"] = True
        return f"{text}\n\n{privacy.notice(lang, settings)}"

    def _lead(
        self,
        text: str,
        state: dict[str, Any],
        lang: str,
        session_id: str,
        transcript: list[dict[str, Any]],
        channel: str,
    ) -> Turn:
        info: dict[str, Any] = dict(state.get("lead_slots") or {})
        raw_phone = (
            forms.PHONE_CANDIDATE.search(text)
            or forms.LOOSE_PHONE.search(text)
            or re.search(r"\+?\d[\d\s-]{3,}\d", text)
        )
        name = forms.extract_name(text, phone_span=raw_phone.span() if raw_phone else None)
        if name:
            info["name"] = name
        company = forms.extract_company(text)
        if company:
            info["company"] = company
        bad_phone = False
        if raw_phone:
            try:
                info["phone"] = leads.normalize_phone(raw_phone.group(0))
            except leads.PhoneError:
                bad_phone = True
        previous = state.get("lead_slots", {}).get("phone")
        state["lead_slots"] = info
        lead_id = (state.get("lead") or {}).get("lead_id")
        if lead_id and not bad_phone and (info.get("phone") != previous or name or company):
            # "号码打错了，应该是…" after the hand-off: correct the stored lead, don't add one.
            self.tools.store.update_lead_contact(
                lead_id,
                name=name,
                company=company,
                phone=info.get("phone") if info.get("phone") != previous else None,
            )
            return Turn(t(lang, "lead.updated"), "lead", handoff=True, lead_id=lead_id)
        if bad_phone:
            state["active"], state["asked"] = "lead", ["phone"]
            return Turn(
                self._with_notice(t(lang, "lead.invalid_phone"), state, lang),
                "lead",
                asked=["phone"],
            )
        if not info.get("phone"):
            first = state.get("active") != "lead"
            state["active"], state["asked"] = "lead", ["phone"]
            key = "lead.ask_contact" if first else "lead.ask_phone"
            return Turn(self._with_notice(t(lang, key), state, lang), "lead", asked=["phone"])
        history = [*[m["content"] for m in transcript if m.get("role") == "user"][-6:], text]
        need = forms.infer_need(state.get("last_tool"), " ".join(history))
        details = t(lang, "lead.summary_prefix") + " / ".join(history)
        try:
            inp = leads.LeadInput(
                name=info.get("name") or "",
                phone=info["phone"],
                company=info.get("company") or "",
                need=need,
                details=details[:2000],
                session_id=session_id,
                channel=channel,
            )
        except ValidationError:
            state["active"], state["asked"] = "lead", ["phone"]
            return Turn(t(lang, "lead.invalid_phone"), "lead", asked=["phone"])
        full = [*transcript, {"role": "user", "content": text}]
        # 个人信息保护法: a number given after the notice was shown is given with consent
        # (recorded with the notice version); one given before it is stored all the same (a
        # lead is never dropped) without a consent record, and the notice follows now.
        settings = self.tools.settings
        shown = bool(state.get("consent_shown")) and settings is not None
        consent = privacy.consent_now(settings) if shown and settings is not None else None
        result, call = self.tools.capture_lead(inp, transcript=full, lang=lang, consent=consent)
        state["active"], state["asked"] = None, []
        state["lead"] = {"lead_id": result.lead_id}
        message = result.message if shown else self._with_notice(result.message, state, lang)
        return Turn(
            message,
            "lead",
            tool_calls=[call],
            suggestions=items(lang, "suggest.lead"),
            handoff=True,
            lead_id=result.lead_id,
        )
