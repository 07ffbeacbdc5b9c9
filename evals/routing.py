"""Routing eval: ``python -m evals routing [--split dev|test] [--json] [--cases]``.

Each case of ``evals/golden/routing/*.yaml`` is one fresh user turn with its label (the
labels of :mod:`assistant.dialogue.routing_model`). It goes through the real dialogue
manager (grounded mode, a new conversation), and what the turn *did* is read back as a
label: a form that opened or ran (quote, claim, one calculator), a knowledge answer or a
"did you mean" (knowledge), a decline (offtopic), small talk or a hand-off.

Reported, per split:
- routing accuracy, and a confusion matrix (rows: label, columns: what happened);
- form-opening mistakes: a form opened for a turn that did not ask for one, each counted;
- near-miss off-topic declined, and in-scope turns wrongly declined;
- the same cases through the trained model alone, and the full router with each cue-rule
  group switched off in turn (what each rule adds).

The split is by source (see the header of each case file): tune on dev, report test.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings, get_settings
from assistant.dialogue.routing_model import CALCULATOR_LABELS, FORM_LABELS, LABELS, parse_examples

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "routing"
TODAY = date(2026, 11, 28)
DECLINED = "offtopic"


def load_cases(folder: Path = GOLDEN_DIR, split: str | None = None) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows = data.get("cases") or []
        lang = path.stem
        parse_examples(rows, lang, path.name)  # labels checked as the training data's are
        for row in rows:
            if split and row.get("split") != split:
                continue
            cases.append({**row, "lang": row.get("lang") or lang})
    return cases


def outcome(turn: Any, state: dict[str, Any], thanks_text: str) -> str:
    """What a turn did, as a routing label."""
    intent = turn.intent
    if intent in ("quote", "claim", "lead", "greeting", "help"):
        return str(intent)
    if intent == "calculator":
        kind = state.get("calc") or state.get("active")
        by_kind = {v: k for k, v in CALCULATOR_LABELS.items()}
        return by_kind.get(kind, "calc_dso" if kind is None else f"calc_{kind}")
    if intent == "chitchat":
        return "thanks" if turn.answer == thanks_text else "chitchat"
    if intent in ("knowledge", "did_you_mean"):
        return DECLINED if turn.refusal else "knowledge"
    return DECLINED  # oos, injection, not understood


def _confusion(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        table[r["label"]][r[key]] += 1
    return {label: dict(table[label]) for label in LABELS if label in table}


def _scores(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    n = len(rows)
    right = sum(r[key] == r["label"] for r in rows)
    form_mistakes = [r for r in rows if r[key] in FORM_LABELS and r[key] != r["label"]]
    near = [r for r in rows if r["label"] == "offtopic" and r.get("near_miss")]
    in_scope = [r for r in rows if r["label"] != "offtopic"]
    return {
        "accuracy": round(right / n, 4) if n else 0.0,
        "form_opening_mistakes": len(form_mistakes),
        "near_miss_declined": round(sum(r[key] == DECLINED for r in near) / len(near), 4)
        if near
        else 0.0,
        "in_scope_declined": round(sum(r[key] == DECLINED for r in in_scope) / len(in_scope), 4)
        if in_scope
        else 0.0,
    }


def _assistant(settings: Settings, tmp: str) -> Any:
    from evals.answers import _assistant as build

    return build(settings, tmp)


def _route_all(assistant: Any, cases: list[dict[str, Any]], key: str) -> None:
    from assistant.i18n import t

    dm = assistant.manager
    for case in cases:
        state: dict[str, Any] = {}
        turn = dm.handle(
            case["text"],
            state,
            lang=case["lang"],
            today=TODAY,
            session_id="eval",
            transcript=[],
            channel="eval",
        )
        case[key] = outcome(turn, state, t(case["lang"], "dialogue.thanks"))


def run(
    settings: Settings | None = None,
    folder: Path = GOLDEN_DIR,
    split: str | None = None,
    ablate: bool = True,
) -> dict[str, Any]:
    settings = settings or get_settings()
    cases = load_cases(folder, split)
    rows = [{"text": c["text"], "label": c["intent"], **c} for c in cases]
    with tempfile.TemporaryDirectory() as tmp:
        assistant = _assistant(settings, tmp)
        router = assistant.manager.router
        _route_all(assistant, rows, "routed")
        model_only = router.model is not None
        if model_only:
            for r in rows:
                r["model"] = router.predict(r["text"])[0]
        ablation: dict[str, dict[str, Any]] = {}
        if ablate:
            for group in router.rule_groups():
                router.disabled = {group}
                _route_all(assistant, rows, "ablated")
                ablation[group] = _scores(rows, "ablated")
            router.disabled = set()
        assistant.store.close()
    result: dict[str, Any] = {
        "split": split or "all",
        "cases": len(rows),
        **_scores(rows, "routed"),
        "confusion": _confusion(rows, "routed"),
        "by_lang": {
            lang: _scores([r for r in rows if r["lang"] == lang], "routed")
            for lang in sorted({r["lang"] for r in rows})
        },
    }
    if model_only:
        result["model_only"] = {**_scores(rows, "model"), "confusion": _confusion(rows, "model")}
    if ablation:
        result["without_rule"] = ablation
    result["mistakes"] = [
        {k: r.get(k) for k in ("text", "label", "routed", "lang", "source_key")}
        for r in rows
        if r["routed"] != r["label"]
    ]
    return result


def _matrix_lines(confusion: dict[str, dict[str, int]]) -> list[str]:
    cols = [c for c in LABELS if any(c in row for row in confusion.values())]
    short = {c: c.replace("calc_", "c_")[:9] for c in cols}
    lines = [f"{'label':<20}" + "".join(f"{short[c]:>10}" for c in cols)]
    for label, row in confusion.items():
        lines.append(f"{label:<20}" + "".join(f"{row.get(c, 0) or '.':>10}" for c in cols))
    return lines


def run_cli(args: Any) -> int:
    result = run(split=args.split, ablate=not args.no_ablation)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"Routing eval ({result['split']}): {result['cases']} turns")
    print(f"routing accuracy           {result['accuracy']:.1%}")
    print(f"form-opening mistakes      {result['form_opening_mistakes']}")
    print(f"near-miss off-topic declined {result['near_miss_declined']:.1%}")
    print(f"in-scope wrongly declined  {result['in_scope_declined']:.1%}")
    for lang, block in result["by_lang"].items():
        print(
            f"  {lang}: accuracy {block['accuracy']:.1%}, form mistakes "
            f"{block['form_opening_mistakes']}"
        )
    print("\nconfusion (rows: label; columns: what the turn did)")
    print("\n".join(_matrix_lines(result["confusion"])))
    if "model_only" in result:
        m = result["model_only"]
        print(
            f"\ntrained model alone: accuracy {m['accuracy']:.1%}, form mistakes "
            f"{m['form_opening_mistakes']}, near-miss declined {m['near_miss_declined']:.1%}"
        )
    if "without_rule" in result:
        print("\nwithout each cue-rule group (accuracy, form mistakes):")
        for group, block in result["without_rule"].items():
            delta = result["accuracy"] - block["accuracy"]
            print(
                f"  {group:<22}{block['accuracy']:>8.1%}  ({delta:+.1%} is what it adds)"
                f"  form mistakes {block['form_opening_mistakes']}"
            )
    if args.cases:
        print("\nmistakes:")
        for m in result["mistakes"]:
            print(f"  [{m['lang']}] {m['label']} -> {m['routed']}: {m['text'][:90]}")
    return 0
