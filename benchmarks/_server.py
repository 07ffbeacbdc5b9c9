"""What the HTTP benchmarks share: start the real server in a subprocess and wait for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``python server.py`` over the live index in ``data/`` with a throw-away database,
    grounded mode, no webhook and limits high enough not to count."""
    settings = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "RATE_LIMIT_IP": "1000000/minute",
        "RATE_LIMIT_SESSION": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "LLM": "none",
        "LEAD_WEBHOOK_URL": "",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, **settings},
        stdout=subprocess.DEVNULL,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Seconds until ``/readyz`` answers 200 (the index and the UI are loaded)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not ready: run `python ingest.py` first")
