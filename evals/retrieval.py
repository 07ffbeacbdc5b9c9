"""Retrieval eval: hybrid against BM25-only, dense-only and the LangChain tutorial recipe.

A case is a hit at rank r when the chunk at r matches ANY expected item:
``doc-id`` (any chunk of it), ``doc-id:N`` (policy clause N: clause metadata, or the
clause label in the text), ``doc-id>heading`` (a section/FAQ heading in the section
path or the text) or ``entry:<id>`` (an answer-bank entry). The same rule scores every
system, so the baselines' 1000-character chunks are judged by what they contain, not by
metadata they lack.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.index import KnowledgeIndex
from assistant.retrieval import RetrievalEngine

GOLDEN_DIR = Path(__file__).parent / "golden"
K = 5


@dataclass
class Case:
    id: str
    question: str
    lang: str
    category: str
    expected: list[str]
    must_include: list[str] = field(default_factory=list)

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


@dataclass
class Retrieved:
    doc_id: str
    text: str
    metadata: dict[str, Any]


def load_cases(path: Path | None = None) -> list[Case]:
    files = (
        [path] if path and path.is_file() else sorted((path or GOLDEN_DIR).glob("retrieval*.yaml"))
    )
    cases: list[Case] = []
    for f in files:
        for raw in yaml.safe_load(f.read_text(encoding="utf-8")) or []:
            cases.append(Case(**raw))
    return cases


_CLAUSE_LABEL = {"zh": "第{cn}条", "en": "Article {n}"}


def _cn(n: int) -> str:
    import cn2an

    return str(cn2an.an2cn(n))


_ITEM_RE = re.compile(r"^(?P<doc>[a-z0-9._-]+)(?::(?P<clause>\d+)|>(?P<heading>.+))?$", re.S)


def matches(item: str, hit: Retrieved) -> bool:
    if item.startswith("entry:"):  # an answer-bank entry, by id
        return hit.metadata.get("entry_id") == item.removeprefix("entry:")
    m = _ITEM_RE.match(item)
    if m is None:
        raise ValueError(f"bad expected item {item!r}: use doc-id, doc-id:N or doc-id>heading")
    if hit.doc_id != m["doc"]:
        return False
    if m["clause"] is not None:
        n = int(m["clause"])
        if hit.metadata.get("clause_no") == n:
            return True
        return bool(re.search(rf"(^|\n)\s*#*\s*(第{_cn(n)}条|Article {n})(?!\d)", hit.text))
    if m["heading"] is not None:
        heading = m["heading"]
        section = str(hit.metadata.get("section", ""))
        if not section and heading == hit.metadata.get("title"):
            return True  # the intro before the first section sits under the H1 title
        return heading in section.split(" > ") or heading in hit.text
    return True


def first_hit_rank(case: Case, hits: list[Retrieved]) -> int | None:
    for rank, h in enumerate(hits, 1):
        if any(matches(item, h) for item in case.expected):
            return rank
    return None


def ndcg_at(case: Case, hits: list[Retrieved], k: int = K) -> float:
    """Binary relevance; each expected item can be credited once."""
    credited: set[str] = set()
    dcg = 0.0
    for rank, h in enumerate(hits[:k], 1):
        item = next((i for i in case.expected if i not in credited and matches(i, h)), None)
        if item is not None:
            credited.add(item)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(case.expected), k) + 1))
    return dcg / ideal if ideal else 0.0


@dataclass
class Outcome:
    case: Case
    rank: int | None
    ndcg: float
    refused: bool | None
    ms: float
    confidence: float | None = None
    top: list[str] = field(default_factory=list)


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    inscope = [o for o in outcomes if o.case.in_scope]
    oos = [o for o in outcomes if not o.case.in_scope]
    n = len(inscope) or 1
    out: dict[str, Any] = {
        "cases": len(inscope),
        "hit@1": round(sum(1 for o in inscope if o.rank == 1) / n, 4),
        "hit@3": round(sum(1 for o in inscope if o.rank and o.rank <= 3) / n, 4),
        "hit@5": round(sum(1 for o in inscope if o.rank and o.rank <= 5) / n, 4),
        "mrr": round(sum(1 / o.rank for o in inscope if o.rank) / n, 4),
        "ndcg@5": round(sum(o.ndcg for o in inscope) / n, 4),
        "p50_ms": round(statistics.median(o.ms for o in outcomes), 1) if outcomes else 0.0,
        "p95_ms": round(p95([o.ms for o in outcomes]), 1) if outcomes else 0.0,
    }
    if any(o.refused is not None for o in outcomes):
        refused = [o for o in outcomes if o.refused]
        out["no_answer_recall"] = round(sum(1 for o in oos if o.refused) / (len(oos) or 1), 4)
        out["no_answer_precision"] = round(
            sum(1 for o in refused if not o.case.in_scope) / (len(refused) or 1), 4
        )
        out["false_refusal_rate"] = round(sum(1 for o in inscope if o.refused) / n, 4)
        out["out_of_scope_cases"] = len(oos)
    return out


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (used by the evals and the latency benchmark)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def breakdown(outcomes: list[Outcome], key: Callable[[Case], str]) -> dict[str, Any]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[key(o.case)].append(o)
    return {name: summarize(group) for name, group in sorted(groups.items())}


# --- systems ------------------------------------------------------------------------------

Search = Callable[[str], tuple[list[Retrieved], bool | None, float | None]]


def hybrid_system(engine: RetrievalEngine) -> Search:
    def run(q: str) -> tuple[list[Retrieved], bool | None, float | None]:
        res = engine.search(q, K)
        hits = [Retrieved(h.metadata["doc_id"], h.text, h.metadata) for h in res.hits]
        return hits, res.no_good_answer, res.confidence

    return run


def bm25_system(engine: RetrievalEngine) -> Search:
    def run(q: str) -> tuple[list[Retrieved], bool | None, float | None]:
        from assistant.retrieval import normalize_query

        engine._ensure_loaded()
        tokens = engine.index.tokenizer.tokens(normalize_query(q))
        rows = engine._sparse(tokens, None, K)
        recs = [engine._records[r] for r, _ in rows]
        return [Retrieved(r.metadata["doc_id"], r.text, r.metadata) for r in recs], None, None

    return run


def dense_system(engine: RetrievalEngine) -> Search:
    embedder = engine.index.embedder

    def run(q: str) -> tuple[list[Retrieved], bool | None, float | None]:
        engine._ensure_loaded()
        rows = engine._dense(embedder.embed_query(q), None, K)
        recs = [engine._records[r] for r, _ in rows]
        return [Retrieved(r.metadata["doc_id"], r.text, r.metadata) for r in recs], None, None

    return run


def langchain_tutorial_system(settings: Settings, workdir: Path) -> Search:
    """The plain recipe: RecursiveCharacterTextSplitter(1000, 200) + Chroma + same embedder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.knowledge.embeddings import cached, make_embeddings
    from assistant.knowledge.index import scan
    from assistant.knowledge.loaders import load_document

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    from langchain_core.documents import Document

    docs: list[Document] = []
    files, _ = scan([settings.knowledge_dir])
    for path in files:
        doc = load_document(path, PROJECT_ROOT)
        for piece in splitter.split_text(doc.text):
            docs.append(Document(piece, metadata={"doc_id": doc.meta.id, "lang": doc.meta.lang}))
    embedder = make_embeddings(settings.embedding_backend)
    client = chromadb.PersistentClient(
        path=str(workdir / "tutorial-chroma"),
        settings=ChromaSettings(anonymized_telemetry=False),
    )
    store = Chroma(
        client=client,
        collection_name="tutorial",
        embedding_function=cached(embedder, settings.embedding_cache_path),
    )
    store.add_documents(docs)
    # Queries go to the bare embedder: the tutorial has no query cache.
    store._embedding_function = embedder

    def run(q: str) -> tuple[list[Retrieved], bool | None, float | None]:
        found = store.similarity_search(q, k=K)
        return [Retrieved(d.metadata["doc_id"], d.page_content, {}) for d in found], None, None

    return run


def _label(h: Retrieved) -> str:
    clause = h.metadata.get("clause_no", -1)
    if isinstance(clause, int) and clause > 0:
        return f"{h.doc_id}:{clause}"
    section = str(h.metadata.get("section", "")).split(" > ")[-1]
    return f"{h.doc_id}>{section[:30]}"


def evaluate(system: Search, cases: list[Case]) -> list[Outcome]:
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        hits, refused, conf = system(case.question)
        ms = (time.perf_counter() - start) * 1000
        outcomes.append(
            Outcome(
                case,
                first_hit_rank(case, hits) if case.in_scope else None,
                ndcg_at(case, hits) if case.in_scope else 0.0,
                refused,
                ms,
                conf,
                [_label(h) for h in hits[:3]],
            )
        )
    return outcomes


# --- CLI --------------------------------------------------------------------------------


def _settings(overrides: list[str]) -> Settings:
    values: dict[str, Any] = {}
    for item in overrides:
        key, _, value = item.partition("=")
        values[key.strip()] = value.strip()
    return Settings(**values)


def run(
    settings: Settings, cases: list[Case], compare: bool = False
) -> tuple[dict[str, Any], list[Outcome]]:
    index = KnowledgeIndex(settings)
    report = index.sync()
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failed}")
    engine = RetrievalEngine(index, settings)
    engine.search("预热 warm-up", 1)  # load model and index outside the timings
    outcomes = evaluate(hybrid_system(engine), cases)
    result: dict[str, Any] = {
        "hybrid": summarize(outcomes),
        "by_language": breakdown(outcomes, lambda c: c.lang),
        "by_category": breakdown(outcomes, lambda c: c.category),
        "settings": {
            k: getattr(settings, k)
            for k in (
                "embedding_backend",
                "chunk_size",
                "chunk_overlap",
                "fusion",
                "dense_weight",
                "bm25_weight",
                "rrf_k",
                "min_confidence",
            )
        },
        "baselines": {},
    }
    if compare:
        engine.clear_query_cache()  # baselines pay for their own embeddings
        result["baselines"]["bm25"] = summarize(evaluate(bm25_system(engine), cases))
        result["baselines"]["dense"] = summarize(evaluate(dense_system(engine), cases))
        with tempfile.TemporaryDirectory(prefix="tutorial-") as tmp:
            tutorial = langchain_tutorial_system(settings, Path(tmp))
            result["baselines"]["langchain_tutorial"] = summarize(evaluate(tutorial, cases))
    return result, outcomes


def _table(result: dict[str, Any]) -> str:
    cols = ["hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "p50_ms", "p95_ms"]
    rows = [("hybrid", result["hybrid"]), *result["baselines"].items()]
    lines = [f"{'system':20}" + "".join(f"{c:>9}" for c in cols)]
    for name, m in rows:
        lines.append(f"{name:20}" + "".join(f"{m.get(c, ''):>9}" for c in cols))
    h = result["hybrid"]
    lines.append("")
    lines.append(
        f"no good answer: recall {h['no_answer_recall']} on {h['out_of_scope_cases']} "
        f"out-of-scope cases, precision {h['no_answer_precision']}, "
        f"false refusals {h['false_refusal_rate']} of in-scope"
    )
    lines.append("")
    lines.append(f"{'group':20}" + "".join(f"{c:>9}" for c in ["cases", *cols[:4]]))
    for section in ("by_language", "by_category"):
        for name, m in result[section].items():
            lines.append(f"{name:20}" + "".join(f"{m.get(c, ''):>9}" for c in ["cases", *cols[:4]]))
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    settings = _settings(args.set)
    cases = load_cases(Path(args.golden) if args.golden else None)
    result, outcomes = run(settings, cases, compare=args.compare)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(_table(result))
    if args.cases:
        for o in outcomes:
            mark = (
                "OK " if (o.rank and o.rank <= 3) or (not o.case.in_scope and o.refused) else "XX "
            )
            print(
                f"{mark}{o.case.id:18} rank={o.rank} refused={o.refused} "
                f"conf={o.confidence} {o.case.question}  -> {o.top}"
            )
    return 0
