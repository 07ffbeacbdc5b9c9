"""Run the HTTP API: ``python server.py`` (host, port, proxies and logging from settings).

The app itself is built in ``assistant/api`` (``create_app``); this file only starts it.
"""

from __future__ import annotations

import uvicorn

import assistant  # noqa: F401  (offline environment first)
from assistant.api import create_app, server_options
from assistant.config import get_settings
from assistant.logs import configure


def main() -> None:
    settings = get_settings()
    configure(settings)
    uvicorn.run(
        create_app(settings),
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # one access line per request comes from our middleware
        **server_options(settings),
    )


if __name__ == "__main__":
    main()
