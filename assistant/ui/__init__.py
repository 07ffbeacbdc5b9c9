"""The Gradio UI for SME owners: chat, forms and the lead form, in Chinese and English.

``build_ui(get_assistant, settings)`` returns the Blocks app; the API server mounts it at
"/" and ``ui.py`` runs it alone. ``mount_options()`` are the launch/mount options the page
is meant to run with.
"""

from __future__ import annotations

from assistant.ui.app import build_ui, mount_options

__all__ = ["build_ui", "mount_options"]
