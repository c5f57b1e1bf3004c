"""Hybrid search: keyword (BM25) and vector results per readable tier, fused by reciprocal rank.

Keyword search is not optional: on real mail BM25 found known messages far
better than vectors alone (docs/architecture.md, "Search"). Time and source filters run inside the
stores (SQL for keywords; an over-fetch then store-side filter for vectors),
and only tiers the caller may read are ever queried.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from twin_assets.embedding import check_home_backend, embed_query
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, TIERS
from twin_assets.stores.documents import DocumentStore
from twin_assets.stores.vectors import ChromaVectors, HighVectorIndex, low_where
from twin_assets.twin import Twin
from twin_query.query_fields import Fields, day_matches, day_window, parse_fields, sender_matches

RRF_K = 60
# Keyword ranks count double in the fusion: on the demo's labelled queries (benchmarks/retrieval.py: known-item
# subjects, person names, topic keywords) nDCG@10 went 0.79 -> 0.85 from equal weights; vector-only was 0.53.
KEYWORD_WEIGHT = 2.0
SNIPPET = 240
EXACT_CANDIDATES = 5_000  # filtered vector searches score this many candidates exactly (one Chroma get)
CANDIDATES = 3  # fused candidates per result looked at, so copies and field mismatches can be passed over
SAME_MESSAGE_WITHIN = timedelta(hours=36)  # copies of one message carry times hours apart (Enron: Notes vs Outlook)


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


_QP_DEBRIS = re.compile(r"=[0-9A-Fa-f]{2}|=\r?\n")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", re.I)


def content_identity(doc: Document) -> str:
    """What makes two stored documents the same message: subject without reply prefixes, and body as letters
    and digits only. Folder copies of one message can differ in Message-ID, in time (by hours), in the sender's
    spelling and in quoted-printable debris and line wrapping (all seen on Enron), so none of those count; a
    near-empty body keeps the sender, so two different one-liners under one subject stay apart. Times are
    compared separately (:data:`SAME_MESSAGE_WITHIN`)."""
    body = _NOT_ALNUM.sub("", _QP_DEBRIS.sub("", doc.body or "").lower())[:4000]
    subject = " ".join(_REPLY_PREFIX.sub("", doc.title or "").lower().split())
    key = f"{doc.source}|{doc.kind}|{subject}|{body}"
    if len(body) < 40:
        sender = next((p.get("email") or p.get("name") or "" for p in _parties(doc) if p.get("role") == "from"), "")
        key += "|" + str(sender).lower()
    return hashlib.sha256(key.encode()).hexdigest()


def _parties(doc: Document) -> list[dict]:
    parties = (doc.meta or {}).get("parties") or []
    return [p for p in parties if isinstance(p, dict)]


def distinct_messages(docs: list[Document]) -> list[Document]:
    """``docs`` (in order) without later copies of a message already listed: one hit per message however
    many folders hold a copy."""
    kept: list[Document] = []
    seen: dict[str, list[datetime | None]] = {}
    for doc in docs:
        key = content_identity(doc)
        times = seen.setdefault(key, [])
        t = doc.event_time
        if any(u is None or t is None or abs(t - u) <= SAME_MESSAGE_WITHIN for u in times):
            continue
        times.append(t)
        kept.append(doc)
    return kept


def subject_key(text: str) -> str:
    """A subject as compared for an exact match: reply prefixes, case, punctuation and spacing aside."""
    return " ".join(_NOT_ALNUM.sub(" ", _REPLY_PREFIX.sub("", text or "").lower()).split())


def field_rank(fields: Fields, doc: Document, subject: str = "") -> int:
    """How strongly a document matches what the query names besides its words: the whole query is the
    document's subject (a known message looked up by its subject: 2), and each of the sender and day named (1)."""
    exact = 2 if subject and subject_key(doc.title) == subject else 0
    if not fields:
        return exact
    return exact + int(sender_matches(fields, _parties(doc))) + int(day_matches(fields, doc.event_time))


def rrf(
    rankings: Iterable[list[str]], k: int | None = None, weights: Iterable[float] | None = None
) -> dict[str, float]:
    k = RRF_K if k is None else k
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


def _fused(
    twin: Twin,
    query: str,
    vector: np.ndarray | None,
    tiers: list[str],
    mode: str,
    fetch: int,
    since: datetime | None,
    until: datetime | None,
    source: str | None,
    high_index: HighVectorIndex,
) -> tuple[list[tuple[str, float]], dict[str, str]]:
    """One keyword list and one vector list across all readable tiers, each ordered by its own score, fused
    (fusing per-tier lists would give every tier's #1 the same rank); with each id's tier."""
    keyword: list[tuple[str, float]] = []
    semantic: list[tuple[str, float]] = []
    tier_of: dict[str, str] = {}
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
    return sorted(rrf(rankings, weights=weights).items(), key=lambda kv: (-kv[1], kv[0])), tier_of


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
    """Top ``k`` hits across the readable tiers; ``mode`` is hybrid, keyword or vector. ``since``/``until``
    bound every list (keyword and vector alike): nothing outside them is ranked.

    One hit per message: later copies of a message already listed (:func:`content_identity`) are passed
    over. A query that names a sender or a day (:mod:`twin_query.query_fields`: "what did Jeff send me on
    9/17/2001") puts the hits matching every named field first; a day with a year is also searched on its own,
    so messages of that day are candidates even when their words rank low overall.

    ``high_index`` is the caller's HIGH vector index, kept between searches (a
    :class:`~twin_query.service.QueryService` holds one); without it this search builds its own.
    """
    high_index = high_index if high_index is not None else HighVectorIndex()
    tiers = [t for t in TIERS if t in set(tiers)]
    fetch = max(k * 5, 50)
    vector: np.ndarray | None = None
    if mode in ("hybrid", "vector"):
        backend = check_home_backend(twin.settings, write=False)
        vector = embed_query(
            query, twin.settings.embedding.max_seq_length, backend=backend, models=twin.embedding_models
        )
    fields = parse_fields(query)
    fused, tier_of = _fused(twin, query, vector, tiers, mode, fetch, since, until, source, high_index)
    window = day_window(fields)
    if window is not None:
        lo = max(window[0], since) if since else window[0]
        hi = min(window[1], until) if until else window[1]
        if lo < hi:
            on_day, more = _fused(twin, query, vector, tiers, mode, fetch, lo, hi, source, high_index)
            tier_of.update(more)
            scores = dict(fused)
            for doc_id, score in on_day:  # the day's own ranking joins the overall one
                scores[doc_id] = scores.get(doc_id, 0.0) + score
            fused = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    candidates = fused[: k * CANDIDATES + (fetch if fields else 0)]
    by_tier: dict[str, list[str]] = {}
    for doc_id, _ in candidates:
        by_tier.setdefault(tier_of[doc_id], []).append(doc_id)
    docs: dict[str, Document] = {}
    for tier, ids in by_tier.items():
        docs.update(twin.store(tier).get_many(ids))
    score_of = dict(candidates)
    # removed between ranking and fetching (forget, supersede): not listed
    ordered = [docs[i] for i, _ in candidates if i in docs]
    subject = subject_key(query)
    ordered.sort(key=lambda d: -field_rank(fields, d, subject))  # stable: the fused order within each level
    results: list[Hit] = []
    for doc in distinct_messages(ordered)[:k]:
        results.append(
            Hit(
                doc.id,
                doc.source,
                doc.kind,
                doc.tier,
                round(score_of[doc.id], 6),
                doc.event_time,
                doc.title,
                snippet(doc, query),
            )
        )
    return results
