"""Grounded chat latency per kind of turn, start-up time and memory.

Replays every user turn of ``evals/golden/dialogue.yaml`` (in its conversations, so slot
filling sees real context) through ``Assistant.chat`` against the live index, several
rounds, and reports the median and p95 per intent. Start-up = ``Assistant.from_settings``
plus ``warm_up`` in this process. Peak RSS is the process high-water mark.

    python benchmarks/dialogue_bench.py [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402,F401  (offline environment first)
from evals.dialogue import DEFAULT_TODAY, load_cases  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from assistant.advisor import Assistant
    from assistant.storage import Store

    clock = {"today": DEFAULT_TODAY}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bot = Assistant.from_settings(
            store=Store(f"sqlite:///{Path(tmp) / 'bench.db'}"), today=lambda: clock["today"]
        )
        bot.warm_up()
        startup = time.perf_counter() - t0
        per_intent: dict[str, list[float]] = defaultdict(list)
        every: list[float] = []
        for _ in range(args.rounds):
            for case in load_cases():
                clock["today"] = case.get("today") or DEFAULT_TODAY
                sid = None
                for turn in case["turns"]:
                    t1 = time.perf_counter()
                    reply = bot.chat(turn["user"], session_id=sid, channel="eval")
                    ms = (time.perf_counter() - t1) * 1000
                    sid = reply.session_id
                    per_intent[reply.intent or "?"].append(ms)
                    every.append(ms)
        bot.store.close()

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "rounds": args.rounds,
        "turns": len(every),
        "startup_s": round(startup, 2),
        "all": {"p50_ms": round(statistics.median(every), 1), "p95_ms": round(pct(every, 0.95), 1)},
        "per_intent": {
            k: {
                "n": len(v),
                "p50_ms": round(statistics.median(v), 1),
                "p95_ms": round(pct(v, 0.95), 1),
            }
            for k, v in sorted(per_intent.items())
        },
        "peak_rss_mb": round(rss_mb, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"start-up {result['startup_s']} s, peak RSS {result['peak_rss_mb']} MB")
        print(f"all turns: p50 {result['all']['p50_ms']} ms, p95 {result['all']['p95_ms']} ms")
        for k, v in result["per_intent"].items():
            print(f"  {k:<15} n={v['n']:<4} p50 {v['p50_ms']:>7} ms  p95 {v['p95_ms']:>7} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
