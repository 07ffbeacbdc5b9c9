"""Retrieval latency: p50/p95 per query, cold (new question) and warm (LRU cache hit).

Run: ``python benchmarks/retrieval_bench.py [--rounds 3] [--json]``

Uses the golden-set questions against the live index of the current settings (it syncs
first). Cold = the query embedding is computed; warm = the same question again, so the
LRU cache answers and only BM25, Chroma and fusion run. Rounds interleave cold and warm
passes; figures are medians over all queries of all rounds (target: cold p50 <= 60 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402,F401  (offline environment)
from assistant.config import Settings  # noqa: E402
from assistant.knowledge.index import KnowledgeIndex  # noqa: E402
from assistant.retrieval import RetrievalEngine  # noqa: E402
from evals.retrieval import load_cases, p95  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    index = KnowledgeIndex(settings)
    index.sync()
    engine = RetrievalEngine(index, settings)
    engine.search("预热 warm-up")
    questions = [c.question for c in load_cases()]
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(args.rounds):
        engine.clear_query_cache()
        for q in questions:
            start = time.perf_counter()
            engine.search(q)
            cold.append((time.perf_counter() - start) * 1000)
        for q in questions:
            start = time.perf_counter()
            engine.search(q)
            warm.append((time.perf_counter() - start) * 1000)
    result = {
        "backend": settings.embedding_backend,
        "queries": len(questions),
        "rounds": args.rounds,
        "cold_p50_ms": round(statistics.median(cold), 1),
        "cold_p95_ms": round(p95(cold), 1),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(p95(warm), 1),
        "warm_over_cold_p50": round(statistics.median(warm) / statistics.median(cold), 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
