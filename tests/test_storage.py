"""Store against a real SQLite file: turns, state, transcripts, leads, feedback, threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from assistant.config import Settings
from assistant.storage import SQLITE_BUSY_TIMEOUT_MS, LeadRecord, NotFoundError, Store, new_id


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "folder" / "assistant.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{db_path}")
    yield s
    s.close()


def reply(text_: str, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": "s_x",
        "message_id": new_id("m"),
        "answer": text_,
        "lang": "zh",
        "citations": [{"n": 1, "doc_id": "doc", "title": "条款"}],
        **extra,
    }


def lead(key: str | None = None, **overrides: Any) -> LeadRecord:
    values: dict[str, Any] = {
        "phone": "+8613812345678",
        "need": "credit_insurance",
        "name": "王经理",
        "company": "宁波某外贸公司",
        "idempotency_key": key,
    }
    values.update(overrides)
    return LeadRecord(**values)


def test_new_id_has_prefix_and_is_unique() -> None:
    ids = {new_id("s") for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("s_") and len(i) == 34 for i in ids)


def test_creates_parent_folder_and_wal(store: Store, db_path: Path) -> None:
    assert db_path.exists()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
    # WAL is a property of the file, so a plain sqlite3 connection sees it as well.
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_writes_take_the_lock_up_front(store: Store) -> None:
    """Deferred read-then-write transactions fail under WAL contention instead of waiting."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.strip().upper())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.get_state("s_none")
        assert statements[0] == "BEGIN"
        statements.clear()
        store.add_lead(lead("lock"))
        assert statements[0] == "BEGIN IMMEDIATE"
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_turn_round_trip(store: Store) -> None:
    sid = new_id("s")
    assert store.get_state(sid) is None
    assert not store.session_exists(sid)
    r = reply("买方拖欠后60天内申报 [1]")
    store.save_turn(
        sid,
        lang="zh",
        channel="ui",
        user_text="买方拖欠怎么办？",
        reply=r,
        state={"slots": {"buyer": "德国"}, "turns": 1},
        user_message_id="m_user1",
    )
    assert store.session_exists(sid)
    assert store.get_state(sid) == {"slots": {"buyer": "德国"}, "turns": 1}
    messages = store.transcript(sid)
    assert [(m["id"], m["role"], m["content"]) for m in messages] == [
        ("m_user1", "user", "买方拖欠怎么办？"),
        (r["message_id"], "assistant", "买方拖欠后60天内申报 [1]"),
    ]
    assert messages[0]["reply"] is None
    assert messages[1]["reply"] == r
    created = datetime.fromisoformat(messages[0]["created_at"])
    assert created.tzinfo is not None
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


def test_state_is_replaced_and_lang_updated(store: Store) -> None:
    sid = new_id("s")
    store.save_turn(sid, lang="zh", channel="api", user_text="a", reply=reply("1"), state={"a": 1})
    store.save_turn(sid, lang="en", channel="api", user_text="b", reply=reply("2"), state={"b": 2})
    assert store.get_state(sid) == {"b": 2}
    with store.engine.connect() as conn:
        lang = conn.execute(text("SELECT lang FROM chat_sessions WHERE id = :i"), {"i": sid})
        assert lang.scalar() == "en"


def test_transcript_order_and_limit(store: Store) -> None:
    sid = new_id("s")
    for i in range(5):
        store.save_turn(
            sid, lang="zh", channel="api", user_text=f"q{i}", reply=reply(f"a{i}"), state={}
        )
    contents = [m["content"] for m in store.transcript(sid)]
    assert contents == [x for i in range(5) for x in (f"q{i}", f"a{i}")]
    assert [m["content"] for m in store.transcript(sid, limit=3)] == ["a3", "q4", "a4"]
    assert store.transcript(sid, limit=0) == []
    assert store.transcript("s_missing") == []
    times = [m["created_at"] for m in store.transcript(sid)]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_transcript_order_survives_a_clock_step_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.storage as storage

    sid = new_id("s")
    store.save_turn(sid, lang="zh", channel="api", user_text="first", reply=reply("1"), state={})
    frozen = datetime(2000, 1, 1, tzinfo=UTC)  # the clock jumps back by decades
    monkeypatch.setattr(storage, "utcnow", lambda: frozen)
    store.save_turn(sid, lang="zh", channel="api", user_text="second", reply=reply("2"), state={})
    assert [m["content"] for m in store.transcript(sid)] == ["first", "1", "second", "2"]


def test_persists_across_restart(db_path: Path) -> None:
    sid = new_id("s")
    first = Store(f"sqlite:///{db_path}")
    first.save_turn(
        sid, lang="en", channel="cli", user_text="hello", reply=reply("hi"), state={"k": "v"}
    )
    lead_id, _ = first.add_lead(lead("k-restart"))
    first.close()

    second = Store(f"sqlite:///{db_path}")
    try:
        assert second.get_state(sid) == {"k": "v"}
        assert [m["content"] for m in second.transcript(sid)] == ["hello", "hi"]
        assert second.get_lead(lead_id) is not None
        assert second.add_lead(lead("k-restart")) == (lead_id, False)
    finally:
        second.close()


def test_from_settings_uses_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    with Store.from_settings(settings) as s:
        s.save_turn("s_1", lang="zh", channel="api", user_text="q", reply=reply("a"), state={})
    assert (tmp_path / "data" / "assistant.db").exists()


def test_delete_session_erases_messages_state_and_feedback_but_keeps_leads(store: Store) -> None:
    sid, other = new_id("s"), new_id("s")
    r = reply("答复")
    store.save_turn(
        sid, lang="zh", channel="api", user_text="我的电话13812345678", reply=r, state={}
    )
    store.save_turn(other, lang="zh", channel="api", user_text="x", reply=reply("y"), state={})
    store.add_feedback(sid, r["message_id"], 1, "有用")
    transcript = [{"role": "user", "content": "我的电话13812345678"}]
    lead_id, _ = store.add_lead(lead(session_id=sid, transcript=transcript))

    assert store.delete_session(sid) is True
    assert store.get_state(sid) is None
    assert store.transcript(sid) == []
    assert store.feedback(sid) == []
    with store.engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM messages WHERE session_id = :s"), {"s": sid})
        assert left.scalar() == 0
    kept = store.get_lead(lead_id)
    assert kept is not None and kept["transcript"] == transcript
    assert len(store.transcript(other)) == 2  # other sessions untouched
    assert store.delete_session(sid) is False


def _age(store: Store, table: str, column: str, row_id: str, days: float) -> None:
    """Move a row's timestamp ``days`` into the past (what waiting would do)."""
    when = datetime.now(UTC) - timedelta(days=days)
    with store.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {table} SET {column} = :w WHERE id = :i"), {"w": when, "i": row_id}
        )


def test_purge_erases_expired_sessions_and_old_leads_and_nothing_else(store: Store) -> None:
    old, fresh = new_id("s"), new_id("s")
    r = reply("答复")
    for sid in (old, fresh):
        store.save_turn(sid, lang="zh", channel="api", user_text="问", reply=r, state={"a": 1})
        r = reply("答复二")
    store.add_feedback(old, store.transcript(old)[-1]["id"], -1, "没用")
    old_lead, _ = store.add_lead(lead("k-old", session_id=old))
    new_lead, _ = store.add_lead(lead("k-new", session_id=fresh))
    _age(store, "chat_sessions", "updated_at", old, 31)
    _age(store, "leads", "created_at", old_lead, 366)
    now = datetime.now(UTC)
    counts = store.purge(
        sessions_before=now - timedelta(days=30), leads_before=now - timedelta(days=365)
    )
    assert counts == {"sessions": 1, "leads": 1}
    assert store.transcript(old) == [] and store.feedback(old) == []
    with store.engine.connect() as conn:
        for table in ("messages", "feedback", "chat_sessions"):
            col = "id" if table == "chat_sessions" else "session_id"
            n = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {col} = :s"), {"s": old})
            assert n.scalar() == 0, table
    assert store.get_lead(old_lead) is None
    assert store.get_lead(new_lead) is not None  # a young lead stays, even of a purged chat
    assert len(store.transcript(fresh)) == 2 and store.get_state(fresh) == {"a": 1}
    assert store.purge(sessions_before=now, leads_before=now - timedelta(days=365)) == {
        "sessions": 1,
        "leads": 0,
    }


def test_a_session_idle_past_its_ttl_reads_as_absent_before_any_purge(store: Store) -> None:
    sid = new_id("s")
    store.save_turn(
        sid, lang="zh", channel="api", user_text="问", reply=reply("答"), state={"a": 1}
    )
    ttl = Store(str(store.engine.url), session_ttl_days=30)
    assert ttl.session_exists(sid) and ttl.get_state(sid) == {"a": 1}
    _age(store, "chat_sessions", "updated_at", sid, 30.5)
    assert not ttl.session_exists(sid) and ttl.get_state(sid) is None
    assert store.session_exists(sid)  # no TTL configured: kept as long as the data is
    ttl.close()


def test_lead_round_trip(store: Store) -> None:
    transcript = [{"role": "user", "content": "想了解信用保险"}]
    lead_id, created = store.add_lead(
        lead("k1", session_id="s_a", details="年出口额500万美元", transcript=transcript)
    )
    assert created and lead_id.startswith("lead_")
    got = store.get_lead(lead_id)
    assert got is not None
    assert got["phone"] == "+8613812345678"
    assert got["name"] == "王经理" and got["company"] == "宁波某外贸公司"
    assert got["details"] == "年出口额500万美元"
    assert got["transcript"] == transcript
    assert got["status"] == "new" and got["channel"] == "api"
    assert got["idempotency_key"] == "k1" and got["session_id"] == "s_a"
    assert datetime.fromisoformat(got["created_at"]).tzinfo is not None
    assert store.get_lead("lead_missing") is None


def test_lead_idempotent_on_key(store: Store) -> None:
    first = store.add_lead(lead("same"))
    again = store.add_lead(lead("same", details="retry with other text"))
    assert first[1] is True
    assert again == (first[0], False)
    # No key: every call is a new lead.
    a, b = store.add_lead(lead(None)), store.add_lead(lead(None))
    assert a[0] != b[0] and a[1] and b[1]
    assert len(store.list_leads()) == 3


def test_lead_same_key_from_eight_threads_gives_one_row(store: Store) -> None:
    barrier = threading.Barrier(8)

    def insert(_: int) -> tuple[str, bool]:
        barrier.wait()
        return store.add_lead(lead("race-key"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(insert, range(8)))
    assert len({lead_id for lead_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM leads WHERE idempotency_key = 'race-key'"))
        assert rows.scalar() == 1


def test_lead_integrity_error_race_returns_existing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-check misses a row another writer committed: the unique index must catch it."""
    existing_id, _ = store.add_lead(lead("raced"))
    real = Store._lead_id_for_key
    calls = {"n": 0}

    def blind_first(session: Any, key: str) -> str | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(session, key)

    monkeypatch.setattr(Store, "_lead_id_for_key", staticmethod(blind_first))
    assert store.add_lead(lead("raced")) == (existing_id, False)
    assert calls["n"] == 2
    assert len(store.list_leads()) == 1


def test_concurrent_turns_from_threads(store: Store) -> None:
    sessions = [new_id("s") for _ in range(6)]

    def chat(sid: str) -> None:
        for i in range(5):
            store.save_turn(
                sid,
                lang="zh",
                channel="api",
                user_text=f"q{i}",
                reply=reply(f"a{i}"),
                state={"i": i},
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(chat, sessions))
    for sid in sessions:
        assert store.get_state(sid) == {"i": 4}
        assert len(store.transcript(sid)) == 10


def test_list_leads_filters(store: Store) -> None:
    old_id, _ = store.add_lead(lead("old"))
    cutoff = datetime.now(UTC)
    new_id_, _ = store.add_lead(lead("new", need="claims"))
    third, _ = store.add_lead(lead("third"))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE leads SET status = 'contacted' WHERE id = :i"), {"i": third})

    assert [x["id"] for x in store.list_leads()] == [third, new_id_, old_id]  # newest first
    assert [x["id"] for x in store.list_leads(since=cutoff)] == [third, new_id_]
    naive = cutoff.replace(tzinfo=None)  # naive = UTC
    assert [x["id"] for x in store.list_leads(since=naive)] == [third, new_id_]
    shanghai = cutoff.astimezone(ZoneInfo("Asia/Shanghai"))
    assert [x["id"] for x in store.list_leads(since=shanghai)] == [third, new_id_]
    assert [x["id"] for x in store.list_leads(status="new")] == [new_id_, old_id]
    assert [x["id"] for x in store.list_leads(status="contacted")] == [third]
    assert [x["id"] for x in store.list_leads(limit=1)] == [third]
    assert store.list_leads(since=datetime.now(UTC) + timedelta(hours=1)) == []


def test_feedback(store: Store) -> None:
    sid = new_id("s")
    r = reply("答复")
    store.save_turn(sid, lang="zh", channel="api", user_text="q", reply=r, state={})
    fb_id = store.add_feedback(sid, r["message_id"], -1, "没有回答我的问题")
    assert fb_id.startswith("fb_")
    rows = store.feedback(sid)
    assert [(x["id"], x["message_id"], x["rating"], x["reason"]) for x in rows] == [
        (fb_id, r["message_id"], -1, "没有回答我的问题")
    ]
    store.add_feedback(sid, r["message_id"], 1, None)
    assert [x["rating"] for x in store.feedback(sid)] == [-1, 1]
    with pytest.raises(NotFoundError):
        store.add_feedback(sid, "m_unknown", 1, None)
    other = new_id("s")
    store.save_turn(other, lang="zh", channel="api", user_text="q", reply=reply("a"), state={})
    with pytest.raises(NotFoundError):  # a message of another session
        store.add_feedback(other, r["message_id"], 1, None)


def test_control_characters_never_reach_the_database(store: Store) -> None:
    """NUL in lead or feedback text made PostgreSQL fail with a 500; every text and JSON
    column now drops control characters (tab and newline stay)."""
    sid = new_id("s")
    r = reply("答\x00复")
    store.save_turn(
        sid,
        lang="zh",
        channel="api",
        user_text="客户\x00拖欠\x1b[31m",
        reply=r,
        state={"k\x00": "v\x07"},
    )
    store.add_feedback(sid, r["message_id"], -1, "没有\x00回答\r\n第二行\t完")
    lead_id, _ = store.add_lead(
        LeadRecord(
            phone="+8613812345678",
            name="王\x00总",
            company="ABC\x85贸易",
            need="claims",
            details="第一行\n第二行\x00",
            session_id=sid,
            transcript=[{"role": "user", "content": "电话\x00138"}],
        )
    )
    lead = store.get_lead(lead_id)
    assert lead is not None
    assert (lead["name"], lead["company"], lead["details"]) == ("王总", "ABC贸易", "第一行\n第二行")
    assert lead["transcript"][0]["content"] == "电话138"
    assert store.feedback(sid)[0]["reason"] == "没有回答\n第二行\t完"
    turns = store.transcript(sid)
    assert "客户拖欠[31m" in [t["content"] for t in turns]
    assert "答复" in [t["content"] for t in turns]


def test_chinese_json_is_stored_readably(store: Store, db_path: Path) -> None:
    sid = new_id("s")
    store.save_turn(
        sid, lang="zh", channel="api", user_text="q", reply=reply("a"), state={"买方": "德国"}
    )
    raw = sqlite3.connect(db_path)
    try:
        stored = raw.execute("SELECT state FROM chat_sessions WHERE id = ?", (sid,)).fetchone()[0]
    finally:
        raw.close()
    assert "买方" in stored


def test_in_memory_url_works_across_calls() -> None:
    with Store("sqlite://") as s:
        s.save_turn(
            "s_m", lang="zh", channel="api", user_text="q", reply=reply("a"), state={"x": 1}
        )
        assert s.get_state("s_m") == {"x": 1}
