"""A persisted BM25 index over jieba tokens (bm25s), one folder per index generation."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class BM25Hit:
    index: int
    score: float


class BM25Index:
    """bm25s over pre-tokenised chunks; ``ids[i]`` is the chunk id of row ``i``."""

    def __init__(self, ids: list[str], retriever: object) -> None:
        self.ids = ids
        self._retriever = retriever

    @classmethod
    def build(cls, ids: list[str], tokens: list[list[str]]) -> BM25Index:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
        retriever = bm25s.BM25()
        # An empty token list would make bm25s drop the row; keep rows aligned with ids.
        corpus = [t if t else ["\u2205"] for t in tokens]
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(ids, retriever)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self._retriever.save(str(folder / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        (folder / "bm25_ids.json").write_text(json.dumps(self.ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        ids = json.loads((folder / "bm25_ids.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder / "bm25")) if ids else bm25s.BM25()
        return cls(ids, retriever)

    def search(
        self, query_tokens: list[str], k: int, mask: np.ndarray | None = None
    ) -> list[BM25Hit]:
        """The ``k`` best rows with a positive score, best first. ``mask`` (one bool per
        row) keeps only the rows a metadata filter allows: every row is scored at once
        (bm25s ``get_scores``) and the top ``k`` taken with ``argpartition``, so a filter
        costs one vector product, not a walk over all rows."""
        if not self.ids or not query_tokens or k <= 0:
            return []
        vocab = self._retriever.vocab_dict  # type: ignore[attr-defined]
        known = [t for t in query_tokens if t in vocab]
        if not known:
            return []
        weights = None if mask is None else mask.astype(np.float32)
        scores = np.asarray(
            self._retriever.get_scores(known, weight_mask=weights),  # type: ignore[attr-defined]
            dtype=np.float32,
        )
        positive = int(np.count_nonzero(scores > 0))
        k = min(k, positive)
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # best first, ties by row
        return [BM25Hit(int(i), float(scores[i])) for i in top]
