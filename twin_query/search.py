"""Hybrid search: keyword (BM25) and vector results per readable tier, fused by reciprocal rank.

Keyword search is not optional: on real mail BM25 found known messages far
better than vectors alone (docs/architecture.md, "Search"). Time and source filters run inside the
stores (SQL for keywords; an over-fetch then store-side filter for vectors),
and only tiers the caller may read are ever queried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from twin_assets.embedding import check_home_backend, embed_query
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, TIERS
from twin_assets.stores.documents import DocumentStore
from twin_assets.stores.vectors import ChromaVectors, HighVectorIndex, low_where
from twin_assets.twin import Twin

RRF_K = 60
# Keyword ranks count double in the fusion: on the demo's labelled queries (benchmarks/retrieval.py: known-item
# subjects, person names, topic keywords) nDCG@10 went 0.79 -> 0.85 from equal weights; vector-only was 0.53.
KEYWORD_WEIGHT = 2.0
SNIPPET = 240
EXACT_CANDIDATES = 5_000  # filtered vector searches score this many candidates exactly (one Chroma get)


@dataclass
class Hit:
    id: str
    source: str
    kind: str
    tier: str
    score: float
    timestamp: datetime | None
    title: str
    snippet: str


def snippet(doc: Document, query: str, size: int = SNIPPET) -> str:
    """A window of the body around the first query word found, else its start."""
    body = " ".join(doc.body.split())
    lower = body.lower()
    pos = -1
    for word in query.lower().split():
        pos = lower.find(word)
        if pos >= 0:
            break
    start = max(0, pos - size // 3) if pos >= 0 else 0
    text = body[start : start + size]
    return ("…" if start > 0 else "") + text + ("…" if start + size < len(body) else "")


def rrf(rankings: Iterable[list[str]], k: int = RRF_K, weights: Iterable[float] | None = None) -> dict[str, float]:
    scores: dict[str, float] = {}
    rankings = list(rankings)
    ws = list(weights) if weights is not None else [1.0] * len(rankings)
    for ranking, w in zip(rankings, ws, strict=True):
        for rank, doc_id in enumerate(ranking):
            scores[doc_id] = scores.get(doc_id, 0.0) + w / (k + rank + 1)
    return scores


def _vector_hits(
    high_index: HighVectorIndex,
    chroma: Callable[[], ChromaVectors],
    store: DocumentStore,
    vector: np.ndarray,
    fetch: int,
    since: datetime | None,
    until: datetime | None,
    source: str | None,
) -> list[tuple[str, float]]:
    """Filtered vector search, the filter applied before ranking. The store knows which ids pass; up to
    EXACT_CANDIDATES of them are scored exactly. Beyond that, LOW filters inside Chroma on its metadata;
    MEDIUM (whose vectors carry no metadata) over-fetches, then filters."""
    tier = store.tier
    allowed = store.matching_ids(
        since=since, until=until, source=source, limit=None if tier == HIGH else EXACT_CANDIDATES
    )
    if tier == HIGH:
        return high_index.query(store, vector, fetch, allowed=allowed)
    vectors = chroma()
    if allowed is not None:
        return vectors.score_ids(tier, vector, sorted(allowed), fetch)
    if tier == LOW:
        where = low_where(since.timestamp() if since else None, until.timestamp() if until else None, source)
        return vectors.query(tier, vector, fetch, where=where)
    hits = vectors.query(tier, vector, fetch * 10)
    keep = set(store.filter_ids([i for i, _ in hits], since=since, until=until, source=source))
    return [h for h in hits if h[0] in keep]


def search(
    twin: Twin,
    query: str,
    *,
    tiers: Iterable[str] = TIERS,
    k: int = 10,
    mode: str = "hybrid",
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    high_index: HighVectorIndex | None = None,
) -> list[Hit]:
    """Top ``k`` hits across the readable tiers; ``mode`` is hybrid, keyword or vector.

    ``high_index`` is the caller's HIGH vector index, kept between searches (a
    :class:`~twin_query.service.QueryService` holds one); without it this search builds its own.
    """
    high_index = high_index if high_index is not None else HighVectorIndex()
    tiers = [t for t in TIERS if t in set(tiers)]
    fetch = max(k * 5, 50)
    # One keyword list and one vector list across all readable tiers, each ordered by its
    # own score, then fused: fusing per-tier lists would give every tier's #1 the same rank.
    keyword: list[tuple[str, float]] = []
    semantic: list[tuple[str, float]] = []
    tier_of: dict[str, str] = {}
    vector: np.ndarray | None = None
    if mode in ("hybrid", "vector"):
        backend = check_home_backend(twin.settings, write=False)
        vector = embed_query(
            query, twin.settings.embedding.max_seq_length, backend=backend, models=twin.embedding_models
        )
    filtered = since is not None or until is not None or source is not None
    with contextlib.ExitStack() as stack:
        opened: list[ChromaVectors] = []

        def chroma() -> ChromaVectors:  # one Chroma client for all tiers of this search, opened only if needed
            if not opened:
                opened.append(stack.enter_context(twin.vectors()))
            return opened[0]

        for tier in tiers:
            store = twin.store(tier)
            if mode in ("hybrid", "keyword"):
                found = store.keyword_search(query, fetch, since=since, until=until, source=source)
                keyword += found
                tier_of.update((i, tier) for i, _ in found)
            if vector is None:
                continue
            if filtered:
                hits = _vector_hits(high_index, chroma, store, vector, fetch, since, until, source)
            elif tier == HIGH:
                hits = high_index.query(store, vector, fetch)
            else:
                hits = chroma().query(tier, vector, fetch)
            semantic += hits[:fetch]
            tier_of.update((i, tier) for i, _ in hits[:fetch])
    lists = [(KEYWORD_WEIGHT, keyword), (1.0, semantic)]
    rankings = [[i for i, _ in sorted(found, key=lambda h: -h[1])][:fetch] for _, found in lists if found]
    weights = [w for w, found in lists if found]
    fused = sorted(rrf(rankings, weights=weights).items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    by_tier: dict[str, list[str]] = {}
    for doc_id, _ in fused:
        by_tier.setdefault(tier_of[doc_id], []).append(doc_id)
    docs: dict[str, Document] = {}
    for tier, ids in by_tier.items():
        docs.update(twin.store(tier).get_many(ids))
    results: list[Hit] = []
    for doc_id, score in fused:
        doc = docs.get(doc_id)
        if doc is None:  # removed between ranking and fetching (forget, supersede)
            continue
        results.append(
            Hit(doc.id, doc.source, doc.kind, doc.tier, round(score, 6), doc.event_time, doc.title, snippet(doc, query))
        )
    return results
