"""The one place that keeps the whole app offline and telemetry-free.

Imported first by ``assistant/__init__.py``, so every entry point (ingest, server, UI,
tests) gets the same environment before chromadb, gradio or huggingface_hub are imported.
Values are forced, not defaulted: a stray shell variable must not turn downloads back on.
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_env() -> None:
    """Force the offline/telemetry variables into this process's environment."""
    os.environ.update(OFFLINE_ENV)


apply_offline_env()
