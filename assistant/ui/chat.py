"""The chat tab's callbacks: streamed answers, follow-up chips and per-answer feedback.

The conversation lives in the Assistant's store under one session id per browser tab
(channel ``ui``); :class:`UiState` (a ``gr.State``, kept on the server) only remembers
what the page needs on top: the messages as shown, which chat row is which stored
message (for feedback) and a pending "not helpful" waiting for its optional reason. The
browser never sends the history back, so a long chat does not grow every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant.advisor import guess_lang
from assistant.i18n import items, lookup
from assistant.models import Reply
from assistant.storage import NotFoundError, new_id
from assistant.ui import render
from assistant.ui.strings import norm_lang, ui_text

log = logging.getLogger(__name__)

CHIPS = 4
# The locale's chip lists (``suggest.*``), read from the locale itself.
SUGGESTION_LISTS = tuple(lookup("zh", "suggest"))
"""Follow-up question buttons under the chat (a reply suggests up to three)."""


@dataclass
class UiState:
    """One browser tab's state. ``gr.State`` deep-copies the default per tab, so the
    session id is created on first use rather than here."""

    session_id: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    message_ids: dict[int, str] = field(default_factory=dict)
    rated: dict[str, int] = field(default_factory=dict)
    pending_dislike: str | None = None
    forms: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    chips: list[str] = field(default_factory=list)  # the chips on screen, for a relabel

    def session(self) -> str:
        if self.session_id is None:
            self.session_id = new_id("s")
        return self.session_id

    def shown(self) -> list[dict[str, Any]]:
        """A copy for the Chatbot: Gradio diffs each streamed value against the last one,
        so the same list mutated in place would look unchanged."""
        return [dict(m) for m in self.messages]


def translate_chip(assistant: Any, chip: str, lang: str) -> str:
    """The same chip in ``lang``: a locale suggestion by its list and place, an answer-bank
    question by its entry's twin (``zh-x`` <-> ``en-x``); anything else stays as it is."""
    other = "zh" if lang == "en" else "en"
    for key in SUGGESTION_LISTS:
        mine = items(other, f"suggest.{key}")
        if chip in mine:
            theirs = items(lang, f"suggest.{key}")
            index = mine.index(chip)
            return theirs[index] if index < len(theirs) else chip
    if assistant is None:
        return chip
    by_id: dict[str, str] = assistant.engine.matcher.by_entry_id
    for entry_id, question in by_id.items():
        if question == chip and entry_id.startswith(f"{other}-"):
            return by_id.get(f"{lang}-{entry_id.split('-', 1)[1]}", chip)
    return chip


def chip_updates(suggestions: list[str]) -> list[Any]:
    return [
        gr.update(value=suggestions[i], visible=True)
        if i < len(suggestions)
        else gr.update(visible=False)
        for i in range(CHIPS)
    ]


def message_index(index: Any) -> int:
    """LikeData.index is the message's position (a pair for tuple-style chats)."""
    return int(index[0] if isinstance(index, list | tuple) else index)


class ChatController:
    """Callbacks bound to the live Assistant (built lazily by the server)."""

    def __init__(self, get_assistant: Callable[[], Any]) -> None:
        self.get_assistant = get_assistant

    # Outputs of every chat event, in this order:
    # chatbot, textbox, chips x CHIPS, feedback panel, state.
    @staticmethod
    def _frame(
        state: UiState | Any,
        *,
        chatbot: Any = None,
        textbox: Any = None,
        chips: list[Any] | None = None,
        panel: Any = None,
    ) -> tuple[Any, ...]:
        skip = gr.skip()
        return (
            skip if chatbot is None else chatbot,
            skip if textbox is None else textbox,
            *(chips or [skip] * CHIPS),
            skip if panel is None else panel,
            state,
        )

    def respond(self, message: str | None, lang: str, state: UiState) -> Iterator[tuple[Any, ...]]:
        """Stream one turn: the answer grows as the Assistant yields text, then is replaced
        by the final Markdown with its numbered footnotes and the follow-up chips."""
        lang = norm_lang(lang)
        text = (message or "").strip()
        if not text:
            yield self._frame(gr.skip())
            return
        self._flush_dislike(state)
        sid = state.session()
        state.messages.append({"role": "user", "content": text})
        state.messages.append({"role": "assistant", "content": ""})
        index = len(state.messages) - 1
        hidden = chip_updates([])
        state.chips = []
        yield self._frame(
            state, chatbot=state.shown(), textbox="", chips=hidden, panel=gr.update(visible=False)
        )
        reply: Reply | None = None
        partial = ""
        try:
            # Reply in the language the owner wrote in; the switch decides only when the
            # text doesn't say (a bare number, "ok").
            reply_lang = guess_lang(text, lang)
            stream = self.get_assistant().stream(
                text, session_id=sid, lang=reply_lang, channel="ui"
            )
            for item in stream:
                if isinstance(item, Reply):
                    reply = item
                    break
                partial += item
                state.messages[index]["content"] = partial
                yield self._frame(gr.skip(), chatbot=state.shown())
        except Exception:
            # The page gets a plain apology; the stack trace goes to the log only.
            log.exception("ui chat turn failed")
        if reply is None:
            state.messages[index]["content"] = ui_text(lang, "chat.error")
            yield self._frame(state, chatbot=state.shown(), chips=hidden)
            return
        state.messages[index]["content"] = render.answer_markdown(reply, reply.lang)
        state.message_ids[index] = reply.message_id
        state.chips = list(reply.suggestions[:CHIPS])
        yield self._frame(state, chatbot=state.shown(), chips=chip_updates(reply.suggestions))

    def respond_example(
        self, lang: str, state: UiState, evt: gr.SelectData
    ) -> Iterator[tuple[Any, ...]]:
        """An example question clicked on the empty chat is sent as if typed."""
        value = evt.value if isinstance(evt.value, dict) else {"text": evt.value}
        yield from self.respond(str(value.get("text") or ""), lang, state)

    def new_chat(self, state: UiState) -> tuple[Any, ...]:
        """Start over: a new session, so the next answer does not continue the old slots."""
        self._flush_dislike(state)
        fresh = UiState(forms=state.forms)
        return self._frame(
            fresh, chatbot=[], textbox="", chips=chip_updates([]), panel=gr.update(visible=False)
        )

    # -- feedback ---------------------------------------------------------------------------

    def _store(self, state: UiState, message_id: str, rating: int, reason: str | None) -> bool:
        if reason is None and state.rated.get(message_id) == rating:
            return False  # the same thumb clicked again: one row is enough
        try:
            self.get_assistant().store.add_feedback(state.session(), message_id, rating, reason)
        except NotFoundError:
            log.warning("ui feedback for a message not in the session")
            return False
        state.rated[message_id] = rating
        return True

    def _flush_dislike(self, state: UiState) -> None:
        """A "not helpful" whose reason was never sent still counts, without a reason."""
        if state.pending_dislike is not None:
            self._store(state, state.pending_dislike, -1, None)
            state.pending_dislike = None

    def on_like(self, lang: str, state: UiState, data: gr.LikeData) -> tuple[Any, ...]:
        """Thumbs on an answer. Helpful is stored at once; not helpful opens the optional
        reason box and is stored when it is sent or skipped (or at the next question)."""
        lang = norm_lang(lang)
        message_id = state.message_ids.get(message_index(data.index))
        hide = gr.update(visible=False)
        if message_id is None:
            return hide, gr.skip(), gr.skip(), state
        if data.liked is True:
            self._flush_dislike(state)
            if self._store(state, message_id, 1, None):
                gr.Info(
                    ui_text(lang, "feedback.thanks"),
                    title=ui_text(lang, "feedback.title"),
                    duration=4,
                )
            return hide, gr.skip(), gr.skip(), state
        if data.liked is False:
            self._flush_dislike(state)
            state.pending_dislike = message_id
            return gr.update(visible=True), None, "", state
        # The thumb was clicked off again: nothing to store for a pending dislike.
        if state.pending_dislike == message_id:
            state.pending_dislike = None
        return hide, gr.skip(), gr.skip(), state

    def send_reason(
        self, lang: str, choice: str | None, details: str | None, state: UiState
    ) -> tuple[Any, ...]:
        """Store the pending "not helpful" with the reason picked and/or typed."""
        lang = norm_lang(lang)
        parts = [p.strip() for p in (choice, details) if p and p.strip()]
        message_id, state.pending_dislike = state.pending_dislike, None
        if message_id is not None and self._store(state, message_id, -1, "; ".join(parts) or None):
            gr.Info(
                ui_text(lang, "feedback.thanks"), title=ui_text(lang, "feedback.title"), duration=4
            )
        return gr.update(visible=False), state

    def skip_reason(self, state: UiState) -> tuple[Any, ...]:
        self._flush_dislike(state)
        return gr.update(visible=False), state
