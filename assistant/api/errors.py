"""One error format for every route: ``{"error": {"code", "message"}}``.

The message is in the caller's language (``Accept-Language`` starting with ``en`` gives
English, anything else Chinese). No stack trace or internal path ever reaches a client;
unexpected errors are logged with the request path and answered with a generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant import i18n

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """``code`` is stable (branch on it); ``message`` is for people, in their language.
    Some errors add fields (``job_id`` on 409, ``request_id`` on 500)."""

    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


def _declared(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# Declared on every operation (the app's ``responses``), so clients and schema checkers
# know each error a route can answer, and that all of them share one body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _declared("The body is not valid JSON or not UTF-8."),
    401: _declared("Missing or wrong API key (routes that need one)."),
    403: _declared("The key's role may not use this route."),
    404: _declared("No such path, or no such id (session, job, model)."),
    408: _declared("The request body arrived too slowly (`BODY_TIMEOUT_SECONDS`)."),
    413: _declared("The request body is too large."),
    422: _declared("A field is missing, of the wrong type, or outside its range."),
    429: _declared("Rate limit exceeded; retry after the `Retry-After` seconds."),
    500: _declared("Unexpected error; logged with the request id the body carries."),
}

# The text of each error code is in the locale files (``api.errors.<code>``); this is the
# same text as {code: {lang: template}}, for callers that want both languages at once.
MESSAGES: dict[str, dict[str, str]] = {
    code: {lang: i18n.t(lang, f"api.errors.{code}") for lang in i18n.LANGS}
    for code in i18n.lookup("zh", "api.errors")
}

Message = dict[str, str] | str | None
"""A route's own message: a locale key (``"api.auth.unauthorized"``, filled with the error's
``values``), or text the caller already holds in both languages (``{"zh": ..., "en": ...}``).
``None`` uses the code's message."""


class ApiError(Exception):
    """An error a route raises on purpose, with a code from ``MESSAGES`` or its own text
    (see ``Message``)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Message = None,
        headers: dict[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.headers = status, code, message, headers
        self.values = dict(values or {})


def request_lang(request: Request) -> str:
    return lang_of(request.headers.get("accept-language", ""))


def lang_of(accept_language: str) -> str:
    return "en" if accept_language.lower().startswith("en") else "zh"


def error_body(
    lang: str,
    code: str,
    detail: str = "",
    text: Message = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, str]]:
    if isinstance(text, str):
        return {"error": {"code": code, "message": i18n.t(lang, text, **(values or {}))}}
    if text:
        template = text[lang]
    else:
        known = code if code in MESSAGES else "internal_error"
        template = i18n.t(lang, f"api.errors.{known}")
    message = template.format(detail=detail) if "{detail}" in template else template
    return {"error": {"code": code, "message": message}}


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: str = "",
    text: Message = None,
    headers: dict[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = error_body(request_lang(request), code, detail, text, values)
    return JSONResponse(body, status_code=status, headers=headers)


def describe_error(err: Mapping[str, Any], lang: str) -> str:
    """One pydantic error in the caller's language: a template per error type from the
    locale files, filled with the field path and the error's context (limits, choices).
    Validator messages (``value_error``) are ours and already bilingual or plain."""
    loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
    field = ".".join(loc) or i18n.t(lang, "validation.body")
    kind = str(err.get("type", "other"))
    ctx = {k: _plain(v, lang) for k, v in (err.get("ctx") or {}).items()}
    reason = str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
    try:
        template = i18n.lookup(lang, f"validation.{kind}")
    except KeyError:
        template = i18n.lookup(lang, "validation.other")
    try:
        return str(template).format(field=field, reason=reason, **ctx)
    except (KeyError, IndexError, ValueError):
        return str(i18n.lookup(lang, "validation.other")).format(field=field)


def _plain(value: Any, lang: str) -> str:
    """Context values as a reader sees them: no Python quotes, the reader's "or" between
    choices."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("'", "")
    return text.replace(" or ", i18n.t(lang, "validation.or"))


def _validation_detail(exc: RequestValidationError, lang: str) -> str:
    sep = i18n.t(lang, "validation.separator")
    return sep.join(describe_error(err, lang) for err in exc.errors()[:3])


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            request, exc.status, exc.code, text=exc.message, headers=exc.headers, values=exc.values
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = _validation_detail(exc, request_lang(request))
        return error_response(request, 422, "invalid_request", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "invalid_request"
        )
        # Keep the exception's headers: a 405 must say what is allowed (Allow: POST).
        headers = dict(exc.headers) if exc.headers else None
        return error_response(request, exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal_error")
