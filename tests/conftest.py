"""Shared fixtures: real Chroma, real embedders, small corpora written per test."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import assistant  # noqa: F401  (offline environment before anything else)
from assistant.config import PROJECT_ROOT, Settings

# Tests must never reach a model hub, whatever the caller's shell says.
assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the session: the same text is embedded once per run."""
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture
def make_settings(tmp_path: Path, embedding_cache: Path) -> Callable[..., Settings]:
    def factory(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "knowledge_dir": tmp_path / "kb",
            "data_dir": tmp_path / "data",
            "embedding_cache_dir": embedding_cache,
            "terms_dict": PROJECT_ROOT / "knowledge" / "terms.dict",
            "embedding_backend": "e5",
            "_env_file": None,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return factory


def write_doc(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


POLICY_ZH = """
---
id: test-policy-zh
title: 测试示例条款
lang: zh
doc_type: policy
version: "1.0"
effective: 2026-01-01
counterpart: test-guide-en
sources:
  - "test fixture"
---
# 测试示例条款

## 第一章 总则

### 第一条 合同构成
本保险合同由保险条款、投保单、保险单明细表和批单组成。

### 第二条 逾期申报
买方未在原应付款日足额付款的，被保险人应当在原应付款日后60天内向保险人提交逾期申报。

## 第二章 索赔

### 第三条 索赔期限
买方拖欠的，被保险人应当在逾期申报期限届满后90天内提交索赔申请；逾期提交的，保险人可以拒绝赔付。
"""

GUIDE_EN = """
---
id: test-guide-en
title: Test guide to DSO
lang: en
doc_type: guide
version: "1.0"
effective: 2026-01-01
counterpart: test-policy-zh
sources:
  - "test fixture"
---
# Test guide to DSO

## How to calculate DSO
DSO equals receivables divided by credit sales, times the number of days in the period.
With 35,000 of receivables and 50,000 of credit sales over 31 days, DSO is about 21.7 days.

## How to lower DSO
Invoice on the day of delivery. Send a reminder a week before the due date.
Agree payment terms in writing before the first order.
"""

FAQ_ZH = """
---
id: test-faq-zh
title: 测试常见问题
lang: zh
doc_type: faq
version: "1.0"
effective: 2026-01-01
sources:
  - "test fixture"
---
# 测试常见问题

## 理赔
### 客户逾期多久必须报给保险公司？
原应付款日后60天内必须提交逾期申报，晚了可能被拒赔。

依据：test-policy-zh 第二条
"""


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, "guides/dso.en.md", GUIDE_EN)
    write_doc(kb, "faq/faq.zh.md", FAQ_ZH)
    return kb


@pytest.fixture(scope="module")
def pg_module_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL (pgserver: binaries in a wheel, offline, fine as root) for one test
    module, as a SQLAlchemy URL."""
    pgserver = pytest.importorskip("pgserver")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def full_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shipped knowledge/ folder indexed once per run with the default e5 backend.

    Reuses the developer's embedding cache when there is one (CI starts empty and pays the
    full ingest once). Tests that need a database give themselves their own
    ``database_url``; nothing here writes outside the temp folder.
    """
    from assistant.knowledge.index import KnowledgeIndex

    data = tmp_path_factory.mktemp("full-e5")
    local_cache = PROJECT_ROOT / "data" / "cache" / "embeddings"
    settings = Settings(
        knowledge_dir=PROJECT_ROOT / "knowledge",
        data_dir=data,
        embedding_cache_dir=local_cache if local_cache.exists() else data / "cache",
        database_url=f"sqlite:///{data / 'shared.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    report = KnowledgeIndex(settings).sync()
    assert report.ok, report.failed
    return settings


SUPPORT_KEY = "test-support-key"
ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="session")
def api_server(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real uvicorn server on 127.0.0.1 serving the API over the shared e5 index.

    Yields an object with ``url`` and ``assistant``; the support and admin keys above are
    configured (as hashes). The body limit is small so 413 is easy to reach.
    """
    from datetime import date
    from types import SimpleNamespace

    from assistant.advisor import Assistant
    from assistant.api import create_app
    from assistant.api.auth import key_hash
    from assistant.storage import Store
    from tests.server_proc import serve_in_thread

    db = tmp_path_factory.mktemp("api") / "api.db"
    settings = full_settings.model_copy(
        update={
            "max_body_bytes": 4096,
            # Every test client is 127.0.0.1: limits are tested on their own app.
            "rate_limit_ip": "100000/minute",
            "rate_limit_session": "100000/minute",
            "api_keys": f"support:{key_hash(SUPPORT_KEY)},admin:{key_hash(ADMIN_KEY)}",
        }
    )
    bot = Assistant.from_settings(
        settings, store=Store(f"sqlite:///{db}"), today=lambda: date(2026, 11, 28)
    )
    bot.warm_up()
    with serve_in_thread(create_app(settings, bot)) as url:
        yield SimpleNamespace(url=url, assistant=bot, settings=settings)


ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def chromium_path() -> str | None:
    """Debian's chromium (``.ci/run`` installs it); ``CHROMIUM_PATH`` overrides."""
    import os
    import shutil

    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A real headless chromium driven by Playwright (``executable_path``, no download).

    Outside CI a machine without chromium skips the browser tests with a printed reason;
    in CI (``CI`` set, as ``.ci/run`` does) a missing browser is an error.
    """
    import os

    path = chromium_path()
    if path is None:
        reason = "chromium not found (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(reason + ": browser tests must run in CI")
        print(f"\nSKIP browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """``test-artifacts/<test name>/``: screenshots of each step of a browser test."""
    import re

    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
