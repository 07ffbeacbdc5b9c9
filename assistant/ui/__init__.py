"""(in progress) The Gradio UI for SME owners; ``build_ui`` returns the Blocks app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_ui(get_assistant: Callable[[], Any], settings: Any) -> Any:
    """The Blocks app. ``get_assistant`` returns the live Assistant (built lazily)."""
    import gradio as gr

    with gr.Blocks(title="信保顾问 Credit Advisor") as demo:
        gr.Markdown("信保顾问 Credit Advisor")
    return demo
