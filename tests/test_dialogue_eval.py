"""Quality gate: the scripted conversations through the real assistant (grounded, e5).

Not a timed test. It fails when routing, slot extraction, the reply language or the
citation rules regress on `evals/golden/dialogue.yaml` (targets from the advisor issue).
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant.config import Settings
from evals.dialogue import load_cases, run


@pytest.fixture(scope="module")
def result(full_settings: Settings) -> dict[str, Any]:
    return run(full_settings)


def test_conversation_set_has_the_required_shape() -> None:
    cases = load_cases()
    assert len(cases) >= 60
    assert sum(c["lang"] == "zh" for c in cases) >= 40
    assert sum(c["lang"] == "en" for c in cases) >= 20
    assert sum(len(c["turns"]) > 1 for c in cases) >= 15


def test_every_tool_is_routed_and_every_slot_extracted(result: dict[str, Any]) -> None:
    assert result["checks"]["tool"]["acc"] == 1.0, result["failures"]
    assert result["checks"]["args"]["acc"] == 1.0, result["failures"]
    assert result["checks"]["asks"]["acc"] == 1.0, result["failures"]


def test_every_reply_is_in_the_users_language(result: dict[str, Any]) -> None:
    assert result["checks"]["lang"]["acc"] == 1.0, result["failures"]


def test_grounded_answers_cite_everything_they_state(result: dict[str, Any]) -> None:
    assert result["uncited_factual_lines"] == 0
    assert result["checks"]["citations_valid"]["acc"] == 1.0, result["failures"]


def test_intents_refusals_and_handoffs_hold(result: dict[str, Any]) -> None:
    assert result["checks"]["intent"]["acc"] >= 0.95, result["failures"]
    assert result["checks"]["refusal"]["acc"] == 1.0, result["failures"]
    assert result["checks"]["handoff"]["acc"] == 1.0, result["failures"]


def test_most_turns_pass_every_check(result: dict[str, Any]) -> None:
    # Knowledge answers that miss an expected clause or fact are the known gap (README).
    assert result["turn_pass"] >= 0.8, result["failures"]
