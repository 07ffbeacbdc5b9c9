"""The HTTP API: ``create_app()`` builds the FastAPI app; one router per audience.

``server.py`` only runs it. Routers stay thin: they validate the request, call the
``Assistant`` (or a tool) and shape the response; errors share one JSON format.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from assistant.api import admin, chat, errors, leads, openai_compat, ops, tools
from assistant.config import Settings, get_settings


def create_app(settings: Settings | None = None, assistant: Any | None = None) -> FastAPI:
    """The app. ``assistant`` is built from ``settings`` on first use unless given (tests)."""
    settings = settings or get_settings()
    # FastAPIOffline serves the Swagger/ReDoc assets itself: /docs works with no internet.
    app: FastAPI = FastAPIOffline(
        title="信保顾问 Credit Advisor API",
        version="1",
        description="Trade credit insurance and receivables advice for Chinese SMEs.",
    )
    app.state.settings = settings
    app.state.assistant = assistant
    errors.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-API-Key", "Idempotency-Key"],
    )

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        # Refuse an over-long body before reading it (a declared Content-Length).
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_body_bytes:
            return errors.error_response(request, 413, "payload_too_large")
        return await call_next(request)

    app.include_router(ops.router)
    app.include_router(chat.router)
    app.include_router(leads.router)
    app.include_router(tools.router)
    app.include_router(openai_compat.router)
    app.include_router(admin.router)
    return app
