"""Quality gate: the retrieval eval on the real corpus with the default (e5) backend.

Not a timed test: it fails only if answer quality drops (hybrid hit@3 under 0.9, the gate
refusing too little or too much, or hybrid no longer beating its components).
"""

from __future__ import annotations

import pytest

from assistant.config import Settings
from evals.retrieval import load_cases, run


@pytest.fixture(scope="module")
def eval_result(full_settings: Settings) -> dict:
    result, _ = run(full_settings, load_cases(), compare=False)
    return result


def test_golden_set_has_the_required_shape() -> None:
    cases = load_cases()
    assert len(cases) >= 150
    assert sum(c.lang == "zh" for c in cases) >= 100
    assert sum(c.lang == "en" for c in cases) >= 50
    assert sum(not c.in_scope for c in cases) >= 20
    assert len({c.id for c in cases}) == len(cases)


def test_hybrid_hit_at_3_stays_above_0_9(eval_result: dict) -> None:
    assert eval_result["hybrid"]["hit@3"] >= 0.9, eval_result["hybrid"]


def test_each_language_stays_above_0_85_hit_at_3(eval_result: dict) -> None:
    for lang in ("zh", "en"):
        assert eval_result["by_language"][lang]["hit@3"] >= 0.85, (lang, eval_result)


def test_gate_refuses_out_of_scope_without_refusing_in_scope(eval_result: dict) -> None:
    hybrid = eval_result["hybrid"]
    assert hybrid["no_answer_recall"] >= 0.85, hybrid
    assert hybrid["false_refusal_rate"] <= 0.08, hybrid
