"""The in-memory HIGH vector index: exact below the ANN threshold, IVF with 8-bit codes above it, and
filters always applied before ranking."""

from __future__ import annotations

import numpy as np
import pytest

from twin_assets.stores import HIGH
from twin_assets.stores.vectors import HighVectorIndex

DIM = 384


class _Store:
    """What the index reads from the HIGH document store: a change token and (id, float16 vector) batches."""

    tier = HIGH

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors.astype(np.float16)
        self.ids = [f"r{i:06d}" for i in range(len(vectors))]
        self.version = 1

    def state_token(self) -> tuple[int, int]:
        return self.version, 0

    def vector_count(self) -> int:
        return len(self.ids)

    def sample_vectors(self, size: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return self.vectors[np.sort(rng.choice(len(self.ids), size=min(size, len(self.ids)), replace=False))]

    def iter_vectors(self, batch: int = 5000):
        for start in range(0, len(self.ids), batch):
            yield self.ids[start : start + batch], self.vectors[start : start + batch].astype(np.float32)


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres, like topics in a mailbox (and like near-duplicate recurring events)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, DIM))
    x = centres[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact(store: _Store, q: np.ndarray, k: int, allowed: set[str] | None = None) -> list[str]:
    scores = store.vectors.astype(np.float32) @ q
    order = [i for i in np.argsort(-scores, kind="stable") if allowed is None or store.ids[i] in allowed]
    return [store.ids[i] for i in order[:k]]


@pytest.fixture(scope="module")
def data():
    x = _clustered(6000)
    return _Store(x), _clustered(40, seed=1)


def test_small_indexes_are_exact(data):
    store, queries = data
    index = HighVectorIndex(ann_min=10_000)
    for q in queries[:10]:
        assert [i for i, _ in index.query(store, q, 10)] == _exact(store, q, 10)
    assert index._ann is None


def test_large_indexes_find_nearly_all_true_neighbours_with_nearly_exact_scores(data):
    store, queries = data
    index = HighVectorIndex(ann_min=1000)
    recall = []
    for q in queries:
        got = index.query(store, q, 10)
        truth = _exact(store, q, 10)
        recall.append(len({i for i, _ in got} & set(truth)) / 10)
        row = {i: n for n, i in enumerate(store.ids)}
        for doc_id, score in got:  # cosines on 8-bit codes: within a hundredth of the exact ones
            assert score == pytest.approx(float(store.vectors[row[doc_id]].astype(np.float32) @ q), abs=0.01)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert index._ann is not None
    assert np.mean(recall) >= 0.9, np.mean(recall)


@pytest.mark.parametrize("share", [0.01, 0.6])
def test_filters_apply_before_ranking_on_large_indexes(data, share):
    store, queries = data
    index = HighVectorIndex(ann_min=1000)
    rng = np.random.default_rng(3)
    allowed = {i for i in store.ids if rng.random() < share}
    for q in queries[:10]:
        got = [i for i, _ in index.query(store, q, 10, allowed=allowed)]
        assert set(got) <= allowed
        if share < 0.1:  # few enough to score every one (on its 8-bit code: near ties may swap)
            truth = _exact(store, q, 10, allowed)
            assert got[0] == truth[0] and len(set(got) & set(truth)) >= 9
        else:
            assert len(set(got) & set(_exact(store, q, 10, allowed))) >= 8


def test_a_changed_store_is_reloaded(data):
    store, queries = data
    index = HighVectorIndex(ann_min=1000)
    index.query(store, queries[0], 5)
    small = _Store(store.vectors[:500].astype(np.float32))
    small.version = 2
    got = index.query(small, queries[0], 5)
    assert index._ann is None and {i for i, _ in got} <= set(small.ids)
