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


def _llm_overhead(tmp: Path, rounds: int) -> dict[str, float]:
    """LLM-mode cost that is ours, not the model's: the agent graph, one search_knowledge
    call and the citation check, timed with a fake chat model that answers instantly."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.advisor import Assistant
    from assistant.storage import Store

    class Fake(GenericFakeChatModel):
        def bind_tools(self, tools: object, **kw: object) -> Fake:  # type: ignore[override]
            return self

    def script() -> object:
        for i in range(rounds):
            call = {"name": "search_knowledge", "args": {"query": "逾期申报期限"}, "id": f"c{i}"}
            yield AIMessage(content="", tool_calls=[{**call, "type": "tool_call"}])
            yield AIMessage(content="逾期申报须在原应付款日后60日内送达保险人 [1]。")

    bot = Assistant.from_settings(
        store=Store(f"sqlite:///{tmp / 'llm.db'}"),
        chat_model=Fake(messages=script()),  # type: ignore[arg-type]
        today=lambda: DEFAULT_TODAY,
    )
    bot.warm_up()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        reply = bot.chat("逾期申报期限是多久？")
        times.append((time.perf_counter() - t0) * 1000)
        assert reply.mode == "llm", reply.mode
    bot.store.close()
    return {"turns": rounds, "p50_ms": round(statistics.median(times), 1)}


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
        llm = _llm_overhead(Path(tmp), rounds=30)

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
        "llm_mode_fake_model": llm,
        "peak_rss_mb": round(rss_mb, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"start-up {result['startup_s']} s, peak RSS {result['peak_rss_mb']} MB")
        print(f"all turns: p50 {result['all']['p50_ms']} ms, p95 {result['all']['p95_ms']} ms")
        for k, v in result["per_intent"].items():
            print(f"  {k:<15} n={v['n']:<4} p50 {v['p50_ms']:>7} ms  p95 {v['p95_ms']:>7} ms")
        print(f"llm mode with an instant fake model: p50 {llm['p50_ms']} ms per turn")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
