"""Rate limits per client IP and per chat session (the ``limits`` library, moving window).

Public routes take ``IpLimit`` as a dependency; chat routes also call ``check_session``
once the body (and so the session id) is known. Exceeding a limit answers 429 with
``Retry-After`` in seconds. Counters live where ``RATE_LIMIT_STORAGE`` says: process memory
by default (one process), or Redis (``redis://host:6379/0``), shared by every replica. When
Redis does not answer, requests are let through and the failure is logged: an outage of
the counter store must not take the advisor down.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant import metrics
from assistant.api.errors import ApiError, error_body, lang_of
from assistant.config import Settings

log = logging.getLogger(__name__)


class RateLimits:
    """The limits of one app (one per ``create_app``, so tests don't share counters)."""

    def __init__(self, settings: Settings) -> None:
        self.per_ip: list[RateLimitItem] = parse_many(settings.rate_limit_ip)
        self.per_session: list[RateLimitItem] = parse_many(settings.rate_limit_session)
        options: dict[str, Any] = {}
        if not settings.rate_limit_storage.startswith("memory://"):
            # Fail fast: a request must not hang on an unreachable counter store.
            options = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        self._limiter = MovingWindowRateLimiter(
            storage_from_string(settings.rate_limit_storage, **options)
        )

    @staticmethod
    def client_ip(request: Request) -> str:
        """The peer address; behind trusted proxies (``FORWARDED_ALLOW_IPS``) uvicorn's
        proxy-headers middleware has already replaced it with the real client's."""
        return request.client.host if request.client else "unknown"

    def check(self, scope: str, key: str, items: list[RateLimitItem]) -> None:
        """Count one hit against every limit; raise 429 when one is exhausted."""
        for item in items:
            try:
                allowed = self._limiter.hit(item, scope, key)
            except (StorageError, RedisError, OSError) as exc:
                log.warning("rate-limit storage unavailable", extra={"error": type(exc).__name__})
                return
            if not allowed:
                reset = self._limiter.get_window_stats(item, scope, key).reset_time
                seconds = max(1, math.ceil(reset - time.time()))
                metrics.RATE_LIMITED.labels(scope=scope).inc()
                raise ApiError(
                    429,
                    "rate_limited",
                    "api.ratelimit.too_many",
                    headers={"Retry-After": str(seconds)},
                    values={"seconds": seconds},
                )


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def limit_ip(request: Request) -> None:
    """Dependency for public routes."""
    limits = _limits(request)
    limits.check("ip", limits.client_ip(request), limits.per_ip)


def check_session(request: Request, session_id: str | None) -> None:
    """Call from a chat route once the session id is known (new sessions are not limited:
    their IP limit already applies)."""
    if session_id:
        limits = _limits(request)
        limits.check("session", session_id, limits.per_session)


IpLimit = Annotated[None, Depends(limit_ip)]

LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Rate limit exceeded; retry after the `Retry-After` seconds."}
}


class UiIpLimit:
    """The UI's own API counts against the same per-IP limit as the /v1 routes: every POST
    under ``/gradio_api/`` (a chat turn, a form submission, a queue join) is a hit. Page
    loads and static assets (GET) are not counted, so opening the UI never trips it."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).startswith("/gradio_api/")
        ):
            client = scope.get("client") or ("unknown", 0)
            try:
                self.limits.check("ip", str(client[0]), self.limits.per_ip)
            except ApiError as exc:
                headers = dict(scope.get("headers") or [])
                lang = lang_of(headers.get(b"accept-language", b"").decode("latin-1"))
                response = JSONResponse(
                    error_body(lang, exc.code, text=exc.message, values=exc.values),
                    status_code=exc.status,
                    headers=exc.headers,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
