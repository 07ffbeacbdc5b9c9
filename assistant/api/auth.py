"""API keys with roles, stored as SHA-256 hashes and compared in constant time.

A caller sends ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). ``admin`` can do
everything ``support`` can. Make a key and the settings line to store with
``python -m assistant new-key support``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Callable
from typing import Literal

from fastapi import Request

from assistant.api.errors import ApiError
from assistant.config import Settings

Role = Literal["support", "admin"]
_GRANTS: dict[str, set[str]] = {"support": {"support"}, "admin": {"support", "admin"}}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def role_of(key: str, settings: Settings) -> str | None:
    """The role of a presented key, or None. Every stored hash is compared (no early exit)."""
    presented = key_hash(key)
    found: str | None = None
    for entry in filter(None, (e.strip() for e in settings.api_keys.split(","))):
        role, _, digest = entry.partition(":")
        if hmac.compare_digest(presented, digest) and found is None:
            found = role
    return found


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def require(role: Role) -> Callable[[Request], str]:
    """A dependency: 401 without a valid key, 403 with a key of a lesser role."""

    def check(request: Request) -> str:
        key = _presented_key(request)
        settings: Settings = request.app.state.settings
        granted = role_of(key, settings) if key else None
        if granted is None:
            raise ApiError(401, "unauthorized", "api.auth.unauthorized")
        if role not in _GRANTS[granted]:
            raise ApiError(403, "forbidden", "api.auth.forbidden")
        return granted

    return check


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "new" or args[1] not in _GRANTS:
        print("usage: python -m assistant new-key support|admin", file=sys.stderr)
        return 2
    key = secrets.token_urlsafe(32)
    print(f"key (give it to the caller, shown once): {key}")
    print(f"settings entry (API_KEYS): {args[1]}:{key_hash(key)}")
    return 0
