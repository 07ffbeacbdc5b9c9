"""Replicas on separate machines: one PostgreSQL, one Chroma server, a DATA_DIR each.

Each replica here has its own data folder (as on its own machine) and its own retrieval
engine; they share a real PostgreSQL (pgserver) and a real Chroma server. The live
generation goes through the database: a replica with an empty folder serves it, an
ingest on one machine reaches the others within INDEX_POLL_SECONDS, and the collection a
replica still serves is never dropped under it.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import PROJECT_ROOT, Settings
from tests.conftest import FAQ_ZH, GUIDE_EN, POLICY_ZH, write_doc
from tests.server_proc import ChromaServer

pytest.importorskip("pgserver")

NEW_DOC = """---
id: test-zephyr-en
title: Zephyrquartz rebate rules
lang: en
doc_type: guide
version: "1.0"
effective: 2026-01-01
sources:
  - "test fixture"
---

# Zephyrquartz rebate rules

## How the Zephyrquartz rebate works

A Zephyrquartz rebate is paid once a year on settled invoices only.
"""


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fleet(
    tmp_path: Path, pg_module_url: str, chroma: ChromaServer, embedding_cache: Path
) -> Iterator[Any]:
    from assistant.storage import Store

    Store(pg_module_url).close()  # the schema, so the clean-up below always has its tables
    kb = tmp_path / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, "guides/dso.en.md", GUIDE_EN)
    write_doc(kb, "faq/faq.zh.md", FAQ_ZH)
    for name in ("policy.yaml", "rating.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, kb / name)

    def machine(name: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "knowledge_dir": kb,
            "data_dir": tmp_path / name,
            "embedding_cache_dir": embedding_cache,
            "terms_dict": PROJECT_ROOT / "knowledge" / "terms.dict",
            "embedding_backend": "e5",
            "database_url": pg_module_url,
            "chroma_host": "127.0.0.1",
            "chroma_port": chroma.port,
            "_env_file": None,
        }
        values.update(overrides)
        return Settings(**values)

    yield machine, kb, chroma
    # Each test leaves the shared database as it found it.
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_module_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM index_replicas"))
        conn.execute(text("DELETE FROM index_generations"))
    engine.dispose()


def _collections(chroma: ChromaServer) -> set[str]:
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port)
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def _engine(settings: Settings) -> Any:
    from assistant.knowledge.index import KnowledgeIndex
    from assistant.retrieval import RetrievalEngine

    return RetrievalEngine(KnowledgeIndex(settings), settings)


def _top_doc(engine: Any, query: str) -> str:
    hits = engine.search(query, k=3).hits
    return str(hits[0].metadata["doc_id"]) if hits else ""


def test_the_shared_index_is_on_with_a_database_and_a_chroma_server(fleet: Any) -> None:
    machine, _, _ = fleet
    assert machine("a").index_shared
    assert not machine("a", chroma_host=None).index_shared
    assert not machine("a", shared_index=False).index_shared
    assert machine("a", chroma_host=None, shared_index=True).index_shared


def test_a_replica_with_an_empty_data_dir_serves_the_live_generation(fleet: Any) -> None:
    from assistant.knowledge.index import KnowledgeIndex

    machine, _, _ = fleet
    a = KnowledgeIndex(machine("a"))
    report = a.sync()
    assert report.ok and report.generation

    b_settings = machine("b")
    assert not b_settings.index_dir.exists()
    b = _engine(b_settings)
    assert _top_doc(b, "How to calculate DSO") == "test-guide-en"
    assert b.generation == report.generation

    # An ingest on the new machine adopts the fleet's index: nothing to embed, no new
    # generation.
    again = KnowledgeIndex(b_settings).sync()
    assert again.generation == report.generation
    assert again.embedded == 0 and not again.added and not again.rebuilt


def test_an_ingest_reaches_other_replicas_and_never_drops_a_collection_in_use(
    fleet: Any,
) -> None:
    from assistant.knowledge.index import KnowledgeIndex

    machine, kb, chroma = fleet
    a_settings = machine("a", index_gc_grace_seconds=3.0)
    first = KnowledgeIndex(a_settings).sync()
    b = _engine(machine("b", index_poll_seconds=2.0))
    assert _top_doc(b, "How to calculate DSO") == "test-guide-en"
    old_collection = f"{a_settings.collection_prefix}_{first.generation}"

    write_doc(kb, "guides/zephyr.en.md", NEW_DOC)
    second = KnowledgeIndex(a_settings).sync()
    assert second.generation != first.generation
    # B still serves the first generation (its poll is not due): its collection is kept,
    # so B's searches work, as they did not when another machine's ingest removed it.
    assert old_collection in _collections(chroma)
    assert b.generation == first.generation
    assert _top_doc(b, "How to calculate DSO") == "test-guide-en"

    deadline = time.monotonic() + 30
    while _top_doc(b, "Zephyrquartz rebate") != "test-zephyr-en":
        assert time.monotonic() < deadline, "replica B never loaded the new generation"
        time.sleep(0.2)
    assert b.generation == second.generation

    # Once no replica has served the first generation for the grace period, the next
    # garbage collection drops its collection.
    time.sleep(3.5)
    _top_doc(b, "How to calculate DSO")  # B's poll records the generation it serves
    KnowledgeIndex(a_settings).collect_garbage()
    names = _collections(chroma)
    assert old_collection not in names
    assert f"{a_settings.collection_prefix}_{second.generation}" in names


def test_a_damaged_archive_is_not_adopted_and_the_replica_keeps_serving(fleet: Any) -> None:
    from sqlalchemy import create_engine, text

    from assistant.knowledge.index import KnowledgeIndex

    machine, kb, _ = fleet
    a_settings = machine("a")
    first = KnowledgeIndex(a_settings).sync()
    b = _engine(machine("b", index_poll_seconds=0.2))
    assert _top_doc(b, "How to calculate DSO") == "test-guide-en"

    write_doc(kb, "guides/zephyr.en.md", NEW_DOC)
    second = KnowledgeIndex(a_settings).sync()
    engine = create_engine(a_settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE index_generations SET artifact = :junk WHERE generation = :g"),
            {"junk": b"not a tar archive", "g": second.generation},
        )
    engine.dispose()
    time.sleep(0.5)
    # The poll fails to unpack, logs it, and B keeps its generation and answers.
    assert _top_doc(b, "How to calculate DSO") == "test-guide-en"
    assert b.generation == first.generation
    gens = machine("b").index_dir / "generations"
    assert sorted(p.name for p in gens.iterdir() if not p.name.startswith(".")) == [
        first.generation
    ]
    assert not [p for p in gens.iterdir() if p.name.startswith(".")]  # no half-unpacked folder


def test_three_api_processes_share_sessions_an_ingest_and_the_limits(
    fleet: Any, tmp_path: Path
) -> None:
    """Three ``python server.py`` processes, each with its own empty DATA_DIR, on one
    PostgreSQL, one Chroma server and one Redis: a conversation hops between them and
    ends in the right quote; an ingest through one is served by all three with no 5xx
    during the swap; a session's turn limit counts across the three."""
    from assistant.api.auth import key_hash
    from assistant.knowledge.index import KnowledgeIndex
    from tests.conftest import ADMIN_KEY, SUPPORT_KEY
    from tests.server_proc import RedisServer, ServerProcess

    machine, kb, _ = fleet
    shutil.copy(PROJECT_ROOT / "knowledge" / "intents.yaml", kb / "intents.yaml")
    first = KnowledgeIndex(machine("ingester")).sync()
    assert first.ok
    redis = RedisServer().start()
    keys = f"support:{key_hash(SUPPORT_KEY)},admin:{key_hash(ADMIN_KEY)}"
    support = {"X-API-Key": SUPPORT_KEY}
    procs = [
        ServerProcess(
            machine(name),
            tmp_path / f"proc-{name}",
            index_poll_seconds=0.5,
            rate_limit_storage=redis.url,
            rate_limit_ip="100000/minute",
            rate_limit_session="4/minute",
            api_keys=keys,
            serve_ui=False,
        )
        for name in ("p", "q", "r")
    ]
    try:
        for proc in procs:
            proc.start()
        urls = [p.url for p in procs]

        # A conversation whose turns land on a different process each time.
        sid = None
        replies = []
        for url, text in zip(
            urls, ["帮我估算一下保费", "年赊销5000万，做电子产品的", "账期60天"], strict=True
        ):
            body: dict[str, Any] = {"message": text}
            if sid:
                body["session_id"] = sid
            resp = httpx.post(f"{url}/v1/chat", json=body, timeout=60)
            assert resp.status_code == 200, resp.text
            sid = resp.json()["session_id"]
            replies.append(resp.json())
        calls = [c for c in replies[-1]["tool_calls"] if c["name"] == "estimate_premium"]
        assert calls, replies[-1]
        args = calls[-1]["args"]
        assert args["annual_credit_sales"] == 50_000_000 and args["avg_credit_days"] == 60

        # Two turns of one session sent at the same moment to two processes: the turns are
        # serialised through the database, so neither value is lost.
        other = httpx.post(
            f"{urls[0]}/v1/chat", json={"message": "年赊销8000万，保费多少"}, timeout=60
        )
        assert other.status_code == 200, other.text
        sid2 = other.json()["session_id"]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def turn(url: str, text: str) -> None:
            barrier.wait()
            r = httpx.post(f"{url}/v1/chat", json={"message": text, "session_id": sid2}, timeout=60)
            statuses.append(r.status_code)

        pair = [
            threading.Thread(target=turn, args=(urls[1], "做电子产品的")),
            threading.Thread(target=turn, args=(urls[2], "账期90天")),
        ]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join(timeout=120)
        assert statuses == [200, 200], statuses
        last = httpx.post(
            f"{urls[0]}/v1/chat", json={"message": "客户20家", "session_id": sid2}, timeout=60
        ).json()
        quote = [c for c in last["tool_calls"] if c["name"] == "estimate_premium"][-1]["args"]
        assert quote["annual_credit_sales"] == 80_000_000 and quote["buyer_count"] == 20
        assert quote["industry"] == "electronics" and quote["avg_credit_days"] == 90, quote

        # The session turn limit (4/minute) counts across the processes (Redis): the two
        # turns above that named the session, two more are allowed, the fifth is refused
        # wherever it lands (each process alone has seen at most two).
        statuses = []
        for i in range(4):
            resp = httpx.post(
                f"{urls[i % 3]}/v1/chat", json={"message": "谢谢", "session_id": sid}, timeout=60
            )
            statuses.append(resp.status_code)
        assert statuses == [200, 200, 429, 429], statuses

        # An ingest through process p; q and r answer throughout and then serve the new
        # document (each adopts the generation from the database within its poll).
        write_doc(kb, "guides/zephyr.en.md", NEW_DOC)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        job = httpx.post(f"{urls[0]}/v1/admin/ingest", headers=admin, timeout=60)
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 120
        seen: set[str] = set()
        while seen != set(urls):
            assert time.monotonic() < deadline, (seen, [p.log_tail(800) for p in procs])
            for url in urls:
                resp = httpx.get(
                    f"{url}/v1/search",
                    params={"q": "Zephyrquartz rebate", "k": 3},
                    headers=support,
                    timeout=60,
                )
                assert resp.status_code == 200, resp.text  # never a 5xx during the swap
                if [h["doc_id"] for h in resp.json()["hits"]][:1] == ["test-zephyr-en"]:
                    seen.add(url)
            time.sleep(0.2)
        done = httpx.get(
            f"{urls[2]}{job.headers['location']}", headers=admin, timeout=60
        ).json()  # the job, read on another process
        assert done["status"] == "succeeded", done
    finally:
        for proc in procs:
            if proc.running:
                proc.stop()
        redis.stop()


def test_three_processes_lose_no_lead_deliver_each_once_and_report_outages(
    tmp_path: Path, embedding_cache: Path
) -> None:
    """Three ``python server.py`` processes on their own PostgreSQL (so it can be stopped),
    a Chroma server, Redis and a slow CRM:

    - 60 leads posted round-robin reach the CRM exactly once each (each process's webhook
      sender leases one event at a time from the shared outbox);
    - ``kill -9`` of one process while six clients post to it loses no acknowledged lead,
      and its leads still reach the CRM (the other processes send them; only an event in
      flight at the kill can arrive twice, as any at-least-once sender allows);
    - ``/readyz`` of the survivors goes 503 while Chroma, then PostgreSQL, is down, and
      200 again after each comes back."""
    import pgserver

    from assistant.api.auth import key_hash
    from assistant.knowledge.index import KnowledgeIndex
    from tests.conftest import ADMIN_KEY, SUPPORT_KEY
    from tests.server_proc import RedisServer, ServerProcess, free_port
    from tests.test_api_restart import LeadPoster, all_leads
    from tests.test_webhooks import Receiver, wait_for

    pg_dir = tmp_path / "pg"
    pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
    db_url = pg.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    chroma = ChromaServer(tmp_path / "chroma").start()
    redis = RedisServer().start()
    crm = Receiver(free_port())
    crm.start()
    crm.delay = 0.1  # a slow CRM: 60 sends take 6 s or more
    kb = tmp_path / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, "guides/dso.en.md", GUIDE_EN)
    for name in ("policy.yaml", "rating.yaml", "intents.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, kb / name)

    def machine(name: str) -> Settings:
        return Settings(
            knowledge_dir=kb,
            data_dir=tmp_path / name,
            embedding_cache_dir=embedding_cache,
            terms_dict=PROJECT_ROOT / "knowledge" / "terms.dict",
            embedding_backend="e5",
            database_url=db_url,
            chroma_host="127.0.0.1",
            chroma_port=chroma.port,
            _env_file=None,  # type: ignore[call-arg]
        )

    procs: list[ServerProcess] = []
    try:
        assert KnowledgeIndex(machine("ingester")).sync().ok
        procs = [
            ServerProcess(
                machine(name),
                tmp_path / f"proc-{name}",
                rate_limit_storage=redis.url,
                rate_limit_ip="100000/minute",
                api_keys=f"support:{key_hash(SUPPORT_KEY)},admin:{key_hash(ADMIN_KEY)}",
                lead_webhook_url=crm.url,
                webhook_timeout=5.0,
                serve_ui=False,
            )
            for name in ("p", "q", "r")
        ]
        for proc in procs:
            proc.start()
        urls = [p.url for p in procs]

        # 60 leads, 20 through each process, to one slow CRM: each exactly once.
        posted: set[str] = set()
        for n in range(60):
            resp = httpx.post(
                f"{urls[n % 3]}/v1/leads",
                json={"consent": True, "phone": f"1371234{n:04d}", "name": f"客户{n}"},
                headers={"Idempotency-Key": f"round-{n}"},
                timeout=60,
            )
            assert resp.status_code == 201, resp.text
            posted.add(resp.json()["lead_id"])
        wait_for(lambda: {e["data"]["id"] for e in crm.accepted()} >= posted, timeout=120)
        time.sleep(1.5)  # a duplicate would be a send still in flight now
        sent = Counter(e["data"]["id"] for e in crm.accepted())
        assert set(sent) == posted and set(sent.values()) == {1}, sent.most_common(3)

        # kill -9 of process r while six clients post to it.
        stop = threading.Event()
        posters = [LeadPoster(urls[2], f"kill-{t}", stop) for t in range(6)]
        for poster in posters:
            poster.start()
        while sum(len(p.acked) for p in posters) < 30:
            assert all(p.is_alive() for p in posters), [p.other for p in posters]
            time.sleep(0.05)
        procs[2].kill()
        stop.set()
        for poster in posters:
            poster.join(timeout=60)
        assert not [o for p in posters for o in p.other]
        acked = {k: v for p in posters for k, v in p.acked.items()}
        stored = {lead["id"]: lead for lead in all_leads(urls[0])}
        for key, lead_id in acked.items():
            assert lead_id in stored, f"acknowledged lead {key} ({lead_id}) was lost"
            assert stored[lead_id]["idempotency_key"] == key
        keys = Counter(lead["idempotency_key"] for lead in stored.values())
        assert set(keys.values()) == {1}
        # The survivors send what r acknowledged: every lead at least once, and only an
        # event r was sending when it died may arrive twice.
        wait_for(lambda: {e["data"]["id"] for e in crm.accepted()} >= set(acked.values()), 120)
        time.sleep(1.5)
        sent = Counter(e["data"]["id"] for e in crm.accepted())
        assert sum(n - 1 for n in sent.values()) <= 1, sent.most_common(3)

        # Readiness of the two survivors while Chroma, then PostgreSQL, is down.
        live = urls[:2]

        def readyz() -> list[tuple[int, str]]:
            out = []
            for url in live:
                resp = httpx.get(f"{url}/readyz", timeout=30)
                out.append((resp.status_code, str(resp.json().get("reason", ""))))
            return out

        assert [s for s, _ in readyz()] == [200, 200]
        chroma.stop()
        down = readyz()
        assert all(s == 503 and "vector store" in r for s, r in down), down
        assert all(httpx.get(f"{u}/healthz", timeout=30).status_code == 200 for u in live)
        chroma.start()
        wait_for(lambda: [s for s, _ in readyz()] == [200, 200], timeout=60)
        pg.cleanup()  # stops PostgreSQL; its data folder stays
        down = readyz()
        assert all(s == 503 and "database" in r for s, r in down), down
        pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
        wait_for(lambda: [s for s, _ in readyz()] == [200, 200], timeout=60)
        # Back in service: a lead posted now is stored and sent.
        resp = httpx.post(
            f"{live[1]}/v1/leads",
            json={"consent": True, "phone": "13712349999", "name": "恢复后"},
            timeout=60,
        )
        assert resp.status_code == 201, resp.text
        wait_for(lambda: resp.json()["lead_id"] in {e["data"]["id"] for e in crm.accepted()}, 60)
    finally:
        for proc in procs:
            if proc.running:
                proc.stop()
        crm.stop()
        redis.stop()
        chroma.stop()
        pg.cleanup()
