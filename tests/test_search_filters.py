"""Time and source filters run inside each store before vector ranking, not on an over-fetched top list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twin_assets.embedding import embed
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, MEDIUM
from twin_query.search import search

# More near-duplicates outside the window than even a 10x over-fetch of the vector list (500) reaches: a
# filter applied after ranking would never see the one record inside it.
CROWD = 600
JAN = datetime(2024, 1, 10, tzinfo=UTC)


def _docs(tier: str) -> list[Document]:
    docs = [
        Document(
            id=f"{tier[0]}crowd{i}",
            source="email",
            kind="message",
            tier=tier,
            event_time=JAN + timedelta(days=40 + i),
            title="harbour ferry timetable",
            body=f"harbour ferry timetable number {i}",
            meta={"parties": []},
        )
        for i in range(CROWD)
    ]
    docs.append(
        Document(
            id=f"{tier[0]}needle",
            source="notes",
            kind="note",
            tier=tier,
            event_time=JAN,
            title="garden seeds",
            body="which tomato seeds to order for the garden",
            meta={"parties": []},
        )
    )
    return docs


def _load(twin, tier: str) -> None:
    docs = _docs(tier)
    store = twin.store(tier)
    store.put_many(docs)
    # One embedding for the crowd, jittered: embedding 600 texts would only slow the test down.
    crowd, needle_vec = embed([docs[0].text(), docs[-1].text()])
    jitter = np.random.default_rng(0).normal(0, 0.01, (CROWD, crowd.shape[0])).astype(np.float32)
    mat = np.vstack([crowd + jitter, needle_vec])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    ids = [d.id for d in docs]
    if tier == HIGH:
        store.mark_embedded(ids, mat)
    else:
        with twin.vectors() as vectors:
            metas = [{"source": d.source, "kind": d.kind, "ts": d.event_time.timestamp()} for d in docs]
            vectors.upsert(tier, ids, mat, metadatas=metas)
        store.mark_embedded(ids)


@pytest.mark.parametrize("tier", [LOW, MEDIUM, HIGH])
def test_filtered_vector_search_finds_what_the_filter_keeps(twin, tier):
    _load(twin, tier)
    needle = f"{tier[0]}needle"
    query = "harbour ferry timetable"

    plain = [h.id for h in search(twin, query, tiers=[tier], k=10, mode="vector")]
    assert needle not in plain  # the crowd outranks it

    jan = search(
        twin, query, tiers=[tier], k=10, mode="vector", since=JAN - timedelta(days=1), until=JAN + timedelta(days=1)
    )
    assert [h.id for h in jan] == [needle]
    by_source = search(twin, query, tiers=[tier], k=10, mode="vector", source="notes")
    assert [h.id for h in by_source] == [needle]
    assert search(twin, query, tiers=[tier], k=10, mode="vector", source="calendar") == []


def test_state_token_moves_on_own_and_other_connections_writes(twin, settings):
    from twin_assets.twin import open_twin

    store = twin.store(HIGH)
    before = store.state_token()
    assert store.state_token() == before  # reading changes nothing
    store.put_many(_docs(HIGH)[:1])
    after_own = store.state_token()
    assert after_own != before
    with open_twin(settings) as other:
        other.store(HIGH).put_many(_docs(HIGH)[1:2])
    assert store.state_token() != after_own
    with open_twin(settings) as other:
        assert other.store(HIGH).state_token() == store.state_token(), "the same store reads alike from any thread"


def test_many_candidates_filter_inside_chroma_on_low_metadata(twin, monkeypatch):
    monkeypatch.setattr("twin_query.search.EXACT_CANDIDATES", 2)
    _load(twin, LOW)
    until = JAN + timedelta(days=45)  # the needle and crowd 0-4: more candidates than are scored exactly
    hits = {h.id for h in search(twin, "harbour ferry timetable", tiers=[LOW], k=10, mode="vector", until=until)}
    # Chroma's filtered search is approximate (HNSW): every hit passes the filter, and nearly all are found.
    assert hits <= {"Lneedle", *(f"Lcrowd{i}" for i in range(5))}
    assert len(hits) >= 5
