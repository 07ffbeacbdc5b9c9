"""Retrieval latency: p50/p95 per query, cold (new question) and warm (LRU cache hit), and
how search time grows with the size of the library.

Run: ``python benchmarks/retrieval_bench.py [--rounds 3] [--json]``
     ``python benchmarks/retrieval_bench.py --scale 1,10,50 [--rounds 3] [--json]``

Uses the golden-set questions. Cold = the query embedding is computed; warm = the same
question again, so the LRU cache answers and only BM25, Chroma, bank matching and fusion
run. Rounds interleave cold and warm passes; figures are medians over all queries of all
rounds (target: cold p50 <= 60 ms).

``--scale``: for each factor N, a temporary knowledge folder holds the real one plus N-1
synthetic copies of the library (the sample wordings and the guides, each copy under new
document ids; the answer bank stays one bank, as an insurer keeps one FAQ bank over a
growing document library). Each is ingested into its own data folder (the shared
embedding cache makes copied text free to embed), then timed: cold ingest, a no-change
re-ingest, and warm search (the query embedding excluded). Ratios are against N=1.
Targets: search at 10x <= 2x the 1x figure, at 50x <= 4x; no-change re-ingest < 3 s at 50x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402,F401  (offline environment)
from assistant.config import Settings  # noqa: E402
from assistant.knowledge.index import KnowledgeIndex  # noqa: E402
from assistant.retrieval import RetrievalEngine  # noqa: E402
from evals.retrieval import load_cases, p95  # noqa: E402

LIBRARY = ("policy", "guides")  # folders copied to scale the library
_ID_LINE = re.compile(r"^(id|counterpart):\s*(\S+)\s*$", re.MULTILINE)


def timed(engine: RetrievalEngine, questions: list[str]) -> list[float]:
    """Milliseconds of one search per question."""
    out = []
    for q in questions:
        start = time.perf_counter()
        engine.search(q)
        out.append((time.perf_counter() - start) * 1000)
    return out


def latency(engine: RetrievalEngine, questions: list[str], rounds: int) -> dict[str, float]:
    """Cold and warm search latency over the questions, medians of all rounds."""
    engine.search("预热 warm-up")
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        engine.clear_query_cache()
        cold += timed(engine, questions)
        warm += timed(engine, questions)
    return {
        "cold_p50_ms": round(statistics.median(cold), 1),
        "cold_p95_ms": round(p95(cold), 1),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(p95(warm), 1),
        "warm_over_cold_p50": round(statistics.median(warm) / statistics.median(cold), 2),
    }


def warm_search(engine: RetrievalEngine, questions: list[str], rounds: int) -> dict[str, float]:
    """Search time with every query embedding already cached (embedding excluded)."""
    timed(engine, questions)
    times: list[float] = []
    for _ in range(rounds):
        times += timed(engine, questions)
    return {
        "search_p50_ms": round(statistics.median(times), 2),
        "search_p95_ms": round(p95(times), 2),
    }


def scaled_knowledge(src: Path, dest: Path, factor: int) -> None:
    """``src`` plus ``factor - 1`` copies of its library under new document ids."""
    shutil.copytree(src, dest)
    for n in range(2, factor + 1):
        for folder in LIBRARY:
            for path in sorted((src / folder).glob("*.md")):
                text = _ID_LINE.sub(rf"\1: \2-copy{n}", path.read_text("utf-8"))
                out = dest / "library" / f"copy{n}" / folder / path.name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text, encoding="utf-8")


def scale_run(factors: list[int], rounds: int) -> dict[str, object]:
    base = Settings()
    questions = [c.question for c in load_cases()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="retrieval-scale-") as tmp:
        for factor in factors:
            kdir = Path(tmp) / f"knowledge-{factor}"
            scaled_knowledge(base.knowledge_dir, kdir, factor)
            settings = base.model_copy(
                update={
                    "knowledge_dir": kdir,
                    "data_dir": Path(tmp) / f"data-{factor}",
                    "embedding_cache_dir": base.embedding_cache_path,
                    "chroma_host": None,
                    "database_url": None,
                }
            )
            index = KnowledgeIndex(settings)
            start = time.perf_counter()
            report = index.sync()
            ingest_s = time.perf_counter() - start
            start = time.perf_counter()
            again = index.sync()
            noop_s = time.perf_counter() - start
            engine = RetrievalEngine(index, settings)
            start = time.perf_counter()
            engine.search("预热 warm-up")
            load_s = time.perf_counter() - start
            row = {
                "factor": factor,
                "chunks": len(engine.records),
                "ingest_s": round(ingest_s, 1),
                "embedded": report.embedded,
                "failed": len(report.failed),
                "noop_reingest_s": round(noop_s, 2),
                "noop_changed": len(again.added) + len(again.changed) + len(again.removed),
                "load_s": round(load_s, 2),
                **warm_search(engine, questions, rounds),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            del engine, index
            shutil.rmtree(settings.data_dir, ignore_errors=True)
            shutil.rmtree(kdir, ignore_errors=True)
    one = next((r for r in rows if r["factor"] == 1), rows[0])
    for r in rows:
        r["search_vs_1x"] = round(r["search_p50_ms"] / one["search_p50_ms"], 2)
    return {
        "backend": base.embedding_backend,
        "queries": len(questions),
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "scale": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", help="comma-separated library copies, e.g. 1,10,50")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.scale:
        factors = [int(x) for x in args.scale.split(",") if x.strip()]
        result: dict[str, object] = scale_run(factors, args.rounds)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{'copies':>6} {'chunks':>7} {'ingest s':>9} {'no-op s':>8} "
                f"{'search p50':>11} {'p95':>7} {'vs 1x':>6}"
            )
            for r in result["scale"]:  # type: ignore[union-attr]
                print(
                    f"{r['factor']:>6} {r['chunks']:>7} {r['ingest_s']:>9} "
                    f"{r['noop_reingest_s']:>8} {r['search_p50_ms']:>11} "
                    f"{r['search_p95_ms']:>7} {r['search_vs_1x']:>6}"
                )
        return

    settings = Settings()
    index = KnowledgeIndex(settings)
    index.sync()
    engine = RetrievalEngine(index, settings)
    result = {
        "backend": settings.embedding_backend,
        "queries": len(load_cases()),
        "rounds": args.rounds,
        **latency(engine, [c.question for c in load_cases()], args.rounds),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
