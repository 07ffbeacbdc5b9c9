"""Run the HTTP API: ``python server.py`` (host and port from settings)."""

from __future__ import annotations

import uvicorn

import assistant  # noqa: F401  (offline environment first)
from assistant.api import create_app
from assistant.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
