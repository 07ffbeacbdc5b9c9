"""The same ingestion against a real Chroma server (``chroma run``) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.knowledge.index import KnowledgeIndex
from assistant.knowledge.store import list_collection_names
from tests.server_proc import ChromaServer


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    yield server.port
    server.stop()


def test_ingest_and_search_work_the_same_on_a_chroma_server(
    chroma_server: int, small_corpus: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(chroma_host="127.0.0.1", chroma_port=chroma_server)
    index = KnowledgeIndex(settings)
    report = index.sync()
    assert report.ok and report.chunks == 6
    assert not (settings.index_dir / "chroma").exists()  # nothing stored locally
    hits = index.search("逾期申报期限", k=2)
    assert hits[0].metadata["doc_id"] in {"test-policy-zh", "test-faq-zh"}

    assert KnowledgeIndex(settings).sync().unchanged  # no-change rerun
    (small_corpus / "faq" / "faq.zh.md").unlink()
    removed = KnowledgeIndex(settings).sync()
    assert len(removed.removed) == 1 and removed.chunks == 5
    live = KnowledgeIndex(settings)
    manifest, _ = live.live()
    # The old generation's collection was dropped on the server as well.
    assert [n for n in list_collection_names(live.client) if n.startswith("kb_")] == [
        manifest.collection
    ]


def test_hybrid_search_gives_the_same_hits_on_local_and_server_chroma(
    chroma_server: int, small_corpus: Path, make_settings: Callable[..., Settings]
) -> None:
    from assistant.retrieval import RetrievalEngine

    local = make_settings()
    server = make_settings(
        chroma_host="127.0.0.1", chroma_port=chroma_server, data_dir=local.data_dir.parent / "srv"
    )
    results = []
    for settings in (local, server):
        index = KnowledgeIndex(settings)
        assert index.sync().ok
        engine = RetrievalEngine(index, settings)
        res = engine.search("逾期多久要申报，索赔期限多长", 4)
        results.append([(h.id, round(h.explanation.dense_score, 3)) for h in res.hits])
    assert results[0] == results[1]
