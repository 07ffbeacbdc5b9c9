"""Grounded ``/v1/chat`` over HTTP: requests/s, p50/p95 latency and the server's peak RSS.

Starts the real server (``python server.py``, one uvicorn process) over the live index in
``data/`` with a throw-away database, then drives it with a bounded pool of httpx async
clients at 1, 8 and 32 concurrent clients. Each client replays whole conversations of
``evals/golden/dialogue.yaml`` (a new session per conversation, its turns in order, so
slot filling and quotes run as for real users). The load generator shares the 2 cores
with the server, so the figures are a floor for a separate-client set-up.

    python benchmarks/api_bench.py [--seconds 20] [--clients 1,8,32] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _server import free_port, pct, start_server, wait_ready  # noqa: E402

from evals.dialogue import load_cases  # noqa: E402

TARGETS = {"p50_ms_at_1": 80.0, "rps_at_8": 25.0, "peak_rss_mb": 1200.0}


class RssSampler(threading.Thread):
    """Polls the server's resident memory; ``peak`` is the high-water mark in bytes."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            self.stop.wait(0.05)


async def load(url: str, clients: int, seconds: float, cases: list[dict[str, Any]]) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(worker: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        n = worker
        while time.perf_counter() < deadline:
            case = cases[n % len(cases)]
            n += clients
            sid = None
            for turn in case["turns"]:
                if time.perf_counter() >= deadline:
                    return
                body: dict[str, Any] = {"message": turn["user"], "channel": "api"}
                if sid:
                    body["session_id"] = sid
                t1 = time.perf_counter()
                resp = await http.post(f"{url}/v1/chat", json=body)
                latencies.append((time.perf_counter() - t1) * 1000)
                if resp.status_code != 200:
                    errors += 1
                    break
                sid = resp.json()["session_id"]

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = load_cases()
    levels = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(Path(tmp), port)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            startup = wait_ready(url, proc)
            idle_rss = psutil.Process(proc.pid).memory_info().rss
            asyncio.run(load(url, 2, 3.0, cases))  # warm-up: caches, thread pool, SQLite
            runs = [asyncio.run(load(url, n, args.seconds, cases)) for n in levels]
        finally:
            proc.terminate()
            proc.wait(30)
            sampler.stop.set()
            sampler.join()

    by_clients = {r["clients"]: r for r in runs}
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "seconds_per_level": args.seconds,
        "startup_to_ready_s": round(startup, 1),
        "idle_rss_mb": round(idle_rss / 2**20),
        "peak_rss_mb": round(sampler.peak / 2**20),
        "runs": runs,
        "targets": TARGETS,
        "met": {
            "p50_ms_at_1": by_clients.get(1, {}).get("p50_ms", 1e9) <= TARGETS["p50_ms_at_1"],
            "rps_at_8": by_clients.get(8, {}).get("rps", 0) >= TARGETS["rps_at_8"],
            "peak_rss_mb": sampler.peak / 2**20 <= TARGETS["peak_rss_mb"],
        },
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(
            f"server ready in {result['startup_to_ready_s']} s; RSS idle "
            f"{result['idle_rss_mb']} MB, peak {result['peak_rss_mb']} MB"
        )
        print(
            f"{'clients':>8} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}"
        )
        for r in runs:
            print(
                f"{r['clients']:>8} {r['requests']:>9} {r['errors']:>7} {r['rps']:>7} "
                f"{r['p50_ms']:>8} {r['p95_ms']:>8}"
            )
        print("targets met:", result["met"])
    return 0 if not any(r["errors"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
