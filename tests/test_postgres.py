"""The same Store behaviour on a real PostgreSQL (``DATABASE_URL=postgresql+psycopg://...``).

pgserver ships PostgreSQL binaries as a Python wheel, so this runs offline and as root.
The portable tests of ``test_storage.py`` are imported and run again here against a fresh
PostgreSQL database each (the ``store`` fixture below overrides theirs); SQLite-only
behaviour (WAL, BEGIN IMMEDIATE, the file on disk) stays in that module.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from assistant.storage import Base, LeadRecord, Store
from tests.test_storage import (  # noqa: F401  (collected again with the fixture below)
    test_a_session_idle_past_its_ttl_reads_as_absent_before_any_purge,
    test_concurrent_turns_from_threads,
    test_control_characters_never_reach_the_database,
    test_delete_session_erases_messages_state_and_feedback_but_keeps_leads,
    test_feedback,
    test_lead_idempotent_on_key,
    test_lead_integrity_error_race_returns_existing,
    test_lead_round_trip,
    test_lead_same_key_from_eight_threads_gives_one_row,
    test_list_leads_filters,
    test_purge_erases_expired_sessions_and_old_leads_and_nothing_else,
    test_state_is_replaced_and_lang_updated,
    test_transcript_order_and_limit,
    test_transcript_order_survives_a_clock_step_back,
    test_turn_round_trip,
)

pgserver = pytest.importorskip("pgserver")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for this module; yields a SQLAlchemy URL template."""
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
    try:
        yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(postgres: str) -> Iterator[str]:
    """A fresh, empty database per test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres.replace("/postgres?", f"/{name}?", 1)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    s = Store(pg_url)
    yield s
    s.close()


def test_migrations_build_the_models_schema_on_postgres(pg_url: str) -> None:
    Store(pg_url, outbox=True).close()
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert "alembic_version" in inspect(conn).get_table_names()
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        timestamps = {
            col["name"]: col["type"].timezone
            for col in inspect(conn).get_columns("leads")
            if col["name"] == "created_at"
        }
    engine.dispose()
    assert diff == []
    assert timestamps == {"created_at": True}  # timestamptz, not naive


def test_two_servers_starting_together_both_migrate(pg_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_store() -> None:
        try:
            barrier.wait()
            Store(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []  # the advisory lock serialises the migrators
    check = Store(pg_url)
    assert check.list_leads() == []
    check.close()


def test_outbox_lease_on_postgres(store: Store, pg_url: str) -> None:
    queued = Store(pg_url, outbox=True)
    queued.add_lead(LeadRecord(phone="+8613812345678", need="claims", idempotency_key="k"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        claims: list[list[dict[str, Any]]] = list(
            pool.map(lambda _: queued.claim_outbox(lease=60), range(4))
        )
    assert sorted(len(c) for c in claims) == [0, 0, 0, 1]  # one worker gets it
    queued.close()


def test_postgres_url_is_documented(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "postgresql+psycopg://" in readme
