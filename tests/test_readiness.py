"""``/readyz`` checks what a load balancer needs: the database and the Chroma collection
this process serves both answer. Real PostgreSQL (pgserver) and a real Chroma server are
stopped and started again under a running app; ``/healthz`` stays a liveness check."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.index import KnowledgeIndex
from tests.server_proc import ChromaServer

pgserver = pytest.importorskip("pgserver")


def _ready(client: TestClient, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get("/readyz")
        if resp.status_code == 200 or time.monotonic() > deadline:
            return resp
        time.sleep(0.3)


def test_readyz_is_503_while_the_database_or_chroma_is_down_and_recovers(
    tmp_path: Path, small_corpus: Path, make_settings: Callable[..., Settings]
) -> None:
    for name in ("policy.yaml", "rating.yaml", "intents.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, small_corpus / name)
    pg_dir = tmp_path / "pg"
    pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
    url = pg.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    chroma = ChromaServer(tmp_path / "chroma").start()
    try:
        settings = make_settings(chroma_host="127.0.0.1", chroma_port=chroma.port, database_url=url)
        assert KnowledgeIndex(settings).sync().ok
        with TestClient(create_app(settings)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["generation"] == body["live_generation"] and body["chunks"] == 6

            chroma.stop()
            down = client.get("/readyz")
            assert down.status_code == 503 and "vector store" in down.json()["reason"]
            assert client.get("/healthz").status_code == 200  # alive, just not ready
            chroma.start()
            assert _ready(client).status_code == 200

            pg.cleanup()  # stops the server; its data folder stays
            down = client.get("/readyz")
            assert down.status_code == 503 and "database" in down.json()["reason"]
            pg = pgserver.get_server(pg_dir, cleanup_mode="stop")
            assert _ready(client).status_code == 200
    finally:
        chroma.stop()
        pg.cleanup()
