"""Sessions, messages, leads and feedback in one SQL database (SQLite by default).

The table definitions live only here (``Base.metadata``); Alembic migrations in
``assistant/migrations`` create and evolve them, and ``Store`` applies them on start.

Concurrency model: the API serves requests from several threads, so every public method of
:class:`Store` opens its own short transaction from a ``sessionmaker`` and never hands ORM
objects out (callers get plain dicts). On SQLite, write transactions start with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail with
"database is locked" (WAL snapshot conflict) instead of waiting, whereas an immediate one
takes the write lock up front and simply waits up to ``busy_timeout``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    case,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

if TYPE_CHECKING:
    from assistant.config import Settings

__all__ = [
    "Base",
    "ChatSessionRow",
    "ConversationKeyRow",
    "FeedbackRow",
    "IndexGenerationRow",
    "IndexReplicaRow",
    "IngestBusy",
    "IngestJobRow",
    "LeadRecord",
    "LeadRow",
    "MessageRow",
    "NotFoundError",
    "OutboxRow",
    "Store",
    "new_id",
    "utcnow",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for the lock before giving up (several API threads)."""

_IMMEDIATE = "assistant_sqlite_begin_immediate"
_PG_LOCK = 724_300_001  # advisory lock id held while migrating
_PG_TURN_LOCKS = 724_400_000  # + stripe: advisory lock ids of the session turn locks
_PG_INGEST_LOCK = 724_300_002  # advisory lock id held by the one running ingestion
_PG_INGEST_JOBS = 724_300_003  # advisory xact lock id serialising ingest job starts

INGEST_ACTIVE = ("queued", "running")
SESSION_LOCK_STRIPES = 256
_TICK = timedelta(microseconds=1)


def new_id(prefix: str) -> str:
    """Random ids rather than autoincrement: they are safe to expose in URLs and logs and
    can be created before the row exists (a Reply carries its message_id)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC: that is how SQLite hands them back."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always-aware UTC datetimes on every backend.

    SQLite has no time zone support and returns naive values; PostgreSQL ``timestamptz``
    returns aware ones in the session zone. Normalising both ways keeps comparisons and
    ``isoformat()`` output identical whatever database is configured.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _as_utc(value)
        # SQLite stores text; a fixed naive UTC format keeps lexical order == time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


# Control characters (C0 and C1, but tab and newline) never reach the database: NUL is
# refused by PostgreSQL in text and JSON, and the others only hide text in exports and logs.
_CONTROL = dict.fromkeys([*range(0, 9), *range(11, 32), *range(127, 160)])


def clean_text(value: str) -> str:
    """``value`` without control characters (tab and newline are kept)."""
    return value.translate(_CONTROL)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class CleanString(TypeDecorator[str]):
    """``String(n)`` stored without control characters, whatever route wrote it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)


class CleanText(CleanString):
    """Text stored without control characters."""

    impl = Text
    cache_ok = True  # SQLAlchemy reads it from the class itself, not from a base


class CleanJSON(TypeDecorator[Any]):
    """JSON whose strings (keys and values, at any depth) carry no control characters."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _clean(value)


class Base(DeclarativeBase):
    pass


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lang: Mapped[str] = mapped_column(CleanString(8))
    channel: Mapped[str] = mapped_column(CleanString(20))
    state: Mapped[dict[str, Any]] = mapped_column(CleanJSON, default=dict)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_session_created", "session_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(CleanString(16))
    content: Mapped[str] = mapped_column(CleanText)
    reply: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeadRow(Base):
    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: a lead must outlive the chat it came from (privacy deletion).
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(CleanString(100), default="")
    phone: Mapped[str] = mapped_column(CleanString(20))
    company: Mapped[str] = mapped_column(CleanString(200), default="")
    need: Mapped[str] = mapped_column(CleanString(40))
    details: Mapped[str] = mapped_column(CleanText, default="")
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(CleanJSON, default=list)
    channel: Mapped[str] = mapped_column(CleanString(20), default="api")
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(CleanString(20), default="new", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # 个人信息保护法: when the person agreed, and to which version of the notice.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_version: Mapped[str] = mapped_column(CleanString(40), default="")


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(CleanString(64))
    rating: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(CleanText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnansweredRow(Base):
    """A question the assistant did not answer outright: declined, answered with "did you
    mean", or rated 👎. The support team reads these grouped by nearest bank entry and adds
    the missing phrasing. Erased with the session (it holds what the user typed)."""

    __tablename__ = "unanswered"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    kind: Mapped[str] = mapped_column(CleanString(20), index=True)
    lang: Mapped[str] = mapped_column(CleanString(8))
    channel: Mapped[str] = mapped_column(CleanString(20), default="api")
    text: Mapped[str] = mapped_column(CleanText)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    nearest_entry: Mapped[str] = mapped_column(CleanString(100), default="", index=True)
    nearest_score: Mapped[float] = mapped_column(Float, default=0.0)
    top: Mapped[list[dict[str, Any]]] = mapped_column(CleanJSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ConversationKeyRow(Base):
    """Maps a digest of an OpenAI-style message history to the session that produced it,
    so a client that resends the whole history each turn continues the same session."""

    __tablename__ = "conversation_keys"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """A lead waiting to be delivered to the CRM webhook (transactional outbox).

    Written in the same transaction as the lead, so an acknowledged lead always has its
    delivery queued; a worker sends it and retries with backoff until the CRM accepts it.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(CleanJSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestJobRow(Base):
    """An ingestion started through the admin API, visible to every replica.

    The process that accepted it runs it and beats ``heartbeat_at``; a queued or running
    job whose heartbeat stopped (its process died) is marked failed by the next start.
    """

    __tablename__ = "ingest_jobs"
    __table_args__ = (Index("ix_ingest_jobs_status", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    rebuild: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON, nullable=True)
    error: Mapped[str | None] = mapped_column(String(40), nullable=True)
    runner: Mapped[str] = mapped_column(String(200), default="")


class IndexGenerationRow(Base):
    """A published index generation: its manifest and its local files (BM25, chunks,
    phrasing vectors) as one archive, so a replica on another machine can load it. The
    newest published row is the live generation of every replica."""

    __tablename__ = "index_generations"

    generation: Mapped[str] = mapped_column(String(64), primary_key=True)
    collection: Mapped[str] = mapped_column(String(200))
    manifest: Mapped[str] = mapped_column(Text)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IndexReplicaRow(Base):
    """When each serving process last served each generation (for garbage collection: a
    collection is dropped only once no replica has served it for a grace period)."""

    __tablename__ = "index_replicas"

    replica: Mapped[str] = mapped_column(String(200), primary_key=True)
    generation: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestBusy(RuntimeError):
    """An ingestion is queued or running somewhere; ``job`` is its row as a dict."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(f"ingestion {job['id']} is {job['status']}")
        self.job = job


def _job_dict(row: IngestJobRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "rebuild": bool(row.rebuild),
        "dry_run": bool(row.dry_run),
        "created_at": _as_utc(row.created_at),
        "started_at": _as_utc(row.started_at) if row.started_at else None,
        "finished_at": _as_utc(row.finished_at) if row.finished_at else None,
        "heartbeat_at": _as_utc(row.heartbeat_at),
        "report": row.report,
        "error": row.error,
        "runner": row.runner,
    }


@dataclass(frozen=True)
class LeadRecord:
    """A validated lead, ready to store. ``phone`` must already be E.164 (see
    :func:`assistant.tools.leads.normalize_phone`); the store does not re-validate."""

    phone: str
    need: str
    name: str = ""
    company: str = ""
    details: str = ""
    session_id: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    channel: str = "api"
    idempotency_key: str | None = None
    consent_at: datetime | None = None  # when the privacy notice was agreed to
    consent_version: str = ""  # which notice (PRIVACY_NOTICE_VERSION)


class NotFoundError(LookupError):
    """The session or message a call refers to does not exist (the API maps it to 404)."""


def _iso(value: datetime) -> str:
    return _as_utc(value).isoformat()


def _contact_differs(row: LeadRow, lead: LeadRecord) -> bool:
    """Does ``lead`` name a different phone or person than the stored lead?"""
    return bool(
        (row.phone and lead.phone and row.phone != lead.phone)
        or (row.name and lead.name and row.name.strip() != lead.name.strip())
    )


def _lead_dict(row: LeadRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_id": row.session_id,
        "name": row.name,
        "phone": row.phone,
        "company": row.company,
        "need": row.need,
        "details": row.details,
        "transcript": list(row.transcript or []),
        "channel": row.channel,
        "idempotency_key": row.idempotency_key,
        "status": row.status,
        "created_at": _iso(row.created_at),
        "consent_at": _iso(row.consent_at) if row.consent_at else None,
        "consent_version": row.consent_version or "",
    }


def _unanswered_row(
    session_id: str,
    message_id: str | None,
    kind: str,
    lang: str,
    channel: str,
    text: str,
    confidence: float,
    top: list[dict[str, Any]] | None,
) -> UnansweredRow:
    top = list(top or [])[:5]
    return UnansweredRow(
        id=new_id("un"),
        session_id=session_id,
        message_id=message_id,
        kind=kind,
        lang=lang,
        channel=channel,
        text=text[:2000],
        confidence=float(confidence),
        nearest_entry=str(top[0].get("entry_id", "")) if top else "",
        nearest_score=float(top[0].get("score", 0.0)) if top else 0.0,
        top=top,
        created_at=utcnow(),
    )


@retry(
    retry=retry_if_exception(lambda exc: "locked" in str(exc)),
    wait=wait_random(0.01, 0.1),
    stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
    reraise=True,
)
def _switch_to_wal(cursor: Any) -> None:
    """Several processes opening a new database file at once race to switch it to WAL; the
    loser gets "database is locked" at once, without SQLite's busy handler, so it retries
    (tenacity) until the switch is made."""
    cursor.execute("PRAGMA journal_mode=WAL")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's legacy guessing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _switch_to_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """Thread-safe persistence for the assistant; every method is one short transaction."""

    def __init__(
        self, url: str, *, outbox: bool = False, session_ttl_days: float | None = None
    ) -> None:
        """``outbox``: also queue every new or updated lead for the CRM webhook, in the
        same transaction as the lead (see :mod:`assistant.webhooks`). ``session_ttl_days``:
        a session idle longer than this reads as absent (the purge erases it later)."""
        self.session_ttl = timedelta(days=session_ttl_days) if session_ttl_days else None
        self._memory_locks = [threading.Lock() for _ in range(SESSION_LOCK_STRIPES)]
        self._ingest_memory_lock = threading.Lock()
        self._lock_dir: Path | None = None
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        self._sqlite = parsed.get_backend_name() == "sqlite"
        if self._sqlite:
            database = parsed.database or ""
            kwargs["connect_args"] = {"check_same_thread": False}
            # Keep Chinese text readable in the JSON columns when someone opens the file.
            kwargs["json_serializer"] = lambda obj: json.dumps(obj, ensure_ascii=False)
            if database in ("", ":memory:"):
                # One shared connection, or each pooled connection sees an empty database.
                kwargs["poolclass"] = StaticPool
            elif not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                # Turn locks shared by every process using this database file.
                lock_dir = Path(database).expanduser().absolute().parent / ".turn-locks"
                lock_dir.mkdir(exist_ok=True)
                self._lock_dir = lock_dir
        # hide_parameters: an error message never quotes a phone or a transcript.
        self.engine = create_engine(parsed, hide_parameters=True, **kwargs)
        if self._sqlite:
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._outbox = outbox
        # Called after a transaction that queued a webhook event commits (wakes the sender).
        self.on_enqueue: Callable[[], None] | None = None
        self._migrate()

    def ping(self) -> None:
        """Raise when the database does not answer a trivial query (readiness)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def _migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``assistant/migrations``).

        Serialised like any write, so two processes starting at once cannot both try to
        create the same table. A database made before migrations existed (tables but no
        ``alembic_version``) is adopted as revision 0001 and upgraded from there.
        """
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # The SQLite write lock's counterpart: one migrator at a time.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
                config.attributes["connection"] = conn
                tables = inspect(conn).get_table_names()
                if "chat_sessions" in tables and "alembic_version" not in tables:
                    command.stamp(config, "0001")
                command.upgrade(config, "head")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Store:
        if settings is None:
            from assistant.config import get_settings

            settings = get_settings()
        return cls(
            settings.sqlalchemy_url,
            outbox=bool(settings.lead_webhook_url),
            session_ttl_days=settings.session_ttl_days,
        )

    # --- one turn at a time per session ------------------------------------------------
    @contextmanager
    def session_lock(self, session_id: str, timeout: float = 120.0) -> Iterator[None]:
        """Hold the session's turn lock: two turns of one session never interleave, whichever
        processes or machines they reach. Striped over ``SESSION_LOCK_STRIPES`` keys, so
        the lock table is bounded and needs no pruning (two sessions sharing a stripe
        merely wait for each other).

        PostgreSQL: a session-level advisory lock on a connection held for the turn (every
        replica sees it). SQLite: a file lock next to the database file (one machine, any
        number of processes); an in-memory database: a lock in this process.
        """
        digest = hashlib.sha256(session_id.encode("utf-8")).digest()
        stripe = int.from_bytes(digest[:4], "big") % SESSION_LOCK_STRIPES
        with self._exclusive(
            _PG_TURN_LOCKS + stripe, f"turn-{stripe:03d}.lock", self._memory_locks[stripe], timeout
        ):
            yield

    @contextmanager
    def ingest_lock(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the one ingestion lock shared by every process and machine on this database
        (a PostgreSQL advisory lock; a file lock next to a SQLite file). Raises
        ``filelock.Timeout`` when another ingestion holds it for ``timeout`` seconds."""
        with self._exclusive(_PG_INGEST_LOCK, "ingest.lock", self._ingest_memory_lock, timeout):
            yield

    @contextmanager
    def _exclusive(
        self, key: int, filename: str, memory: threading.Lock, timeout: float
    ) -> Iterator[None]:
        """PostgreSQL: a session-level advisory lock on a connection held throughout (every
        replica sees it). SQLite: a file lock next to the database file (one machine, any
        number of processes); an in-memory database: a lock in this process."""
        from filelock import FileLock, Timeout

        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.exc import OperationalError

            with self.engine.connect() as conn:
                conn.execute(
                    text("SELECT set_config('lock_timeout', :ms, false)"),
                    {"ms": f"{max(1, int(timeout * 1000))}ms"},
                )
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                except OperationalError as err:  # lock_timeout: the holder kept it
                    raise Timeout(f"advisory lock {key}") from err
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
            return
        if self._lock_dir is None:
            if not memory.acquire(timeout=timeout):
                raise Timeout(filename)
            try:
                yield
            finally:
                memory.release()
            return
        with FileLock(str(self._lock_dir / filename), timeout=timeout):
            yield

    # --- transactions -------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            session.connection(execution_options={_IMMEDIATE: True})
            yield session

    # --- sessions and messages ----------------------------------------------------------
    def _live(self, row: ChatSessionRow | None) -> bool:
        """The session exists and has not expired (idle past ``session_ttl``)."""
        if row is None:
            return False
        return self.session_ttl is None or _as_utc(row.updated_at) > utcnow() - self.session_ttl

    def get_state(self, session_id: str) -> dict[str, Any] | None:
        with self._read() as session:
            row = session.get(ChatSessionRow, session_id)
            return dict(row.state or {}) if row is not None and self._live(row) else None

    def session_exists(self, session_id: str) -> bool:
        with self._read() as session:
            return self._live(session.get(ChatSessionRow, session_id))

    def purge(
        self, *, sessions_before: datetime, leads_before: datetime, batch: int = 500
    ) -> dict[str, int]:
        """Erase sessions idle since before ``sessions_before`` (with their messages, state,
        feedback, unanswered log and conversation keys) and leads created before
        ``leads_before`` (with their webhook events). In batches, each its own short
        transaction, so a large purge never holds the write lock for long; safe to run on
        several processes at once (a row deleted twice is simply gone)."""
        counts = {"sessions": 0, "leads": 0}
        while True:
            with self._read() as session:
                ids = list(
                    session.scalars(
                        select(ChatSessionRow.id)
                        .where(ChatSessionRow.updated_at < _as_utc(sessions_before))
                        .limit(batch)
                    )
                )
            if not ids:
                break
            with self._write() as session:
                for table, column in (
                    (FeedbackRow, FeedbackRow.session_id),
                    (UnansweredRow, UnansweredRow.session_id),
                    (MessageRow, MessageRow.session_id),
                    (ConversationKeyRow, ConversationKeyRow.session_id),
                ):
                    session.execute(delete(table).where(column.in_(ids)))
                session.execute(delete(ChatSessionRow).where(ChatSessionRow.id.in_(ids)))
            counts["sessions"] += len(ids)
        while True:
            with self._read() as session:
                lead_ids = list(
                    session.scalars(
                        select(LeadRow.id)
                        .where(LeadRow.created_at < _as_utc(leads_before))
                        .limit(batch)
                    )
                )
            if not lead_ids:
                break
            with self._write() as session:
                session.execute(delete(LeadRow).where(LeadRow.id.in_(lead_ids)))
            counts["leads"] += len(lead_ids)
        with self._write() as session:
            # An event carries the lead's contact details: it goes with the lead.
            session.execute(delete(OutboxRow).where(OutboxRow.created_at < _as_utc(leads_before)))
        return counts

    def save_turn(
        self,
        session_id: str,
        *,
        lang: str,
        channel: str,
        user_text: str,
        reply: dict[str, Any],
        state: dict[str, Any],
        user_message_id: str | None = None,
    ) -> None:
        """Store a whole turn atomically, so a crash never leaves a question without its
        answer or the slot state out of step with the messages.

        Message times are forced to increase within a session (user, then assistant, then
        the next turn) so the transcript order survives equal timestamps and clock steps.
        """
        assistant_id = str(reply["message_id"])
        answer = str(reply["answer"])
        now = utcnow()
        with self._write() as session:
            row = session.get(ChatSessionRow, session_id)
            if row is None:
                row = ChatSessionRow(
                    id=session_id, created_at=now, updated_at=now, lang=lang, channel=channel
                )
                session.add(row)
                session.flush()  # the messages' foreign key needs the session row first
                user_at = now
            else:
                user_at = max(now, _as_utc(row.updated_at) + _TICK)
            assistant_at = user_at + _TICK
            row.state = dict(state)
            row.lang = lang
            row.updated_at = assistant_at
            session.add_all(
                [
                    MessageRow(
                        id=user_message_id or new_id("m"),
                        session_id=session_id,
                        role="user",
                        content=user_text,
                        reply=None,
                        created_at=user_at,
                    ),
                    MessageRow(
                        id=assistant_id,
                        session_id=session_id,
                        role="assistant",
                        content=answer,
                        reply=dict(reply),
                        created_at=assistant_at,
                    ),
                ]
            )

    def transcript(self, session_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        if limit is not None and limit <= 0:
            return []
        user_first = case((MessageRow.role == "user", 0), else_=1)
        query = (
            select(MessageRow)
            .where(MessageRow.session_id == session_id)
            .order_by(MessageRow.created_at.desc(), user_first.desc(), MessageRow.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            rows = list(session.scalars(query))
        rows.reverse()
        return [
            {
                "id": row.id,
                "role": row.role,
                "content": row.content,
                "created_at": _iso(row.created_at),
                "reply": row.reply,
            }
            for row in rows
        ]

    def delete_session(self, session_id: str) -> bool:
        """Erase a conversation for privacy: messages, slot state, feedback and the
        unanswered-question log go; leads stay because they carry their own transcript
        copy and are a business record."""
        with self._write() as session:
            existed = session.get(ChatSessionRow, session_id) is not None
            # Explicit deletes rather than relying on ON DELETE CASCADE being enforced.
            session.execute(delete(FeedbackRow).where(FeedbackRow.session_id == session_id))
            session.execute(delete(UnansweredRow).where(UnansweredRow.session_id == session_id))
            session.execute(delete(MessageRow).where(MessageRow.session_id == session_id))
            session.execute(delete(ChatSessionRow).where(ChatSessionRow.id == session_id))
            session.execute(
                delete(ConversationKeyRow).where(ConversationKeyRow.session_id == session_id)
            )
            return existed

    # --- leads --------------------------------------------------------------------------
    @staticmethod
    def _lead_id_for_key(session: Session, key: str) -> str | None:
        return session.scalar(select(LeadRow.id).where(LeadRow.idempotency_key == key))

    def add_lead(self, lead: LeadRecord, *, merge_session: bool = False) -> tuple[str, bool]:
        """Insert a lead once per idempotency key: a retried request or turn gets the first
        lead's id back (``created=False``) instead of a duplicate call for the sales team.

        ``merge_session``: if the chat already captured a lead for ``lead.session_id`` (the
        prospect typed a phone in the widget, then also sent the page's form), complete
        that lead with the new details instead of adding a second one (``created=False``).
        """
        key = lead.idempotency_key
        try:
            with self._write() as session:
                if key is not None:
                    existing = self._lead_id_for_key(session, key)
                    if existing is not None:
                        return existing, False
                earlier = (
                    session.scalar(
                        select(LeadRow)
                        .where(LeadRow.session_id == lead.session_id)
                        .order_by(LeadRow.created_at.desc())
                        .limit(1)
                    )
                    if merge_session and lead.session_id
                    else None
                )
                foreign = earlier is not None and _contact_differs(earlier, lead)
                if foreign:
                    # Someone else's phone or name on this session id: a new lead, never an
                    # overwrite of the stored contact (a public post may carry any id), and
                    # not linked to that session or its transcript.
                    earlier = None
                if earlier is not None:
                    lead_id, created = earlier.id, False
                    self._merge_into(session, earlier, lead)
                else:
                    lead_id, created = new_id("lead"), True
                    row = LeadRow(
                        id=lead_id,
                        session_id=None if foreign else lead.session_id,
                        name=lead.name,
                        phone=lead.phone,
                        company=lead.company,
                        need=lead.need,
                        details=lead.details,
                        transcript=[] if foreign else [dict(item) for item in lead.transcript],
                        channel=lead.channel,
                        idempotency_key=key,
                        status="new",
                        created_at=utcnow(),
                        consent_at=lead.consent_at,
                        consent_version=lead.consent_version,
                    )
                    session.add(row)
                    if self._outbox:
                        session.flush()
                        self._enqueue(session, "lead.created", _lead_dict(row))
        except IntegrityError:
            # Another writer inserted the same key between our check and our insert
            # (possible on databases without SQLite's whole-file write lock).
            if key is None:
                raise
            with self._read() as session:
                existing = self._lead_id_for_key(session, key)
            if existing is None:
                raise
            return existing, False
        self._enqueued()
        return lead_id, created

    def _merge_into(self, session: Session, row: LeadRow, lead: LeadRecord) -> None:
        """Fill in what the later submission adds: empty contact fields only (a stored phone,
        name or company is never changed here); details are appended, not replaced."""
        row.phone = row.phone or lead.phone
        row.name = row.name or lead.name
        row.company = row.company or lead.company
        if lead.consent_at and not row.consent_at:
            row.consent_at, row.consent_version = lead.consent_at, lead.consent_version
        if lead.need and lead.need != "other":
            row.need = lead.need
        if lead.details and lead.details not in (row.details or ""):
            row.details = f"{row.details}\n{lead.details}".strip()
        if lead.transcript and len(lead.transcript) >= len(row.transcript or []):
            row.transcript = [dict(item) for item in lead.transcript]
        if self._outbox and session.is_modified(row):
            session.flush()
            self._enqueue(session, "lead.updated", _lead_dict(row))

    def update_lead_contact(
        self,
        lead_id: str,
        *,
        name: str | None = None,
        company: str | None = None,
        phone: str | None = None,
    ) -> bool:
        """Fill in the name, company or corrected phone (E.164) a prospect gives after the
        lead was stored, so a correction does not create a second lead."""
        with self._write() as session:
            row = session.get(LeadRow, lead_id)
            if row is None:
                return False
            if name:
                row.name = name[:50]
            if company:
                row.company = company[:100]
            if phone:
                row.phone = phone
            queued = self._outbox and session.is_modified(row)
            if queued:
                session.flush()
                self._enqueue(session, "lead.updated", _lead_dict(row))
        if queued:
            self._enqueued()
        return True

    def get_lead(self, lead_id: str) -> dict[str, Any] | None:
        with self._read() as session:
            row = session.get(LeadRow, lead_id)
            return None if row is None else _lead_dict(row)

    def list_leads(
        self, *, since: datetime | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Newest first; ``since`` is inclusive and a naive value is read as UTC."""
        query = select(LeadRow)
        if since is not None:
            query = query.where(LeadRow.created_at >= _as_utc(since))
        if status is not None:
            query = query.where(LeadRow.status == status)
        query = query.order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(max(limit, 0))
        with self._read() as session:
            return [_lead_dict(row) for row in session.scalars(query)]

    # --- feedback -----------------------------------------------------------------------
    def add_feedback(
        self, session_id: str, message_id: str, rating: int, reason: str | None
    ) -> str:
        """Raises :class:`NotFoundError` unless the message belongs to the session, so
        ratings cannot be attached to made-up or foreign messages."""
        feedback_id = new_id("fb")
        with self._write() as session:
            owner = session.scalar(select(MessageRow.session_id).where(MessageRow.id == message_id))
            if owner != session_id:
                raise NotFoundError(f"no message {message_id!r} in session {session_id!r}")
            session.add(
                FeedbackRow(
                    id=feedback_id,
                    session_id=session_id,
                    message_id=message_id,
                    rating=int(rating),
                    reason=reason,
                    created_at=utcnow(),
                )
            )
            if rating < 0:
                self._log_thumbs_down(session, session_id, message_id)
        return feedback_id

    @staticmethod
    def _log_thumbs_down(session: Session, session_id: str, message_id: str) -> None:
        """A 👎 goes to the unanswered log with the question and the reply's scores."""
        row = session.get(MessageRow, message_id)
        if row is None or row.reply is None:
            return
        asked = session.scalar(
            select(MessageRow.content)
            .where(
                MessageRow.session_id == session_id,
                MessageRow.role == "user",
                MessageRow.created_at <= row.created_at,
            )
            .order_by(MessageRow.created_at.desc(), MessageRow.id.desc())
            .limit(1)
        )
        search = next(
            (
                c.get("result") or {}
                for c in row.reply.get("tool_calls") or []
                if c.get("name") == "search_knowledge"
            ),
            {},
        )
        session.add(
            _unanswered_row(
                session_id,
                message_id,
                "thumbs_down",
                str(row.reply.get("lang") or "zh"),
                "feedback",
                str(asked or ""),
                float(search.get("confidence") or 0.0),
                search.get("entries"),
            )
        )

    def log_unanswered(
        self,
        session_id: str,
        *,
        kind: str,
        lang: str,
        text: str,
        confidence: float = 0.0,
        top: list[dict[str, Any]] | None = None,
        message_id: str | None = None,
        channel: str = "api",
    ) -> str:
        """Record a question that was declined, answered with suggestions or rated 👎."""
        row = _unanswered_row(session_id, message_id, kind, lang, channel, text, confidence, top)
        with self._write() as session:
            session.add(row)
        return row.id

    def unanswered(
        self,
        *,
        since: datetime | None = None,
        kind: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Logged questions, newest first."""
        query = select(UnansweredRow).order_by(
            UnansweredRow.created_at.desc(), UnansweredRow.id.desc()
        )
        if since is not None:
            query = query.where(UnansweredRow.created_at >= _as_utc(since))
        if kind:
            query = query.where(UnansweredRow.kind == kind)
        with self._read() as session:
            return [
                {
                    "id": row.id,
                    "session_id": row.session_id,
                    "message_id": row.message_id,
                    "kind": row.kind,
                    "lang": row.lang,
                    "channel": row.channel,
                    "text": row.text,
                    "confidence": row.confidence,
                    "nearest_entry": row.nearest_entry,
                    "nearest_score": row.nearest_score,
                    "top": row.top,
                    "created_at": _iso(row.created_at),
                }
                for row in session.scalars(query.limit(limit))
            ]

    def feedback(self, session_id: str) -> list[dict[str, Any]]:
        """Feedback rows of one session, oldest first (for evals and tests)."""
        query = (
            select(FeedbackRow)
            .where(FeedbackRow.session_id == session_id)
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
        )
        with self._read() as session:
            return [
                {
                    "id": row.id,
                    "session_id": row.session_id,
                    "message_id": row.message_id,
                    "rating": row.rating,
                    "reason": row.reason,
                    "created_at": _iso(row.created_at),
                }
                for row in session.scalars(query)
            ]

    # --- ingestion jobs --------------------------------------------------------------------
    def start_ingest_job(
        self,
        job_id: str,
        *,
        rebuild: bool,
        dry_run: bool,
        runner: str,
        stale_after: float = 120.0,
        keep: int = 100,
    ) -> dict[str, Any]:
        """Record a queued job, or raise :class:`IngestBusy` naming the active one.

        Starts are serialised (SQLite's write lock; a PostgreSQL transaction lock), so two
        replicas asked at once cannot both start. An active job whose heartbeat is older
        than ``stale_after`` seconds belongs to a process that died: it is marked failed
        (``abandoned``) and no longer blocks. Only the newest ``keep`` jobs are kept."""
        now = utcnow()
        with self._write() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_INGEST_JOBS})
            active = session.scalars(
                select(IngestJobRow)
                .where(IngestJobRow.status.in_(INGEST_ACTIVE))
                .order_by(IngestJobRow.created_at)
            )
            for row in active:
                if _as_utc(row.heartbeat_at) < now - timedelta(seconds=stale_after):
                    row.status, row.error, row.finished_at = "failed", "abandoned", now
                else:
                    raise IngestBusy(_job_dict(row))
            row = IngestJobRow(
                id=job_id,
                status="queued",
                rebuild=rebuild,
                dry_run=dry_run,
                created_at=now,
                heartbeat_at=now,
                runner=runner[:200],
            )
            session.add(row)
            session.flush()
            old = select(IngestJobRow.id).order_by(IngestJobRow.created_at.desc()).offset(keep)
            session.execute(delete(IngestJobRow).where(IngestJobRow.id.in_(old.scalar_subquery())))
            return _job_dict(row)

    def update_ingest_job(self, job_id: str, **changes: Any) -> None:
        """Set fields of a job (status, started_at, finished_at, report, error) and beat its
        heartbeat; with no changes, only the heartbeat."""
        with self._write() as session:
            session.execute(
                update(IngestJobRow)
                .where(IngestJobRow.id == job_id)
                .values(heartbeat_at=utcnow(), **changes)
            )

    def get_ingest_job(self, job_id: str) -> dict[str, Any] | None:
        with self._read() as session:
            row = session.get(IngestJobRow, job_id)
            return _job_dict(row) if row is not None else None

    # --- shared index generations ----------------------------------------------------------
    def publish_generation(
        self, generation: str, collection: str, manifest: str, artifact: bytes
    ) -> None:
        """Record a new generation as the live one for every replica."""
        with self._write() as session:
            session.add(
                IndexGenerationRow(
                    generation=generation,
                    collection=collection,
                    manifest=manifest,
                    artifact=artifact,
                    published_at=utcnow(),
                )
            )

    def live_generation(self) -> tuple[str, str] | None:
        """(generation, manifest JSON) of the newest published generation, if any."""
        with self._read() as session:
            row = session.execute(
                select(IndexGenerationRow.generation, IndexGenerationRow.manifest)
                .order_by(
                    IndexGenerationRow.published_at.desc(), IndexGenerationRow.generation.desc()
                )
                .limit(1)
            ).first()
            return (row[0], row[1]) if row is not None else None

    def generation_artifact(self, generation: str) -> bytes | None:
        with self._read() as session:
            return session.scalar(
                select(IndexGenerationRow.artifact).where(
                    IndexGenerationRow.generation == generation
                )
            )

    def replica_serves(self, replica: str, generation: str) -> None:
        """Note that ``replica`` serves ``generation`` now (a heartbeat, upserted)."""
        with self._write() as session:
            row = session.get(IndexReplicaRow, (replica[:200], generation))
            if row is None:
                session.add(IndexReplicaRow(replica=replica[:200], generation=generation))
            else:
                row.seen_at = utcnow()

    def generations_in_use(self, grace: float) -> dict[str, str]:
        """{generation: collection} of the live generation and of every generation a
        replica served within the last ``grace`` seconds; older replica rows are pruned
        and published generations nobody uses any more are deleted."""
        cutoff = utcnow() - timedelta(seconds=grace)
        with self._write() as session:
            session.execute(delete(IndexReplicaRow).where(IndexReplicaRow.seen_at < cutoff))
            served = set(session.scalars(select(IndexReplicaRow.generation)))
            rows = session.execute(
                select(IndexGenerationRow.generation, IndexGenerationRow.collection).order_by(
                    IndexGenerationRow.published_at.desc(), IndexGenerationRow.generation.desc()
                )
            ).all()
            keep = {g: c for i, (g, c) in enumerate(rows) if i == 0 or g in served}
            gone = [g for g, _ in rows if g not in keep]
            if gone:
                session.execute(
                    delete(IndexGenerationRow).where(IndexGenerationRow.generation.in_(gone))
                )
            return keep

    # --- webhook outbox -------------------------------------------------------------------
    @staticmethod
    def _enqueue(session: Session, topic: str, payload: dict[str, Any]) -> None:
        event_id = new_id("evt")
        body = {"id": event_id, "type": topic, "created_at": _iso(utcnow()), "data": payload}
        session.add(OutboxRow(id=event_id, topic=topic, payload=body, next_attempt_at=utcnow()))

    def _enqueued(self) -> None:
        if self._outbox and self.on_enqueue is not None:
            # A wake-up hook must never fail a stored lead.
            with contextlib.suppress(Exception):
                self.on_enqueue()

    def claim_outbox(self, *, limit: int = 20, lease: float = 30.0) -> list[dict[str, Any]]:
        """Due, undelivered events, oldest first, leased for ``lease`` seconds so another
        worker (a second server process) does not send them at the same time."""
        now = utcnow()
        with self._write() as session:
            rows = list(
                session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
                    .order_by(OutboxRow.created_at, OutboxRow.id)
                    .limit(limit)
                    # PostgreSQL: rows another worker is claiming are skipped, not shared
                    # (SQLite's write lock already serialises claims; it has no FOR UPDATE).
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.next_attempt_at = now + timedelta(seconds=lease)
            return [
                {"id": r.id, "topic": r.topic, "payload": r.payload, "attempts": r.attempts}
                for r in rows
            ]

    def outbox_delivered(self, event_id: str) -> None:
        with self._write() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == event_id)
                .values(delivered_at=utcnow(), attempts=OutboxRow.attempts + 1, last_error=None)
            )

    def outbox_failed(self, event_id: str, error: str, retry_in: float) -> None:
        with self._write() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == event_id)
                .values(
                    attempts=OutboxRow.attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=utcnow() + timedelta(seconds=retry_in),
                )
            )

    def outbox_backlog(self) -> int:
        """Events not yet accepted by the CRM (the ``webhook backlog`` metric)."""
        with self._read() as session:
            count = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))
            )
            return int(count or 0)

    def outbox_next_due(self) -> datetime | None:
        with self._read() as session:
            return session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.delivered_at.is_(None))
            )

    def outbox(self) -> list[dict[str, Any]]:
        """Every event with its delivery state, oldest first (for tests and support)."""
        with self._read() as session:
            return [
                {
                    "id": r.id,
                    "topic": r.topic,
                    "payload": r.payload,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "delivered_at": None if r.delivered_at is None else _iso(r.delivered_at),
                }
                for r in session.scalars(select(OutboxRow).order_by(OutboxRow.created_at))
            ]

    # --- OpenAI-style conversations ------------------------------------------------------
    def bind_conversation(self, digest: str, session_id: str) -> None:
        """Remember that the history with this digest belongs to ``session_id``."""
        with self._write() as session:
            row = session.get(ConversationKeyRow, digest)
            if row is None:
                session.add(ConversationKeyRow(digest=digest, session_id=session_id))
            else:
                row.session_id = session_id

    def session_for_conversation(self, digest: str) -> str | None:
        with self._read() as session:
            row = session.get(ConversationKeyRow, digest)
            return None if row is None else row.session_id

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
