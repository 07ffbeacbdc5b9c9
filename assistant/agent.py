"""LLM mode: a LangChain tool-calling agent over the same tools as grounded mode.

The chat model is picked by one setting (``LLM``: ``none``, ``openai:<model>`` for any
OpenAI-compatible server, ``ollama:<model>``) and built only here. Each turn gets a fresh
set of tool closures that number the passages ``search_knowledge`` returns; after the
model answers, every [n] it wrote is checked against those numbers and any other marker is
removed and logged. The caller (``Assistant``) falls back to grounded mode when this module
raises or runs out of time.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError

from assistant import i18n
from assistant.config import Settings
from assistant.dialogue.answer import Answerer, citation_for, snippet
from assistant.matching import OFFTOPIC
from assistant.models import Citation, ToolCall
from assistant.retrieval import Hit
from assistant.tools import leads
from assistant.tools.registry import SearchInput, Toolbox, error_text, to_json

log = logging.getLogger(__name__)

# The agent's instructions per language (locale key agent.system_prompt).
SYSTEM_PROMPT: dict[str, str] = {lang: i18n.t(lang, "agent.system_prompt") for lang in i18n.LANGS}

_MARKER = re.compile(r"\[(\d{1,3})\]")


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None for grounded mode. Built only here."""
    if settings.llm == "none":
        return None
    provider, _, model = settings.llm.partition(":")
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-needed",
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
        )
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=model,
            base_url=settings.ollama_base_url,
            temperature=settings.llm_temperature,
        )
    raise ValueError(f"unknown LLM provider {provider!r}")


class LeadArgs(BaseModel):
    """What the model may fill in for a lead; the session is added by the code."""

    name: str = Field("", max_length=50, description="The person's name, if given.")
    phone: str = Field(description="Mainland China mobile or landline with area code.")
    company: str = Field("", max_length=100, description="Company name, if given.")
    need: str = Field(
        "credit_insurance",
        description="One of credit_insurance, receivables, claims, other.",
    )
    details: str = Field("", max_length=2000, description="A short summary of the request.")


@dataclass
class AgentTurn:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    handoff: bool = False
    lead_id: str | None = None
    removed_markers: list[int] = field(default_factory=list)


@dataclass
class _TurnContext:
    """Per-turn tool state: the numbered passages and the calls made."""

    passages: list[Hit] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    handoff: bool = False
    lead_id: str | None = None


class LLMAgent:
    def __init__(
        self, model: BaseChatModel, toolbox: Toolbox, answerer: Answerer, settings: Settings
    ) -> None:
        self.model = model
        self.toolbox = toolbox
        self.answerer = answerer
        self.settings = settings

    # -- tools ----------------------------------------------------------------------------

    def _tools(
        self,
        ctx: _TurnContext,
        lang: str,
        session_id: str,
        transcript: list[dict[str, Any]],
        channel: str = "api",
    ) -> list[BaseTool]:
        engine = self.answerer.engine

        def search_knowledge(query: str) -> str:
            result = engine.search(query, self.settings.retrieval_k)
            # The answer-bank entry the question matches goes first: the curated answer
            # is what the grounded mode would say, so the model builds on it.
            matches = engine.match_entries(query, lang, k=1)
            cal = engine.matcher.cal
            if matches and matches[0].category != OFFTOPIC and matches[0].score >= cal["suggest"]:
                entry = self.answerer.entry_hit(matches[0])
                rest = [h for h in result.hits if h.id != entry.id]
                result = dataclasses.replace(
                    result, hits=[entry, *rest][: self.settings.retrieval_k], confident=True
                )
            if result.no_good_answer or not result.hits:
                ctx.calls.append(
                    ToolCall(name="search_knowledge", args={"query": query}, result={"hits": []})
                )
                return "NO_RESULTS: the knowledge base has nothing reliable on this."
            lines = []
            for hit in result.hits:
                ctx.passages.append(hit)
                n = len(ctx.passages)
                m = hit.metadata
                where = " > ".join(str(x) for x in (m.get("title"), m.get("section")) if x)
                lines.append(f"[{n}] {where}\n{hit.text}")
            ctx.calls.append(
                ToolCall(
                    name="search_knowledge",
                    args={"query": query},
                    result={"hits": [h.id for h in result.hits]},
                )
            )
            return "\n\n".join(lines)

        tools: list[BaseTool] = [
            StructuredTool.from_function(
                search_knowledge,
                name="search_knowledge",
                description="Search the credit-insurance knowledge base (sample policy "
                "wording, guides, FAQ). Returns numbered passages to cite as [n].",
                args_schema=SearchInput,
            )
        ]
        for spec in self.toolbox.specs.values():
            tools.append(self._wrap(spec.name, spec.description, spec.input_model, ctx, lang))

        def capture_lead(**kwargs: Any) -> str:
            # The session and channel are facts of this turn, never the model's to choose.
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            kwargs.update(session_id=session_id, channel=channel)
            try:
                inp = leads.LeadInput.model_validate(kwargs)
            except ValidationError as err:
                return f"ERROR: {error_text(err)}"
            result, call = self.toolbox.capture_lead(inp, transcript=transcript, lang=lang)
            ctx.calls.append(call)
            ctx.handoff, ctx.lead_id = True, result.lead_id
            return to_json(result.model_dump(mode="json"))

        tools.append(
            StructuredTool.from_function(
                capture_lead,
                name="capture_lead",
                description="Store the user's contact details for a specialist to call back. "
                "Needs a valid mainland China phone number.",
                args_schema=LeadArgs,
            )
        )
        return tools

    def _wrap(
        self, name: str, description: str, model: type[BaseModel], ctx: _TurnContext, lang: str
    ) -> BaseTool:
        def call(**kwargs: Any) -> str:
            try:
                _, record = self.toolbox.run(name, kwargs, lang)
            except ValidationError as err:
                return f"ERROR: {error_text(err)}"
            ctx.calls.append(record)
            return to_json(record.result)

        return StructuredTool.from_function(
            call, name=name, description=description, args_schema=model
        )

    # -- the loop -------------------------------------------------------------------------

    def _graph(self, tools: list[BaseTool], lang: str) -> Any:
        from langchain.agents import create_agent

        return create_agent(self.model, tools, system_prompt=SYSTEM_PROMPT[lang])

    @staticmethod
    def _messages(history: list[dict[str, Any]], text: str) -> list[BaseMessage]:
        msgs: list[BaseMessage] = []
        for m in history:
            if m.get("role") == "user":
                msgs.append(HumanMessage(m["content"]))
            elif m.get("role") == "assistant":
                msgs.append(AIMessage(m["content"]))
        msgs.append(HumanMessage(text))
        return msgs

    def _finish(self, raw: str, ctx: _TurnContext) -> AgentTurn:
        """Keep only [n] markers that point at a passage retrieved in this turn."""
        valid = set(range(1, len(ctx.passages) + 1))
        removed: list[int] = []

        def keep(m: re.Match[str]) -> str:
            n = int(m.group(1))
            if n in valid:
                return m.group(0)
            removed.append(n)
            return ""

        answer = _MARKER.sub(keep, raw).strip()
        if removed:
            log.warning("llm answer cited passages that were not retrieved: %s", removed)
        used = sorted({int(n) for n in _MARKER.findall(answer)})
        citations = []
        for n in used:
            c = citation_for(n, ctx.passages[n - 1])
            c.snippet = snippet(ctx.passages[n - 1].text)
            citations.append(c)
        return AgentTurn(answer, citations, ctx.calls, ctx.handoff, ctx.lead_id, removed)

    def run(
        self,
        text: str,
        *,
        history: list[dict[str, Any]],
        lang: str,
        session_id: str,
        transcript: list[dict[str, Any]],
        channel: str = "api",
    ) -> AgentTurn:
        ctx = _TurnContext()
        graph = self._graph(self._tools(ctx, lang, session_id, transcript, channel), lang)
        out = graph.invoke(
            {"messages": self._messages(history, text)},
            {"recursion_limit": 12},
        )
        final = out["messages"][-1]
        content = final.content if isinstance(final.content, str) else str(final.content)
        return self._finish(content, ctx)

    def stream(
        self,
        text: str,
        *,
        history: list[dict[str, Any]],
        lang: str,
        session_id: str,
        transcript: list[dict[str, Any]],
        deadline: float,
        channel: str = "api",
    ) -> Iterator[str | AgentTurn]:
        """Yield text deltas of the final answer, then the checked :class:`AgentTurn`.

        Deltas are held back while a marker might be half-written, and markers that fail
        the check are dropped from the stream as well as from the final answer.
        """
        ctx = _TurnContext()
        graph = self._graph(self._tools(ctx, lang, session_id, transcript, channel), lang)
        raw = ""
        pending = ""
        for chunk, meta in graph.stream(
            {"messages": self._messages(history, text)},
            {"recursion_limit": 12},
            stream_mode="messages",
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("llm turn exceeded its time budget")
            if (
                not isinstance(chunk, AIMessageChunk | AIMessage)
                or meta.get("langgraph_node") != "model"
            ):
                continue
            if getattr(chunk, "tool_calls", None) or getattr(chunk, "tool_call_chunks", None):
                continue
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if not piece:
                continue
            raw += piece
            pending += piece
            # Release everything up to a possible unfinished "[12" at the end.
            cut = pending.rfind("[")
            if cut != -1 and "]" not in pending[cut:] and len(pending) - cut <= 5:
                ready, pending = pending[:cut], pending[cut:]
            else:
                ready, pending = pending, ""
            ready = self._strip_invalid(ready, ctx)
            if ready:
                yield ready
        tail = self._strip_invalid(pending, ctx)
        if tail:
            yield tail
        yield self._finish(raw, ctx)

    @staticmethod
    def _strip_invalid(text: str, ctx: _TurnContext) -> str:
        valid = len(ctx.passages)
        return _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= valid else "", text)
