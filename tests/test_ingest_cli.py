"""ingest.py as a real process: JSON output, exit codes, messages and SIGKILL safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.index import KnowledgeIndex
from assistant.knowledge.store import list_collection_names
from tests.conftest import write_doc


def _env(tmp_path: Path, cache: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KNOWLEDGE_DIR=str(tmp_path / "kb"),
        DATA_DIR=str(tmp_path / "data"),
        EMBEDDING_CACHE_DIR=str(cache),
        TERMS_DICT=str(PROJECT_ROOT / "knowledge" / "terms.dict"),
        EMBEDDING_BACKEND="e5",
    )
    env.update(extra)
    return env


def _ingest(tmp_path: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "ingest.py"), *args],
        cwd=tmp_path,
        env=_env(tmp_path, cache),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_json_output_and_exit_code_zero(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    proc = _ingest(tmp_path, embedding_cache, "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert (payload["added"], payload["changed"], payload["removed"]) == (3, 0, 0)
    assert payload["chunks"] == 6 and payload["failed"] == []
    assert payload["seconds"] > 0

    again = json.loads(_ingest(tmp_path, embedding_cache, "--json").stdout)
    assert (again["added"], again["changed"], again["removed"], again["unchanged"]) == (0, 0, 0, 3)


def test_failed_files_give_exit_code_one_with_path_and_reason(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    (small_corpus / "notes.xlsx").write_bytes(b"x")
    proc = _ingest(tmp_path, embedding_cache, str(small_corpus), str(small_corpus / "notes.xlsx"))
    assert proc.returncode == 1
    assert "notes.xlsx: unsupported file type '.xlsx'" in proc.stderr
    assert "Ingestion summary" in proc.stdout  # the good files were still ingested
    payload = json.loads(_ingest(tmp_path, embedding_cache, "--json").stdout)
    assert payload["unchanged"] == 3


def test_strict_flag_exits_non_zero_and_reports_the_file(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    (small_corpus / "a.md").write_text("", encoding="utf-8")
    proc = _ingest(tmp_path, embedding_cache, "--strict", "--json")
    assert proc.returncode == 1
    payload = json.loads(proc.stdout)
    assert payload["aborted"] is True
    assert payload["failed"][0]["reason"] == "file is empty"
    assert not (tmp_path / "data" / "index" / "manifest.json").exists()


def test_invalid_parameters_file_is_reported_before_ingesting(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    (small_corpus / "rating.yaml").write_text(
        (PROJECT_ROOT / "knowledge" / "rating.yaml")
        .read_text(encoding="utf-8")
        .replace("minimum_premium: 20000", "minimum_premium: -5"),
        encoding="utf-8",
    )
    proc = _ingest(tmp_path, embedding_cache)
    assert proc.returncode == 3
    assert "rating.yaml" in proc.stderr and "minimum_premium" in proc.stderr


def test_invalid_setting_is_a_clear_error(tmp_path: Path, embedding_cache: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "ingest.py")],
        cwd=tmp_path,
        env=_env(tmp_path, embedding_cache, EMBEDDING_BACKEND="word2vec"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "embedding_backend" in proc.stderr


def _big_doc(n: int) -> str:
    """A document whose text is new to the embedding cache, so the run takes a while."""
    token = uuid.uuid4().hex
    sections = "\n".join(
        f"## 第{i}节 逾期处理要点 {token}\n被保险人在买方逾期第{i}天应当核对对账单、"
        f"保留催收记录并评估是否需要申报，编号{token}-{i}。\n"
        for i in range(1, n + 1)
    )
    return (
        "---\nid: big-zh\ntitle: 大文档\nlang: zh\ndoc_type: guide\nversion: '1'\n"
        f"effective: 2026-01-01\nsources: [test]\n---\n# 大文档\n\n{sections}"
    )


@pytest.mark.parametrize("delay", [0.2, 2.5])
def test_sigkill_mid_run_leaves_the_previous_index_usable(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path, delay: float
) -> None:
    settings = Settings(
        knowledge_dir=small_corpus,
        data_dir=tmp_path / "data",
        embedding_cache_dir=embedding_cache,
        terms_dict=PROJECT_ROOT / "knowledge" / "terms.dict",
        _env_file=None,  # type: ignore[call-arg]
    )
    index = KnowledgeIndex(settings)
    before = index.sync()
    manifest_bytes = (settings.index_dir / "manifest.json").read_bytes()

    write_doc(small_corpus, "guides/big.zh.md", _big_doc(60))
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "ingest.py"), "--json"],
        cwd=tmp_path,
        env=_env(tmp_path, embedding_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gens = settings.index_dir / "generations"
    deadline = time.monotonic() + 120
    while len(list(gens.iterdir())) < 2:  # the staging generation has started
        assert proc.poll() is None, "ingest finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # The previous generation is still the live one, whole and searchable.
    assert (settings.index_dir / "manifest.json").read_bytes() == manifest_bytes
    fresh = KnowledgeIndex(settings)
    manifest, records = fresh.live()
    assert manifest.generation == before.generation and len(records) == before.chunks
    hits = fresh.search("索赔期限", k=2)
    assert hits and all(h.metadata["doc_id"] != "big-zh" for h in hits)

    # The next run finishes the job and clears the interrupted run's leftovers.
    report = KnowledgeIndex(settings).sync()
    assert report.ok and [Path(p).name for p in report.added] == ["big.zh.md"]
    live = KnowledgeIndex(settings)
    manifest, _ = live.live()
    assert [p.name for p in gens.iterdir()] == [manifest.generation]
    assert [n for n in list_collection_names(live.client) if n.startswith("kb_")] == [
        manifest.collection
    ]


def test_search_prompt_answers_and_says_when_it_has_no_answer(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    assert _ingest(tmp_path, embedding_cache).returncode == 0

    def ask(question: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "assistant.knowledge", question],
            cwd=PROJECT_ROOT,
            env=_env(tmp_path, embedding_cache),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    assert "第三条" in ask("索赔期限是多久")
    assert "没有可靠的答案" in ask("红烧肉怎么做才好吃")


def test_without_a_terminal_ingest_prints_progress_lines(
    small_corpus: Path, tmp_path: Path, embedding_cache: Path
) -> None:
    """A container log or `make run > log` is no terminal: the bar is replaced by lines
    (here every update, with --progress-every 0) so a long first index is not silent."""
    proc = _ingest(tmp_path, embedding_cache, "--progress-every", "0")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith(("embed ", "store "))]
    assert any(line.startswith("embed ") and "(100%)" in line for line in lines), proc.stderr
    assert any(line.startswith("store ") for line in lines), proc.stderr
    quiet = _ingest(tmp_path, embedding_cache, "--json", "--rebuild")
    assert quiet.returncode == 0 and "embed " not in quiet.stderr  # scripts get JSON only
