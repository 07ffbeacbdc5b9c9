"""Incremental, atomic sync into a real Chroma + BM25, with real e5 embeddings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.knowledge.bm25 import BM25Index
from assistant.knowledge.index import KnowledgeIndex, StrictAbortError
from assistant.knowledge.store import get_collection, list_collection_names
from tests.conftest import GUIDE_EN, write_doc

SettingsFactory = Callable[..., Settings]


def _collection_ids(index: KnowledgeIndex) -> list[str]:
    manifest, _ = index.live()
    return list(get_collection(index.client, manifest.collection).get(include=[])["ids"])


def test_first_sync_indexes_every_file_and_search_finds_the_clause(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    report = index.sync()
    assert report.ok
    assert len(report.added) == 3 and not report.changed and not report.removed
    assert report.chunks == 3 + 2 + 1
    ids = _collection_ids(index)
    assert len(ids) == len(set(ids)) == report.chunks

    hits = index.search("逾期多少天内要向保险公司申报", k=3)
    assert any(h.metadata.get("clause") == "第二条" for h in hits)
    top = index.search("how do I calculate days sales outstanding", k=1)[0]
    assert top.metadata["doc_id"] == "test-guide-en"
    assert top.metadata["section"] == "How to calculate DSO"

    # BM25 is persisted for the same generation and finds the Chinese term.
    manifest, records = index.live()
    bm25 = BM25Index.load(index.generation_dir(manifest.generation))
    best = bm25.search(index.tokenizer.tokens("索赔期限"), k=1)[0]
    assert records[best.index].metadata["clause"] == "第三条"


def test_second_sync_with_nothing_changed_reports_zero_and_keeps_the_generation(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    first = index.sync()
    second = KnowledgeIndex(make_settings()).sync()
    assert (len(second.added), len(second.changed), len(second.removed)) == (0, 0, 0)
    assert len(second.unchanged) == 3
    assert second.generation == first.generation
    assert second.embedded == 0


def test_edited_file_redoes_only_its_own_chunks(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    before = {r.id: r.metadata["doc_id"] for r in index.live()[1]}
    guide = small_corpus / "guides" / "dso.en.md"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("a week before", "ten days before"),
        encoding="utf-8",
    )
    report = index.sync()
    assert report.changed == [p for p in report.changed if p.endswith("dso.en.md")]
    assert len(report.changed) == 1 and len(report.unchanged) == 2
    assert report.embedded == 1  # only the edited section is embedded again
    after = {r.id: r.metadata["doc_id"] for r in index.live()[1]}
    kept = {i for i, d in before.items() if d != "test-guide-en"}
    assert kept <= set(after)  # other files' chunk ids are untouched
    assert len(set(after) - set(before)) == 1
    assert any("ten days before" in h.text for h in index.search("reminder before due date", 2))


def test_deleted_file_chunks_disappear(small_corpus: Path, make_settings: SettingsFactory) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    (small_corpus / "faq" / "faq.zh.md").unlink()
    report = index.sync()
    assert len(report.removed) == 1 and report.removed[0].endswith("faq.zh.md")
    assert all(not i.startswith("test-faq-zh#") for i in _collection_ids(index))
    assert all(r.metadata["doc_id"] != "test-faq-zh" for r in index.live()[1])


def test_new_file_is_added_and_rerun_is_idempotent(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    write_doc(
        small_corpus,
        "guides/terms.en.md",
        GUIDE_EN.replace("test-guide-en", "test-terms-en")
        .replace("counterpart: test-policy-zh\n", "")
        .replace("DSO", "credit terms"),
    )
    report = index.sync()
    assert len(report.added) == 1 and len(report.unchanged) == 3
    ids = _collection_ids(index)
    again = index.sync()
    assert again.generation == report.generation
    assert sorted(_collection_ids(index)) == sorted(ids)
    assert len(ids) == len(set(ids))


def test_rebuild_produces_the_same_chunk_ids(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    first = sorted(_collection_ids(index))
    report = index.sync(rebuild=True)
    assert report.rebuilt and len(report.changed) == 3
    assert sorted(_collection_ids(index)) == first


def test_old_generations_are_removed_after_a_swap(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    index = KnowledgeIndex(settings)
    index.sync()
    index.sync(rebuild=True)
    manifest, _ = index.live()
    names = [n for n in list_collection_names(index.client) if n.startswith("kb_")]
    assert names == [manifest.collection]
    gens = [p.name for p in (settings.index_dir / "generations").iterdir()]
    assert gens == [manifest.generation]


def test_changed_chunk_settings_force_a_rebuild(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    KnowledgeIndex(make_settings()).sync()
    report = KnowledgeIndex(make_settings(chunk_size=300)).sync()
    assert report.rebuilt
    assert len(report.changed) == 3


def test_failed_file_keeps_its_previous_chunks(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    guide = small_corpus / "guides" / "dso.en.md"
    guide.write_text(GUIDE_EN.replace("lang: en", "lang: english"), encoding="utf-8")
    report = index.sync()
    assert not report.ok
    assert report.failed[0]["path"].endswith("dso.en.md")
    assert "lang" in report.failed[0]["reason"]
    assert any(r.metadata["doc_id"] == "test-guide-en" for r in index.live()[1])
    assert index.search("calculate DSO", 1)[0].metadata["doc_id"] == "test-guide-en"


def test_bad_files_are_reported_and_the_rest_still_ingested(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    (small_corpus / "empty.md").write_text("", encoding="utf-8")
    (small_corpus / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n")
    write_doc(small_corpus, "bad-meta.md", GUIDE_EN.replace('version: "1.0"\n', ""))
    report = KnowledgeIndex(make_settings()).sync()
    failed = {Path(f["path"]).name: f["reason"] for f in report.failed}
    assert set(failed) == {"empty.md", "broken.pdf", "bad-meta.md"}
    assert "version" in failed["bad-meta.md"]
    assert len(report.added) == 3
    assert report.chunks == 6


def test_duplicate_document_id_is_reported(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    write_doc(small_corpus, "guides/zz-copy.en.md", GUIDE_EN)
    report = KnowledgeIndex(make_settings()).sync()
    (failure,) = report.failed
    assert failure["path"].endswith("zz-copy.en.md")
    assert "already used by" in failure["reason"] and "dso.en.md" in failure["reason"]


def test_strict_stops_at_first_failure_and_writes_nothing(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    KnowledgeIndex(settings).sync()
    manifest_before = settings.index_dir.joinpath("manifest.json").read_bytes()
    (small_corpus / "a-empty.md").write_text("", encoding="utf-8")
    write_doc(small_corpus, "guides/new.en.md", GUIDE_EN.replace("test-guide-en", "new-en"))
    with pytest.raises(StrictAbortError, match=r"a-empty\.md: file is empty"):
        KnowledgeIndex(settings).sync(strict=True)
    assert settings.index_dir.joinpath("manifest.json").read_bytes() == manifest_before


def test_dry_run_reports_changes_without_writing(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    report = KnowledgeIndex(settings).sync(dry_run=True)
    assert report.dry_run and len(report.added) == 3 and report.chunks == 6
    assert not settings.index_dir.joinpath("manifest.json").exists()


def test_paths_limit_the_scope_of_a_sync(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    (small_corpus / "faq" / "faq.zh.md").unlink()
    # Syncing only guides/ must not treat the FAQ (outside the scope) as removed.
    report = index.sync([small_corpus / "guides"])
    assert not report.removed and len(report.unchanged) == 1
    assert any(r.metadata["doc_id"] == "test-faq-zh" for r in index.live()[1])
    assert len(index.sync().removed) == 1


def test_search_before_any_ingest_says_how_to_fix_it(make_settings: SettingsFactory) -> None:
    from assistant.knowledge.index import IndexNotReadyError

    with pytest.raises(IndexNotReadyError, match=r"python ingest\.py"):
        KnowledgeIndex(make_settings()).search("信用保险")


def test_json_report_has_the_documented_keys(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    payload = KnowledgeIndex(make_settings()).sync().as_json()
    for key in ("added", "changed", "removed", "unchanged", "chunks", "failed", "seconds"):
        assert key in payload
    json.dumps(payload)


def test_rebuild_with_a_failing_file_keeps_its_last_good_chunks(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync()
    (small_corpus / "guides" / "dso.en.md").write_text("", encoding="utf-8")
    report = index.sync(rebuild=True)
    assert [Path(f["path"]).name for f in report.failed] == ["dso.en.md"]
    assert report.chunks == 6
    assert any(r.metadata["doc_id"] == "test-guide-en" for r in index.live()[1])


def test_a_missing_knowledge_folder_changes_nothing(
    small_corpus: Path, make_settings: SettingsFactory
) -> None:
    from assistant.knowledge.index import SourceMissingError

    settings = make_settings(knowledge_dir=small_corpus)
    first = KnowledgeIndex(settings).sync()
    moved = small_corpus.rename(small_corpus.with_name("kb-moved"))
    with pytest.raises(SourceMissingError, match="not found"):
        KnowledgeIndex(settings).sync()
    manifest = KnowledgeIndex(settings).read_manifest()
    assert manifest is not None and manifest.generation == first.generation
    assert len(manifest.files) == 3 and moved.exists()


def test_a_moved_knowledge_folder_is_the_same_index(
    small_corpus: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Manifest keys are relative to the knowledge folder: moving it (a new checkout path,
    another mount point on another machine) changes nothing. With absolute keys every file
    failed ("document id already used") and a rebuild indexed everything twice."""
    first = KnowledgeIndex(make_settings()).sync()
    assert first.ok and first.chunks == 6
    moved = tmp_path / "elsewhere" / "kb"
    moved.parent.mkdir()
    small_corpus.rename(moved)
    index = KnowledgeIndex(make_settings(knowledge_dir=moved))
    again = index.sync()
    assert again.failed == [] and again.unchanged and not again.added and not again.removed
    assert again.chunks == 6 and again.generation == first.generation
    rebuilt = KnowledgeIndex(make_settings(knowledge_dir=moved)).sync(rebuild=True)
    assert rebuilt.failed == [] and rebuilt.chunks == 6
    manifest = KnowledgeIndex(make_settings(knowledge_dir=moved)).read_manifest()
    assert manifest is not None
    assert all(not Path(key).is_absolute() for key in manifest.files)
