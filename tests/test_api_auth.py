"""The access matrix over every route the server exposes: no key, a wrong key, the wrong
role and the right role. Every route must be classified here, so a new route cannot ship
without a decision about who may call it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, SUPPORT_KEY

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/chat"),
    ("POST", "/v1/chat/stream"),
    ("GET", "/v1/sessions/{session_id}"),
    ("DELETE", "/v1/sessions/{session_id}"),
    ("POST", "/v1/leads"),
    ("GET", "/v1/privacy"),
    ("POST", "/v1/feedback"),
    ("GET", "/v1/tools"),
    ("POST", "/v1/tools/premium-estimate"),
    ("POST", "/v1/tools/claim-checklist"),
    ("POST", "/v1/tools/dso"),
    ("POST", "/v1/tools/liquidity"),
    ("POST", "/v1/tools/recovery-sales"),
    ("POST", "/v1/tools/payment-plan"),
}
SUPPORT = {
    ("GET", "/v1/admin/unanswered"),
    ("GET", "/v1/leads"),
    ("GET", "/v1/search"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{model_id}"),
}
ADMIN = {
    ("POST", "/v1/admin/ingest"),
    ("GET", "/v1/admin/ingest/{job_id}"),
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "/v1/search": {"params": {"q": "逾期申报"}},
    "/v1/chat/completions": {
        "json": {"model": "credit-advisor", "messages": [{"role": "user", "content": "你好"}]}
    },
    "/v1/admin/ingest": {"json": {"dry_run": True}},
}


def _url(base: str, path: str) -> str:
    return base + path.format(session_id="s_x", model_id="credit-advisor", job_id="ing_x")


def _call(base: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(
        method, _url(base, path), headers=headers, timeout=60, **EXAMPLES.get(path, {})
    )


def test_every_route_is_classified(api_server: Any) -> None:
    schema = httpx.get(f"{api_server.url}/openapi.json").json()
    served = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert served == PUBLIC | SUPPORT | ADMIN


@pytest.mark.parametrize(("method", "path"), sorted(SUPPORT | ADMIN))
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": "not-a-key"}],
    ids=["none", "wrong-bearer", "wrong-x-api-key"],
)
def test_protected_routes_refuse_a_missing_or_wrong_key(
    api_server: Any, method: str, path: str, headers: dict[str, str]
) -> None:
    resp = _call(api_server.url, method, path, headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path"), sorted(ADMIN))
def test_admin_routes_refuse_a_support_key(api_server: Any, method: str, path: str) -> None:
    resp = _call(api_server.url, method, path, {"Authorization": f"Bearer {SUPPORT_KEY}"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), sorted(SUPPORT))
@pytest.mark.parametrize("key", [SUPPORT_KEY, ADMIN_KEY], ids=["support", "admin"])
def test_support_routes_admit_support_and_admin_keys(
    api_server: Any, method: str, path: str, key: str
) -> None:
    resp = _call(api_server.url, method, path, {"X-API-Key": key})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(("method", "path"), sorted(ADMIN))
def test_admin_routes_admit_an_admin_key(api_server: Any, method: str, path: str) -> None:
    resp = _call(api_server.url, method, path, {"Authorization": f"Bearer {ADMIN_KEY}"})
    # past the key check: a job is started, refused as busy, or (for a made-up id) unknown
    assert resp.status_code in (202, 404, 409), resp.text
    if resp.status_code == 404:
        assert resp.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes_need_no_key(api_server: Any, method: str, path: str) -> None:
    resp = _call(api_server.url, method, path, {})
    assert resp.status_code not in (401, 403)
