"""knowledge/vocabulary.yaml: the manager's wording is data, and a bad entry fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogue import forms, vocabulary


def test_every_entry_compiles_and_the_code_finds_its_groups() -> None:
    groups = vocabulary.load()
    assert {"patterns", "calculators", "causes", "needs"} <= set(groups)
    # The order of causes is the order they are checked in: a dispute outranks a late payer.
    assert list(groups["causes"]) == ["dispute", "insolvency", "protracted_default"]
    assert set(groups["calculators"]) == set(forms.CALCULATORS)


def test_patterns_read_from_the_file_drive_the_manager() -> None:
    assert forms.detect_cause("客户说货有质量问题，一直不付") == "dispute"
    assert forms.detect_cause("客户没破产，就是一直拖着") == "protracted_default"
    assert forms.calculator_kind("帮我算一下现金比率") == "liquidity"


def test_a_widened_entry_changes_what_matches(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.yaml"
    path.write_text(
        "patterns:\n  own_claim:\n    doc: test\n    any: [索赔, 报个案]\n", encoding="utf-8"
    )
    assert vocabulary.load(path)["patterns"]["own_claim"].search("我们想报个案")
    path.write_text("patterns:\n  own_claim:\n    doc: test\n    any: [索赔]\n", encoding="utf-8")
    vocabulary.load.cache_clear()
    assert not vocabulary.load(path)["patterns"]["own_claim"].search("我们想报个案")
    vocabulary.load.cache_clear()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("patterns:\n  broken:\n    any: ['(未闭合']\n", "patterns.broken"),
        ("patterns:\n  empty:\n    doc: x\n", "patterns.empty: needs a non-empty `any` list"),
    ],
)
def test_a_bad_entry_names_itself(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "vocabulary.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(vocabulary.VocabularyError, match=message.replace("`", ".")):
        vocabulary.load(path)
    vocabulary.load.cache_clear()


def test_english_entries_ignore_case_unless_told_not_to() -> None:
    assert vocabulary.pattern("correction").search("ACTUALLY it is 45 days")
    assert not vocabulary.pattern("a_value").flags & 2  # re.IGNORECASE
