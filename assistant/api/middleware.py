"""Pure ASGI middleware (safe for streamed responses, unlike ``BaseHTTPMiddleware``).

- ``RequestContext``: a request id (the caller's ``X-Request-ID`` if sane, else a new one)
  in every log line and in the response header; one access log line and the request
  metrics per request, timed to the last byte so SSE streams count in full.

The body-size limit is Starlette's ``RequestBodyLimitMiddleware`` (declared and chunked
bodies); its 413 is an ``HTTPException`` raised while a route reads the body, so it gets
our JSON error format.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import metrics
from assistant.api.errors import error_body, lang_of
from assistant.logs import request_id_var

log = logging.getLogger("assistant.api.access")
API_FALLBACK = "/v1/{rest:path}"
"""The catch-all that answers 404 / 405 under /v1 (``assistant.api._api_fallback``)."""
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = int(message["status"]), True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception:
                # Logged and answered here, inside the request's context, so the line
                # carries its request id (Starlette's outermost error middleware runs
                # after the id is gone).
                log.exception("unhandled error on %s", scope.get("path", ""))
                if responded:
                    raise
                lang = lang_of(_header(scope, b"accept-language"))
                await JSONResponse(error_body(lang, "internal_error"), status_code=500)(
                    scope, receive, send_wrapper
                )
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template == API_FALLBACK:
                template = "unmatched"  # the /v1 catch-all answers 404/405; no real route
            method = scope.get("method", "")
            metrics.REQUESTS.labels(method=method, route=template, status=str(status)).inc()
            metrics.REQUEST_SECONDS.labels(method=method, route=template).observe(elapsed)
            client = scope.get("client") or ("", 0)
            # A matched route is logged by its template: session and job ids in the path
            # ("/v1/sessions/s_…") would let anyone who reads the logs open the session.
            path = template if route is not None else scope.get("path", "")
            log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "http_method": method,
                    "path": path,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "client_ip": client[0],
                },
            )
            request_id_var.reset(token)


async def _closing_error(
    scope: Scope, receive: Receive, send: Send, code: str, status: int
) -> None:
    """Answer with our JSON error in the caller's language and close the connection."""
    lang = lang_of(_header(scope, b"accept-language"))
    response = JSONResponse(
        error_body(lang, code), status_code=status, headers={"Connection": "close"}
    )
    await response(scope, receive, send)


STANDARD_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")


class UnknownMethod:
    """A method outside ``STANDARD_METHODS`` (QUERY, PROPFIND, anything a client invents)
    on a path the API serves is 405 with ``Allow``, like a wrong standard method; the UI
    mounted at "/" would answer it with its own 404. The routes are asked through
    ``app.state.allowed_methods``, set by ``assistant.api._api_fallback``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in STANDARD_METHODS:
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        allowed = getattr(getattr(app, "state", None), "allowed_methods", None)
        allow = allowed(dict(scope)) if allowed is not None else []
        if not allow and not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)  # not ours: the UI answers
            return
        lang = lang_of(_header(scope, b"accept-language"))
        code, status = ("method_not_allowed", 405) if allow else ("not_found", 404)
        headers = {"Allow": ", ".join(allow)} if allow else {}
        await JSONResponse(error_body(lang, code), status_code=status, headers=headers)(
            scope, receive, send
        )


class DeclaredBodyLimit:
    """Answers 413 in our JSON format at once when ``Content-Length`` already says the
    body is too big (Starlette's limiter, inside this one, would answer in plain text).
    Bodies without a declared length are counted by Starlette's limiter as they arrive."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app, self.max_body_size = app, max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length") if scope["type"] == "http" else ""
        if declared.isdigit() and int(declared) > self.max_body_size:
            await _closing_error(scope, receive, send, "payload_too_large", 413)
            return
        await self.app(scope, receive, send)


class BodyReadTimeout:
    """A request body must keep arriving: each piece within ``timeout`` seconds, or the
    request is answered 408 and the connection closed. Without it a client that declares a
    body and sends half of it holds a worker's connection open for as long as it likes.
    Only the body is timed; once it is complete, ``receive`` is passed through untouched
    (a stream waits on it for the client's disconnect). On a timeout the app is told the
    client went away, and whatever it answers after that is dropped."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app, self.timeout = app, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = started = timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                body_done = timed_out = True
                if not started:
                    await _closing_error(scope, receive, send, "request_timeout", 408)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the 408 went out already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, tracked_send)
