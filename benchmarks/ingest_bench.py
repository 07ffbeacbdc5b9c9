"""Ingestion benchmark: pipeline throughput against raw embedding, and the no-change rerun.

Run: ``python benchmarks/ingest_bench.py [--backend e5|use|sentence-transformers:PATH]
[--repeats 3] [--reruns 5] [--json]``

Measured side by side in one run, interleaved so machine noise hits both alike:

* raw: the backend embeds exactly the texts the pipeline embeds (same batch size),
  nothing else;
* pipeline: a full ``KnowledgeIndex.sync`` of ``knowledge/`` into an empty index with an
  empty embedding cache (load, chunk, tokenise, embed, Chroma, BM25, manifest swap).

Overhead = median(pipeline seconds) / median(raw seconds) - 1 (target <= 15%).
The no-change rerun is ``python ingest.py --json`` as a whole process, including
interpreter start-up (target < 3 s). Figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402,F401  (offline environment)
from assistant.config import Settings  # noqa: E402
from assistant.knowledge.chunking import Chunker  # noqa: E402
from assistant.knowledge.embeddings import make_embeddings  # noqa: E402
from assistant.knowledge.index import KnowledgeIndex, scan  # noqa: E402
from assistant.knowledge.loaders import load_document  # noqa: E402


def corpus_texts(settings: Settings) -> list[str]:
    files, _ = scan([settings.knowledge_dir])
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    texts: list[str] = []
    for path in files:
        texts.extend(c.embed_text for c in chunker.split(load_document(path, ROOT)))
    return texts


def time_raw(backend: str, texts: list[str], batch: int) -> float:
    emb = make_embeddings(backend)
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        emb.embed_documents(texts[i : i + batch])
    return time.perf_counter() - start


def time_pipeline(settings_kwargs: dict[str, object], data: Path) -> tuple[float, int]:
    # A new folder each time: Chroma caches clients per path inside a process, so a
    # deleted-and-recreated folder would be seen as a read-only database.
    settings = Settings(data_dir=data, embedding_cache_dir=data / "cache", **settings_kwargs)  # type: ignore[arg-type]
    start = time.perf_counter()
    report = KnowledgeIndex(settings).sync()
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failed}")
    return elapsed, report.chunks


def time_reruns(settings_kwargs: dict[str, object], data: Path, n: int) -> list[float]:
    env = dict(os.environ)
    env.update(
        DATA_DIR=str(data),
        EMBEDDING_CACHE_DIR=str(data / "cache"),
        EMBEDDING_BACKEND=str(settings_kwargs["embedding_backend"]),
    )
    out = []
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "ingest.py"), "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(time.perf_counter() - start)
        payload = json.loads(proc.stdout)
        if payload["added"] or payload["changed"] or payload["removed"]:
            raise SystemExit(f"rerun was not a no-op: {payload}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="default: EMBEDDING_BACKEND setting")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = Settings()
    backend = args.backend or base.embedding_backend
    kwargs: dict[str, object] = {"embedding_backend": backend, "_env_file": None}
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    texts = corpus_texts(settings)
    batch = settings.embed_batch_size
    make_embeddings(backend).embed_documents(texts[:2])  # load the model outside the timers

    raw: list[float] = []
    pipe: list[float] = []
    chunks = 0
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        for i in range(args.repeats):
            order = ("raw", "pipe") if i % 2 == 0 else ("pipe", "raw")
            for which in order:
                if which == "raw":
                    raw.append(time_raw(backend, texts, batch))
                else:
                    data = work / f"data{i}"
                    seconds, chunks = time_pipeline(kwargs, data)
                    pipe.append(seconds)
            print(f"repeat {i + 1}: raw {raw[-1]:.1f}s  pipeline {pipe[-1]:.1f}s", file=sys.stderr)
        reruns = time_reruns(kwargs, data, args.reruns)

    raw_med, pipe_med = statistics.median(raw), statistics.median(pipe)
    result = {
        "backend": backend,
        "chunks": chunks,
        "texts_embedded_raw": len(texts),
        "repeats": args.repeats,
        "raw_seconds_median": round(raw_med, 2),
        "pipeline_seconds_median": round(pipe_med, 2),
        "raw_chunks_per_s": round(len(texts) / raw_med, 2),
        "pipeline_chunks_per_s": round(chunks / pipe_med, 2),
        "pipeline_overhead_pct": round((pipe_med / raw_med - 1) * 100, 1),
        "no_change_rerun_seconds_median": round(statistics.median(reruns), 2),
        "no_change_rerun_seconds_all": [round(r, 2) for r in reruns],
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
