"""Run the Gradio UI on its own: ``python ui.py`` (the API server also mounts it at /)."""

from __future__ import annotations

import assistant  # noqa: F401  (offline environment first)
from assistant.config import get_settings
from assistant.ui import build_ui, mount_options


def main() -> None:
    from assistant.advisor import Assistant

    settings = get_settings()
    bot = Assistant.from_settings(settings)
    bot.warm_up()
    build_ui(lambda: bot, settings).launch(
        server_name=settings.host, server_port=settings.port, **mount_options()
    )


if __name__ == "__main__":
    main()
