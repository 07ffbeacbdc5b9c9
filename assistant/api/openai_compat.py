"""``POST /v1/chat/completions``: the assistant behind the OpenAI Chat Completions API.

So the ``openai`` SDK, LangChain's ``ChatOpenAI`` and other OpenAI-style tools work
unchanged for the support team (support key as the SDK's ``api_key``). The response
shapes mirror ``openai.types.chat.ChatCompletion`` and ``ChatCompletionChunk``; what
OpenAI has no field for travels in extra top-level fields the SDK keeps in
``model_extra``: ``citations``, ``session_id`` and ``credit_advisor`` (tool calls, handoff,
lead id, mode, suggestions). Our tools run on the server, so they never appear in
``message.tool_calls``: that field would ask the client to run them.

Sessions: OpenAI clients resend the whole history each turn and know nothing of sessions.
After each turn the digest of the history (user and assistant texts; system messages
ignored) is bound to the session, and the next request's history before its last user
message is looked up by the same digest. A history we did not produce starts a new
session, and only its last user message is answered: the assistant's slot state cannot be
rebuilt from someone else's transcript. ``session_id`` (``extra_body``) overrides all this.

OpenAI parameters that do not apply (``temperature``, ``max_tokens``, ``n``, ``tools``,
``tool_choice``, ``user``, ...) are accepted and ignored: answers come from the knowledge
and the tools, are never truncated and are always one choice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.api.auth import require
from assistant.api.chat import SESSION_ID
from assistant.api.deps import AssistantDep
from assistant.api.errors import ApiError, error_body, request_lang
from assistant.models import Citation, Lang, Mode, Reply, ToolCall

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require("support"))])

MODEL_NAME = "credit-advisor"
_STARTED = int(time.time())

Turn = tuple[str, str]  # (role, text) of a user or assistant message


# -- request -------------------------------------------------------------------------------


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are read (images are ignored)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, tool_call_id, ...
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content.strip()
        parts = self.content or []
        return "\n".join(p.text for p in parts if p.type == "text" and p.text).strip()


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request body; unknown OpenAI parameters are accepted (and ignored)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(MODEL_NAME, max_length=200, description="Any name; echoed back.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    session_id: str | None = Field(
        None, pattern=SESSION_ID, description="Continue this session (extra_body)."
    )
    lang: Lang | None = Field(None, description="Force the reply language (extra_body).")


# -- response (mirrors openai.types.chat) ----------------------------------------------------


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    message: CompletionMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Token counts are estimates (see ``estimate_tokens``): no model tokenizer is involved."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AdvisorExtras(BaseModel):
    """What a Reply carries beyond the text; ``message_id`` is what feedback refers to."""

    message_id: str
    lang: Lang
    mode: Mode
    tool_calls: list[ToolCall] = Field(description="Tools the server ran (nothing to run).")
    handoff: bool
    lead_id: str | None
    suggestions: list[str]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    citations: list[Citation]
    session_id: str
    credit_advisor: AdvisorExtras


class ChunkChoice(BaseModel):
    index: int = 0
    delta: dict[str, str]
    logprobs: None = None
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    citations: list[Citation] | None = None
    session_id: str | None = None
    credit_advisor: AdvisorExtras | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# -- helpers ----------------------------------------------------------------------------------

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """About one token per CJK character and per four other characters. Clients only use
    ``usage`` for budgeting; an exact count would need the tokenizer of a model we don't run."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def conversation_digest(turns: Sequence[Turn]) -> str:
    """SHA-256 of a canonical JSON of the (role, text) turns: the key of a history."""
    canonical = json.dumps([list(t) for t in turns], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def turns_of(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The user and assistant texts that identify a conversation (system, tool and empty
    messages are left out: they are not part of what the assistant stored)."""
    return [
        (m.role, text) for m in messages if m.role in ("user", "assistant") and (text := m.text())
    ]


def _same_answer(sent: str, stored: str) -> bool:
    # A stream that fell back after a partial LLM answer showed "partial\n\nanswer".
    return sent == stored or sent.endswith("\n" + stored)


def find_session(store: Any, prior: list[Turn]) -> str | None:
    """The session whose conversation ``prior`` is, or None.

    A digest can be bound by several sessions (two users typing the same first question
    get the same grounded answer; the latest binding wins), so the bound session is only
    continued while its last stored answer is the last answer the client saw. Turns the
    assistant refused without storing (an emoji-only message) are walked back over as long
    as their histories are bound to the same session.
    """
    if not prior:
        return None
    sid: str | None = store.session_for_conversation(conversation_digest(prior))
    if sid is None:
        return None
    last = store.transcript(sid, limit=1)
    if not last:
        return sid  # nothing stored yet (only refused turns) or erased: nothing to mix up
    stored = str(last[-1]["content"]).strip()
    for i in range(len(prior) - 1, -1, -1):
        role, text = prior[i]
        if role != "assistant":
            continue
        earlier = i < len(prior) - 1
        if earlier and store.session_for_conversation(conversation_digest(prior[: i + 1])) != sid:
            return None
        if _same_answer(text, stored):
            return sid
    return None


def _last_user_text(body: ChatCompletionRequest) -> str:
    last = body.messages[-1]
    text = last.text() if last.role == "user" else ""
    if not text:
        raise ApiError(422, "invalid_request", "api.openai.last_message_not_user")
    return text


def _resolve(body: ChatCompletionRequest, store: Any) -> tuple[str | None, list[Turn]]:
    """(session to continue or None for a new one, the turns before the last message)."""
    prior = turns_of(body.messages[:-1])
    if body.session_id:
        return body.session_id, prior
    sid = find_session(store, prior)
    if sid is None and any(role == "user" for role, _ in prior):
        log.info("unknown OpenAI-style history of %d turns: new session", len(prior))
    return sid, prior


def _extras(reply: Reply) -> AdvisorExtras:
    return AdvisorExtras(
        message_id=reply.message_id,
        lang=reply.lang,
        mode=reply.mode,
        tool_calls=reply.tool_calls,
        handoff=reply.handoff,
        lead_id=reply.lead_id,
        suggestions=reply.suggestions,
    )


def _usage(body: ChatCompletionRequest, answer: str) -> Usage:
    prompt = sum(estimate_tokens(m.text()) for m in body.messages)
    completion = estimate_tokens(answer)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _bind(store: Any, prior: list[Turn], text: str, answer: str, session_id: str) -> None:
    turns = [*prior, ("user", text)]
    if answer.strip():
        turns.append(("assistant", answer.strip()))
    store.bind_conversation(conversation_digest(turns), session_id)


def _chunk_json(chunk: ChatCompletionChunk) -> str:
    data = chunk.model_dump(mode="json", exclude_none=True)
    for choice in data["choices"]:  # OpenAI sends these as explicit nulls
        choice.setdefault("logprobs", None)
        choice.setdefault("finish_reason", None)
    return json.dumps(data, ensure_ascii=False)


def _error_json(request: Request, code: str, detail: str = "") -> str:
    return json.dumps(error_body(request_lang(request), code, detail), ensure_ascii=False)


# -- routes -----------------------------------------------------------------------------------

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat.completion object, or with stream=true Server-Sent Events of "
        "chat.completion.chunk objects ending with `data: [DONE]`.",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/chat/completions", response_model=ChatCompletion, responses=STREAM_DOC)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, assistant: AssistantDep
) -> Any:
    """One turn, in OpenAI's shape; continues the session the resent history belongs to."""
    from assistant.advisor import InputError

    text = _last_user_text(body)
    store = assistant.store
    sid, prior = await run_in_threadpool(_resolve, body, store)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    if not body.stream:
        try:
            reply: Reply = await run_in_threadpool(
                assistant.chat, text, session_id=sid, lang=body.lang, channel="api"
            )
        except InputError as exc:
            raise ApiError(
                422, "invalid_request", "api.invalid_input", values={"detail": exc}
            ) from None
        await run_in_threadpool(_bind, store, prior, text, reply.answer, reply.session_id)
        return ChatCompletion(
            id=completion_id,
            created=created,
            model=body.model,
            choices=[CompletionChoice(message=CompletionMessage(content=reply.answer))],
            usage=_usage(body, reply.answer),
            citations=reply.citations,
            session_id=reply.session_id,
            credit_advisor=_extras(reply),
        )

    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, str] | None, **fields: Any) -> dict[str, str]:
        finish = fields.pop("finish_reason", None)
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish)]
        return {
            "data": _chunk_json(
                ChatCompletionChunk(
                    id=completion_id, created=created, model=body.model, choices=choices, **fields
                )
            )
        }

    def turn() -> Any:
        return assistant.stream(text, session_id=sid, lang=body.lang, channel="api")

    async def events() -> AsyncIterator[dict[str, str]]:
        yield chunk({"role": "assistant", "content": ""})
        streamed: list[str] = []
        try:
            async for item in iterate_in_threadpool(turn()):
                if not isinstance(item, Reply):
                    if item:
                        streamed.append(item)
                        yield chunk({"content": item})
                    continue
                shown = "".join(streamed)
                await run_in_threadpool(_bind, store, prior, text, shown, item.session_id)
                yield chunk(
                    {},
                    finish_reason="stop",
                    citations=item.citations,
                    session_id=item.session_id,
                    credit_advisor=_extras(item),
                )
                if include_usage:
                    yield chunk(None, usage=_usage(body, shown))  # OpenAI: no choices
        except InputError as exc:
            yield {"data": _error_json(request, "invalid_request", str(exc))}
        except Exception:
            log.exception("OpenAI-style stream failed")
            yield {"data": _error_json(request, "internal_error")}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events(), ping=15, sep="\n")


@router.get("/models", response_model=ModelList)
def list_models() -> ModelList:
    """The one model, so ``client.models.list()`` and model pickers work."""
    return ModelList(data=[ModelCard(id=MODEL_NAME, created=_STARTED, owned_by="credit-advisor")])


@router.get("/models/{model_id}", response_model=ModelCard)
def get_model(model_id: str) -> ModelCard:
    if model_id != MODEL_NAME:
        raise ApiError(404, "not_found")
    return ModelCard(id=MODEL_NAME, created=_STARTED, owned_by="credit-advisor")
