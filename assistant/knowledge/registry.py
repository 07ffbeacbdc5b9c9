"""Index generations shared by replicas through the database (``SHARED_INDEX``).

A generation is a Chroma collection (on the shared Chroma server) plus local files: the
manifest, the BM25 index, the chunks and the answer bank's phrasing vectors. A replica on
another machine has none of those files, so an ingest *publishes* them: the generation
folder as one gzipped tar and the manifest, in one row of ``index_generations``. The
newest row is the live generation of every replica; publishing it is the commit point for
the fleet, as writing the local manifest is for one machine.

A serving replica polls the live generation every ``INDEX_POLL_SECONDS``; when it
changed, it unpacks the archive into its own data folder and writes its local manifest,
and the retrieval engine then swaps to it (until then it serves the old one). Each poll
also records which generation this replica serves (``index_replicas``), and garbage
collection keeps every collection a replica served within ``INDEX_GC_GRACE_SECONDS``.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.knowledge.index import KnowledgeIndex, Manifest
    from assistant.storage import Store

log = logging.getLogger(__name__)


def pack(folder: Path) -> bytes:
    """The files of a generation folder, subfolders included, as a gzipped tar (names
    relative to it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=3) as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
    return buf.getvalue()


def unpack(data: bytes, folder: Path) -> None:
    """Extract an archive made by :func:`pack` into ``folder``, whole or not at all: into a
    temporary sibling first, then renamed (a reader never sees half a generation). The
    ``data`` filter refuses links, absolute paths and ``..``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@lru_cache(maxsize=4)
def _store(url: str) -> Store:
    """One store (one connection pool) per database for every index object of a process."""
    from assistant.storage import Store

    return Store(url)


class IndexRegistry:
    """Publish, adopt and garbage-collect generations through one :class:`Store`."""

    def __init__(self, store: Store, settings: Settings, replica: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.replica = replica or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._polled = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexRegistry | None:
        if not settings.index_shared or not settings.database_url:
            return None
        return cls(_store(settings.database_url), settings)

    def publish(self, manifest: Manifest, folder: Path) -> None:
        """Make ``manifest``'s generation the live one for every replica."""
        self.store.publish_generation(
            manifest.generation, manifest.collection, manifest.model_dump_json(), pack(folder)
        )

    def adopt(self, index: KnowledgeIndex) -> bool:
        """Bring the local index to the database's live generation when they differ: unpack
        its files, then write the local manifest (the local commit point). True when the
        local manifest changed."""
        from assistant.knowledge.index import Manifest

        live = self.store.live_generation()
        if live is None:
            return False
        generation, manifest_json = live
        local = index.read_manifest()
        if local is not None and local.generation == generation:
            return False
        data = self.store.generation_artifact(generation)
        if data is None:  # collected between the two reads; the next poll sees the newer one
            return False
        manifest = Manifest.model_validate_json(manifest_json)
        unpack(data, index.generation_dir(generation))
        index.write_manifest(manifest)
        # Local copies of older generations: keep the one served until now, drop the rest.
        keep = {generation, local.generation if local is not None else ""}
        for child in index.generation_dir(generation).parent.iterdir():
            if child.name not in keep and not child.name.startswith("."):
                shutil.rmtree(child, ignore_errors=True)
        log.info("index generation %s adopted from the database", generation)
        return True

    def poll(self, index: KnowledgeIndex, serving: str | None) -> None:
        """At most every ``index_poll_seconds``: adopt a new live generation and record the
        one this replica serves. A database error is logged; the replica keeps serving."""
        now = time.monotonic()
        with self._lock:
            if now - self._polled < self.settings.index_poll_seconds:
                return
            self._polled = now
        try:
            if serving is not None:
                self.store.replica_serves(self.replica, serving)
            index.adopt_shared(self)
        except Exception as err:
            log.warning("could not check the shared index generation: %s", err)

    def serving(self, generation: str) -> None:
        """Record at once that this replica now serves ``generation`` (after a load), so a
        garbage collection that starts now keeps its collection."""
        try:
            self.store.replica_serves(self.replica, generation)
        except Exception as err:
            log.warning("could not record the served index generation: %s", err)

    def in_use(self) -> dict[str, str]:
        """{generation: collection} that garbage collection must keep."""
        return self.store.generations_in_use(self.settings.index_gc_grace_seconds)
