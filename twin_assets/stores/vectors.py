"""Vector indexes per tier: Chroma for LOW and MEDIUM, encrypted vectors for HIGH.

One collection per tier (DESIGN.md: a broad ``where`` filter costs 100x), and
we always pass our own embeddings — Chroma's default embedding function
downloads a model. MEDIUM vectors carry no document and no metadata; HIGH
vectors never reach Chroma (it stores vectors in the clear, and text can be
recovered from embeddings): they live encrypted in the HIGH document store and
are searched in memory after unlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from twin_assets.stores import HIGH, LOW, MEDIUM
from twin_assets.stores.documents import DocumentStore

# Chroma's operation codes in its write-ahead log (embeddings_queue): add, update, upsert, delete.
_LOG_WRITES = (0, 1, 2)


def collection_name(tier: str) -> str:
    return f"twin_{tier.lower()}"


class ChromaVectors:
    """LOW and MEDIUM vectors in Chroma through whichever client the topology gives."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._collections: dict[str, Any] = {}

    def collection(self, tier: str) -> Any:
        if tier not in (LOW, MEDIUM):
            raise ValueError(f"tier {tier} vectors are not kept in Chroma")
        col = self._collections.get(tier)
        if col is None:
            col = self.client.get_or_create_collection(
                collection_name(tier), metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            self._collections[tier] = col
        return col

    def upsert(
        self, tier: str, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Vectors only: text stays in the tier's own store, where forget can reach it. Chroma would
        keep a copy in its write-ahead log until it compacts, beyond forget's reach with a server."""
        if not ids:
            return
        kwargs: dict[str, Any] = {"ids": list(ids), "embeddings": vectors.astype(np.float32)}
        if tier == LOW and metadatas is not None:
            kwargs["metadatas"] = list(metadatas)
        self.collection(tier).upsert(**kwargs)

    def query(
        self, tier: str, vector: np.ndarray, k: int, where: dict[str, Any] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest ``k`` (fewer if the collection is smaller); ``where`` filters on LOW metadata and ``ids``
        restricts the candidates, both inside Chroma."""
        kwargs: dict[str, Any] = {"where": where} if where else {}
        if ids is not None:
            kwargs["ids"] = list(ids)
        res = self.collection(tier).query(
            query_embeddings=[vector.astype(np.float32)], n_results=k, include=["distances"], **kwargs
        )
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def score_ids(self, tier: str, vector: np.ndarray, ids: Sequence[str], k: int) -> list[tuple[str, float]]:
        """Exact top ``k`` among ``ids``. Chroma's filtered HNSW search (``where``/``ids``) can miss a match
        outright when the filter keeps few vectors among near-duplicates (seen with chromadb 1.5.9 on
        repeated calendar-like texts), so a small candidate set is scored here instead."""
        found_ids: list[str] = []
        parts: list[np.ndarray] = []
        col = self.collection(tier)
        for start in range(0, len(ids), 1000):
            got = col.get(ids=list(ids[start : start + 1000]), include=["embeddings"])
            found_ids.extend(got["ids"])
            parts.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1))
        if not found_ids:
            return []
        scores = np.concatenate(parts) @ vector.astype(np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(found_ids[i], float(scores[i])) for i in order]

    def delete(self, tier: str, ids: Sequence[str]) -> None:
        if ids:
            self.collection(tier).delete(ids=list(ids))

    def purge_log(self, ids: Sequence[str]) -> int:
        """Drop not-yet-compacted writes for these ids from embedded Chroma's write-ahead log.

        After a delete, Chroma still holds the original add (with its vector) in
        ``embeddings_queue`` until it compacts; forgetting must not leave it there.
        Only the add/update/upsert entries go, so the delete still applies. With a
        Chroma server the log is out of reach: returns -1 and the caller says so.
        """
        import sqlite3

        settings = self.client.get_settings()
        if not getattr(settings, "is_persistent", False) or not settings.persist_directory:
            return -1
        path = f"{settings.persist_directory}/chroma.sqlite3"
        n = 0
        with sqlite3.connect(path, timeout=30) as conn:
            conn.execute("PRAGMA secure_delete = ON")
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                n += conn.execute(
                    f"DELETE FROM embeddings_queue WHERE id IN ({','.join('?' * len(chunk))}) "
                    f"AND operation IN ({','.join('?' * len(_LOG_WRITES))})",
                    [*chunk, *_LOG_WRITES],
                ).rowcount
        if n:
            with sqlite3.connect(path, timeout=30) as conn:
                conn.execute("VACUUM")
        return n

    def count(self, tier: str) -> int:
        return self.collection(tier).count()


_shared: dict[int, tuple[Any, ChromaVectors]] = {}


def vectors_for(client: Any) -> ChromaVectors:
    """Collection handles survive across calls on a shared (HTTP) client; a search then costs one round trip."""
    from twin_assets.stores.chroma_client import is_shared

    if not is_shared(client):
        return ChromaVectors(client)
    entry = _shared.get(id(client))
    if entry is None or entry[0] is not client:
        entry = _shared[id(client)] = (client, ChromaVectors(client))
    return entry[1]


def low_where(since: float | None, until: float | None, source: str | None) -> dict[str, Any] | None:
    """A Chroma filter on the LOW metadata (``ts`` seconds, ``source``); undated records have ts -1."""
    parts: list[dict[str, Any]] = []
    if since is not None:
        parts.append({"ts": {"$gte": since}})
    if until is not None:
        parts.append({"ts": {"$lt": until}})
    if source is not None:
        parts.append({"source": source})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class HighVectorIndex:
    """Decrypted HIGH vectors in memory only, rebuilt when the store changes."""

    def __init__(self) -> None:
        self._token: tuple[int, int] | None = None
        self._ids: list[str] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    def refresh(self, store: DocumentStore) -> None:
        token = store.state_token()
        if token == self._token:
            return
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for batch_ids, mat in store.iter_vectors():
            ids.extend(batch_ids)
            parts.append(mat)
        self._ids = ids
        self._matrix = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        self._token = token

    def query(
        self, store: DocumentStore, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Exact top ``k``; ``allowed`` restricts the candidates (time/source filters applied before ranking)."""
        assert store.tier == HIGH
        self.refresh(store)
        if not self._ids:
            return []
        scores = self._matrix @ vector.astype(np.float32)
        if allowed is not None:
            mask = np.fromiter((i in allowed for i in self._ids), dtype=bool, count=len(self._ids))
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
            if k == 0:
                return []
        k = min(k, len(self._ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self._ids[i], float(scores[i])) for i in top]
