"""Scripted conversations against the real assistant: ``python -m evals dialogue``.

Each case in ``evals/golden/dialogue.yaml`` is replayed turn by turn through
``Assistant.chat`` (grounded mode, a throw-away database, a fixed "today"), and every reply
is checked: intent, tool and arguments, the fields asked for, facts that must (not) appear,
citations (each [n] must resolve, each cited document and clause must exist), the reply
language, refusals and hand-offs. Knowledge answers are also checked for uncited factual
lines. The report gives accuracy per check and per category.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings, get_settings
from assistant.knowledge.chunking import clause_number
from assistant.models import Reply

GOLDEN = Path(__file__).resolve().parent / "golden" / "dialogue.yaml"
DEFAULT_TODAY = date(2026, 11, 28)
REFUSALS = {"oos", "injection", "not_understood", "empty", "too_long"}
_MARK = re.compile(r"\[(\d{1,3})\]")
# Lines of a knowledge answer that are our own framing, not facts from the knowledge base.
_OFFER = re.compile(r"^(您是不是想问|如果您想问的是别的|Did you mean|If you meant something else)")
_FRAMING = re.compile(
    r"^(根据知识库|From the knowledge base|（条款引自|\(Clauses are quoted|（继续|\(Back to)"
)


@dataclass
class TurnResult:
    case: str
    category: str
    turn: int
    user: str
    failures: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    uncited: int = 0
    reply: dict[str, Any] | None = None


def _close(a: Any, b: Any) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return a == b
    if isinstance(b, int | float) and isinstance(a, int | float):
        return abs(a - b) <= 0.005 * max(abs(b), 1e-9)
    if isinstance(b, date):
        b = b.isoformat()
    return str(a).strip().lower() == str(b).strip().lower()


def is_refusal(reply: Reply) -> bool:
    return reply.intent in REFUSALS or (reply.intent == "knowledge" and not reply.citations)


def uncited_lines(reply: Reply) -> list[str]:
    """Knowledge-answer lines that state something without a [n] marker."""
    if reply.intent != "knowledge" or not reply.citations:
        return []
    out = []
    offering = False  # inside a "did you mean" list: questions offered, not facts stated
    for line in reply.answer.split("\n"):
        s = line.strip()
        if _OFFER.match(s):
            offering = True
            continue
        if offering and re.match(r"^\d+\.\s", s):
            continue
        offering = False
        if not s or _FRAMING.match(s) or _MARK.search(s):
            continue
        out.append(s)
    return out


class Checker:
    def __init__(self, known: dict[str, set[int]]) -> None:
        self.known = known  # doc_id -> clause numbers present in the index

    def check(
        self, reply: Reply, expect: dict[str, Any], lang: str, asked: list[str]
    ) -> dict[str, Any]:
        checks: dict[str, bool] = {}
        fails: list[str] = []

        def record(name: str, ok: bool, why: str) -> None:
            checks[name] = checks.get(name, True) and ok
            if not ok:
                fails.append(f"{name}: {why}")

        want_lang = expect.get("lang", lang)
        record("lang", reply.lang == want_lang, f"{reply.lang} != {want_lang}")
        if "intent" in expect:
            # "Did you mean" is the knowledge route's reply when no entry is close enough:
            # routed right, and judged by the citation and fact checks like any answer.
            got = "knowledge" if reply.intent == "did_you_mean" else reply.intent
            record("intent", got == expect["intent"], f"{reply.intent} != {expect['intent']}")
        actions = [c for c in reply.tool_calls if c.name != "search_knowledge"]
        names = [c.name for c in reply.tool_calls]
        if "tool" in expect:
            want = expect["tool"]
            if want is None:
                record("tool", not actions, f"unexpected {[c.name for c in actions]}")
            else:
                record("tool", want in names, f"{names} lacks {want}")
        if expect.get("args"):
            call = next((c for c in reply.tool_calls if c.name == expect.get("tool")), None)
            got = call.args if call else {}
            bad = {k: got.get(k) for k, v in expect["args"].items() if not _close(got.get(k), v)}
            record("args", not bad, f"got {bad} want { {k: expect['args'][k] for k in bad} }")
        if expect.get("asks"):
            missing = [a for a in expect["asks"] if a not in asked]
            record("asks", not missing, f"did not ask {missing} (asked {asked})")
        text = reply.answer.lower()
        for s in expect.get("must_include") or []:
            record("facts", str(s).lower() in text, f"missing {s!r}")
        for s in expect.get("must_not_include") or []:
            record("facts", str(s).lower() not in text, f"contains {s!r}")
        if expect.get("cited") is True:
            record("cited", bool(reply.citations), "no citation")
        if "cite_doc" in expect:
            ok = any(c.doc_id.startswith(expect["cite_doc"]) for c in reply.citations)
            record("cited", ok, f"no citation of {expect['cite_doc']}")
        if "cite_clause" in expect:
            nos = [clause_number(c.clause) for c in reply.citations if c.clause]
            record(
                "cited", expect["cite_clause"] in nos, f"clauses {nos} lack {expect['cite_clause']}"
            )
        if "refusal" in expect:
            record(
                "refusal",
                is_refusal(reply) == bool(expect["refusal"]),
                f"refusal={is_refusal(reply)}",
            )
        if "handoff" in expect:
            record("handoff", reply.handoff == bool(expect["handoff"]), f"handoff={reply.handoff}")
        # Always: every marker resolves, every cited source exists.
        numbers = {c.n for c in reply.citations}
        dangling = sorted({int(n) for n in _MARK.findall(reply.answer)} - numbers)
        record("citations_valid", not dangling, f"markers without citation {dangling}")
        for c in reply.citations:
            clauses = self.known.get(c.doc_id)
            ok = clauses is not None and (
                not c.clause or clause_number(c.clause) in clauses or clause_number(c.clause) < 0
            )
            record("citations_valid", ok, f"unknown source {c.doc_id} {c.clause}")
        return {"checks": checks, "failures": fails}


def load_cases(path: Path = GOLDEN, split: str | None = None) -> list[dict[str, Any]]:
    """The conversations of a case file; with ``split``, only those of that split (the
    real-phrasing set is split by source into dev and test)."""
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    ids = [c["id"] for c in cases]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate case ids in {path.name}")
    return [c for c in cases if split is None or c.get("split") == split]


def run(
    settings: Settings | None = None, path: Path = GOLDEN, split: str | None = None
) -> dict[str, Any]:
    from assistant.advisor import Assistant
    from assistant.storage import Store

    settings = settings or get_settings()
    clock = {"today": DEFAULT_TODAY}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'eval.db'}")
        assistant = Assistant.from_settings(
            settings.model_copy(update={"llm": "none"}),
            store=store,
            today=lambda: clock["today"],
        )
        known: dict[str, set[int]] = defaultdict(set)
        for rec in assistant.engine.records:
            known[str(rec.metadata["doc_id"])].add(int(rec.metadata.get("clause_no", -1)))
        checker = Checker(known)
        results: list[TurnResult] = []
        latencies: list[float] = []
        for case in load_cases(path, split):
            clock["today"] = case.get("today") or DEFAULT_TODAY
            sid = None
            for i, turn in enumerate(case["turns"]):
                t0 = time.perf_counter()
                reply = assistant.chat(turn["user"], session_id=sid, channel="eval")
                latencies.append((time.perf_counter() - t0) * 1000)
                sid = reply.session_id
                state = assistant.session_state(sid) or {}
                asked = state.get("asked") or []
                out = checker.check(reply, turn.get("expect") or {}, case["lang"], asked)
                tr = TurnResult(
                    case["id"],
                    case["category"],
                    i + 1,
                    turn["user"],
                    out["failures"],
                    out["checks"],
                )
                tr.uncited = len(uncited_lines(reply))
                tr.reply = reply.model_dump(mode="json")
                results.append(tr)
        store.close()
    return summarize(results, latencies)


def summarize(results: list[TurnResult], latencies: list[float]) -> dict[str, Any]:
    by_check: dict[str, list[bool]] = defaultdict(list)
    by_cat: dict[str, list[bool]] = defaultdict(list)
    cases: dict[str, bool] = {}
    for r in results:
        for name, ok in r.checks.items():
            by_check[name].append(ok)
        ok_turn = not r.failures
        by_cat[r.category].append(ok_turn)
        cases[r.case] = cases.get(r.case, True) and ok_turn
    lat = sorted(latencies)
    return {
        "turns": len(results),
        "cases": len(cases),
        "turn_pass": round(sum(not r.failures for r in results) / max(1, len(results)), 3),
        "case_pass": round(sum(cases.values()) / max(1, len(cases)), 3),
        "checks": {
            k: {"n": len(v), "acc": round(sum(v) / len(v), 3)} for k, v in sorted(by_check.items())
        },
        "categories": {
            k: {"n": len(v), "acc": round(sum(v) / len(v), 3)} for k, v in sorted(by_cat.items())
        },
        "uncited_factual_lines": sum(r.uncited for r in results),
        "latency_ms": {
            "p50": round(lat[len(lat) // 2], 1) if lat else 0.0,
            "p95": round(lat[int(len(lat) * 0.95)], 1) if lat else 0.0,
        },
        "failures": [
            {"case": r.case, "turn": r.turn, "user": r.user, "why": r.failures}
            for r in results
            if r.failures
        ],
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Dialogue eval: {result['cases']} conversations, {result['turns']} turns",
        f"turns passed {result['turn_pass']:.1%}, conversations passed {result['case_pass']:.1%}",
        f"uncited factual lines in knowledge answers: {result['uncited_factual_lines']}",
        f"latency per turn: p50 {result['latency_ms']['p50']} ms, "
        f"p95 {result['latency_ms']['p95']} ms",
        "",
        f"{'check':<18}{'n':>5}{'accuracy':>10}",
    ]
    for k, v in result["checks"].items():
        lines.append(f"{k:<18}{v['n']:>5}{v['acc']:>10.1%}")
    lines += ["", f"{'category':<18}{'turns':>5}{'passed':>10}"]
    for k, v in result["categories"].items():
        lines.append(f"{k:<18}{v['n']:>5}{v['acc']:>10.1%}")
    return "\n".join(lines)


def run_cli(args: Any) -> int:
    result = run(path=Path(args.golden) if args.golden else GOLDEN, split=args.split)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(table(result))
    if args.cases and result["failures"]:
        print("\nFailures:")
        for f in result["failures"]:
            print(f"- {f['case']} turn {f['turn']}: {f['user']}")
            for why in f["why"]:
                print(f"    {why}")
    return 0
