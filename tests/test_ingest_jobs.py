"""Ingestion jobs across replicas: one database holds the jobs and the ingestion lock.

Two API servers (each its own ``Assistant``, as replicas are) share one database:
PostgreSQL (pgserver) or a SQLite file. A job started on one is read on the other, a
second start on either is refused while it runs, a job whose process died no longer
blocks, and ``ingest.py`` waits for the same lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import Timeout

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.jobs import IngestBusyError, IngestJobs
from assistant.storage import Store
from tests.conftest import ADMIN_KEY, FAQ_ZH, GUIDE_EN, POLICY_ZH, write_doc
from tests.server_proc import serve_in_thread

pytest.importorskip("pgserver")

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept-Language": "en"}


@pytest.fixture
def kb_settings(tmp_path: Path, embedding_cache: Path) -> Settings:
    from assistant.api.auth import key_hash
    from assistant.knowledge.index import KnowledgeIndex

    kb = tmp_path / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, "guides/dso.en.md", GUIDE_EN)
    write_doc(kb, "faq/faq.zh.md", FAQ_ZH)
    for name in ("policy.yaml", "rating.yaml", "intents.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, kb / name)
    settings = Settings(
        knowledge_dir=kb,
        data_dir=tmp_path / "data",
        embedding_cache_dir=embedding_cache,
        terms_dict=PROJECT_ROOT / "knowledge" / "terms.dict",
        embedding_backend="e5",
        api_keys=f"admin:{key_hash(ADMIN_KEY)}",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert KnowledgeIndex(settings).sync().ok
    return settings


def _db_url(backend: str, pg_module_url: str, tmp_path: Path) -> str:
    return pg_module_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'shared.db'}"


def _replica(settings: Settings, url: str) -> Any:
    from assistant.advisor import Assistant

    return Assistant.from_settings(settings, store=Store(url), today=lambda: date(2026, 11, 28))


def _wait(url: str, job_id: str, until: set[str], seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job = httpx.get(f"{url}/v1/admin/ingest/{job_id}", headers=ADMIN).json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_job_on_one_replica_is_read_and_blocks_starts_on_another(
    backend: str, pg_module_url: str, kb_settings: Settings, tmp_path: Path
) -> None:
    from assistant.api import create_app

    db = _db_url(backend, pg_module_url, tmp_path)
    holder = Store(db)
    with ExitStack() as stack:
        a = stack.enter_context(serve_in_thread(create_app(kb_settings, _replica(kb_settings, db))))
        b = stack.enter_context(serve_in_thread(create_app(kb_settings, _replica(kb_settings, db))))
        # The ingestion lock held elsewhere (another machine's ingest.py) keeps A's job running.
        with holder.ingest_lock():
            started = httpx.post(f"{a}/v1/admin/ingest", headers=ADMIN)
            assert started.status_code == 202
            job_id = started.json()["job_id"]
            on_b = _wait(b, job_id, {"running"})  # replica B reads A's job from the database
            assert on_b["finished_at"] is None

            second = httpx.post(f"{b}/v1/admin/ingest", json={"rebuild": True}, headers=ADMIN)
            assert second.status_code == 409
            assert second.json()["error"]["job_id"] == job_id
            again = httpx.post(f"{a}/v1/admin/ingest", headers=ADMIN)
            assert again.status_code == 409
        done = _wait(b, job_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded", done
        assert done["report"]["ok"] and done["report"]["generation"]
        # Now either replica may start the next one.
        nxt = httpx.post(f"{b}/v1/admin/ingest", headers=ADMIN)
        assert nxt.status_code == 202
        assert _wait(a, nxt.json()["job_id"], {"succeeded", "failed"})["status"] == "succeeded"
    holder.close()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_job_whose_process_died_is_marked_abandoned_and_no_longer_blocks(
    backend: str, pg_module_url: str, kb_settings: Settings, tmp_path: Path
) -> None:
    db = _db_url(backend, pg_module_url, tmp_path)
    # A replica took a job and died before running it: the row is there, nothing beats it.
    dead = Store(db)
    ghost = dead.start_ingest_job("ing_ghost", rebuild=False, dry_run=False, runner="gone:1")
    dead.close()
    # Fresh (a minute's grace, whatever the machine's load): the ghost still blocks.
    patient = IngestJobs(_replica(kb_settings, db), heartbeat=0.1, stale_after=60.0)
    with pytest.raises(IngestBusyError) as busy:
        patient.start()
    assert busy.value.job.id == ghost["id"]
    patient.shutdown()

    jobs = IngestJobs(_replica(kb_settings, db), heartbeat=0.1, stale_after=1.0)
    time.sleep(1.2)  # older than this replica's stale age
    job = jobs.start()
    old = jobs.get(ghost["id"])
    assert old is not None and old.status == "failed" and old.error == "abandoned"
    deadline = time.monotonic() + 120
    while (current := jobs.get(job.id)) is not None and current.active:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert current is not None and current.status == "succeeded"
    jobs.shutdown()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_running_job_beats_its_heartbeat_so_it_is_never_taken_for_dead(
    backend: str, pg_module_url: str, kb_settings: Settings, tmp_path: Path
) -> None:
    db = _db_url(backend, pg_module_url, tmp_path)
    holder = Store(db)
    jobs = IngestJobs(_replica(kb_settings, db), heartbeat=0.1, stale_after=0.5)
    with holder.ingest_lock():
        job = jobs.start()
        time.sleep(1.5)  # three times the stale age, held up by the lock
        other = IngestJobs(_replica(kb_settings, db), heartbeat=0.1, stale_after=0.5)
        with pytest.raises(IngestBusyError) as busy:
            other.start()
        assert busy.value.job.id == job.id and busy.value.job.status == "running"
    deadline = time.monotonic() + 120
    while (current := jobs.get(job.id)) is not None and current.active:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert current is not None and current.status == "succeeded"
    jobs.shutdown()
    holder.close()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_ingestion_lock_is_one_across_processes(
    backend: str, pg_module_url: str, tmp_path: Path
) -> None:
    db = _db_url(backend, pg_module_url, tmp_path)
    code = (
        "import sys, time\n"
        "from assistant.storage import Store\n"
        "with Store(sys.argv[1]).ingest_lock():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(3)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, db], stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = Store(db)
        with pytest.raises(Timeout), store.ingest_lock(timeout=0.5):
            pass
        with store.ingest_lock(timeout=30):  # free once the other process lets go
            assert holder.wait(timeout=30) == 0
        store.close()
    finally:
        holder.kill()


def test_ingest_py_waits_for_the_shared_lock(
    pg_module_url: str, kb_settings: Settings, tmp_path: Path
) -> None:
    """``ingest.py`` with ``DATABASE_URL`` waits while another machine ingests."""
    from assistant.knowledge.index import KnowledgeIndex

    write_doc(kb_settings.knowledge_dir, "guides/extra.en.md", GUIDE_EN.replace("test-", "x-"))
    before = KnowledgeIndex(kb_settings).read_manifest()
    assert before is not None
    env = {
        **os.environ,
        "KNOWLEDGE_DIR": str(kb_settings.knowledge_dir),
        "DATA_DIR": str(kb_settings.data_dir),
        "EMBEDDING_CACHE_DIR": str(kb_settings.embedding_cache_dir),
        "DATABASE_URL": pg_module_url,
        "HF_HUB_OFFLINE": "1",
    }
    holder = Store(pg_module_url)
    release = threading.Event()

    def hold() -> None:
        with holder.ingest_lock():
            release.wait(60)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.5)
    proc = subprocess.Popen(
        [sys.executable, "ingest.py", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(12)  # long enough to load the model and sync a small folder
        assert proc.poll() is None, proc.communicate()
        assert KnowledgeIndex(kb_settings).read_manifest() == before
        release.set()
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    finally:
        release.set()
        proc.kill()
        t.join()
        holder.close()
    after = KnowledgeIndex(kb_settings).read_manifest()
    assert after is not None and after.generation != before.generation
