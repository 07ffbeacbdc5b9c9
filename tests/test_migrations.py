"""Alembic migrations: what ``Store`` applies on start and what the ``alembic`` CLI does.

Real SQLite files in a temp folder; the schema is read back with SQLAlchemy's inspector
and compared with the models by Alembic's own autogenerate comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, inspect, text

from assistant.config import PROJECT_ROOT
from assistant.storage import MIGRATIONS, Base, LeadRecord, LeadRow, Store

LEGACY_TABLES = ("chat_sessions", "messages", "leads", "feedback")


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


@contextmanager
def connect(url: str) -> Iterator[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    with connect(url) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def tables_of(url: str) -> set[str]:
    with connect(url) as conn:
        return set(inspect(conn).get_table_names())


def schema_sql(url: str) -> list[tuple[str, str]]:
    with connect(url) as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master ORDER BY name"))
        return [(str(name), str(sql)) for name, sql in rows]


def test_a_new_database_gets_every_table_at_the_head_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Store(url).close()
    assert tables_of(url) == set(Base.metadata.tables) | {"alembic_version"}
    assert revision_of(url) == head()


def test_the_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    """Catches a model change without a migration (or a migration that differs from it)."""
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    Store(url).close()
    with connect(url) as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_a_database_from_before_migrations_is_adopted_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[n] for n in LEGACY_TABLES])
    with engine.begin() as conn:
        conn.execute(
            insert(LeadRow.__table__).values(
                id="lead_old",
                session_id=None,
                name="孙先生",
                phone="+8613812345678",
                company="",
                need="claims",
                details="客户破产",
                transcript=[],
                channel="api",
                idempotency_key="old-form-1",
                status="new",
                created_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
            )
        )
        # Columns added by later revisions (0004: the consent record) were not there yet.
        for column in ("consent_at", "consent_version"):
            conn.exec_driver_sql(f"ALTER TABLE leads DROP COLUMN {column}")
    engine.dispose()
    assert tables_of(url) == set(LEGACY_TABLES)

    with Store(url, outbox=True) as store:
        old = store.get_lead("lead_old")
        assert old is not None
        assert (old["name"], old["phone"], old["details"]) == (
            "孙先生",
            "+8613812345678",
            "客户破产",
        )
        assert old["created_at"] == "2026-01-05T09:30:00+00:00"
        # The tables added after the first release exist and work.
        new_id, created = store.add_lead(
            LeadRecord(phone="+8613912345678", need="credit_insurance")
        )
        assert created and store.outbox_backlog() == 1
        assert [lead["id"] for lead in store.list_leads()] == [new_id, "lead_old"]
    assert revision_of(url) == head()
    assert tables_of(url) == set(Base.metadata.tables) | {"alembic_version"}


@contextmanager
def statements_on(url: str) -> Iterator[list[str]]:
    """Every SQL statement any engine sends to ``url`` while the block runs."""
    seen: list[str] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if str(conn.engine.url) == url:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_opening_a_store_again_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    with Store(url) as store:
        lead_id, _ = store.add_lead(LeadRecord(phone="+8613712345678", need="other"))
    schema = schema_sql(url)

    with statements_on(url) as seen, Store(url) as again:
        assert again.get_lead(lead_id) is not None
    writes = [
        s
        for s in seen
        if s.split()[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    ]
    assert seen and writes == []
    assert schema_sql(url) == schema
    assert revision_of(url) == head()


def test_stores_opened_at_the_same_time_on_a_new_file_all_succeed(tmp_path: Path) -> None:
    """Several server workers starting together must not race to create the tables."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait(timeout=30)
            Store(url).close()
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert revision_of(url) == head()
    assert tables_of(url) == set(Base.metadata.tables) | {"alembic_version"}
    with connect(url) as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def alembic(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("alembic")), "-c", "alembic.ini", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_alembic_cli_upgrades_checks_and_downgrades(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    url = f"sqlite:///{db}"

    up = alembic(db, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert tables_of(url) == set(Base.metadata.tables) | {"alembic_version"}
    assert revision_of(url) == head()

    # The CLI's own autogenerate sees nothing to add.
    check = alembic(db, "check")
    assert check.returncode == 0, check.stderr + check.stdout

    down = alembic(db, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert tables_of(url) <= {"alembic_version"}
    assert revision_of(url) is None
    # And the database is still usable by the app afterwards.
    with Store(url) as store:
        assert store.list_leads() == []
    assert revision_of(url) == head()


def test_every_revision_downgrades_to_its_parent(tmp_path: Path) -> None:
    """Each migration's ``downgrade`` undoes its ``upgrade``: step down one at a time and
    back up, and the schema ends where it started."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'steps.db'}"
    Store(url).close()
    before = schema_sql(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            revisions = list(ScriptDirectory.from_config(config).walk_revisions())
            for _ in revisions:
                command.downgrade(config, "-1")
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    assert schema_sql(url) == before
