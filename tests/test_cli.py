"""`python -m assistant ask --json` and `chat` as a user runs them (real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from assistant.config import PROJECT_ROOT, Settings
from assistant.models import Reply


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KNOWLEDGE_DIR=str(settings.knowledge_dir),
        DATA_DIR=str(settings.data_dir),
        EMBEDDING_CACHE_DIR=str(settings.embedding_cache_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        LLM="none",
    )
    return env


def test_ask_json_prints_one_reply(full_settings: Settings, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "买家破产了要准备什么材料？", "--json"],
        cwd=PROJECT_ROOT,
        env=_env(full_settings, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    reply = Reply.model_validate(json.loads(out.stdout))
    assert reply.lang == "zh"
    assert [c.name for c in reply.tool_calls] == ["claim_checklist"]
    assert reply.tool_calls[0].args["cause"] == "insolvency"
    assert reply.citations


def test_chat_answers_until_an_empty_line(full_settings: Settings, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "chat"],
        cwd=PROJECT_ROOT,
        env=_env(full_settings, tmp_path),
        input="What is the waiting period?\n\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "180" in out.stdout
    assert "session:" in out.stdout


def test_ask_without_an_index_says_how_to_build_it(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(DATA_DIR=str(tmp_path / "empty"), LLM="none")
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "hello"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 3
    assert "ingest" in out.stderr
