"""The shipped knowledge/ folder ingests cleanly and answers searches (fast USE backend).

The default e5 backend is exercised on small corpora elsewhere; here the point is the
whole corpus: every document loads, clauses carry metadata, and the index answers.
"""

from __future__ import annotations

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.index import KnowledgeIndex


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    tmp = tmp_path_factory.mktemp("full")
    settings = Settings(
        knowledge_dir=PROJECT_ROOT / "knowledge",
        data_dir=tmp / "data",
        embedding_backend="use",
        _env_file=None,  # type: ignore[call-arg]
    )
    index = KnowledgeIndex(settings)
    report = index.sync()
    assert report.ok, report.failed
    return index


def test_every_shipped_document_is_indexed(corpus_index: KnowledgeIndex) -> None:
    manifest, records = corpus_index.live()
    kdir = PROJECT_ROOT / "knowledge"
    sources = [*kdir.rglob("*.md"), *kdir.rglob("*.bank.yaml")]
    sources = [p for p in sources if not p.name.startswith("_")]
    assert len(manifest.files) == len(sources)
    doc_ids = {r.metadata["doc_id"] for r in records}
    assert {"policy-domestic-tci-zh", "policy-domestic-tci-en"} <= doc_ids
    assert {"bank-zh-claims-recoveries-disputes", "bank-en-glossary-policy"} <= doc_ids
    assert len(records) == manifest.chunks > 400


def test_every_policy_clause_is_its_own_chunk(corpus_index: KnowledgeIndex) -> None:
    _, records = corpus_index.live()
    for doc_id in ("policy-domestic-tci-zh", "policy-domestic-tci-en"):
        numbers = [
            r.metadata["clause_no"]
            for r in records
            if r.metadata["doc_id"] == doc_id and r.metadata["clause_no"] > 0
        ]
        # Clauses fit the chunk size, so none is cut in two: one chunk per clause.
        assert sorted(numbers) == list(range(1, 42)), doc_id


def test_bank_entries_carry_their_question_basis_and_phrasings(
    corpus_index: KnowledgeIndex,
) -> None:
    _, records = corpus_index.live()
    faq = [r for r in records if r.metadata["doc_type"] == "faq"]
    assert len(faq) >= 550
    assert all(r.metadata.get("question") and r.metadata.get("basis") for r in faq)
    assert all(r.metadata.get("entry_id") and r.metadata.get("similar") for r in faq)


@pytest.mark.parametrize(
    "query,lang",
    [
        ("客户拖了三个月不给钱，保险能赔吗", "zh"),
        ("DSO怎么算", "zh"),
        ("how long do I have to report an overdue invoice", "en"),
    ],
)
def test_search_answers_from_the_index(corpus_index: KnowledgeIndex, query: str, lang: str) -> None:
    hits = corpus_index.search(query, k=3, where={"lang": lang})
    assert len(hits) == 3
    assert all(h.metadata["lang"] == lang for h in hits)
    assert hits[0].score > 0.3


def test_rerun_on_the_full_corpus_changes_nothing(corpus_index: KnowledgeIndex) -> None:
    report = KnowledgeIndex(corpus_index.settings).sync()
    assert (len(report.added), len(report.changed), len(report.removed)) == (0, 0, 0)
    assert report.chunks == corpus_index.live()[0].chunks
