"""Routing as a trained model: what a user turn asks for, learnt from labelled examples.

The examples live in ``knowledge/routing/*.yaml`` (one file per language), so adding one
needs no code change: ``python ingest.py`` embeds them into the index generation (with the
query embedding, as a user turn is embedded) and every process fits the model when it loads
that generation (under a second for about a thousand examples).

The model is a logistic regression over three views of a turn, the same ones the answer
bank is matched on: character 1-3 grams (typos, unsegmented Chinese, HK wording), word
tokens (jieba words, English stems) and the sentence embedding. It tells a question about
how something works ("申请限额要什么资料") from a request for the user's own figure
("年销售5000万保费多少"), and near-miss off-topic turns ("花呗逾期三个月") from ours.

The cue rules of ``knowledge/intents.yaml`` stay as high-precision overrides in front of
it (see :class:`assistant.dialogue.intents.IntentRouter`); ``python -m evals routing``
shows what each adds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# The labels of the routing data; calc_* name a calculator form (assistant.dialogue.forms).
CALCULATOR_LABELS = {
    "calc_dso": "dso",
    "calc_liquidity": "liquidity",
    "calc_recovery_sales": "recovery_sales",
    "calc_payment_plan": "payment_plan",
}
FORM_LABELS = ("quote", "claim", *CALCULATOR_LABELS)
LABELS = (
    "knowledge",
    *FORM_LABELS,
    "lead",
    "greeting",
    "thanks",
    "help",
    "chitchat",
    "offtopic",
)
ROUTING_DIR = "routing"
_PUNCT = re.compile(r"[\s?？!！。,，.、:：;；\"'“”‘’()（）]+")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    category: str | None = None
    near_miss: bool = False


def routing_files(knowledge_dir: Path) -> list[Path]:
    folder = knowledge_dir / ROUTING_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def parse_examples(rows: Iterable[Any], lang: str, where: str) -> list[Example]:
    """Validate labelled rows (``{text, intent, category?, near_miss?}``); a bad row names
    its file and text."""
    out: list[Example] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not str(row.get("text") or "").strip():
            raise ValueError(f"{where}: example {i + 1} has no text")
        label = str(row.get("intent") or "")
        if label not in LABELS:
            raise ValueError(
                f"{where}: example {i + 1} ({str(row['text'])[:40]!r}) has unknown intent "
                f"{label!r}; use one of {', '.join(LABELS)}"
            )
        out.append(
            Example(
                text=str(row["text"]).strip(),
                label=label,
                lang=str(row.get("lang") or lang),
                category=row.get("category"),
                near_miss=bool(row.get("near_miss")),
            )
        )
    return out


def load_examples(knowledge_dir: Path) -> list[Example]:
    """Every training example under ``knowledge/routing/``."""
    examples: list[Example] = []
    for path in routing_files(knowledge_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path.name}: expected a mapping with 'lang' and 'examples'")
        examples += parse_examples(
            data.get("examples") or [], str(data.get("lang") or ""), path.name
        )
    return examples


class RoutingModel:
    """A multinomial logistic regression over characters, words and the embedding."""

    def __init__(
        self,
        examples: list[Example],
        vectors: np.ndarray | None,
        tokenize: Callable[[str], list[str]],
        normalize: Callable[[str], str],
        c: float = 4.0,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.normalize = normalize
        self.tokenize = tokenize
        self.use_vectors = vectors is not None and len(vectors) == len(examples)
        texts = [self._norm(e.text) for e in examples]
        self._chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True
        )
        self._words = TfidfVectorizer(
            analyzer=self._word_tokens, sublinear_tf=True, lowercase=False
        )
        x = self._features(
            self._chars.fit_transform(texts),
            self._words.fit_transform(texts),
            vectors if self.use_vectors else None,
        )
        self.model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        self.model.fit(x, [e.label for e in examples])
        self.labels: list[str] = [str(x) for x in self.model.classes_]

    def _norm(self, text: str) -> str:
        return _PUNCT.sub(" ", self.normalize(text)).strip().lower()

    def _word_tokens(self, text: str) -> list[str]:
        return [t for t in self.tokenize(text) if t.strip()]

    @staticmethod
    def _features(chars: Any, words: Any, vectors: np.ndarray | None) -> Any:
        from scipy.sparse import csr_matrix, hstack

        parts = [chars, words]
        if vectors is not None:
            parts.append(csr_matrix(np.asarray(vectors, dtype=np.float32)))
        return hstack(parts).tocsr()

    def probabilities(self, text: str, vector: list[float] | np.ndarray | None) -> dict[str, float]:
        """Each label's probability for one turn (already normalised text)."""
        norm = self._norm(text)
        vec = None
        if self.use_vectors:
            if vector is None:
                return {}
            vec = np.asarray([vector], dtype=np.float32)
        x = self._features(self._chars.transform([norm]), self._words.transform([norm]), vec)
        p = self.model.predict_proba(x)[0]
        return {label: float(v) for label, v in zip(self.labels, p, strict=True)}

    def predict(self, text: str, vector: list[float] | np.ndarray | None) -> tuple[str, float]:
        probs = self.probabilities(text, vector)
        if not probs:
            return "knowledge", 0.0
        label = max(probs, key=lambda k: probs[k])
        return label, probs[label]
