"""Chroma access, built in one place: local persistent by default, a server with CHROMA_HOST.

Collections are always created with ``embedding_function=None``: we pass our own vectors,
so Chroma never instantiates its default embedder (which would try to download a model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.config import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


def make_chroma_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host,
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            settings=chroma_settings,
        )
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def create_collection(client: ClientAPI, name: str, model_id: str) -> Collection:
    return client.create_collection(
        name=name,
        embedding_function=None,
        metadata={"hnsw:space": "cosine", "embedding_model": model_id},
    )


def get_collection(client: ClientAPI, name: str) -> Collection:
    return client.get_collection(name=name, embedding_function=None)


def list_collection_names(client: ClientAPI) -> list[str]:
    names: list[str] = []
    for c in client.list_collections():
        names.append(c if isinstance(c, str) else c.name)
    return names


def add_batch(
    collection: Collection,
    ids: list[str],
    embeddings: list[list[float]],
    documents: list[str],
    metadatas: list[dict[str, Any]],
) -> None:
    collection.add(ids=ids, embeddings=embeddings, documents=documents, metadatas=metadatas)  # type: ignore[arg-type]
