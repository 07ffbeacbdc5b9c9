"""Ingestion benchmark: pipeline throughput against raw embedding, and the no-change rerun.

Run: ``python benchmarks/ingest_bench.py [--backend e5|use|sentence-transformers:PATH]
[--repeats 3] [--reruns 5] [--json]``

Measured side by side in one run, interleaved so machine noise hits both alike:

* raw: the backend embeds exactly the texts the pipeline embeds (every chunk plus
  every FAQ question, same batch size), nothing else;
* pipeline: ``python ingest.py --json`` on ``knowledge/`` into an empty index with an
  empty embedding cache (load, chunk, tokenise, embed, Chroma, BM25, manifest swap),
  timed by its own ``seconds`` figure.

Each measurement runs in a fresh process, so no model, Chroma or thread state is shared.

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
from assistant.knowledge import bank  # noqa: E402
from assistant.knowledge.chunking import Chunker  # noqa: E402
from assistant.knowledge.index import scan  # noqa: E402
from assistant.knowledge.loaders import load_document  # noqa: E402


def corpus_texts(settings: Settings) -> list[str]:
    """Exactly what the pipeline embeds: every chunk that is not an answer-bank entry, and
    every phrasing of every entry (an entry's chunk is stored under their mean vector)."""
    files, _ = scan([settings.knowledge_dir])
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    texts: list[str] = []
    phrasings: list[str] = []
    for path in files:
        doc = load_document(path, ROOT, knowledge_dir=settings.knowledge_dir)
        for c in chunker.split(doc):
            if c.metadata.get("question"):
                phrasings.extend(bank.phrasings(c.metadata))
            if not c.metadata.get("entry_id"):
                texts.append(c.embed_text)
    return texts + phrasings


_RAW = """
import json, sys, time
import assistant
from assistant.knowledge.embeddings import make_embeddings
backend, path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = json.load(open(path, encoding="utf-8"))
emb = make_embeddings(backend)
emb.embed_documents(texts[:1])  # load the model outside the timer, as ingest does
start = time.perf_counter()
for i in range(0, len(texts), batch):
    emb.embed_documents(texts[i : i + batch])
print(time.perf_counter() - start)
"""


def time_raw(backend: str, texts_file: Path, batch: int) -> float:
    """Embed the texts in a fresh process: no state shared with the pipeline runs."""
    out = subprocess.run(
        [sys.executable, "-c", _RAW, backend, str(texts_file), str(batch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _env(backend: str, data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATA_DIR=str(data),
        EMBEDDING_CACHE_DIR=str(data / "cache"),
        EMBEDDING_BACKEND=backend,
    )
    return env


def time_pipeline(backend: str, data: Path) -> tuple[float, int]:
    """A full ingest into an empty index and cache, in a fresh process; its own timer."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "ingest.py"), "--json"],
        cwd=ROOT,
        env=_env(backend, data),
        capture_output=True,
        text=True,
        check=True,
    )
    payload = json.loads(proc.stdout)
    if payload["failed"]:
        raise SystemExit(f"ingest failed: {payload['failed']}")
    return float(payload["seconds"]), int(payload["chunks"])


def time_reruns(backend: str, data: Path, n: int) -> list[float]:
    env = _env(backend, data)
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
    settings = Settings(embedding_backend=backend, _env_file=None)  # type: ignore[call-arg]
    texts = corpus_texts(settings)
    batch = settings.embed_batch_size

    raw: list[float] = []
    pipe: list[float] = []
    chunks = 0
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        data = work / "data0"
        for i in range(args.repeats):
            order = ("raw", "pipe") if i % 2 == 0 else ("pipe", "raw")
            for which in order:
                if which == "raw":
                    raw.append(time_raw(backend, texts_file, batch))
                else:
                    data = work / f"data{i}"
                    seconds, chunks = time_pipeline(backend, data)
                    pipe.append(seconds)
            print(f"repeat {i + 1}: raw {raw[-1]:.1f}s  pipeline {pipe[-1]:.1f}s", file=sys.stderr)
        reruns = time_reruns(backend, data, args.reruns)

    raw_med, pipe_med = statistics.median(raw), statistics.median(pipe)
    result = {
        "backend": backend,
        "chunks": chunks,
        "texts_embedded_raw": len(texts),
        "repeats": args.repeats,
        "raw_seconds_all": [round(r, 1) for r in raw],
        "pipeline_seconds_all": [round(p, 1) for p in pipe],
        "raw_seconds_median": round(raw_med, 2),
        "pipeline_seconds_median": round(pipe_med, 2),
        "raw_texts_per_s": round(len(texts) / raw_med, 2),
        "pipeline_texts_per_s": round(len(texts) / pipe_med, 2),
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
