"""The UI's pure parts without a browser: rendering, form parsing and validation messages,
the lead form, and the chat callbacks against the real Assistant."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.i18n import lookup, t
from assistant.knowledge.params import load_policy_params, load_rating_params
from assistant.models import Citation, Reply
from assistant.storage import Store
from assistant.tools.leads import phone_error_message
from assistant.tools.registry import Toolbox
from assistant.ui import build_ui, forms, render
from assistant.ui.chat import CHIPS, ChatController, UiState

KNOWLEDGE = PROJECT_ROOT / "knowledge"


def _keys(node: Any, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix.rstrip(".")}
    out: set[str] = set()
    for key, value in node.items():
        out |= _keys(value, f"{prefix}{key}.")
    return out


@pytest.fixture
def bench(tmp_path: Path) -> SimpleNamespace:
    """What the forms need of an Assistant: the real Toolbox and a real store."""
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    toolbox = Toolbox(
        policy=load_policy_params(KNOWLEDGE / "policy.yaml"),
        rating=load_rating_params(KNOWLEDGE / "rating.yaml"),
        store=store,
        today=lambda: date(2026, 11, 28),
    )
    return SimpleNamespace(toolbox=toolbox, store=store)


def text_of(markup: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", markup))


# --- locale -------------------------------------------------------------------------------


def test_every_ui_string_exists_in_both_languages() -> None:
    zh, en = _keys(lookup("zh", "ui")), _keys(lookup("en", "ui"))
    assert zh == en, sorted(zh ^ en)
    assert len(lookup("zh", "ui.chat.examples")) == len(lookup("en", "ui.chat.examples"))


def test_the_page_builds_from_the_locale_without_an_assistant() -> None:
    # Every label used at build time resolves; the Assistant is only asked for on use.
    settings = Settings(knowledge_dir=KNOWLEDGE, _env_file=None)  # type: ignore[call-arg]
    demo = build_ui(lambda: pytest.fail("the Assistant was built at mount time"), settings)
    assert isinstance(demo, gr.Blocks)


# --- rendering ----------------------------------------------------------------------------


def _reply(answer: str, citations: list[Citation]) -> Reply:
    return Reply(session_id="s_1", message_id="m_1", answer=answer, lang="zh", citations=citations)


def test_answer_footnotes_match_the_markers_and_open_to_the_snippet() -> None:
    cites = [
        Citation(
            n=1,
            doc_id="p",
            title="示例条款",
            section="第七章 > 第二十五条",
            clause="第二十五条",
            snippet="应当在 60 天内申报。",
        ),
        Citation(n=2, doc_id="f", title="FAQ", section="理赔 > 多久申报？", snippet="六十天。"),
    ]
    md = render.answer_markdown(_reply("六十天内申报 [1]，见 FAQ [2]，另见 [7]。", cites), "zh")
    assert '<sup class="ca-ref">[1]</sup>' in md and '<sup class="ca-ref">[2]</sup>' in md
    assert "[7]" in md and '<sup class="ca-ref">[7]' not in md  # no footnote, no link
    notes = md.split("\n\n", 1)[1]
    assert "\n\n" not in notes  # one HTML block for the Markdown renderer
    assert notes.count("<details>") == 2
    assert "示例条款 · 第二十五条" in notes and "FAQ · 多久申报？" in notes
    assert "应当在 60 天内申报。" in notes
    assert lookup("zh", "ui.chat.sources") in notes


def test_footnotes_escape_document_text() -> None:
    cite = Citation(n=1, doc_id="x", title="<b>t</b>", snippet="<script>alert(1)</script>")
    html = render.footnotes_html([cite], "en")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert render.footnotes_html([], "en") == ""


def test_premium_result_shows_range_factors_and_proportional_bars(bench: Any) -> None:
    html = forms.premium(bench, "zh", "5000万", "electronics", "30", "", "", "", "", "")
    est, _ = bench.toolbox.run(
        "estimate_premium",
        {"annual_credit_sales": 5e7, "industry": "electronics", "buyer_count": 30},
        "zh",
    )
    text = text_of(html)
    for amount in ("89,100 元", "143,550 元", "198,000 元"):
        assert amount in text
    assert html.count('<tr class="ca-factor') == len(est.breakdown)
    widths = [
        float(w)
        for w in re.findall(r'ca-bar ca-bar-(?:low|base|high)"><span style="width:([\d.]+)%', html)
    ]
    assert widths == pytest.approx(
        [est.low / est.high * 100, est.base / est.high * 100, 100.0], abs=0.1
    )
    assert est.disclaimer in text


def test_claim_result_lists_held_and_missing_documents_and_a_dated_timeline(bench: Any) -> None:
    html = forms.claim(
        bench, "en", "protracted_default", "2026-09-01", "", "", "300,000", "unknown", ["invoices"]
    )
    held = html.split('class="ca-docs ca-held"')[1]
    missing = html.split('class="ca-docs ca-missing"')[1].split("</section>")[0]
    assert "Invoices" in held and "Invoices" not in missing and "Claim form" in missing
    dates = re.findall(r'<time datetime="([\d-]+)"', html)
    assert dates == sorted(dates) and "2026-10-31" in dates and "2027-01-29" in dates
    assert "passed 28 days ago" in html  # the notification deadline, counted from today
    assert "270,000" in html  # 300,000 × the sample policy's 90 %


def test_claim_ignores_the_hidden_date_of_another_cause(bench: Any) -> None:
    # An awareness date typed, then the cause switched to default: it must not be sent.
    html = forms.claim(
        bench, "zh", "protracted_default", "2026-09-01", "2026-10-01", "", "", "unknown", []
    )
    assert "ca-claim" in html and "ca-error" not in html


def test_claim_documents_offered_are_the_tools_own(bench: Any) -> None:
    policy = bench.toolbox.policy
    insolvency = dict(forms.documents_for(policy, "insolvency", "zh"))
    default = dict(forms.documents_for(policy, "protracted_default", "en"))
    assert "insolvency_ruling" in insolvency.values()
    assert "insolvency_ruling" not in default.values() and "Invoices" in default


def test_dso_liquidity_and_payment_plan_render_their_results(bench: Any) -> None:
    dso = forms.dso(bench, "zh", "350万", "5000万", 365, "30")
    assert "DSO 约 25.6 天" in text_of(dso)
    cash = forms.liquidity(bench, "en", "120万", "", "200万", "")
    assert "Cash ratio 0.60." in text_of(cash)
    plan = forms.payment_plan(bench, "zh", "30万", 3, "2026-10-01", 30, "2026-09-01")
    assert plan.count("<tr") == 4  # header + 3 instalments
    assert plan.count(lookup("zh", "ui.calc.needs_consent")) == 2  # 1 Nov and 1 Dec


# --- input parsing and validation messages -------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("5000万", 5e7),
        ("5000 万", 5e7),
        ("1.2亿", 1.2e8),
        ("50,000,000", 5e7),
        ("¥300,000", 3e5),
        ("0", 0.0),
        ("-5", -5.0),
        ("", None),
    ],
)
def test_amounts_are_read_as_owners_type_them(typed: str, value: float | None) -> None:
    assert forms.parse_amount(typed) == value


@pytest.mark.parametrize(
    ("typed", "value"),
    [("30", 30), ("60天", 60), ("35%", 35), ("3.5", 3.5), ("-5", -5), (" ", None)],
)
def test_counts_days_and_percentages_are_read(typed: str, value: float | None) -> None:
    assert forms.parse_quantity(typed) == value


def test_unreadable_fields_are_all_named_in_the_ui_language(bench: Any) -> None:
    html = forms.premium(bench, "zh", "很多", "electronics", "不知道", "", "", "", "", "")
    assert "年赊销额（含税，元）：请填写金额" in text_of(html)
    assert "买方数量（家）：请填写数字" in text_of(html)
    assert "Traceback" not in html


def test_tool_validation_errors_name_the_form_labels(bench: Any) -> None:
    missing = text_of(forms.premium(bench, "en", "", None, "", "", "", "", "", ""))
    assert lookup("en", "ui.premium.sales") in missing
    # The industry has a default (the "other industries" range, stated in the quote).
    assert lookup("en", "ui.premium.industry") not in missing
    assert "annual_credit_sales" not in missing
    low = text_of(forms.premium(bench, "zh", "5000万", "electronics", "0", "", "", "", "", ""))
    assert "买方数量（家） 不能小于 1" in low


def test_cross_field_rules_get_a_sentence_in_each_language(bench: Any) -> None:
    zh = text_of(forms.premium(bench, "zh", "5000万", "electronics", "", "", "90", "60", "", ""))
    en = text_of(forms.premium(bench, "en", "5000万", "electronics", "", "", "90", "60", "", ""))
    assert lookup("zh", "ui.errors.rules.max_credit_days") in zh
    assert lookup("en", "ui.errors.rules.max_credit_days") in en
    assert "avg_credit_days" not in zh + en


# --- lead form ----------------------------------------------------------------------------


AGREED = (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), "2026-12-01")


def test_lead_form_shows_the_phone_error_in_the_ui_language(bench: Any) -> None:
    for lang in ("zh", "en"):
        html, lead_id = forms.lead(
            bench, lang, "s_ui1", "claims", "", "12345", "", "", consent=AGREED
        )
        assert lead_id is None and phone_error_message(lang) in html
    assert bench.store.list_leads() == []


def test_lead_form_stores_nothing_without_the_consent_tick(bench: Any) -> None:
    for lang in ("zh", "en"):
        html, lead_id = forms.lead(bench, lang, "s_ui0", "claims", "", "13812340000", "", "")
        assert lead_id is None and t(lang, "consent.required") in text_of(html)
    assert bench.store.list_leads() == []


def test_lead_form_is_idempotent_per_session_and_keeps_a_late_name(bench: Any) -> None:
    first, lead_id = forms.lead(
        bench, "zh", "s_ui2", "receivables", "", "138 1234 5678", "", "", consent=AGREED
    )
    again, same = forms.lead(
        bench, "zh", "s_ui2", "应收账款管理", "李总", "13812345678", "甲公司", "", consent=AGREED
    )
    assert lead_id is not None and same == lead_id
    assert "5678" in text_of(first) and "ca-ok" in again
    (lead,) = bench.store.list_leads()
    assert (lead["phone"], lead["need"], lead["name"], lead["company"], lead["channel"]) == (
        "+8613812345678",
        "receivables",
        "李总",
        "甲公司",
        "ui",
    )
    assert lead["consent_at"] == AGREED[0].isoformat() and lead["consent_version"] == AGREED[1]


# --- chat callbacks (the real Assistant behind the test server) -----------------------------


def _chatbot(frame: tuple[Any, ...]) -> Any:
    return frame[0]


def test_respond_streams_then_shows_footnotes_and_chips(api_server: Any) -> None:
    chat = ChatController(lambda: api_server.assistant)
    state = UiState()
    frames = list(chat.respond("逾期申报期限是多久？", "zh", state))
    shown = [f[0][-1]["content"] for f in frames if isinstance(f[0], list)]
    partial = shown[1:-1]
    assert len(partial) >= 2 and all(b.startswith(a) for a, b in pairwise(partial))
    assert "ca-cites" in shown[-1] and "ca-cites" not in partial[-1]
    final = frames[-1]
    chips = final[2 : 2 + CHIPS]
    reply = api_server.assistant.store.transcript(state.session_id)[-1]
    assert state.message_ids == {1: reply["id"]}
    visible = [c["value"] for c in chips if c.get("visible")]
    assert visible == reply["reply"]["suggestions"]
    assert final[-1] is state


@pytest.mark.parametrize(
    ("message", "switch", "expected"),
    [
        ("How long do I have to report an overdue payment?", "zh", "en"),
        ("逾期申报期限是多久？", "en", "zh"),  # the owner's own language wins
        ("60", "en", "en"),  # the text does not say: the switch decides
        ("60", "zh", "zh"),
    ],
)
def test_replies_follow_the_language_written_and_the_switch_decides_ambiguous_text(
    api_server: Any, message: str, switch: str, expected: str
) -> None:
    chat = ChatController(lambda: api_server.assistant)
    state = UiState()
    list(chat.respond(message, switch, state))
    reply = api_server.assistant.store.transcript(state.session_id)[-1]["reply"]
    assert reply["lang"] == expected


def test_feedback_helpful_once_and_not_helpful_with_its_reason(api_server: Any) -> None:
    store = api_server.assistant.store
    chat = ChatController(lambda: api_server.assistant)
    state = UiState()
    list(chat.respond("信用保险保什么？", "zh", state))
    ((index, message_id),) = state.message_ids.items()

    def like(liked: bool | str) -> Any:
        return chat.on_like(
            "zh", state, gr.LikeData(None, {"index": index, "value": [], "liked": liked})
        )

    like(True)
    like(True)  # the same thumb again is not a second row
    assert [(r["rating"], r["reason"]) for r in store.feedback(state.session_id)] == [(1, None)]

    panel = like(False)[0]
    assert panel["visible"] is True and state.pending_dislike == message_id
    chat.send_reason("zh", "答案不准确", " 条款号不对 ", state)
    rows = store.feedback(state.session_id)
    assert [(r["message_id"], r["rating"], r["reason"]) for r in rows][-1] == (
        message_id,
        -1,
        "答案不准确; 条款号不对",
    )


def test_an_unanswered_dislike_is_stored_at_the_next_question(api_server: Any) -> None:
    store = api_server.assistant.store
    chat = ChatController(lambda: api_server.assistant)
    state = UiState()
    list(chat.respond("DSO 怎么算？", "zh", state))
    chat.on_like("zh", state, gr.LikeData(None, {"index": 1, "value": [], "liked": False}))
    assert store.feedback(state.session_id) == []
    list(chat.respond("谢谢", "zh", state))
    assert [(r["rating"], r["reason"]) for r in store.feedback(state.session_id)] == [(-1, None)]


def test_new_chat_starts_a_new_session_and_keeps_the_forms(api_server: Any) -> None:
    chat = ChatController(lambda: api_server.assistant)
    state = UiState(forms={"dso": ("1", "2", 365, "")})
    list(chat.respond("你好", "zh", state))
    first = state.session_id
    fresh = chat.new_chat(state)[-1]
    assert fresh.session_id is None and fresh.messages == [] and fresh.forms == state.forms
    assert fresh.session() != first


def test_a_failing_turn_shows_an_apology_not_a_trace() -> None:
    def broken() -> Any:
        raise RuntimeError("index missing at /secret/path")

    state = UiState()
    frames = list(ChatController(broken).respond("你好", "en", state))
    answer = frames[-1][0][-1]["content"]
    assert answer == lookup("en", "ui.chat.error") and "/secret" not in answer


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9月1日", date(2026, 9, 1)),
        ("2026/9/1", date(2026, 9, 1)),
        ("2026-09-01", date(2026, 9, 1)),
        ("上月底", date(2026, 10, 31)),
        ("1 September", date(2026, 9, 1)),
        ("", None),
        ("  ", None),
    ],
)
def test_form_date_fields_read_dates_as_chat_does(typed: str, expected: date | None) -> None:
    assert forms.parse_form_date(typed, date(2026, 11, 28)) == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_unreadable_form_date_is_named_in_the_users_language(
    lang: str, bench: SimpleNamespace
) -> None:
    with pytest.raises(ValueError):
        forms.parse_form_date("下个什么时候", date(2026, 11, 28))
    fake = SimpleNamespace(**vars(bench), today=lambda: date(2026, 11, 28))
    html = forms.claim(fake, lang, "protracted_default", "sometime soon", None, None, "", "", [])
    label = lookup(lang, "ui.claim.due_date")
    assert unescape(html).count(label) == 1
    assert lookup(lang, "ui.errors.date").split("{field}")[1][:6] in unescape(html)
    plan = forms.payment_plan(fake, lang, "36万", 6, "9月1日", 30, "next-ish")
    assert lookup(lang, "ui.calc.original_due") in unescape(plan)
    assert lookup(lang, "ui.calc.first_date") not in unescape(plan)
