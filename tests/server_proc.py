"""Real servers for tests: ``serve_in_thread`` runs an app in this process; ``ServerProcess``
runs ``python server.py`` as a child process, for tests that restart or kill the server.

The in-process ``api_server`` fixture cannot prove that data survives a restart or a crash:
its threads share one ``Store``, and killing it would kill pytest. ``ServerProcess`` starts
the real entry point on a free 127.0.0.1 port, waits until it answers, and stops it either
gracefully (SIGTERM, as an orchestrator does) or abruptly (SIGKILL, as a crash or the OOM
killer does).

Settings reach the child only through environment variables, built from a ``Settings``
object field by field. The child runs in its own folder, never the repo, so a developer's
``.env`` (read relative to the working directory) cannot leak in, and every inherited
environment variable that names a setting is dropped first, so an exported ``LLM=...`` or
``LEAD_WEBHOOK_URL=...`` in the caller's shell cannot change the server under test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from assistant.config import PROJECT_ROOT, Settings

SERVER_SCRIPT = PROJECT_ROOT / "server.py"


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a tiny reuse race remains)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port in a daemon thread; yields its
    base URL and stops the server on exit. ``options`` go to ``uvicorn.Config``."""
    import uvicorn

    port = free_port()
    config = {"log_level": "warning", **options, "host": "127.0.0.1", "port": port}
    server = uvicorn.Server(uvicorn.Config(app, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _env_value(value: object) -> str:
    # pydantic-settings reads complex and boolean values as JSON; scalars and paths as text.
    if isinstance(value, bool | list | dict):
        return json.dumps(value)
    return str(value)


def settings_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` (plus overrides) in a child.

    Every field is written out, so fields added to ``Settings`` later are carried over too;
    ``None`` values are left unset (their default is ``None``).
    """
    values = settings.model_dump()
    values.update({k.lower(): v for k, v in overrides.items()})
    unknown = set(values) - set(Settings.model_fields)
    if unknown:
        raise ValueError(f"not settings fields: {sorted(unknown)}")
    return {name.upper(): _env_value(v) for name, v in values.items() if v is not None}


def child_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The caller's environment without any setting variable, plus ``settings_env``."""
    fields = {name.upper() for name in Settings.model_fields}
    # pydantic-settings matches names case-insensitively, hence upper() on both sides.
    inherited = {k: v for k, v in os.environ.items() if k.upper() not in fields}
    return {**inherited, **settings_env(settings, **overrides)}


class ServerProcess:
    """One ``python server.py`` child on 127.0.0.1; ``start()`` again after a stop restarts it.

    ``workdir`` is the child's working directory and holds its log. ``overrides`` are
    settings fields on top of ``settings`` (``database_url=...``). ``start()`` after
    ``stop()`` or ``kill()`` runs a new process on a new port with the same settings, hence
    the same database. As a context manager it never leaves a child behind.
    """

    def __init__(self, settings: Settings, workdir: Path, **overrides: object) -> None:
        self.settings = settings
        self.workdir = workdir
        self.overrides = overrides
        self.log_path = workdir / "server.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the child's stdout and stderr, for failure messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def start(self, timeout: float = 180.0) -> ServerProcess:
        """Start the child and return once ``/readyz`` answers 200.

        The app loads the Assistant (index, embedder, intent examples) during start-up and
        ``/readyz`` stays 503 until it is loaded, so "ready" means a chat turn is served at
        full speed. Loading takes several seconds, hence the generous timeout.
        """
        if self.running:
            raise RuntimeError("server already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = child_env(self.settings, **{**self.overrides, "host": "127.0.0.1", "port": self.port})
        with self.log_path.open("ab") as log:
            log.write(f"--- start on port {self.port}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [sys.executable, str(SERVER_SCRIPT)],
                cwd=self.workdir,  # not the repo: no .env is found here
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a kill takes uvicorn's worker processes with it.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        self._wait_ready(deadline)
        return self

    def _wait_ready(self, deadline: float) -> None:
        url, last = f"{self.url}/readyz", ""
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"server exited while starting:\n{self.log_tail()}")
            try:
                resp = httpx.get(url, timeout=max(1.0, deadline - time.monotonic()))
                if resp.status_code == 200:
                    return
                last = f"{resp.status_code} {resp.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"server not ready at {url} ({last}):\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int:
        """Graceful shutdown (SIGTERM: uvicorn finishes in-flight requests, then exits).

        Returns the exit status. uvicorn re-raises the signal after its clean shutdown, so
        a graceful stop ends with ``-SIGTERM``, not 0. A child that does not exit in time
        is killed and reported as an error.
        """
        proc = self._require_proc()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group(proc)
                raise RuntimeError(
                    f"server ignored SIGTERM for {timeout}s:\n{self.log_tail()}"
                ) from None
        return int(proc.returncode)

    def kill(self) -> int:
        """Crash the server: SIGKILL, no shutdown handlers, no chance to flush anything."""
        proc = self._require_proc()
        if proc.poll() is None:
            self._kill_group(proc)
        return int(proc.wait())

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the server and any worker processes it started (same process group)."""
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def _require_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("server was never started")
        return self._proc

    def __enter__(self) -> ServerProcess:
        return self.start() if not self.running else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.kill()


class ChromaServer:
    """A real Chroma server (``chroma run``) on 127.0.0.1 over ``path``; ``stop`` and
    ``start`` again on the same port and data, to play an outage."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        import shutil

        self.path, self.port = path, port or free_port()
        self.exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ChromaServer:
        if not Path(self.exe).exists():
            raise RuntimeError("the chroma CLI (shipped with chromadb) is missing")
        args = ["run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [self.exe, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1.0)
                return self
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("chroma server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class RedisServer:
    """A real ``redis-server`` (Debian's package) on 127.0.0.1, no persistence."""

    def __init__(self, port: int | None = None) -> None:
        import shutil

        self.port = port or free_port()
        self.exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> RedisServer:
        if not Path(self.exe).exists():
            raise RuntimeError("redis-server is missing (apt-get install redis-server)")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        self.proc = subprocess.Popen(
            [self.exe, *args, "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None
