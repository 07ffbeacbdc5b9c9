"""Grounded ``/v1/chat`` over HTTP: requests/s, p50/p95 latency and the server's peak RSS.

Starts the real server (``python server.py``) over the live index in ``data/`` with a
throw-away database, then drives it with a bounded pool of httpx async clients at 1, 8
and 32 concurrent clients. Each client replays whole conversations of
``evals/golden/dialogue.yaml`` (a new session per conversation, its turns in order, so
slot filling and quotes run as for real users). The load generator shares the 2 cores
with the server, so the figures are a floor for a separate-client set-up.

``--replicas 1,3`` runs the same load against 1 and then 3 server processes side by side
(uvicorn workers on one port, one shared database; RSS is the sum over the processes).
``--unique`` adds a run of single questions that are each new text (a golden first turn
with a unique figure in it), so no query embedding comes from the cache, reported with
its ratio to the conversation run at the same client count.

    python benchmarks/api_bench.py [--seconds 20] [--clients 1,8,32] [--replicas 1,3]
                                   [--unique] [--json]
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
    """Polls the server's resident memory, its worker processes included; ``peak`` is the
    high-water mark of the sum, in bytes."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def rss(self) -> int:
        procs = [self.proc, *self.proc.children(recursive=True)]
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.Error:
                return
            self.stop.wait(0.05)


async def load_unique(url: str, clients: int, seconds: float, firsts: list[str]) -> dict:
    """One new question per request: a golden first turn with a unique number appended,
    so the query embedding is never in the cache (a fresh session each time)."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    counter = iter(range(10**9))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            n = next(counter)
            text = f"{firsts[n % len(firsts)]} ({n + 1017}号问题)"
            t1 = time.perf_counter()
            resp = await http.post(f"{url}/v1/chat", json={"message": text, "channel": "api"})
            latencies.append((time.perf_counter() - t1) * 1000)
            if resp.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "mode": "unique",
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
    }


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
        "mode": "conversations",
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
    }


def bench(replicas: int, levels: list[int], seconds: float, unique: bool) -> dict[str, Any]:
    """Start ``replicas`` server processes on one port, run every level, stop them."""
    cases = load_cases()
    firsts = [c["turns"][0]["user"] for c in cases]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(Path(tmp), port, WEB_CONCURRENCY=str(replicas))
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            startup = wait_ready(url, proc)
            time.sleep(1.0 if replicas == 1 else 15.0)  # every worker loads its index
            idle_rss = sampler.rss()
            asyncio.run(load(url, 2 * replicas, 3.0, cases))  # warm-up: caches, pools
            runs = [asyncio.run(load(url, n, seconds, cases)) for n in levels]
            if unique:
                for n in levels:
                    if n > 1:
                        runs.append(asyncio.run(load_unique(url, n, seconds, firsts)))
        finally:
            proc.terminate()
            proc.wait(30)
            sampler.stop.set()
            sampler.join()
    for r in runs:
        r["replicas"] = replicas
    return {
        "replicas": replicas,
        "startup_to_ready_s": round(startup, 1),
        "idle_rss_mb": round(idle_rss / 2**20),
        "peak_rss_mb": round(sampler.peak / 2**20),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--replicas", default="1", help="e.g. 1,3: server processes")
    parser.add_argument("--unique", action="store_true", help="also uncached questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    fleets = [bench(int(r), levels, args.seconds, args.unique) for r in args.replicas.split(",")]
    first = fleets[0]
    by_clients = {r["clients"]: r for r in first["runs"] if r["mode"] == "conversations"}
    for fleet in fleets:
        conv = {r["clients"]: r for r in fleet["runs"] if r["mode"] == "conversations"}
        for r in fleet["runs"]:
            base = conv.get(r["clients"])
            if r["mode"] == "unique" and base:
                r["rps_ratio_to_conversations"] = round(r["rps"] / base["rps"], 2)
            one = {(x["clients"], x["mode"]): x for x in first["runs"]}.get(
                (r["clients"], r["mode"])
            )
            if one and fleet is not first:
                r["rps_ratio_to_1_replica"] = round(r["rps"] / one["rps"], 2)
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "seconds_per_level": args.seconds,
        "startup_to_ready_s": first["startup_to_ready_s"],
        "idle_rss_mb": first["idle_rss_mb"],
        "peak_rss_mb": first["peak_rss_mb"],
        "runs": first["runs"],
        "fleets": fleets,
        "targets": TARGETS,
        "met": {
            "p50_ms_at_1": by_clients.get(1, {}).get("p50_ms", 1e9) <= TARGETS["p50_ms_at_1"],
            "rps_at_8": by_clients.get(8, {}).get("rps", 0) >= TARGETS["rps_at_8"],
            "peak_rss_mb": first["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
        },
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for fleet in fleets:
            print(
                f"{fleet['replicas']} replica(s): ready in {fleet['startup_to_ready_s']} s; "
                f"RSS idle {fleet['idle_rss_mb']} MB, peak {fleet['peak_rss_mb']} MB"
            )
        print(
            f"{'replicas':>8} {'mode':>14} {'clients':>8} {'requests':>9} {'errors':>7} "
            f"{'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6}"
        )
        for fleet in fleets:
            for r in fleet["runs"]:
                ratio = r.get("rps_ratio_to_1_replica") or r.get("rps_ratio_to_conversations", "")
                print(
                    f"{r['replicas']:>8} {r['mode']:>14} {r['clients']:>8} {r['requests']:>9} "
                    f"{r['errors']:>7} {r['rps']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} {ratio!s:>6}"
                )
        print("targets met:", result["met"])
    errors = any(r["errors"] for fleet in fleets for r in fleet["runs"])
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
