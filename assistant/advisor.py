"""``Assistant``: one chat turn in, one :class:`~assistant.models.Reply` out.

It owns the session (state and history in the store), picks the answer mode (the LLM
agent when one is configured, grounded otherwise, and grounded again when the agent fails
or times out), and guards the input: empty, over-long and control-character messages get a
clear reply instead of reaching the tools. Turns of one session are serialised by a lock,
so two browser tabs cannot interleave their slot filling.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date
from typing import Any

from langchain_core.language_models import BaseChatModel

from assistant import metrics
from assistant.config import Settings, get_settings
from assistant.dialogue.answer import Answerer
from assistant.dialogue.intents import EXAMPLE_THRESHOLD, IntentRouter, load_intents
from assistant.dialogue.manager import DialogueManager, Turn
from assistant.i18n import items, t
from assistant.knowledge.index import KnowledgeIndex
from assistant.knowledge.params import load_policy_params, load_rating_params
from assistant.models import Reply
from assistant.retrieval import RetrievalEngine
from assistant.storage import Store, new_id
from assistant.tools.registry import Toolbox

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_WORDLESS = re.compile(r"^[\W_\d\s]*$")
STREAM_PIECE = 12  # characters per grounded-mode delta: smooth in a UI, cheap over SSE


class InputError(ValueError):
    """A request the assistant refuses before any work (bad session id, bad language)."""


def visible_text(text: str) -> str:
    """What the user typed as a person sees it: ANSI escapes and control or format
    characters (except newlines and tabs) dropped. This is what the transcript keeps."""
    text = _ANSI.sub("", text if isinstance(text, str) else "")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def clean_text(text: str) -> str:
    """The text the dialogue reads: visible text with widths normalised (NFKC), so
    full-width digits and punctuation parse like ASCII ones."""
    return unicodedata.normalize("NFKC", visible_text(text)).strip()


_WANTS_EN = re.compile(r"in english|用英文|用英语|英文回答|英语回答", re.I)
_WANTS_ZH = re.compile(r"in chinese|用中文|中文回答|说中文|用汉语", re.I)


def guess_lang(text: str, fallback: str) -> str:
    """The reply language: an explicit request wins; then Chinese characters; two or more
    latin words mean English; a bare number or a single word keeps the session's language."""
    if _WANTS_EN.search(text):
        return "en"
    if _WANTS_ZH.search(text):
        return "zh"
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if cjk and cjk >= words:
        return "zh"
    if words >= 2 or (words == 1 and not cjk and fallback == "en"):
        return "en"
    if words == 1 and not cjk:
        word = _LATIN_WORD.findall(text)[0].lower()
        return (
            "en"
            if word in {"hi", "hello", "hey", "thanks", "help", "dso", "ok"} and fallback != "zh"
            else fallback
        )
    return "zh" if cjk else fallback


class Assistant:
    """The advisor. Build it with :meth:`from_settings`; share one per process."""

    def __init__(
        self,
        settings: Settings,
        engine: RetrievalEngine,
        store: Store,
        toolbox: Toolbox,
        manager: DialogueManager,
        agent: Any | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.toolbox = toolbox
        self.manager = manager
        self.agent = agent
        self.today = today
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        chat_model: BaseChatModel | None = None,
        today: Callable[[], date] | None = None,
        store: Store | None = None,
    ) -> Assistant:
        """Wire every part from settings. ``chat_model`` overrides ``LLM`` (tests)."""
        from assistant.agent import LLMAgent, make_chat_model

        settings = settings or get_settings()
        engine = RetrievalEngine(KnowledgeIndex(settings), settings)
        store = store or Store.from_settings(settings)
        clock = today or date.today
        toolbox = Toolbox(
            policy=load_policy_params(settings.knowledge_dir / "policy.yaml"),
            rating=load_rating_params(settings.knowledge_dir / "rating.yaml"),
            store=store,
            today=clock,
            settings=settings,
        )
        answerer = Answerer(engine)
        backend = settings.embedding_backend
        family = "st" if backend.startswith("sentence-transformers:") else backend

        def embed(texts: list[str]) -> Any:
            import numpy as np

            vecs = np.asarray([engine.embed_query(x) for x in texts], dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            return vecs / np.maximum(norms, 1e-12)

        router = IntentRouter(
            load_intents(settings.knowledge_dir / "intents.yaml"),
            embed=embed,
            threshold=EXAMPLE_THRESHOLD.get(family, 0.8),
            model=lambda: engine.routing_model,
            vector=engine.embed_query,
        )
        manager = DialogueManager(toolbox, answerer, router)
        model = chat_model if chat_model is not None else make_chat_model(settings)
        agent = LLMAgent(model, toolbox, answerer, settings) if model is not None else None
        return cls(settings, engine, store, toolbox, manager, agent, clock)

    def warm_up(self) -> None:
        """Load the index, the embedder and the intent examples now, not on the first turn."""
        self.engine.search("信用保险", 1)
        self.manager.router.nearest_example("你好")
        self.manager.router.probabilities("你好")  # fits the routing model

    def reload_index(self, index: KnowledgeIndex | None = None) -> None:
        """Answer from the live index generation from now on, without a restart.

        The new engine is loaded fully before it is swapped in by reference, so a chat in
        flight finishes on the engine it started with and none sees a half-loaded one.
        Pass the ``index`` a sync just ran on (its tokenizer has the current dictionary).
        """
        engine = RetrievalEngine(index or KnowledgeIndex(self.settings), self.settings)
        log.info("loaded index for serving: %d chunks", len(engine.records))
        self.engine = engine
        self.manager.answerer.engine = engine  # the LLM agent shares this Answerer

    # -- sessions -------------------------------------------------------------------------

    def history(self, session_id: str) -> list[dict[str, Any]]:
        return self.store.transcript(session_id)

    def session_state(self, session_id: str) -> dict[str, Any] | None:
        return self.store.get_state(session_id)

    def delete_session(self, session_id: str) -> bool:
        return self.store.delete_session(session_id)

    # -- a turn -----------------------------------------------------------------------------

    def _prepare(
        self, message: Any, session_id: str | None, lang: str | None
    ) -> tuple[str, str, dict[str, Any], str, str | None]:
        """Validate the input; returns (text, session id, state, lang, refusal key)."""
        if lang is not None and lang not in ("zh", "en"):
            raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
        if session_id is not None and not _SESSION_ID.match(session_id):
            raise InputError("session_id must be 1-64 letters, digits, '_' or '-'")
        sid = session_id or new_id("s")
        state = self.store.get_state(sid) or {}
        raw = message if isinstance(message, str) else ""
        text = clean_text(raw)
        # The end of a long paste (the question) decides the language, not its start.
        basis = text[:500]
        if len(text) > 600:
            last = re.split(r"[\n。！？!?]\s*", text.rstrip("\n 。！？!?"))[-1]
            basis = last if len(last) >= 4 else text[-300:]
        reply_lang = lang or guess_lang(basis, state.get("lang", "zh"))
        if not text:
            return text, sid, state, reply_lang, "empty"
        if len(text) > self.settings.max_message_chars:
            return text, sid, state, reply_lang, "too_long"
        if _WORDLESS.match(text) and not re.search(r"\d", text):
            # "👍👍" is a friendly nod; "？？？" is confusion.
            emoji = any(unicodedata.category(ch) == "So" for ch in text)
            return text, sid, state, reply_lang, "chitchat" if emoji else "not_understood"
        return text, sid, state, reply_lang, None

    def _refusal(self, key: str, text: str, sid: str, lang: str) -> Reply:
        answer = (
            t(lang, "dialogue.too_long", n=len(text), max=self.settings.max_message_chars)
            if key == "too_long"
            else t(lang, f"dialogue.{key}")
        )
        return Reply(
            session_id=sid,
            message_id=new_id("m"),
            answer=answer,
            lang=lang,
            suggestions=items(lang, "suggest.default"),
            intent=key,
        )

    def _grounded(
        self, text: str, sid: str, state: dict[str, Any], lang: str, channel: str
    ) -> Turn:
        transcript = self.store.transcript(sid, limit=40)
        try:
            return self.manager.handle(
                text,
                state,
                lang=lang,
                today=self.today(),
                session_id=sid,
                transcript=[{"role": m["role"], "content": m["content"]} for m in transcript],
                channel=channel,
            )
        except Exception:
            # The user sees a plain apology; the stack trace goes to the log only.
            log.exception("grounded turn failed")
            return Turn(t(lang, "dialogue.error"), "error")

    def _reply_from_turn(self, turn: Turn, sid: str, lang: str, mode: str = "grounded") -> Reply:
        return Reply(
            session_id=sid,
            message_id=new_id("m"),
            answer=turn.answer,
            lang=lang,
            mode=mode,
            citations=turn.citations,
            tool_calls=turn.tool_calls,
            suggestions=turn.suggestions,
            handoff=turn.handoff,
            lead_id=turn.lead_id,
            intent=turn.intent,
        )

    def _save(
        self, sid: str, text: str, reply: Reply, state: dict[str, Any], lang: str, channel: str
    ) -> None:
        state["lang"] = lang
        metrics.CHAT_TURNS.labels(mode=reply.mode, channel=channel).inc()
        self.store.save_turn(
            sid,
            lang=lang,
            channel=channel,
            user_text=text,
            reply=reply.model_dump(mode="json"),
            state=state,
        )

    def _log_unanswered(self, turn: Turn, reply: Reply, message: str, channel: str) -> None:
        """Declined and "did you mean" turns go to the support team's unanswered log."""
        info = turn.unanswered
        if not info:
            return
        try:
            self.store.log_unanswered(
                reply.session_id,
                kind=str(info.get("kind") or "none"),
                lang=reply.lang,
                text=visible_text(message),
                confidence=float(info.get("confidence") or 0.0),
                top=info.get("top") or [],
                message_id=reply.message_id,
                channel=channel,
            )
        except Exception:  # the answer already went out; a log row must not undo it
            log.exception("could not log an unanswered question")

    def _history_for_llm(self, sid: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        transcript = self.store.transcript(sid, limit=40)
        plain = [{"role": m["role"], "content": m["content"]} for m in transcript]
        keep = self.settings.history_turns * 2
        return (plain[-keep:] if keep else []), plain

    def chat(
        self,
        message: str,
        session_id: str | None = None,
        lang: str | None = None,
        channel: str = "api",
    ) -> Reply:
        """One turn. Bad input gets a clear reply (or ``InputError`` for a bad session id)."""
        text, sid, state, reply_lang, refusal = self._prepare(message, session_id, lang)
        if refusal:
            return self._refusal(refusal, text, sid, reply_lang)
        # Turns of one session are serialised through the database (any process, any
        # machine): the state read here is the one the previous turn saved.
        with self.store.session_lock(sid):
            state = self.store.get_state(sid) or state
            reply: Reply | None = None
            turn: Turn | None = None
            if self.agent is not None:
                reply = self._llm_turn(text, sid, reply_lang, channel)
            if reply is None:
                turn = self._grounded(text, sid, state, reply_lang, channel)
                reply = self._reply_from_turn(turn, sid, reply_lang)
            self._save(sid, visible_text(message), reply, state, reply_lang, channel)
            if turn is not None:
                self._log_unanswered(turn, reply, message, channel)
            return reply

    def _llm_turn(self, text: str, sid: str, lang: str, channel: str) -> Reply | None:
        assert self.agent is not None
        history, transcript = self._history_for_llm(sid)
        future = self._pool.submit(
            self.agent.run,
            text,
            history=history,
            lang=lang,
            session_id=sid,
            transcript=[*transcript, {"role": "user", "content": text}],
            channel=channel,
        )
        try:
            out = future.result(timeout=self.settings.llm_timeout)
        except FutureTimeout:
            log.warning(
                "llm turn timed out after %.1fs; falling back to grounded",
                self.settings.llm_timeout,
            )
            return None
        except Exception:
            log.exception("llm turn failed; falling back to grounded")
            return None
        if not out.answer.strip():
            return None
        return self._reply_from_agent(out, sid, lang)

    @staticmethod
    def _reply_from_agent(out: Any, sid: str, lang: str) -> Reply:
        return Reply(
            session_id=sid,
            message_id=new_id("m"),
            answer=out.answer,
            lang=lang,
            mode="llm",
            citations=out.citations,
            tool_calls=out.tool_calls,
            suggestions=items(lang, "suggest.knowledge"),
            handoff=out.handoff,
            lead_id=out.lead_id,
            intent="llm",
        )

    def stream(
        self,
        message: str,
        session_id: str | None = None,
        lang: str | None = None,
        channel: str = "api",
    ) -> Iterator[str | Reply]:
        """Yield text deltas, then the final :class:`Reply` (whose answer is their sum)."""
        text, sid, state, reply_lang, refusal = self._prepare(message, session_id, lang)
        if refusal:
            reply = self._refusal(refusal, text, sid, reply_lang)
            yield reply.answer
            yield reply
            return
        with self.store.session_lock(sid):
            state = self.store.get_state(sid) or state
            if self.agent is not None:
                streamed = ""
                try:
                    history, transcript = self._history_for_llm(sid)
                    deadline = time.monotonic() + self.settings.llm_timeout
                    for item in self.agent.stream(
                        text,
                        history=history,
                        lang=reply_lang,
                        session_id=sid,
                        transcript=[*transcript, {"role": "user", "content": text}],
                        deadline=deadline,
                        channel=channel,
                    ):
                        if isinstance(item, str):
                            streamed += item
                            yield item
                        else:
                            reply = self._reply_from_agent(item, sid, reply_lang)
                            self._save(
                                sid, visible_text(message), reply, state, reply_lang, channel
                            )
                            yield reply
                            return
                except Exception:
                    log.exception("llm stream failed; falling back to grounded")
                    if streamed:
                        # Tell the client to discard the partial text before the fallback.
                        yield "\n\n"
            turn = self._grounded(text, sid, state, reply_lang, channel)
            reply = self._reply_from_turn(turn, sid, reply_lang)
            self._save(sid, visible_text(message), reply, state, reply_lang, channel)
            self._log_unanswered(turn, reply, message, channel)
            for i in range(0, len(reply.answer), STREAM_PIECE):
                yield reply.answer[i : i + STREAM_PIECE]
            yield reply
