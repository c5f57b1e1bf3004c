"""Vector indexes per tier: Chroma for LOW and MEDIUM, encrypted vectors for HIGH.

One collection per tier (a broad ``where`` filter costs 100x), and
we always pass our own embeddings — Chroma's default embedding function
downloads a model. MEDIUM vectors carry no document and no metadata; HIGH
vectors never reach Chroma (it stores vectors in the clear, and text can be
recovered from embeddings): they live encrypted in the HIGH document store and
are searched in memory after unlocking.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
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
        self,
        tier: str,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
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

    def purge_log(self, ids: Sequence[str], chroma_dir: Path | None) -> int:
        """Drop not-yet-compacted writes for these ids from Chroma's write-ahead log in ``chroma_dir``.

        After a delete, Chroma still holds the original add (with its vector) in
        ``embeddings_queue`` until it compacts; forgetting must not leave it there.
        Only the add/update/upsert entries go, so the delete still applies. With a
        server whose files are out of reach (``chroma_dir`` None), returns -1 and
        the caller says so.
        """
        import sqlite3

        if chroma_dir is None:
            return -1
        path = chroma_dir / "chroma.sqlite3"
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
        n: int = self.collection(tier).count()
        return n


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


# Beyond this many HIGH vectors, an unfiltered search goes through an in-memory IVF index instead of scoring
# every vector: exact scoring reads the whole matrix per query (~1.2 GB at 800k vectors, ~100 ms on 2 cores).
ANN_MIN_VECTORS = 100_000
ANN_NPROBE = 32  # lists searched per query: ~3% of the vectors at a million
ANN_FILTER_OVERFETCH = 40  # candidates per wanted hit when a broad filter will drop some
EXACT_SUBSET = 20_000  # a filtered search scores up to this many allowed vectors exactly


def _ann_lists(n: int) -> int:
    # ~sqrt(n) lists, trained on 40 points per list for 10 rounds: ~10 s at a million vectors on 2 cores (faiss's
    # defaults, 4*sqrt(n) lists and 25 rounds, would take minutes on every reload of the API's index).
    return int(min(1024, max(16, np.sqrt(n))))


def _ann_index(sample: np.ndarray, n: int) -> Any:
    """An untrained-then-trained, empty IVF index with 8-bit scalar-quantised vectors (a quarter of the float32
    size), in memory only: it will hold decrypted HIGH vectors and is never written anywhere."""
    import faiss

    dim = sample.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, _ann_lists(n), faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.niter = 10
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.nprobe = ANN_NPROBE
    return index


class HighVectorIndex:
    """Decrypted HIGH vectors in memory only, rebuilt when the store changes.

    Up to ANN_MIN_VECTORS every search is exact (float32 matrix). Beyond, the vectors live only in an IVF index
    with 8-bit scalar-quantised codes: an unfiltered search takes the index's top hits, scored on those codes,
    and a filtered one scores the allowed vectors (at most EXACT_SUBSET) rebuilt from their codes. Keeping a
    float16 copy beside the codes to re-score from cost ~0.7 GB at a million vectors and, on the demo's labelled
    queries, changed no figure beyond 0.004 nDCG."""

    def __init__(self, ann_min: int = ANN_MIN_VECTORS) -> None:
        self.ann_min = ann_min
        self._token: tuple[str, int] | None = None  # DocumentStore.state_token() when the index was built
        self._ids: list[str] = []
        self._matrix: np.ndarray | None = np.zeros((0, 0), dtype=np.float32)
        self._rows: dict[str, int] | None = None
        self._ann: Any = None
        self._building = threading.Lock()  # the server's warm-up and a first search must not build it twice

    def refresh(self, store: DocumentStore, seed: int = 0) -> None:
        if store.state_token() == self._token:
            return
        with self._building:
            self._refresh(store, seed)

    def _refresh(self, store: DocumentStore, seed: int) -> None:
        token = store.state_token()
        if token == self._token:
            return
        ids: list[str] = []
        n = store.vector_count()
        self._matrix = self._ann = None  # the old index goes before the new one is built
        if n >= self.ann_min:
            # Trained on a random sample, then filled batch by batch as the store is read: the decrypted matrix
            # is never held whole (at a million vectors that, and its float16 parts, were 1.5 GB of the API's peak).
            self._ann = _ann_index(store.sample_vectors(40 * _ann_lists(n), seed), n)
            for batch_ids, mat in store.iter_vectors():
                ids.extend(batch_ids)
                self._ann.add(mat)
            self._ann.make_direct_map()  # row -> code, for the filtered exact path
        else:
            matrix = np.zeros((n, 0), dtype=np.float32)
            row = 0
            for batch_ids, mat in store.iter_vectors():
                if not row:
                    matrix = np.zeros((n, mat.shape[1]), dtype=np.float32)
                matrix[row : row + len(mat)] = mat
                row += len(mat)
                ids.extend(batch_ids)
            self._matrix = matrix[:row]
        self._ids, self._rows = ids, None
        self._token = token

    def _exact(self, rows: np.ndarray | None, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        if self._matrix is not None:
            mat = self._matrix if rows is None else self._matrix[rows]
        else:
            assert rows is not None
            mat = (
                self._ann.reconstruct_batch(rows.astype(np.int64))
                if len(rows)
                else np.zeros((0, len(vector)), np.float32)
            )
        scores = mat @ vector
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i if rows is None else rows[i]], float(scores[i])) for i in top]

    def _allowed_rows(self, allowed: set[str]) -> np.ndarray:
        if self._rows is None:
            self._rows = {doc_id: row for row, doc_id in enumerate(self._ids)}
        return np.fromiter(sorted(r for i in allowed if (r := self._rows.get(i)) is not None), dtype=np.int64)

    def query(
        self, store: DocumentStore, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top ``k``; ``allowed`` restricts the candidates (time/source filters applied before ranking)."""
        assert store.tier == HIGH
        self.refresh(store)
        if not self._ids:
            return []
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        if self._ann is None:
            if allowed is None:
                return self._exact(None, vector, k)
            return self._exact(self._allowed_rows(allowed), vector, k)
        if allowed is not None and len(allowed) <= EXACT_SUBSET:
            return self._exact(self._allowed_rows(allowed), vector, k)
        want = k if allowed is None else k * ANN_FILTER_OVERFETCH
        scores, found = self._ann.search(vector.reshape(1, -1), min(want, len(self._ids)))
        hits = [(self._ids[r], float(s)) for r, s in zip(found[0], scores[0], strict=True) if r >= 0]
        if allowed is not None:
            hits = [h for h in hits if h[0] in allowed]
            if len(hits) < k:  # a broad filter the candidates missed: score every allowed vector
                return self._exact(self._allowed_rows(allowed), vector, k)
        return hits[:k]
