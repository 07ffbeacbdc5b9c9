"""Prometheus metrics for ``GET /metrics`` (prometheus-client).

One registry per process, not the library's global default, so importing this module twice
in tests or alongside other instrumented code cannot clash. Code that does the work records
it here (retrieval, tools, leads, webhook); the API middleware records requests.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "credit_advisor_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "credit_advisor_http_request_duration_seconds",
    "Time to answer an HTTP request (to the last byte for streams).",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RETRIEVAL_SECONDS = Histogram(
    "credit_advisor_retrieval_duration_seconds",
    "Time of one hybrid knowledge search (BM25 + dense + fusion).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOOL_CALLS = Counter(
    "credit_advisor_tool_calls_total",
    "Tool runs by tool name and outcome (ok, invalid).",
    ["tool", "outcome"],
    registry=REGISTRY,
)
CHAT_TURNS = Counter(
    "credit_advisor_chat_turns_total",
    "Answered chat turns by mode (grounded, llm, fallback) and channel.",
    ["mode", "channel"],
    registry=REGISTRY,
)
LEADS = Counter(
    "credit_advisor_leads_total",
    "Leads stored (created) or recognised as a retry (duplicate), by channel.",
    ["channel", "outcome"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "credit_advisor_webhook_deliveries_total",
    "Lead webhook delivery attempts by outcome (delivered, failed).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_BACKLOG = Gauge(
    "credit_advisor_webhook_backlog",
    "Lead events not yet accepted by the CRM webhook.",
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "credit_advisor_rate_limited_total",
    "Requests refused with 429, by limit scope (ip, session).",
    ["scope"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The text format body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
