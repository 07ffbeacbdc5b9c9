"""Hybrid retrieval: jieba BM25 + dense Chroma search, fused, explained and gated.

One query runs through:

1. normalisation (traditional to simplified Chinese with OpenCC, full-width to half-width,
   common variant characters), and language detection;
2. dense search in Chroma (query embedding cached in an LRU) and BM25 over jieba tokens,
   each restricted by the metadata filters (lang, doc_type, doc_id);
3. fusion, reciprocal-rank (default) or weighted scores, with weights from settings;
4. FAQ matching: a question close to a curated FAQ question puts that entry first;
5. near-duplicate collapse, same-language preference with the other language as fallback,
   and an optional cross-encoder rerank;
6. a confidence in [0, 1]; below ``min_confidence`` the result says "no good answer".

Every hit carries why it was chosen: matched terms, BM25 score, dense score, fused rank.
``HybridRetriever`` is a LangChain ``BaseRetriever`` over the same engine.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant import metrics
from assistant.config import Settings
from assistant.dialogue.routing_model import RoutingModel
from assistant.knowledge.documents import detect_lang
from assistant.knowledge.index import ChunkRecord, KnowledgeIndex
from assistant.knowledge.params import Synonyms, load_params
from assistant.matching import OFFTOPIC, EntryMatch, EntryMatcher
from assistant.matching import calibration_for as matching_calibration

Lang = Literal["zh", "en"]

# Confidence = logistic(bias + sum(weight * feature)), one set of weights per embedder
# family, fitted by `python -m evals calibrate` (cross-validated; see evals/README.md).
# Features: dense = best dense cosine; bank = best answer-bank match (assistant.matching)
# of an in-scope entry; offtopic = best match of an off-topic exemplar; unknown = IDF share
# of query words the corpus never uses; bm25 = log(1 + best BM25 score).
CONFIDENCE_FEATURES = ("dense", "bank", "offtopic", "unknown", "bm25")
CALIBRATION: dict[str, dict[str, float]] = {
    # python -m evals calibrate --c 0.1 (375 cases: the retrieval golden set and the dev
    # split of the real-phrasing set; 5-fold CV at 0.5: 98.4% of out-of-scope refused,
    # 1.6% of in-scope refused).
    "e5": {
        "bias": -42.394,
        "dense": 45.42,
        "bank": 7.978,
        "offtopic": -10.672,
        "unknown": -2.475,
        "bm25": 0.593,
        "faq_first": 0.93,
    },
    # Not refitted since the answer bank: the USE weights of the FAQ era, with the bank
    # score standing in for the FAQ-question cosine. Fit with calibrate before relying on it.
    "use": {
        "bias": -4.934,
        "dense": 3.603,
        "bank": 4.673,
        "offtopic": -3.0,
        "unknown": -3.76,
        "bm25": 1.156,
        "faq_first": 0.75,
    },
    # Not fitted: a hand-set starting point for any local model; fit it with calibrate.
    "st": {
        "bias": -4.0,
        "dense": 6.0,
        "bank": 2.0,
        "offtopic": -2.0,
        "unknown": -3.0,
        "bm25": 1.0,
        "faq_first": 0.8,
    },
}


FILTER_KEYS = ("lang", "doc_type", "doc_id")  # the metadata a search may filter on
DENSE_OVERFETCH = 3  # unfiltered nearest chunks fetched per wanted one (see _dense)


def calibration_for(backend: str) -> dict[str, float]:
    return CALIBRATION["st" if backend.startswith("sentence-transformers:") else backend]


# Variant characters OpenCC's t2s keeps but the corpus never uses.
_VARIANTS = str.maketrans({"帐": "账", "祗": "只", "週": "周", "裏": "里"})


@dataclass
class Explanation:
    """Why a hit was returned; shown to the support team through the API."""

    matched_terms: list[str]
    bm25_score: float
    bm25_rank: int | None
    dense_score: float
    dense_rank: int | None
    fused_score: float
    fused_rank: int
    faq_match: float | None = None
    rerank_score: float | None = None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Hit:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float
    explanation: Explanation

    def to_document(self) -> Document:
        meta = dict(self.metadata)
        meta.update(chunk_id=self.id, score=self.score, explanation=self.explanation.as_dict())
        return Document(page_content=self.text, metadata=meta, id=self.id)


@dataclass
class RetrievalResult:
    query: str
    normalized_query: str
    lang: Lang
    hits: list[Hit]
    confidence: float
    confident: bool
    features: dict[str, float] = field(default_factory=dict)

    @property
    def no_good_answer(self) -> bool:
        return not self.confident


class _LRU:
    """A small thread-safe LRU for query embeddings (repeated questions skip the model)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> list[float] | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: str, value: list[float]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_OPENCC: Any = None


def normalize_query(text: str) -> str:
    """Simplified characters, half-width forms, one space; meaning unchanged."""
    global _OPENCC
    text = unicodedata.normalize("NFKC", text).strip()
    if re.search(r"[\u4e00-\u9fff]", text):
        if _OPENCC is None:
            import opencc

            _OPENCC = opencc.OpenCC("t2s")
        text = _OPENCC.convert(text)
    text = text.translate(_VARIANTS)
    return re.sub(r"\s+", " ", text)


def _shingles(text: str, n: int = 3) -> set[str]:
    compact = re.sub(r"\s+", "", text.lower())
    return {compact[i : i + n] for i in range(max(1, len(compact) - n + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class RetrievalEngine:
    """The hybrid search over one :class:`KnowledgeIndex` (local Chroma or server)."""

    def __init__(self, index: KnowledgeIndex, settings: Settings | None = None) -> None:
        self.index = index
        self.settings = settings or index.settings
        self._cache = _LRU(self.settings.query_cache_size)
        self._generation: str | None = None
        self._records: list[ChunkRecord] = []
        self._by_id: dict[str, int] = {}
        self._bm25: Any = None
        self._faq_vectors: np.ndarray | None = None
        self._faq_rows: np.ndarray = np.zeros(0, dtype=np.int64)
        self._meta: dict[str, np.ndarray] = {}  # filterable metadata, one value per record
        self._masks: dict[str, np.ndarray] = {}  # where filter -> allowed records
        self._shingles: list[set[str]] = []
        self._reranker: Any = None
        self._matcher: EntryMatcher | None = None
        self._routing_data: tuple[list[Any], np.ndarray | None] = ([], None)
        self._routing_model: RoutingModel | None = None
        self._idf: dict[str, float] = {}
        self._synonyms: Synonyms | None = None
        self._manifest_stamp: tuple[int, int] | None = None
        self._collection: Any = None
        self._load_lock = threading.Lock()
        self._cal = calibration_for(self.settings.embedding_backend)
        self.faq_threshold = (
            self.settings.faq_match_threshold
            if self.settings.faq_match_threshold is not None
            else self._cal["faq_first"]
        )

    # -- loading -----------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        """Load (or reload after a sync) the live generation; a stat when nothing changed.

        With a shared index, first (every ``INDEX_POLL_SECONDS``) adopt the database's live
        generation and record the one served here (:mod:`assistant.knowledge.registry`)."""
        registry = self.index.registry
        if registry is not None:
            registry.poll(self.index, self._generation)
        try:
            st = self.index.manifest_path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp is not None and stamp == self._manifest_stamp:
            return
        manifest = self.index.read_manifest()
        if manifest is not None and manifest.generation == self._generation:
            self._manifest_stamp = stamp
            return
        with self._load_lock:
            from assistant.knowledge.bm25 import BM25Index
            from assistant.knowledge.store import get_collection

            manifest, records = self.index.live()
            gen_dir = self.index.generation_dir(manifest.generation)
            bm25 = BM25Index.load(gen_dir)
            by_id = {r.id: i for i, r in enumerate(records)}
            rows = [by_id[cid] for cid in bm25.ids]  # BM25 row -> record index
            phrase_rows, faq_vecs = self.index.read_question_vectors(manifest.generation)
            keep = [i for i, (cid, _) in enumerate(phrase_rows) if cid in by_id]
            phrasings = [(by_id[phrase_rows[i][0]], phrase_rows[i][1]) for i in keep]
            if faq_vecs is not None and len(keep) != len(phrase_rows):
                faq_vecs = faq_vecs[keep]
            self._records = records
            self._by_id = by_id
            self._bm25 = (bm25, rows)
            self._faq_rows = np.asarray([row for row, _ in phrasings], dtype=np.int64)
            self._faq_vectors = faq_vecs
            self._meta = {
                key: np.asarray([str(r.metadata.get(key, "")) for r in records], dtype=object)
                for key in FILTER_KEYS
            }
            self._masks = {}
            self._matcher = self._build_matcher(records, phrasings, faq_vecs)
            self._routing_data = self.index.read_routing(manifest.generation)
            self._routing_model = None
            self._shingles = [_shingles(r.text) for r in records]
            df: Counter[str] = Counter()
            for r in records:
                df.update(set(r.tokens))
            total = len(records)
            self._idf = {t: math.log((total - n + 0.5) / (n + 0.5) + 1.0) for t, n in df.items()}
            # Looked up once per generation: per query it would re-read the manifest and,
            # on a Chroma server, cost an extra round trip.
            self._collection = get_collection(self.index.client, manifest.collection)
            self._generation = manifest.generation
            self._manifest_stamp = stamp
            if self.index.registry is not None:
                self.index.registry.serving(manifest.generation)

    @property
    def generation(self) -> str | None:
        """The index generation this process serves (None before the first load)."""
        return self._generation

    def check_store(self) -> int:
        """Count the served generation's chunks in Chroma: raises when the Chroma server is
        down or the collection is gone (readiness)."""
        self._ensure_loaded()
        return int(self._collection.count())

    def _build_matcher(
        self,
        records: list[ChunkRecord],
        phrasings: list[tuple[int, str]],
        vectors: np.ndarray | None,
    ) -> EntryMatcher:
        entries: list[dict[str, Any]] = [{} for _ in records]
        for row in {r for r, _ in phrasings}:
            m = records[row].metadata
            entries[row] = {
                "entry_id": str(m.get("entry_id") or records[row].id),
                "question": str(m.get("question") or ""),
                "category": str(m.get("category") or "faq"),
                "lang": str(m.get("lang") or ""),
                "related": json.loads(str(m.get("related") or "[]")),
            }
        s = self.settings
        cal = dict(matching_calibration(s.embedding_backend))  # settings override a copy
        for key, value in (
            ("answer", s.bank_answer_threshold),
            ("suggest", s.bank_suggest_threshold),
        ):
            if value is not None:
                cal[key] = value
        return EntryMatcher(
            entries, phrasings, vectors, self.index.tokenizer.tokens, normalize_query, cal
        )

    @property
    def routing_model(self) -> RoutingModel | None:
        """The routing model of the live generation, fitted on first use (None when the
        generation has no routing examples)."""
        self._ensure_loaded()
        if self._routing_model is None:
            examples, vectors = self._routing_data
            if not examples:
                return None
            with self._load_lock:
                if self._routing_model is None:
                    self._routing_model = RoutingModel(
                        examples, vectors, self.index.tokenizer.tokens, normalize_query
                    )
        return self._routing_model

    @property
    def matcher(self) -> EntryMatcher:
        """The answer-bank matcher of the live generation."""
        self._ensure_loaded()
        assert self._matcher is not None
        return self._matcher

    @metrics.RETRIEVAL_SECONDS.time()
    def match_entries(self, query: str, lang: str | None, k: int = 5) -> list[EntryMatch]:
        """Answer-bank entries for a question, best first (see :mod:`assistant.matching`)."""
        self._ensure_loaded()
        normalized = normalize_query(query)
        if not normalized or self._matcher is None or not len(self._matcher):
            return []
        return self._matcher.match(normalized, self.embed_query(normalized), lang, k)

    @property
    def records(self) -> list[ChunkRecord]:
        """Every chunk of the live index generation (for citing a named clause)."""
        self._ensure_loaded()
        return self._records

    @property
    def synonyms(self) -> Synonyms:
        if self._synonyms is None:
            path = self.settings.synonyms_file
            self._synonyms = load_params(path, Synonyms) if path.exists() else Synonyms()
        return self._synonyms

    def _expansions(self, text: str, lang: Lang) -> list[str]:
        """Document terms for the colloquial phrases in the query (keyword search only)."""
        table = self.synonyms.zh if lang == "zh" else self.synonyms.en
        low = text.lower()
        terms: list[str] = []
        for phrase, targets in table.items():
            hit = phrase in low if lang == "zh" else re.search(rf"\b{re.escape(phrase)}\b", low)
            if hit:
                for target in targets:
                    terms.extend(self.index.tokenizer.tokens(target))
        return terms

    def clear_query_cache(self) -> None:
        """Forget cached query embeddings (benchmarks measure the cold path with this)."""
        self._cache = _LRU(self.settings.query_cache_size)

    def embed_query(self, text: str) -> list[float]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        vector = self.index.embedder.embed_query(text)
        self._cache.put(text, vector)
        return vector

    @property
    def reranker(self) -> Any:
        if self._reranker is None and self.settings.reranker_model:
            from sentence_transformers import CrossEncoder

            self._reranker = CrossEncoder(
                self.settings.reranker_model, device="cpu", local_files_only=True
            )
        return self._reranker

    # -- the two searches --------------------------------------------------------------

    @staticmethod
    def _where(lang: str | None, doc_type: str | None, doc_id: str | None) -> dict[str, Any] | None:
        clauses = [
            {k: v} for k, v in (("lang", lang), ("doc_type", doc_type), ("doc_id", doc_id)) if v
        ]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _mask(self, where: dict[str, Any] | None) -> np.ndarray | None:
        """One bool per record: the records a filter allows (None: all). Built with
        vectorised comparisons once per filter and generation, then reused."""
        if where is None:
            return None
        key = json.dumps(where, sort_keys=True)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.ones(len(self._records), dtype=bool)
            for cond in where.get("$and", [where]):
                for field_name, value in cond.items():
                    mask &= self._meta[field_name] == str(value)
            if len(self._masks) >= 64:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def _dense(
        self, vector: list[float], where: dict[str, Any] | None, n: int
    ) -> list[tuple[int, float]]:
        """The ``n`` nearest chunks the filter allows. A filtered Chroma query costs a
        metadata scan that grows with the collection (27 ms at 16k chunks against 0.8 ms
        unfiltered), so the unfiltered nearest ``DENSE_OVERFETCH × n`` are taken and
        filtered here; only when too few of them pass (a narrow filter such as one
        document) does Chroma filter."""
        total = len(self._records)
        query = np.asarray(vector, dtype=np.float32)
        mask = self._mask(where)
        passing = total if mask is None else int(mask.sum())
        if passing < total:
            assert mask is not None
            out = self._query_store(query, None, min(total, n * DENSE_OVERFETCH))
            allowed = [(row, sim) for row, sim in out if mask[row]]
            if len(allowed) >= min(n, passing):
                return allowed[:n]
            return self._query_store(query, where, n)
        return self._query_store(query, None, n)

    def _query_store(
        self, query: np.ndarray, where: dict[str, Any] | None, n: int
    ) -> list[tuple[int, float]]:
        res = self._collection.query(
            query_embeddings=[query],
            n_results=max(1, min(n, len(self._records))),
            where=where,
            include=["distances"],
        )
        out = []
        for cid, dist in zip(res["ids"][0], (res.get("distances") or [[]])[0], strict=True):
            row = self._by_id.get(cid)
            if row is not None:
                out.append((row, 1.0 - float(dist)))
        return out

    def _sparse(
        self, tokens: list[str], where: dict[str, Any] | None, n: int
    ) -> list[tuple[int, float]]:
        bm25, rows = self._bm25
        mask = self._mask(where)
        hits = bm25.search(tokens, k=n, mask=None if mask is None else mask[rows])
        return [(rows[h.index], h.score) for h in hits]

    # -- fusion ------------------------------------------------------------------------

    def _fuse(self, *lists: tuple[float, list[tuple[int, float]]]) -> dict[int, float]:
        """Fuse ranked lists of (row, score), each with its weight."""
        s = self.settings
        fused: dict[int, float] = {}
        for weight, ranked in lists:
            if not ranked or weight == 0:
                continue
            if s.fusion == "rrf":
                for rank, (row, _) in enumerate(ranked, 1):
                    fused[row] = fused.get(row, 0.0) + weight / (s.rrf_k + rank)
            else:  # weighted, min-max normalised scores
                vals = [v for _, v in ranked]
                lo, hi = min(vals), max(vals)
                for row, v in ranked:
                    norm = (v - lo) / (hi - lo) if hi > lo else 1.0
                    fused[row] = fused.get(row, 0.0) + weight * norm
        return fused

    def _fuse_all(
        self,
        dense: list[tuple[int, float]],
        sparse: list[tuple[int, float]],
        faq: dict[int, float],
    ) -> dict[int, float]:
        s = self.settings
        faq_ranked = sorted(faq.items(), key=lambda kv: kv[1], reverse=True)
        faq_ranked = faq_ranked[: s.retrieval_candidates]
        return self._fuse(
            (s.dense_weight, dense), (s.bm25_weight, sparse), (s.faq_weight, faq_ranked)
        )

    def _faq_scores(self, vector: list[float], where: dict[str, Any] | None) -> dict[int, float]:
        """Each bank chunk's best phrasing cosine (vectorised: one product, one ``maximum.at``)."""
        if self._faq_vectors is None or not len(self._faq_rows):
            return {}
        sims = self._faq_vectors @ np.asarray(vector, dtype=np.float32)
        best = np.full(len(self._records), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._faq_rows, sims)
        mask = self._mask(where)
        keep = np.isfinite(best) if mask is None else np.isfinite(best) & mask
        rows = np.flatnonzero(keep)
        return dict(zip(rows.tolist(), best[rows].astype(float).tolist(), strict=True))

    # -- confidence --------------------------------------------------------------------

    def _matched(self, tokens: list[str], row: int) -> list[str]:
        chunk_tokens = set(self._records[row].tokens)
        return [t for t in dict.fromkeys(tokens) if t in chunk_tokens]

    def _unknown_share(self, tokens: list[str]) -> float:
        """IDF-weighted share of query words the corpus never uses (车险, 签证, recipe…)."""
        unique = list(dict.fromkeys(tokens))
        if not unique:
            return 1.0
        top = max(self._idf.values(), default=1.0)
        total = sum(self._idf.get(t, top) for t in unique)
        return sum(top for t in unique if t not in self._idf) / total

    def confidence(self, features: dict[str, float]) -> float:
        """Probability-like confidence in [0, 1] from the calibrated logistic."""
        cal = self._cal
        z = cal["bias"] + sum(cal[name] * features[name] for name in CONFIDENCE_FEATURES)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    # -- the search --------------------------------------------------------------------

    @metrics.RETRIEVAL_SECONDS.time()
    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        lang: str | None = None,
        doc_type: str | None = None,
        doc_id: str | None = None,
        prefer_lang: bool = True,
    ) -> RetrievalResult:
        """Hybrid search. ``lang`` filters strictly; otherwise the query's language is
        preferred and the other language fills in when the preferred one has too little."""
        self._ensure_loaded()
        s = self.settings
        k = k or s.retrieval_k
        normalized = normalize_query(query)
        qlang: Lang = detect_lang(normalized)
        if not normalized:
            return RetrievalResult(query, normalized, qlang, [], 0.0, False, {})
        vector = self.embed_query(normalized)
        tokens = self.index.tokenizer.tokens(normalized)
        expanded = tokens + self._expansions(normalized, qlang)
        n = s.retrieval_candidates

        target_lang = lang or (qlang if prefer_lang else None)
        where = self._where(target_lang, doc_type, doc_id)
        dense = self._dense(vector, where, n)
        sparse = self._sparse(expanded, where, n)
        faq = self._faq_scores(vector, where)
        if lang is None and prefer_lang and target_lang and not dense:
            # Nothing in the query's language (under these filters): use the other one.
            other = self._where(None, doc_type, doc_id)
            dense, sparse = self._dense(vector, other, n), self._sparse(expanded, other, n)
            faq = self._faq_scores(vector, other)
        fused = self._fuse_all(dense, sparse, faq)

        dense_map = dict(dense)
        sparse_map = dict(sparse)
        dense_rank = {row: i for i, (row, _) in enumerate(dense, 1)}
        sparse_rank = {row: i for i, (row, _) in enumerate(sparse, 1)}

        # FAQ matching: an answer-bank entry the question matches (scored over all its
        # phrasings), else a close FAQ question, goes first whatever the fusion said.
        best_faq = max(faq.items(), key=lambda kv: kv[1]) if faq else None
        faq_row = best_faq[0] if best_faq and best_faq[1] >= self.faq_threshold else None
        found = self._matcher.match(normalized, vector, target_lang, 4) if self._matcher else []
        entry = [m for m in found if m.category != OFFTOPIC][:1]
        off_score = (
            self._matcher.offtopic_score(normalized, vector, target_lang) if self._matcher else 0.0
        )
        allowed = self._mask(where)
        if (
            entry
            and entry[0].score >= self._matcher.cal["answer"]  # type: ignore[union-attr]
            and (allowed is None or bool(allowed[entry[0].row]))
        ):
            faq_row = entry[0].row
        order = sorted(fused, key=lambda r: fused[r], reverse=True)
        if faq_row is not None:
            order = [faq_row] + [r for r in order if r != faq_row]

        # Collapse near-duplicates (e.g. the zh FAQ restating a clause word for word).
        kept: list[int] = []
        for row in order:
            if all(
                _jaccard(self._shingles[row], self._shingles[o]) < s.dedup_threshold for o in kept
            ):
                kept.append(row)
            if len(kept) >= max(k, s.rerank_candidates if self.reranker else k):
                break

        rerank: dict[int, float] = {}
        if self.reranker is not None and kept:
            pairs = [(normalized, self._records[r].text) for r in kept]
            scores = self.reranker.predict(pairs, show_progress_bar=False)
            rerank = {r: float(sc) for r, sc in zip(kept, scores, strict=True)}
            head = [faq_row] if faq_row is not None else []
            rest = sorted((r for r in kept if r != faq_row), key=lambda r: rerank[r], reverse=True)
            kept = head + rest
        kept = kept[:k]

        hits: list[Hit] = []
        for rank, row in enumerate(kept, 1):
            rec = self._records[row]
            matched = self._matched(tokens, row)
            reasons = []
            if row in dense_rank:
                reasons.append(f"dense #{dense_rank[row]}")
            if row in sparse_rank:
                reasons.append(f"bm25 #{sparse_rank[row]}")
            faq_sim = faq.get(row)
            if row == faq_row:
                reasons.append("faq question match")
                if entry and entry[0].row == row:
                    reasons.append(f"bank entry {entry[0].entry_id} ({entry[0].score:.2f})")
            exp = Explanation(
                matched_terms=matched,
                bm25_score=round(sparse_map.get(row, 0.0), 4),
                bm25_rank=sparse_rank.get(row),
                dense_score=round(dense_map.get(row, 0.0), 4),
                dense_rank=dense_rank.get(row),
                fused_score=round(fused.get(row, 0.0), 6),
                fused_rank=rank,
                faq_match=round(faq_sim, 4) if faq_sim is not None else None,
                rerank_score=round(rerank[row], 4) if row in rerank else None,
                reasons=reasons,
            )
            hits.append(Hit(rec.id, rec.text, dict(rec.metadata), fused.get(row, 0.0), exp))

        features = {
            "dense": max((v for _, v in dense), default=0.0),
            "bank": entry[0].score if entry else 0.0,
            "offtopic": off_score,
            "unknown": self._unknown_share(tokens),
            "bm25": math.log1p(max((v for _, v in sparse), default=0.0)),
        }
        conf = self.confidence(features)
        for h in hits:
            h.score = round(h.score, 6)
        return RetrievalResult(
            query, normalized, qlang, hits, round(conf, 4), conf >= s.min_confidence, features
        )


class HybridRetriever(BaseRetriever):
    """LangChain face of :class:`RetrievalEngine`; returns [] when there is no good answer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: RetrievalEngine
    k: int = 5
    lang: str | None = None
    doc_type: str | None = None
    doc_id: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.engine.search(
            query, self.k, lang=self.lang, doc_type=self.doc_type, doc_id=self.doc_id
        )
        if result.no_good_answer:
            return []
        return [h.to_document() for h in result.hits]
