"""The trained routing model: its data is checked at ingest, it is fitted from the index
generation, and an example added to knowledge/routing/ changes a route with no code change."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.dialogue.routing_model import LABELS, load_examples, parse_examples
from assistant.knowledge.index import KnowledgeIndex, RoutingDataError
from evals.routing import load_cases

KNOWLEDGE = PROJECT_ROOT / "knowledge"


def test_the_shipped_routing_data_has_every_label_in_both_languages() -> None:
    examples = load_examples(KNOWLEDGE)
    assert len(examples) >= 600
    for lang in ("zh", "en"):
        assert {e.label for e in examples if e.lang == lang} == set(LABELS), lang
    held_out = load_cases()
    assert len(held_out) >= 600
    assert sum(1 for c in held_out if c.get("near_miss")) >= 100
    real = [c for c in held_out if c.get("source") and c["source"] != "own"]
    assert len(real) >= 150
    # Split by source: no source feeds both splits.
    splits: dict[str, set[str]] = {}
    for c in held_out:
        splits.setdefault(c["source_key"], set()).add(c["split"])
    assert all(len(s) == 1 for s in splits.values())
    # The held-out turns are not the training turns.
    assert not {c["text"] for c in held_out} & {e.text for e in examples}


def test_an_unknown_label_names_the_file_and_the_example() -> None:
    with pytest.raises(ValueError, match=r"zh\.yaml: example 2 .*'报价'"):
        parse_examples(
            [{"text": "你好", "intent": "greeting"}, {"text": "x", "intent": "报价"}],
            "zh",
            "zh.yaml",
        )


def _kb(tmp_path: Path) -> Path:
    kb = tmp_path / "knowledge"
    (kb / "guides").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "guides" / "dso.en.md", kb / "guides" / "dso.en.md")
    for name in ("policy.yaml", "rating.yaml", "synonyms.yaml", "intents.yaml"):
        shutil.copy(KNOWLEDGE / name, kb / name)
    (kb / "routing").mkdir()
    return kb


def _routing(kb: Path, rows: str) -> None:
    (kb / "routing" / "en.yaml").write_text(f"lang: en\nexamples:\n{rows}", encoding="utf-8")


def test_a_bad_routing_file_stops_the_ingest_and_changes_nothing(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    kb = _kb(tmp_path)
    _routing(kb, '  - {text: "hello there", intent: greeting}\n')
    settings = make_settings(knowledge_dir=kb)
    index = KnowledgeIndex(settings)
    first = index.sync().generation
    _routing(kb, '  - {text: "hello there", intent: greting}\n')
    with pytest.raises(RoutingDataError, match="greting"):
        index.sync()
    assert index.read_manifest().generation == first  # type: ignore[union-attr]
    examples, vectors = index.read_routing(first)
    assert [e.label for e in examples] == ["greeting"] and vectors is not None


def test_an_added_example_changes_the_route_after_an_ingest(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from assistant.advisor import Assistant
    from assistant.storage import Store

    kb = _kb(tmp_path)
    base = "".join(
        f'  - {{text: "{t}", intent: {label}}}\n'
        for t, label in [
            ("what is DSO", "knowledge"),
            ("how do i lower my DSO", "knowledge"),
            ("what does credit insurance cover", "knowledge"),
            ("rough quote please, sales 50m", "quote"),
            ("what would the premium be for us", "quote"),
            ("hello", "greeting"),
        ]
    )
    _routing(kb, base)
    settings = make_settings(knowledge_dir=kb)
    KnowledgeIndex(settings).sync()
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    bot = Assistant.from_settings(settings, store=store)
    probe = "zorblat the frobnicator for me"
    before = bot.manager.router.classify(probe)
    assert before.intent != "oos"
    _routing(
        kb,
        base
        + "".join(
            f'  - {{text: "{t}", intent: offtopic}}\n'
            for t in (probe, "zorblat it", "frobnicate the zorblat")
        ),
    )
    KnowledgeIndex(settings).sync()
    after = bot.manager.router.classify(probe)
    assert (after.intent, after.via) == ("oos", "model")
    store.close()
