"""Settings: one class, .env.example in step, clear errors, offline environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.config import PROJECT_ROOT, Settings, render_env_example
from assistant.offline import OFFLINE_ENV


def test_env_example_is_in_step_with_settings() -> None:
    shipped = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert shipped == render_env_example(), "run `make env-example` and commit .env.example"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`{name.upper()}`" in readme, name
        assert field.description, f"{name} has no description"


def test_settings_read_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CHUNK_SIZE=300\nEMBEDDING_BACKEND=use\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHUNK_SIZE", "500")
    settings = Settings()
    assert settings.chunk_size == 500  # environment wins over .env
    assert settings.embedding_backend == "use"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("embedding_backend", "word2vec", "embedding_backend"),
        ("chunk_size", 10, "chunk_size"),
        ("chunk_overlap", 500, "chunk_overlap must be smaller than chunk_size"),
        ("log_level", "LOUD", "log_level"),
        ("chroma_port", 70000, "chroma_port"),
    ],
)
def test_invalid_settings_are_refused_with_the_field_named(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value, "_env_file": None})  # type: ignore[arg-type]


def test_blank_chroma_host_means_local() -> None:
    assert Settings(chroma_host="  ", _env_file=None).chroma_host is None  # type: ignore[call-arg]


def test_importing_the_package_forces_the_offline_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    env["HF_HUB_OFFLINE"] = "0"  # a stray shell value must not turn downloads back on
    code = (
        "import os, assistant; "
        "print(os.environ['HF_HUB_OFFLINE'], os.environ['GRADIO_ANALYTICS_ENABLED'], "
        "os.environ['ORT_DISABLE_TELEMETRY'], os.environ['ANONYMIZED_TELEMETRY'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout.split()
    assert out == ["1", "False", "1", "False"]
