"""Fifty chat clients at once on the real server: no errors, no crossed sessions, one lead each.

Each client holds a short, realistic conversation (premium quotes, claims, DSO; Chinese and
English) and then leaves its phone number through ``POST /v1/leads`` with its own
Idempotency-Key. Every fifth client submits its lead twice at the same moment, as a
double-clicked button or a retrying widget would. Afterwards every transcript must hold
exactly that client's turns in order, every client's own figures must come back in its own
tool calls (slot state is per session, even under load), and every lead must be stored once.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

CLIENTS = 50
TIMEOUT = httpx.Timeout(180.0)  # fifty turns queue on two cores; a slow answer is not an error


@dataclass
class Script:
    """One client's conversation and what its last tool call must carry."""

    messages: list[str]
    tool: str | None = None
    expected_args: dict[str, Any] = field(default_factory=dict)


def script_for(i: int, today: Any) -> Script:
    """Five kinds of conversation; the numbers differ per client so a mix-up would show."""
    kind = i % 5
    if kind == 0:
        sales = 1000 + 10 * i  # 万元
        return Script(
            [f"我们年销售额{sales}万，保费大概多少？", "做电子元器件的", "账期一般60天"],
            "estimate_premium",
            {"annual_credit_sales": sales * 10_000, "industry": "electronics"},
        )
    if kind == 1:
        millions = 20 + i
        return Script(
            [
                "How much would credit insurance cost? "
                f"Our annual credit sales are about {millions} million RMB.",
                "We sell to electronics distributors",
                "Payment terms are 60 days",
            ],
            "estimate_premium",
            {"annual_credit_sales": millions * 1_000_000, "avg_credit_days": 60},
        )
    if kind == 2:
        return Script(
            ["买家破产了要准备什么材料？", "逾期申报期限是多久？"],
            "claim_checklist",
            {"cause": "insolvency"},
        )
    if kind == 3:
        receivables = 300_000 + 1_000 * i
        return Script(
            [
                "How do I calculate DSO?",
                f"Receivables are {receivables:,} and credit sales 500,000. What is our DSO?",
            ],
            "dso",
            {"receivables": receivables, "credit_sales": 500_000},
        )
    days = 30 + i % 20
    return Script(
        ["客户逾期了怎么办？", f"逾期{days}天了，还来得及报损吗？"],
        "claim_checklist",
        {"due_date": (today - timedelta(days=days)).isoformat()},
    )


@dataclass
class Outcome:
    """What one client saw; failures are collected, not raised, so all fifty finish."""

    index: int
    session_id: str | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)
    lead_responses: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers, timeout=TIMEOUT)


def run_client(
    base: str, index: int, script: Script, run_id: str, start: threading.Barrier
) -> Outcome:
    out = Outcome(index)
    start.wait()  # all fifty begin together
    for message in script.messages:
        body: dict[str, Any] = {"message": message, "channel": "widget"}
        if out.session_id:
            body["session_id"] = out.session_id
        try:
            resp = _post(f"{base}/v1/chat", body)
        except httpx.HTTPError as exc:
            out.failures.append(f"chat {message!r}: {exc!r}")
            return out
        if resp.status_code != 200:
            out.failures.append(f"chat {message!r}: {resp.status_code} {resp.text[:300]}")
            return out
        reply = resp.json()
        out.session_id = out.session_id or reply["session_id"]
        if reply["session_id"] != out.session_id:
            out.failures.append(f"session changed mid-conversation: {reply['session_id']}")
        out.replies.append(reply)

    lead = {
        "consent": True,
        "phone": f"1391234{index:04d}",
        "name": f"客户{index}",
        "company": f"测试贸易{index}号有限公司",
        "need": "信用保险咨询",
        "session_id": out.session_id,
    }
    headers = {"Idempotency-Key": f"{run_id}-{index}"}
    submits = 2 if index % 5 == 0 else 1
    both = threading.Barrier(submits)

    def submit() -> httpx.Response:
        both.wait()  # a double click: both requests leave at once
        return _post(f"{base}/v1/leads", lead, headers)

    with ThreadPoolExecutor(submits) as pool:
        futures = [pool.submit(submit) for _ in range(submits)]
        for future in futures:
            try:
                resp = future.result()
            except httpx.HTTPError as exc:
                out.failures.append(f"lead: {exc!r}")
                continue
            if resp.status_code != 201:
                out.failures.append(f"lead: {resp.status_code} {resp.text[:300]}")
                continue
            out.lead_responses.append(resp.json())
    return out


@pytest.fixture(scope="module")
def load_run(api_server: Any) -> tuple[str, list[Script], list[Outcome]]:
    """Run the fifty clients once; the tests below check different promises on the result."""
    run_id = f"load-{uuid.uuid4().hex[:12]}"
    today = api_server.assistant.today()
    scripts = [script_for(i, today) for i in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(run_client, api_server.url, i, scripts[i], run_id, start)
            for i in range(CLIENTS)
        ]
        outcomes = [f.result() for f in futures]
    return run_id, scripts, outcomes


def test_fifty_concurrent_clients_get_no_errors(load_run: Any) -> None:
    _, scripts, outcomes = load_run
    failures = [f"client {o.index}: {f}" for o in outcomes for f in o.failures]
    assert not failures, "\n".join(failures[:20])
    for out, script in zip(outcomes, scripts, strict=True):
        assert len(out.replies) == len(script.messages)
        assert len(out.lead_responses) == (2 if out.index % 5 == 0 else 1)


def test_every_transcript_holds_its_own_turns_in_order(api_server: Any, load_run: Any) -> None:
    _, scripts, outcomes = load_run
    for out, script in zip(outcomes, scripts, strict=True):
        resp = httpx.get(f"{api_server.url}/v1/sessions/{out.session_id}", timeout=TIMEOUT)
        assert resp.status_code == 200
        messages = resp.json()["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * len(script.messages)
        assert [m["content"] for m in messages[::2]] == script.messages  # as typed
        assert [m["id"] for m in messages[1::2]] == [r["message_id"] for r in out.replies]


def test_each_session_keeps_its_own_figures_under_load(load_run: Any) -> None:
    _, scripts, outcomes = load_run
    for out, script in zip(outcomes, scripts, strict=True):
        calls = [c for r in out.replies for c in r["tool_calls"] if c["name"] == script.tool]
        assert calls, f"client {out.index}: no {script.tool} call in {out.replies[-1]['answer']}"
        args = calls[-1]["args"]
        assert {k: args.get(k) for k in script.expected_args} == script.expected_args


def test_every_lead_is_stored_exactly_once_with_its_conversation(
    api_server: Any, load_run: Any
) -> None:
    run_id, scripts, outcomes = load_run
    stored = [
        lead
        for lead in api_server.assistant.store.list_leads(limit=100_000)
        if (lead["idempotency_key"] or "").startswith(f"{run_id}-")
    ]
    per_key = Counter(lead["idempotency_key"] for lead in stored)
    assert per_key == Counter({f"{run_id}-{i}": 1 for i in range(CLIENTS)})
    by_key = {lead["idempotency_key"]: lead for lead in stored}
    for out, script in zip(outcomes, scripts, strict=True):
        lead = by_key[f"{run_id}-{out.index}"]
        assert {r["lead_id"] for r in out.lead_responses} == {lead["id"]}
        # A double submit: exactly one of the two created the lead.
        assert sum(r["created"] for r in out.lead_responses) == 1
        assert lead["session_id"] == out.session_id
        assert lead["phone"] == f"+861391234{out.index:04d}"
        user_turns = [m["content"] for m in lead["transcript"] if m["role"] == "user"]
        assert user_turns == script.messages
