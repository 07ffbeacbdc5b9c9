"""Schemathesis fuzzes every operation in the live server's OpenAPI schema: no 5xx, ever.

The schema is read from the running ``api_server`` (``/openapi.json``), so routes added
later are fuzzed without touching this file. Every request carries the admin key, which
every role check accepts, so protected routes are exercised past authentication rather
than stopping at 401. Both valid (positive) and schema-violating (negative) requests are
generated. Generation is bounded and deterministic (derandomized, no example database), so
a failure reproduces on the next run and the file stays within a couple of minutes.

Why not ``schemathesis.pytest.from_fixture``: with pytest 9.2 its lazy loader fails
(``'Function' object has no attribute '_nodeid'``, schemathesis 4.32). Each operation's
``as_strategy()`` under Hypothesis, one subtest per operation, is the same generation
through a public API that does not depend on pytest internals.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import (
    CheckFunction,
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import tests.schemathesis_hooks  # noqa: F401  (generators that know the cross-field rules)
from tests.conftest import ADMIN_KEY

MAX_EXAMPLES = 30
"""Generated requests per operation (positive and negative together)."""

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept-Language": "en"}

# Re-indexing the shared knowledge folder dozens of times would be slow and would swap the
# index under the other tests; the admin tests cover ingestion on their own index.
EXCLUDED = {"POST /v1/admin/ingest"}


@pytest.fixture(scope="module")
def api_schema(api_server: Any) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "request-timeout": 120,
            # Read whole event streams: an error event near the end must not be cut off.
            "max-stream-events": 100_000,
            # A body over MAX_BODY_BYTES is refused with 413 before it is parsed: a
            # rejection like 400 or 422 (schemathesis's default list lacks 413).
            "checks": {
                # schemathesis's defaults plus 413: a schema-valid body can still be
                # bigger than MAX_BODY_BYTES, a limit every operation declares.
                "positive_data_acceptance": {
                    "expected-statuses": [
                        "2xx",
                        "3xx",
                        "401",
                        "403",
                        "404",
                        "409",
                        "413",
                        "429",
                        "5xx",
                    ]
                },
                "negative_data_rejection": {
                    "expected-statuses": [
                        "400",
                        "401",
                        "403",
                        "404",
                        "405",
                        "406",
                        "409",
                        "413",
                        "415",
                        "422",
                        "428",
                        "429",
                        "5XX",
                    ]
                },
            },
        }
    )
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json", config=config)


def admin_key_gets_past_auth(ctx: CheckContext, response: Response, case: Case) -> None:
    """Without this, a protected route could answer 401 to every case and look 'robust'."""
    assert response.status_code not in (401, 403), (
        f"{case.method} {case.path}: the admin key was refused ({response.status_code})"
    )


def errors_use_the_json_format(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every 4xx is ``{"error": {"code", "message"}}`` with no stack trace or file path."""
    if response.status_code < 400:
        return
    text = response.content.decode("utf-8", errors="replace")
    try:
        error = json.loads(text)["error"]
        ok = all(isinstance(error.get(k), str) and error[k] for k in ("code", "message"))
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    assert ok, f'{response.status_code} is not {{"error": {{"code", "message"}}}}: {text[:300]!r}'
    assert "Traceback" not in text and 'File "' not in text and "/work/" not in text, text[:500]


def streams_never_fail_inside(ctx: CheckContext, response: Response, case: Case) -> None:
    """An SSE stream answers 200 before the turn runs, so a crash mid-turn would not show
    as a 5xx: it shows as an ``error`` event with ``internal_error``."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("text/event-stream"):
        assert not response.stream_cut_short, "the event stream was not read to its end"
        assert b"internal_error" not in response.content, response.content[-500:]


CHECKS: list[CheckFunction] = [
    admin_key_gets_past_auth,
    errors_use_the_json_format,
    streams_never_fail_inside,
    # Conformance to the schema the server publishes: every status code and content type
    # a route answers is declared, every body matches its schema, a request the schema
    # forbids is refused, and one it allows is accepted. A few schema-valid bodies are
    # refused on purpose, by rules JSON Schema cannot state (a real phone number, max
    # days not below average days, current assets not below cash, a conversation ending
    # in a user message): tests/schemathesis_hooks.py generates bodies that keep them.
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]


def fuzz(operation: Any) -> None:
    """Run one operation's generated requests; Hypothesis shrinks and reports a failure."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: each step is a real request (a chat turn runs retrieval), and
        # shrinking one failure took minutes. The report's curl line reproduces the case.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Case) -> None:
        case.call_and_validate(
            headers=HEADERS, checks=[not_a_server_error], additional_checks=CHECKS
        )

    run()


def test_no_generated_request_gets_a_server_error(api_schema: Any, subtests: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {op.label for op in operations}
    # The schema must really be the app's: a 404 on /openapi.json would fuzz nothing.
    assert {"POST /v1/chat", "POST /v1/leads", "GET /v1/leads"} <= labels
    for operation in operations:
        if operation.label in EXCLUDED:
            continue
        with subtests.test(msg=operation.label):
            fuzz(operation)
