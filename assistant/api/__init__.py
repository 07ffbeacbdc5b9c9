"""The HTTP API: ``create_app()`` builds the FastAPI app; one router per audience.

``server.py`` only runs it. Routers stay thin: they validate the request, call the
``Assistant`` (or a tool) and shape the response; errors share one JSON format.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Mount

from assistant import i18n
from assistant.api import (
    admin,
    chat,
    deps,
    errors,
    leads,
    openai_compat,
    ops,
    support,
    tools,
    web,
)
from assistant.api.middleware import (
    API_FALLBACK,
    STANDARD_METHODS,
    BodyReadTimeout,
    DeclaredBodyLimit,
    RequestContext,
    UnknownMethod,
)
from assistant.api.ratelimit import RateLimits, UiIpLimit
from assistant.config import Settings, get_settings
from assistant.retention import RetentionWorker
from assistant.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

DESCRIPTION = """Trade credit insurance and receivables advice for Chinese SMEs.

- **Public** (the website widget, the lead form, the UI): chat, streaming chat, leads,
  feedback and the calculators. Browsers are limited to the CORS allow-list; every client
  is rate-limited per IP and per session (429 with `Retry-After`).
- **Support** (`Authorization: Bearer <key>` or `X-API-Key`): leads (JSON or CSV),
  knowledge search, and the OpenAI-compatible `/v1/chat/completions`.
- **Admin**: re-ingest the knowledge folder in the background.

Errors are always `{"error": {"code", "message"}}`, in Chinese or, with
`Accept-Language: en`, in English.
"""


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options from the settings (used by ``server.py`` and the tests' servers).

    X-Forwarded-For is believed only from ``FORWARDED_ALLOW_IPS``; uvicorn picks the
    rightmost address a trusted proxy did not add, so a client cannot forge its own IP.
    """
    trusted = settings.forwarded_allow_ips.strip()
    return {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "timeout_graceful_shutdown": 10,
    }


def _index_exists(settings: Settings) -> bool:
    from assistant.knowledge.index import KnowledgeIndex

    # A replica on a new machine takes the shared index from the database (SHARED_INDEX).
    if KnowledgeIndex(settings).ensure_local(timeout=60) is None:
        log.warning("no knowledge index yet: run ingest.py (the API answers 503 on /readyz)")
        return False
    return True


def serve_app() -> FastAPI:
    """The app for one uvicorn worker process (``python server.py --workers N``): logging
    (JSON, phone masking) is configured inside the worker, where the app's logs are
    written; uvicorn's own ``log_config`` would otherwise replace it."""
    from assistant.logs import configure

    settings = get_settings()
    configure(settings)
    return create_app(settings)


def _api_fallback(app: FastAPI) -> None:
    """The API answers for itself, even with the UI mounted at "/" (which would otherwise
    take every unmatched request): a known path with another method is 405 with
    ``Allow`` (also TRACE and OPTIONS, and also for /healthz, /readyz, /metrics and the
    other routes outside /v1), an unknown path under /v1 404, all in our JSON format."""
    methods = list(STANDARD_METHODS)

    def allowed(scope: dict[str, Any]) -> list[str]:
        return sorted(
            method
            for method in methods
            if any(
                route.matches({**scope, "method": method})[0] == Match.FULL
                for route in app.router.routes
                if not isinstance(route, Mount) and getattr(route, "endpoint", None) is not fallback
            )
        )

    async def fallback(request: Request) -> None:
        allow = allowed(dict(request.scope))
        if allow:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allow)})
        raise StarletteHTTPException(404)

    app.state.allowed_methods = allowed  # for UnknownMethod (QUERY, PROPFIND, ...)

    def flat(routes: list[Any]) -> Iterator[Any]:
        # FastAPI keeps an included router as one entry ("_IncludedRouter"); its routes
        # (included here without a prefix) are those of the original router.
        for route in routes:
            inner = getattr(route, "original_router", None)
            yield from flat(inner.routes) if inner is not None else (route,)

    served: dict[str, set[str]] = {}
    for route in flat(app.router.routes):
        path = getattr(route, "path", "")
        if isinstance(route, Mount) or not path or path.startswith("/v1/"):
            continue
        served.setdefault(path, set()).update(getattr(route, "methods", None) or ())
    app.add_api_route(API_FALLBACK, fallback, methods=methods, include_in_schema=False)
    for path, taken in served.items():
        others = [m for m in methods if m not in taken]
        if others:
            app.add_api_route(path, fallback, methods=others, include_in_schema=False)


def create_app(
    settings: Settings | None = None, assistant: Any | None = None, *, preload: bool = True
) -> FastAPI:
    """The app. ``assistant`` is built from ``settings`` at start-up unless given (tests);
    ``preload=False`` defers that to the first request."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatcher = retention = None
        if (preload or settings.lead_webhook_url) and _index_exists(settings):
            # Load the index before taking traffic, so the first chat isn't slow and
            # /readyz means what it says. Off the event loop: it takes seconds.
            bot = await run_in_threadpool(deps.assistant_of, app)
            dispatcher = WebhookDispatcher.from_settings(settings, bot.store)
            if dispatcher is not None:
                bot.store.on_enqueue = dispatcher.notify
                dispatcher.start()
            retention = RetentionWorker(bot.store, settings)
            retention.start()
        app.state.webhooks = dispatcher
        try:
            yield
        finally:
            if retention is not None:
                await run_in_threadpool(retention.stop)
            if dispatcher is not None:
                await run_in_threadpool(dispatcher.stop)
            jobs = getattr(app.state, "ingest_jobs", None)
            if jobs is not None:  # let a running re-index finish its atomic swap
                await run_in_threadpool(jobs.shutdown)

    # FastAPIOffline serves the Swagger/ReDoc assets itself: /docs works with no internet.
    app: FastAPI = FastAPIOffline(
        title=i18n.t("en", "api.title"),
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.rate_limits = RateLimits(settings)
    app.state.webhooks = None
    errors.install(app)
    # add_middleware wraps: the last added runs first. Request id and access log outermost;
    # CORS outside the body limit so even a 413 reaches a browser with its CORS headers.
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes)
    app.add_middleware(DeclaredBodyLimit, max_body_size=settings.max_body_bytes)
    app.add_middleware(BodyReadTimeout, timeout=settings.body_timeout_seconds)
    app.add_middleware(UiIpLimit, limits=app.state.rate_limits)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=[
            "Content-Type",
            "Authorization",
            "X-API-Key",
            "Idempotency-Key",
            "X-Request-ID",
            "Accept-Language",
        ],
        expose_headers=["X-Request-ID", "Retry-After"],
    )
    # Compress pages and JSON (the UI's first page shrinks from ~100 KB to ~15 KB);
    # Starlette never compresses text/event-stream, so streams stay unbuffered.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(UnknownMethod)
    app.add_middleware(RequestContext)

    for module in (ops, chat, leads, tools, openai_compat, admin, support, web):
        app.include_router(module.router)
    _api_fallback(app)
    if settings.serve_ui:
        # Mounted last: the UI owns "/" and everything the routes above don't match.
        import gradio as gr

        from assistant.ui import build_ui, mount_options

        ui = build_ui(lambda: deps.assistant_of(app), settings)
        app = gr.mount_gradio_app(app, ui, path="/", **mount_options())
    return app
