"""The published schema matches what the server does (schemathesis conformance findings).

Each case here was answered differently from ``/openapi.json`` before: an undeclared 404
or CSV, ``true`` read as the number 1, a bare number read as a date-time, a ratio over a
near-zero liability sent as ``null`` under a number schema.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SUPPORT_KEY


@pytest.fixture(scope="module")
def url(api_server: Any) -> str:
    return str(api_server.url)


@pytest.fixture(scope="module")
def schema(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/openapi.json").json())


def test_every_operation_declares_the_error_responses_it_can_give(schema: dict[str, Any]) -> None:
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "404", "413", "422", "429", "500"} <= codes, (method, path, codes)
            ref = op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (method, path)


def test_csv_and_event_stream_bodies_are_declared(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for path in ("/v1/leads", "/v1/admin/unanswered"):
        assert "text/csv" in paths[path]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in paths["/v1/chat/stream"]["post"]["responses"]["200"]["content"]


def test_tool_dates_carry_their_accepted_range(schema: dict[str, Any], url: str) -> None:
    props = schema["components"]["schemas"]["PaymentPlanInput"]["properties"]
    assert props["first_date"]["pattern"].startswith("^(199")
    body = {"amount": 100, "instalments": 2, "first_date": "1989-12-31"}
    body["original_due_date"] = "2026-01-01"
    assert httpx.post(f"{url}/v1/tools/payment-plan", json=body).status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tools/dso", {"receivables": True, "credit_sales": 1000}),
        ("/v1/tools/liquidity", {"current_liabilities": 5e-324, "cash": 1000}),
        ("/v1/tools/recovery-sales", {"bad_debt": 5e-324, "margin_pct": 5e-324}),
        # A number is no answer to "reported?": 0.0 used to be read as false.
        ("/v1/tools/claim-checklist", {"cause": "dispute", "overdue_reported": 0.0}),
    ],
)
def test_input_the_schema_forbids_is_refused(url: str, path: str, body: dict[str, Any]) -> None:
    resp = httpx.post(url + path, json=body, headers={"Accept-Language": "en"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"


def test_ingest_flags_take_true_or_false_only(url: str) -> None:
    from tests.conftest import ADMIN_KEY

    resp = httpx.post(
        f"{url}/v1/admin/ingest",
        json={"dry_run": 0, "rebuild": False},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert resp.status_code == 422, resp.text  # 0 is not false: no ingest is started


def test_since_takes_an_iso_date_time_only(url: str) -> None:
    headers = {"X-API-Key": SUPPORT_KEY}
    assert httpx.get(f"{url}/v1/leads", params={"since": "0.0"}, headers=headers).status_code == 422
    ok = httpx.get(f"{url}/v1/leads", params={"since": "2026-01-01T00:00:00Z"}, headers=headers)
    assert ok.status_code == 200


def test_a_result_that_is_not_finite_is_out_of_range_not_null() -> None:
    from assistant.api.tools import _finite

    assert _finite({"a": 1.0, "b": [2.0, {"c": 3}], "d": "x", "e": None})
    assert not _finite({"a": 1.0, "b": [2.0, {"c": float("inf")}]})
    assert not _finite({"ratio": float("nan")})


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/healthz", "GET"),
        ("PUT", "/readyz", "GET"),
        ("OPTIONS", "/metrics", "GET"),
        ("TRACE", "/v1/chat", "POST"),
        ("DELETE", "/openapi.json", "GET, HEAD"),
        # Methods outside the standard ones (QUERY, a client's invention) too.
        ("QUERY", "/healthz", "GET"),
        ("QUERY", "/v1/chat", "POST"),
    ],
)
def test_an_undeclared_method_is_405_everywhere_not_the_uis_404(
    url: str, method: str, path: str, allow: str
) -> None:
    # The UI mounted at "/" used to answer TRACE /v1/chat and PUT /healthz with its own
    # 404 ({"detail": "Not Found"}); schemathesis's coverage phase reports that as ST204.
    resp = httpx.request(method, url + path)
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == allow
    assert resp.json()["error"]["code"] == "method_not_allowed"


def test_a_lead_schema_says_consent_is_required_and_true(schema: dict[str, Any]) -> None:
    lead = schema["components"]["schemas"]["LeadIn"]
    assert "consent" in lead["required"] and lead["properties"]["consent"]["const"] is True
    needs = set(lead["properties"]["need"]["enum"])
    assert {"credit_insurance", "其他", "Claims"} <= needs
