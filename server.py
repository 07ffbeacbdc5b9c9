"""Run the HTTP API: ``python server.py [--workers N]`` (host, port, proxies, logging and
``WEB_CONCURRENCY`` from settings).

The app itself is built in ``assistant/api`` (``create_app``); this file only starts it.
With several workers each process builds its own app through ``serve_app`` (logging is set
up inside every worker) and serves the same port.
"""

from __future__ import annotations

import argparse

import uvicorn

import assistant  # noqa: F401  (offline environment first)
from assistant.api import create_app, server_options
from assistant.config import get_settings
from assistant.logs import configure


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python server.py")
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.web_concurrency,
        help="worker processes (default WEB_CONCURRENCY, 1)",
    )
    workers = max(1, parser.parse_args(argv).workers)
    configure(settings)
    options = {
        "log_config": None,  # keep the JSON logging configured above (and in each worker)
        "access_log": False,  # one access line per request comes from our middleware
        **server_options(settings),
    }
    if workers > 1:
        uvicorn.run("assistant.api:serve_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


if __name__ == "__main__":
    main()
