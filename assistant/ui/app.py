"""The Blocks app: layout and event wiring only; the work is in ``chat``, ``forms`` and
``render``.

Every visible string is registered with a :class:`Localizer` next to the component that
shows it, so the language switch can relabel the whole page in place (one ``gr.update``
per component) and no string can be forgotten by a hand-written list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from assistant import i18n, privacy
from assistant.config import Settings
from assistant.knowledge.params import load_policy_params, load_rating_params
from assistant.tools.leads import NEED_LABELS, NEEDS
from assistant.ui import forms, render
from assistant.ui.chat import CHIPS, ChatController, UiState, chip_updates, translate_chip
from assistant.ui.strings import DEFAULT_LANG, norm_lang, ui_list, ui_map, ui_text
from assistant.ui.theme import HEAD, THEME

CHAT_CONCURRENCY = 8
"""Chat turns streamed at once (Gradio's default is 1, which would queue every visitor
behind one answer); the Assistant serialises turns within a session itself."""

Text = str | Callable[[str], Any]
"""A ``ui.`` locale key, or a function of the language for composed values."""


@dataclass
class _Entry:
    component: Any
    props: dict[str, Text]


class Localizer:
    """Creates components with their strings in the default language and remembers which
    properties come from which locale key, to rebuild them for another language."""

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        self.lang = lang
        self.entries: list[_Entry] = []

    @staticmethod
    def resolve(text: Text, lang: str) -> Any:
        return text(lang) if callable(text) else ui_text(lang, text)

    def add(self, cls: Callable[..., Any], text: dict[str, Text], **kwargs: Any) -> Any:
        values = {prop: self.resolve(key, self.lang) for prop, key in text.items()}
        component = cls(**values, **kwargs)
        self.entries.append(_Entry(component, text))
        return component

    @property
    def components(self) -> list[Any]:
        return [e.component for e in self.entries]

    def updates(self, lang: str) -> list[Any]:
        return [
            gr.update(**{prop: self.resolve(key, lang) for prop, key in e.props.items()})
            for e in self.entries
        ]


def _pairs(mapping: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) choices from a locale mapping of id -> label."""
    return [(label, key) for key, label in mapping.items()]


def build_ui(get_assistant: Callable[[], Any], settings: Settings) -> gr.Blocks:
    """The whole page. Parameters are read from ``knowledge/*.yaml`` at build time for
    the choices (industries, claim documents); the Assistant is only asked for when a
    visitor acts, so mounting the UI does not wait for the index to load."""
    policy = load_policy_params(settings.knowledge_dir / "policy.yaml")
    rating = load_rating_params(settings.knowledge_dir / "rating.yaml")
    chat = ChatController(get_assistant)
    loc = Localizer()
    lang0 = loc.lang

    def industries(lang: str) -> list[tuple[str, str]]:
        return [(getattr(ind, lang), key) for key, ind in rating.industries.items()]

    def needs(lang: str) -> list[tuple[str, str]]:
        return [(NEED_LABELS[n][lang], n) for n in NEEDS]

    def examples(lang: str) -> list[dict[str, str]]:
        return [{"text": q} for q in ui_list(lang, "chat.examples")]

    private: dict[str, Any] = {"api_visibility": "private"}

    with gr.Blocks(title=ui_text(lang0, "title")) as demo:
        state = gr.State(UiState())

        with gr.Row(elem_classes="ca-top", equal_height=False):
            # min_width: on a phone the language switch wraps below the title.
            with gr.Column(scale=4, min_width=320):
                loc.add(
                    gr.HTML,
                    {"value": render.header_html},
                    head=HEAD,
                    elem_id="ca-header",
                    js_on_load=None,
                )
            with gr.Column(scale=1, min_width=170, elem_classes="ca-lang"):
                lang = loc.add(
                    gr.Radio,
                    {"label": "lang_label"},
                    choices=_pairs(ui_map(lang0, "lang_names")),
                    value=lang0,
                    elem_id="ca-lang",
                )

        with gr.Tabs(elem_id="ca-tabs", overflow_behavior="wrap"):
            # --- chat --------------------------------------------------------------------
            with loc.add(gr.Tab, {"label": "tabs.chat"}, id="chat", elem_id="ca-tab-chat"):
                chatbot = loc.add(
                    gr.Chatbot,
                    {"label": "chat.label", "placeholder": "chat.empty", "examples": examples},
                    elem_id="ca-chat",
                    height="min(62vh, 560px)",
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=[],
                    layout="bubble",
                )
                with gr.Row(elem_classes="ca-chips", elem_id="ca-chips"):
                    chips = [
                        gr.Button(visible=False, size="sm", variant="secondary", scale=0)
                        for _ in range(CHIPS)
                    ]
                with gr.Group(visible=False, elem_id="ca-feedback") as panel:
                    reason_choice = loc.add(
                        gr.Radio,
                        {
                            "label": "feedback.reason_label",
                            "choices": lambda lang: ui_list(lang, "feedback.reasons"),
                        },
                        elem_id="ca-feedback-choice",
                    )
                    reason_text = loc.add(
                        gr.Textbox,
                        {"label": "feedback.details_label", "placeholder": "feedback.details_ph"},
                        lines=1,
                        max_length=500,
                        elem_id="ca-feedback-text",
                    )
                    with gr.Row():
                        reason_send = loc.add(
                            gr.Button, {"value": "feedback.send"}, variant="primary", size="sm"
                        )
                        reason_skip = loc.add(gr.Button, {"value": "feedback.skip"}, size="sm")
                with gr.Row(equal_height=True):
                    textbox = loc.add(
                        gr.Textbox,
                        {"placeholder": "chat.placeholder", "label": "chat.input_label"},
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        max_length=2000,
                        scale=5,
                        elem_id="ca-input",
                    )
                    send = loc.add(
                        gr.Button,
                        {"value": "chat.send"},
                        variant="primary",
                        scale=0,
                        min_width=72,
                        elem_classes="ca-send",
                        elem_id="ca-send",
                    )
                new_chat = loc.add(
                    gr.Button, {"value": "chat.new"}, size="sm", variant="secondary", scale=0
                )

            # --- premium -----------------------------------------------------------------
            with loc.add(gr.Tab, {"label": "tabs.premium"}, id="premium"):
                loc.add(gr.Markdown, {"value": "premium.intro"})
                with gr.Row():
                    p_sales = loc.add(
                        gr.Textbox,
                        {"label": "premium.sales", "placeholder": "premium.sales_ph"},
                        max_length=40,
                        elem_id="ca-premium-sales",
                    )
                    p_industry = loc.add(
                        gr.Dropdown,
                        {"label": "premium.industry", "choices": industries},
                        value=None,
                        elem_id="ca-premium-industry",
                    )
                with gr.Row():
                    p_buyers = loc.add(
                        gr.Textbox,
                        {"label": "premium.buyers", "placeholder": "premium.buyers_ph"},
                        max_length=20,
                    )
                    p_share = loc.add(
                        gr.Textbox,
                        {"label": "premium.share", "placeholder": "premium.share_ph"},
                        max_length=20,
                    )
                with gr.Row():
                    p_avg = loc.add(
                        gr.Textbox,
                        {"label": "premium.avg_days", "placeholder": "premium.avg_days_ph"},
                        max_length=20,
                    )
                    p_max = loc.add(
                        gr.Textbox,
                        {"label": "premium.max_days", "placeholder": "premium.max_days_ph"},
                        max_length=20,
                    )
                with gr.Row():
                    p_bad = loc.add(
                        gr.Textbox,
                        {"label": "premium.bad_debt", "placeholder": "premium.bad_debt_ph"},
                        max_length=40,
                    )
                    p_indemnity = loc.add(
                        gr.Textbox,
                        {"label": "premium.indemnity", "placeholder": "premium.indemnity_ph"},
                        max_length=20,
                    )
                p_go = loc.add(
                    gr.Button,
                    {"value": "premium.submit"},
                    variant="primary",
                    elem_id="ca-premium-go",
                )
                p_out = gr.HTML(elem_id="ca-premium-result")

            # --- claim checklist ---------------------------------------------------------
            with loc.add(gr.Tab, {"label": "tabs.claim"}, id="claim"):
                loc.add(gr.Markdown, {"value": "claim.intro"})
                c_cause = loc.add(
                    gr.Radio,
                    {
                        "label": "claim.cause",
                        "choices": lambda lang: _pairs(ui_map(lang, "claim.causes")),
                    },
                    value="protracted_default",
                    elem_id="ca-claim-cause",
                )
                with gr.Row():
                    c_due = loc.add(
                        gr.Textbox,
                        {
                            "label": "claim.due_date",
                            "placeholder": "claim.date_ph",
                            "info": "claim.due_date_info",
                        },
                        max_length=40,
                        elem_id="ca-claim-due",
                    )
                    c_amount = loc.add(
                        gr.Textbox,
                        {"label": "claim.amount", "placeholder": "claim.amount_ph"},
                        max_length=40,
                        elem_id="ca-claim-amount",
                    )
                with gr.Row():
                    c_aware = loc.add(
                        gr.Textbox,
                        {
                            "label": "claim.aware_on",
                            "placeholder": "claim.date_ph",
                            "info": "claim.aware_on_info",
                        },
                        max_length=40,
                        visible=False,
                    )
                    c_judgment = loc.add(
                        gr.Textbox,
                        {
                            "label": "claim.judgment_on",
                            "placeholder": "claim.date_ph",
                            "info": "claim.judgment_on_info",
                        },
                        max_length=40,
                        visible=False,
                    )
                c_reported = loc.add(
                    gr.Radio,
                    {
                        "label": "claim.reported",
                        "choices": lambda lang: _pairs(ui_map(lang, "claim.reported_choices")),
                    },
                    value="unknown",
                )
                c_docs = loc.add(
                    gr.CheckboxGroup,
                    {"label": "claim.documents", "info": "claim.documents_info"},
                    choices=forms.documents_for(policy, "protracted_default", lang0),
                    elem_id="ca-claim-docs",
                )
                c_go = loc.add(
                    gr.Button, {"value": "claim.submit"}, variant="primary", elem_id="ca-claim-go"
                )
                c_out = gr.HTML(elem_id="ca-claim-result")

            # --- calculators -------------------------------------------------------------
            with loc.add(gr.Tab, {"label": "tabs.calculators"}, id="calculators"), gr.Tabs():
                with loc.add(gr.Tab, {"label": "calc.dso_tab"}, id="dso"):
                    loc.add(gr.Markdown, {"value": "calc.dso_intro"})
                    with gr.Row():
                        d_recv = loc.add(
                            gr.Textbox,
                            {"label": "calc.receivables", "placeholder": "calc.amount_ph"},
                            max_length=40,
                        )
                        d_sales = loc.add(
                            gr.Textbox,
                            {"label": "calc.credit_sales", "placeholder": "calc.amount_ph"},
                            max_length=40,
                        )
                    with gr.Row():
                        d_period = loc.add(
                            gr.Number, {"label": "calc.period_days"}, value=365, precision=0
                        )
                        d_terms = loc.add(
                            gr.Textbox,
                            {"label": "calc.terms_days", "placeholder": "calc.terms_days_ph"},
                            max_length=20,
                        )
                    d_go = loc.add(gr.Button, {"value": "calc.submit"}, variant="primary")
                    d_out = gr.HTML(elem_id="ca-dso-result")
                with loc.add(gr.Tab, {"label": "calc.cash_tab"}, id="liquidity"):
                    loc.add(gr.Markdown, {"value": "calc.cash_intro"})
                    with gr.Row():
                        l_cash = loc.add(
                            gr.Textbox,
                            {"label": "calc.cash", "placeholder": "calc.amount_ph"},
                            max_length=40,
                        )
                        l_sec = loc.add(
                            gr.Textbox,
                            {"label": "calc.securities", "placeholder": "calc.optional_ph"},
                            max_length=40,
                        )
                    with gr.Row():
                        l_liab = loc.add(
                            gr.Textbox,
                            {"label": "calc.liabilities", "placeholder": "calc.amount_ph"},
                            max_length=40,
                        )
                        l_assets = loc.add(
                            gr.Textbox,
                            {"label": "calc.current_assets", "placeholder": "calc.optional_ph"},
                            max_length=40,
                        )
                    l_go = loc.add(gr.Button, {"value": "calc.submit"}, variant="primary")
                    l_out = gr.HTML(elem_id="ca-liquidity-result")
                with loc.add(gr.Tab, {"label": "calc.plan_tab"}, id="plan"):
                    loc.add(gr.Markdown, {"value": "calc.plan_intro"})
                    with gr.Row():
                        pl_amount = loc.add(
                            gr.Textbox,
                            {"label": "calc.plan_amount", "placeholder": "calc.amount_ph"},
                            max_length=40,
                        )
                        pl_n = loc.add(
                            gr.Number, {"label": "calc.instalments"}, value=3, precision=0
                        )
                    with gr.Row():
                        pl_due = loc.add(
                            gr.Textbox,
                            {"label": "calc.original_due", "placeholder": "calc.date_ph"},
                            max_length=40,
                        )
                        pl_first = loc.add(
                            gr.Textbox,
                            {"label": "calc.first_date", "placeholder": "calc.date_ph"},
                            max_length=40,
                        )
                    pl_interval = loc.add(
                        gr.Number,
                        {"label": "calc.interval", "info": "calc.interval_info"},
                        value=30,
                        precision=0,
                    )
                    pl_go = loc.add(gr.Button, {"value": "calc.submit"}, variant="primary")
                    pl_out = gr.HTML(elem_id="ca-plan-result")

            # --- talk to a specialist ----------------------------------------------------
            with loc.add(gr.Tab, {"label": "tabs.specialist"}, id="specialist"):
                loc.add(gr.Markdown, {"value": "lead.intro"})
                k_need = loc.add(
                    gr.Dropdown,
                    {"label": "lead.need", "choices": needs},
                    value=NEEDS[0],
                    elem_id="ca-lead-need",
                )
                with gr.Row():
                    k_name = loc.add(gr.Textbox, {"label": "lead.name"}, max_length=50)
                    k_phone = loc.add(
                        gr.Textbox,
                        {"label": "lead.phone", "placeholder": "lead.phone_ph"},
                        max_length=32,
                        elem_id="ca-lead-phone",
                    )
                k_company = loc.add(gr.Textbox, {"label": "lead.company"}, max_length=100)
                k_details = loc.add(
                    gr.Textbox,
                    {"label": "lead.details", "placeholder": "lead.details_ph"},
                    lines=3,
                    max_length=2000,
                )
                # 个人信息保护法: the notice, and an explicit tick before anything is stored.
                k_consent = loc.add(
                    gr.Checkbox,
                    {
                        "label": lambda lg: i18n.t(lg, "consent.checkbox"),
                        "info": lambda lg: privacy.notice(lg, settings),
                    },
                    value=False,
                    elem_id="ca-lead-consent",
                )
                k_go = loc.add(
                    gr.Button, {"value": "lead.submit"}, variant="primary", elem_id="ca-lead-go"
                )
                k_out = gr.HTML(elem_id="ca-lead-result")

        # --- events ----------------------------------------------------------------------
        chat_outputs = [chatbot, textbox, *chips, panel, state]
        chat_opts: dict[str, Any] = {
            **private,
            "concurrency_limit": CHAT_CONCURRENCY,
            "show_progress": "minimal",
        }
        textbox.submit(chat.respond, [textbox, lang, state], chat_outputs, **chat_opts)
        send.click(chat.respond, [textbox, lang, state], chat_outputs, **chat_opts)
        for chip in chips:
            chip.click(chat.respond, [chip, lang, state], chat_outputs, **chat_opts)
        chatbot.example_select(chat.respond_example, [lang, state], chat_outputs, **chat_opts)
        new_chat.click(chat.new_chat, [state], chat_outputs, **private)
        chatbot.clear(chat.new_chat, [state], chat_outputs, **private)
        chatbot.like(
            chat.on_like, [lang, state], [panel, reason_choice, reason_text, state], **private
        )
        reason_send.click(
            chat.send_reason, [lang, reason_choice, reason_text, state], [panel, state], **private
        )
        reason_skip.click(chat.skip_reason, [state], [panel, state], **private)

        # Forms: (name, callback, inputs, output). The raw inputs are kept per tab so a
        # language switch can redo a result in the new language.
        form_specs: list[tuple[str, Callable[..., str], list[Any], Any, Any]] = [
            (
                "premium",
                forms.premium,
                [p_sales, p_industry, p_buyers, p_share, p_avg, p_max, p_bad, p_indemnity],
                p_out,
                p_go,
            ),
            (
                "claim",
                forms.claim,
                [c_cause, c_due, c_aware, c_judgment, c_amount, c_reported, c_docs],
                c_out,
                c_go,
            ),
            ("dso", forms.dso, [d_recv, d_sales, d_period, d_terms], d_out, d_go),
            ("liquidity", forms.liquidity, [l_cash, l_sec, l_liab, l_assets], l_out, l_go),
            (
                "plan",
                forms.payment_plan,
                [pl_amount, pl_n, pl_first, pl_interval, pl_due],
                pl_out,
                pl_go,
            ),
        ]

        def form_handler(name: str, fn: Callable[..., str]) -> Callable[..., tuple[str, UiState]]:
            def handler(lang: str, state: UiState, *values: Any) -> tuple[str, UiState]:
                state.forms[name] = values
                return fn(get_assistant(), norm_lang(lang), *values), state

            return handler

        for name, fn, inputs, output, button in form_specs:
            button.click(form_handler(name, fn), [lang, state, *inputs], [output, state], **private)

        def cause_changed(lang: str, cause: str, held: list[str] | None) -> tuple[Any, ...]:
            choices = forms.documents_for(policy, cause, norm_lang(lang))
            ids = {doc_id for _, doc_id in choices}
            return (
                gr.update(choices=choices, value=[d for d in held or [] if d in ids]),
                gr.update(visible=cause == "insolvency"),
                gr.update(visible=cause == "dispute"),
            )

        c_cause.change(
            cause_changed, [lang, c_cause, c_docs], [c_docs, c_aware, c_judgment], **private
        )

        def submit_lead(
            lang: str,
            state: UiState,
            need: str,
            name: str,
            phone: str,
            company: str,
            details: str,
            consent: bool,
        ) -> tuple[str, UiState]:
            html, _lead_id = forms.lead(
                get_assistant(),
                lang,
                state.session(),
                need,
                name,
                phone,
                company,
                details,
                consent=privacy.consent_now(settings) if consent else None,
            )
            return html, state

        k_go.click(
            submit_lead,
            [lang, state, k_need, k_name, k_phone, k_company, k_details, k_consent],
            [k_out, state],
            **private,
        )

        outputs = [output for _, _, _, output, _ in form_specs]

        def relabel(lang: str, state: UiState) -> list[Any]:
            lang = norm_lang(lang)
            redone = [
                fn(get_assistant(), lang, *state.forms[name]) if name in state.forms else gr.skip()
                for name, fn, _, _, _ in form_specs
            ]
            # The chips on screen, in the new language (a click then asks in it).
            state.chips = [translate_chip(get_assistant(), c, lang) for c in state.chips]
            return [*loc.updates(lang), *redone, *chip_updates(state.chips), state]

        lang.change(
            relabel, [lang, state], [*loc.components, *outputs, *chips, state], **private
        ).then(cause_changed, [lang, c_cause, c_docs], [c_docs, c_aware, c_judgment], **private)
    return demo


def mount_options() -> dict[str, Any]:
    """Options for ``launch()`` and ``gr.mount_gradio_app()``: system fonts from the first
    paint (no web font download), no footer links (an SME owner has no use for the API
    page or Gradio's settings) and no run history, which would keep every form's inputs,
    phone numbers included, in the visitor's browser."""
    return {"theme": THEME, "footer_links": [], "run_history": False}
