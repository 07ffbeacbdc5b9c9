"""Chat for the website, the UI and the support team's tools.

``POST /v1/chat`` returns a ``Reply``; ``POST /v1/chat/stream`` sends the same turn as
Server-Sent Events: ``delta`` (text), then ``citation`` and ``tool`` events, then ``done``
with the full Reply; an ``error`` event replaces ``done`` if the turn fails. Sessions can
be read back and erased.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from assistant.api.deps import AssistantDep
from assistant.api.errors import ApiError, error_body, request_lang
from assistant.api.ratelimit import LIMITED, IpLimit, check_session, limit_ip
from assistant.models import Reply

log = logging.getLogger(__name__)
# Every route here is public (or reachable with a leaked key): the IP limit applies to all
# of them; FastAPI runs the same dependency once per request when a route names it too.
router = APIRouter(prefix="/v1", tags=["chat"], dependencies=[Depends(limit_ip)], responses=LIMITED)

SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ChatRequest(BaseModel):
    message: str = Field(max_length=20000, description="What the user typed.")
    session_id: str | None = Field(None, pattern=SESSION_ID, description="Continue a session.")
    lang: Literal["zh", "en"] | None = Field(None, description="Force the reply language.")
    channel: Literal["api", "ui", "widget"] = "api"


class Message(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    reply: dict[str, Any] | None = None


class Transcript(BaseModel):
    session_id: str
    messages: list[Message]


def _bad_input(exc: ValueError) -> ApiError:
    return ApiError(422, "invalid_request", "api.invalid_input", values={"detail": exc})


def _issued(assistant: Any, session_id: str | None) -> str | None:
    """Session ids are issued by the server: an id the store has never seen (a client's own
    choice such as "alice", or a guess) starts a new session with a random id instead of
    creating one under the client's name."""
    if session_id and assistant.store.session_exists(session_id):
        return session_id
    return None


@router.post("/chat", response_model=Reply, responses=LIMITED)
def chat(body: ChatRequest, request: Request, assistant: AssistantDep, _: IpLimit) -> Reply:
    """One turn; the reply carries the session id to send back next time."""
    from assistant.advisor import InputError

    session_id = _issued(assistant, body.session_id)
    check_session(request, session_id)
    try:
        reply: Reply = assistant.chat(
            body.message, session_id=session_id, lang=body.lang, channel=body.channel
        )
    except InputError as exc:
        raise _bad_input(exc) from None
    return reply


SSE_DOC: dict[int | str, dict[str, Any]] = {
    **LIMITED,
    200: {
        "description": "Server-Sent Events: `delta` events with the answer's text, then one "
        "`reply` event with the whole Reply object (or an `error` event).",
        "content": {"text/event-stream": {}},
    },
}


@router.post("/chat/stream", responses=SSE_DOC)
async def chat_stream(
    body: ChatRequest, request: Request, assistant: AssistantDep, _: IpLimit
) -> EventSourceResponse:
    """The same turn as Server-Sent Events (works with EventSource polyfills and fetch)."""
    from assistant.advisor import InputError

    session_id = _issued(assistant, body.session_id)
    check_session(request, session_id)
    # The error event speaks the language asked for, else the caller's Accept-Language.
    lang = body.lang or request_lang(request)

    def turn() -> Any:
        return assistant.stream(
            body.message, session_id=session_id, lang=body.lang, channel=body.channel
        )

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            async for item in iterate_in_threadpool(turn()):
                if isinstance(item, Reply):
                    for c in item.citations:
                        yield {"event": "citation", "data": c.model_dump_json()}
                    for call in item.tool_calls:
                        yield {"event": "tool", "data": call.model_dump_json()}
                    yield {"event": "done", "data": item.model_dump_json()}
                else:
                    yield {"event": "delta", "data": json.dumps({"text": item}, ensure_ascii=False)}
        except InputError as exc:
            yield {"event": "error", "data": _error_json(lang, "invalid_request", str(exc))}
        except Exception:
            log.exception("stream failed")
            yield {"event": "error", "data": _error_json(lang, "internal_error")}

    return EventSourceResponse(events(), ping=15)


def _error_json(lang: str, code: str, detail: str = "") -> str:
    """An ``error`` event's data: the same {code, message} as the JSON error body."""
    return json.dumps(error_body(lang, code, detail)["error"], ensure_ascii=False)


SessionId = Annotated[str, Path(pattern=SESSION_ID)]


@router.get("/sessions/{session_id}", response_model=Transcript)
def get_session(session_id: SessionId, assistant: AssistantDep) -> Transcript:
    """The transcript of a session, oldest message first."""
    if not assistant.store.session_exists(session_id):
        raise ApiError(404, "not_found")
    return Transcript(
        session_id=session_id,
        messages=[Message(**m) for m in assistant.history(session_id)],
    )


@router.delete("/sessions/{session_id}", status_code=204)
def delete_session(session_id: SessionId, assistant: AssistantDep) -> None:
    """Erase a session's messages and state (privacy request). Leads keep their copy."""
    if not assistant.delete_session(session_id):
        raise ApiError(404, "not_found")
