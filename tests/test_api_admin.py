"""Admin ingestion over the real server: auth, jobs, and the live assistant seeing new text.

The auth matrix and a no-change run use the shared ``api_server`` (the shipped knowledge
folder). Everything that edits documents runs against this module's own server over a
temporary knowledge folder, index and database, so the shared fixture never changes.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from filelock import FileLock

from assistant.config import PROJECT_ROOT, Settings
from tests.conftest import ADMIN_KEY, FAQ_ZH, GUIDE_EN, POLICY_ZH, SUPPORT_KEY, write_doc
from tests.server_proc import serve_in_thread

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept-Language": "en"}
SUPPORT = {"X-API-Key": SUPPORT_KEY}


def wait_until_done(url: str, job_id: str) -> dict[str, Any]:
    """Poll a job until it finishes (the deadline only guards against a hung job)."""
    deadline = time.monotonic() + 300
    while True:
        resp = httpx.get(f"{url}/v1/admin/ingest/{job_id}", headers=ADMIN)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, f"job {job_id} is still {body['status']}"
        time.sleep(0.1)


def ingest(url: str, **options: bool) -> dict[str, Any]:
    resp = httpx.post(f"{url}/v1/admin/ingest", json=options or None, headers=ADMIN)
    assert resp.status_code == 202, resp.text
    return wait_until_done(url, resp.json()["job_id"])


def search_doc_ids(url: str, q: str) -> list[str]:
    resp = httpx.get(f"{url}/v1/search", params={"q": q, "k": 5}, headers=SUPPORT)
    assert resp.status_code == 200, resp.text
    return [h["doc_id"] for h in resp.json()["hits"]]


# --- auth and job basics on the shared server ----------------------------------------------


@pytest.fixture(scope="module")
def url(api_server: Any) -> str:
    return str(api_server.url)


ROUTES = [("POST", "/v1/admin/ingest"), ("GET", "/v1/admin/ingest/ing_unknown")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong-key"}, 401, "unauthorized"),
        ({"X-API-Key": SUPPORT_KEY}, 403, "forbidden"),
    ],
)
def test_admin_routes_refuse_callers_without_an_admin_key(
    url: str, method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    resp = httpx.request(method, url + path, headers=headers)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code


def test_an_admin_starts_an_ingest_and_polls_it_to_a_report(url: str) -> None:
    resp = httpx.post(f"{url}/v1/admin/ingest", headers=ADMIN)  # no body: the defaults
    assert resp.status_code == 202, resp.text
    started = resp.json()
    assert started["status"] in ("queued", "running")
    assert started["links"]["self"] == f"/v1/admin/ingest/{started['job_id']}"
    assert resp.headers["location"] == started["links"]["self"]

    done = wait_until_done(url, started["job_id"])
    assert done["status"] == "succeeded" and done["error"] is None
    assert done["started_at"] <= done["finished_at"] and done["duration"] is not None
    report = done["report"]
    listed = report["added"] + report["changed"] + report["unchanged"]
    # Paths are relative to the knowledge folder, never the server's file system.
    assert (
        "policy/domestic-tci.zh.md" in listed
        and "bank/en/claims-recoveries-disputes.bank.yaml" in listed
    )
    assert report["chunks"] > 0 and not report["dry_run"]


def test_polling_an_unknown_job_is_a_404_in_the_error_format(url: str) -> None:
    resp = httpx.get(f"{url}/v1/admin/ingest/ing_doesnotexist", headers=ADMIN)
    assert resp.status_code == 404
    assert resp.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_an_unknown_ingest_option_is_refused_rather_than_ignored(url: str) -> None:
    resp = httpx.post(f"{url}/v1/admin/ingest", json={"ful": True}, headers=ADMIN)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_request"


# --- a server of our own over a temporary knowledge folder -----------------------------------

REBATE_EN = """
---
id: test-rebate-en
title: Zephyrquartz rebate FAQ
lang: en
doc_type: faq
version: "1.0"
effective: 2026-01-01
sources:
  - "test fixture"
---
# Zephyrquartz rebate FAQ

## Premium
### What is the Zephyrquartz rebate?
The Zephyrquartz rebate refunds seven percent of the annual premium when every insured
buyer paid on time for the whole policy year.
"""


def doc(doc_id: str, term: str) -> str:
    return f"""
    ---
    id: {doc_id}
    title: {term} checklist
    lang: en
    doc_type: guide
    version: "1.0"
    effective: 2026-01-01
    sources:
      - "test fixture"
    ---
    # {term} checklist

    ## What is the {term} checklist?
    The {term} checklist lists the documents a seller keeps for each shipment to an
    insured buyer: the contract, the invoice and the proof of delivery.
    """


BROKEN = """
---
id: [this front matter never closes its list
title: broken
---
# Broken

Some text.
"""


@pytest.fixture(scope="module")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Like ``api_server``, over a small knowledge folder this module may edit."""
    from assistant.advisor import Assistant
    from assistant.api import create_app
    from assistant.api.auth import key_hash
    from assistant.knowledge.index import KnowledgeIndex
    from assistant.storage import Store

    root = tmp_path_factory.mktemp("admin-kb")
    kb = root / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, "guides/dso.en.md", GUIDE_EN)
    write_doc(kb, "faq/faq.zh.md", FAQ_ZH)
    for name in ("policy.yaml", "rating.yaml", "intents.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, kb / name)
    settings = Settings(
        knowledge_dir=kb,
        data_dir=root / "data",
        # Its own cache: one test makes it unusable for a while.
        embedding_cache_dir=root / "cache",
        terms_dict=PROJECT_ROOT / "knowledge" / "terms.dict",
        embedding_backend="e5",
        api_keys=f"support:{key_hash(SUPPORT_KEY)},admin:{key_hash(ADMIN_KEY)}",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert KnowledgeIndex(settings).sync().ok
    bot = Assistant.from_settings(
        settings, store=Store(f"sqlite:///{root / 'admin.db'}"), today=lambda: date(2026, 11, 28)
    )
    bot.warm_up()
    with serve_in_thread(create_app(settings, bot)) as url:
        yield SimpleNamespace(url=url, assistant=bot, settings=settings, kb=kb)


def test_a_new_document_is_searchable_and_answered_after_ingest(kb_server: Any) -> None:
    url, bot = kb_server.url, kb_server.assistant
    assert "test-rebate-en" not in search_doc_ids(url, "Zephyrquartz rebate")
    write_doc(kb_server.kb, "faq/rebate.en.md", REBATE_EN)
    serving = bot.engine

    done = ingest(url)

    assert done["status"] == "succeeded", done
    # A new engine was swapped in for search, grounded answers and the LLM agent alike.
    assert bot.engine is not serving and bot.manager.answerer.engine is bot.engine
    assert done["report"]["added"] == ["faq/rebate.en.md"] and done["report"]["ok"]
    assert search_doc_ids(url, "Zephyrquartz rebate")[0] == "test-rebate-en"
    chat = httpx.post(
        f"{url}/v1/chat", json={"message": "What is the Zephyrquartz rebate?", "lang": "en"}
    )
    assert chat.status_code == 200, chat.text
    assert "seven percent" in chat.json()["answer"]
    assert "test-rebate-en" in [c["doc_id"] for c in chat.json()["citations"]]


def test_a_file_that_fails_to_load_is_reported_and_keeps_its_last_good_chunks(
    kb_server: Any,
) -> None:
    url, faq = kb_server.url, kb_server.kb / "faq" / "faq.zh.md"
    good = faq.read_text(encoding="utf-8")
    faq.write_text(BROKEN.lstrip(), encoding="utf-8")
    write_doc(kb_server.kb, "guides/checklist.en.md", doc("test-checklist-en", "Brambleworth"))
    try:
        done = ingest(url)
    finally:
        faq.write_text(good, encoding="utf-8")

    assert done["status"] == "succeeded", done
    report = done["report"]
    assert not report["ok"]
    assert [f["path"] for f in report["failed"]] == ["faq/faq.zh.md"]
    assert "front matter" in report["failed"][0]["reason"]
    assert str(kb_server.kb) not in str(report)
    assert report["added"] == ["guides/checklist.en.md"]
    # The rest of the run went in, and the broken FAQ still answers from its last version.
    assert search_doc_ids(url, "Brambleworth checklist")[0] == "test-checklist-en"
    assert "test-faq-zh" in search_doc_ids(url, "客户逾期多久必须报给保险公司？")


def test_a_second_ingest_while_one_runs_is_refused_with_the_running_job(
    kb_server: Any,
) -> None:
    url = kb_server.url
    # Holding the index lock (as a CLI ingest in another process would) keeps the job running.
    lock = FileLock(str(kb_server.settings.index_dir / ".ingest.lock"))
    with lock:
        first = httpx.post(f"{url}/v1/admin/ingest", headers=ADMIN)
        assert first.status_code == 202
        job_id = first.json()["job_id"]
        deadline = time.monotonic() + 60
        while True:
            status = httpx.get(url + first.headers["location"], headers=ADMIN).json()
            if status["status"] == "running":
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        assert status["finished_at"] is None

        second = httpx.post(f"{url}/v1/admin/ingest", json={"rebuild": True}, headers=ADMIN)

        assert second.status_code == 409
        error = second.json()["error"]
        assert error["code"] == "ingest_running" and error["job_id"] == job_id
        assert job_id in error["message"]
    assert wait_until_done(url, job_id)["status"] == "succeeded"
    # Once it is done, the next one may start.
    assert ingest(url)["status"] == "succeeded"


def test_a_failed_ingest_keeps_the_live_index_and_hides_the_cause(
    kb_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url, cache = kb_server.url, Path(kb_server.settings.embedding_cache_path)
    write_doc(kb_server.kb, "guides/quill.en.md", doc("test-quill-en", "Quillibrant"))
    # The embedding cache folder is unusable (a file where it should be) mid-sync.
    parked = cache.with_name("cache-parked")
    cache.rename(parked)
    cache.write_text("not a folder", encoding="utf-8")
    try:
        with caplog.at_level(logging.ERROR, logger="assistant.knowledge.jobs"):
            failed = ingest(url)
    finally:
        cache.unlink()
        parked.rename(cache)

    assert failed["status"] == "failed" and failed["report"] is None
    assert failed["error"]["code"] == "ingest_failed"
    message = failed["error"]["message"]
    assert "see the server log" in message
    assert "Traceback" not in message and str(cache) not in message
    assert any(r.exc_info for r in caplog.records if r.name == "assistant.knowledge.jobs")
    # No half-written index: the old one still serves, without the new document.
    assert "test-quill-en" not in search_doc_ids(url, "Quillibrant checklist")
    assert "test-guide-en" in search_doc_ids(url, "How to calculate DSO")

    retry = ingest(url)
    assert retry["status"] == "succeeded"
    assert "guides/quill.en.md" in retry["report"]["added"]
    assert search_doc_ids(url, "Quillibrant checklist")[0] == "test-quill-en"


def test_an_ingest_without_the_knowledge_folder_fails_and_removes_nothing(
    kb_server: Any,
) -> None:
    url, kb = kb_server.url, kb_server.kb
    away = kb.with_name("kb-away")
    kb.rename(away)
    try:
        failed = ingest(url)
    finally:
        away.rename(kb)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "knowledge_dir_missing"
    assert "test-guide-en" in search_doc_ids(url, "How to calculate DSO")
