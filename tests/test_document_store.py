"""Tier stores: upsert, keyword search with filters, and what reaches the disk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, MEDIUM

CANARY = "zebracanary42"


def _doc(i: int, tier: str, body: str, when: datetime | None = None) -> Document:
    return Document(
        id=f"r{i}",
        source="email",
        kind="message",
        tier=tier,
        event_time=when or datetime(2024, 1, i, tzinfo=UTC),
        title=f"title {i}",
        body=body,
        meta={"parties": []},
    )


@pytest.mark.parametrize("tier", [HIGH, MEDIUM, LOW])
def test_put_get_search_delete(twin, tier):
    store = twin.store(tier)
    store.put_many([_doc(1, tier, f"quarterly budget {CANARY}"), _doc(2, tier, "holiday photos")])
    store.put_many([_doc(1, tier, f"quarterly budget {CANARY}")])  # idempotent upsert
    assert store.count() == 2
    assert [i for i, _ in store.keyword_search("budget")] == ["r1"]
    assert store.get("r1").body.endswith(CANARY)
    since = datetime(2024, 1, 2, tzinfo=UTC)
    assert [i for i, _ in store.keyword_search("budget holiday", since=since)] == ["r2"]
    assert store.delete(["r1"]) == 1
    assert store.keyword_search("budget") == []


def test_fts_query_is_not_injectable(twin):
    store = twin.store(LOW)
    store.put_many([_doc(1, LOW, "alpha beta")])
    for nasty in ['"', "alpha OR", "NEAR(", "*", "alpha AND NOT beta", "col:alpha"]:
        store.keyword_search(nasty)  # must not raise


@pytest.mark.parametrize("tier", [HIGH, MEDIUM])
def test_encrypted_tiers_leave_no_plaintext_on_disk(twin, tier):
    store = twin.store(tier)
    store.put_many([_doc(i, tier, f"{CANARY} number {i}") for i in range(1, 30)])
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in twin.settings.stores_dir.glob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name


def test_low_tier_is_plain_so_the_scan_can_see(twin):
    store = twin.store(LOW)
    store.put_many([_doc(1, LOW, CANARY)])
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert CANARY.encode() in twin.store_path(LOW).read_bytes()


def test_fts_query_drops_function_words_unless_nothing_else_is_left():
    from twin_assets.stores.documents import fts_query

    assert fts_query("what did I pay for the flight to Lisbon") == '"pay" OR "flight" OR "lisbon"'
    assert fts_query("to be or not to be") == '"to" OR "be" OR "or" OR "not"'


def test_unfiltered_and_filtered_keyword_search_rank_alike(twin):
    store = twin.store(MEDIUM)
    store.put_many(
        [
            _doc(i, MEDIUM, body)
            for i, body in enumerate(
                ["budget budget budget", "budget review", "holiday budget plan", "holiday photos"], start=1
            )
        ]
    )
    fast = store.keyword_search("budget holiday", 10)
    joined = store.keyword_search("budget holiday", 10, since=datetime(2000, 1, 1, tzinfo=UTC))
    assert fast == joined and {i for i, _ in fast} == {"r1", "r2", "r3", "r4"}


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_metadata_reads_back_exactly_even_where_the_fast_decoder_refuses_it(twin, tier):
    meta = {
        "parties": [{"name": "Å. Ørsted", "email": "a@example.org", "role": "from"}],
        "attributes": {"amount": -12.5, "nan": float("nan"), "big": 2**70, "nested": {"list": [1, None, True]}},
    }
    store = twin.store(tier)
    store.put_many(
        [
            Document(
                id="r9",
                source="bank_csv",
                kind="transaction",
                tier=tier,
                event_time=None,
                title="",
                body="x",
                meta=meta,
            )
        ]
    )
    got = store.get("r9").meta
    assert got["parties"] == meta["parties"] and got["attributes"]["big"] == 2**70
    assert got["attributes"]["nested"] == {"list": [1, None, True]}
    assert got["attributes"]["nan"] != got["attributes"]["nan"]  # NaN survives as NaN


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_keyword_search_ranks_all_word_matches_alone_when_there_are_enough(twin, tier):
    store = twin.store(tier)
    # One document says the rarer word five times (an any-word query ranks it first); three have both words.
    docs = [_doc(1, tier, "quarterly quarterly quarterly quarterly quarterly")]
    docs += [_doc(i, tier, "quarterly budget review and other notes") for i in range(2, 5)]
    docs += [_doc(i, tier, f"budget line {i}") for i in range(5, 25)]
    store.put_many(docs)
    both = {"r2", "r3", "r4"}
    assert {i for i, _ in store.keyword_search("quarterly budget", 3)} == both
    # Fewer than k documents have both words: every document with any word is ranked, the repeated one first.
    wide = [i for i, _ in store.keyword_search("quarterly budget", 6)]
    assert wide[0] == "r1" and both < set(wide)
    # Filters apply to both queries.
    since = datetime(2024, 1, 3, tzinfo=UTC)
    assert {i for i, _ in store.keyword_search("quarterly budget", 2, since=since)} == {"r3", "r4"}


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_an_any_word_search_leaves_out_words_too_common_to_rank_cheaply(twin, tier, monkeypatch):
    from twin_assets.stores import documents

    monkeypatch.setattr(documents, "OR_POSTINGS", 10)
    store = twin.store(tier)
    store.put_many(
        [_doc(i, tier, f"weekly meeting number {i}") for i in range(1, 29)]
        + [_doc(29, tier, "lisbon flight"), _doc(30, tier, "meeting about the lisbon flight")]
    )
    # "meeting" is in 29 of 30 documents: ranking it would score nearly all of them.
    hits = [i for i, _ in store.keyword_search("meeting lisbon", 10)]
    assert sorted(hits) == ["r29", "r30"]
    # Within the budget every word is ranked, as before.
    monkeypatch.setattr(documents, "OR_POSTINGS", 1000)
    store._common = None
    assert len(store.keyword_search("meeting lisbon", 10)) == 10


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_words_too_common_to_weigh_give_the_newest_matches_title_first(twin, tier, monkeypatch):
    from twin_assets.stores import documents

    monkeypatch.setattr(documents, "RANK_POSTINGS", 10)
    monkeypatch.setattr(documents, "OR_POSTINGS", 10)
    store = twin.store(tier)
    docs = [_doc(i, tier, f"quarterly budget review {i}") for i in range(1, 21)]
    docs[4] = Document(
        "r5",
        "email",
        "message",
        tier,
        datetime(2024, 1, 5, tzinfo=UTC),
        "Quarterly budget",
        "see attached",
        {"parties": []},
    )
    docs += [_doc(i, tier, f"budget line {i}") for i in range(21, 31)]
    store.put_many(docs)
    store._common = None
    ranked = []
    monkeypatch.setattr(store, "_ranked", lambda *a: ranked.append(a) or [])
    hits = [i for i, _ in store.keyword_search("quarterly budget", 4)]
    assert not ranked, "BM25 would read every posting of both words"
    assert hits == ["r5", "r20", "r19", "r18"], "the title match, then the newest with both words"
    since, until = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC)
    assert [i for i, _ in store.keyword_search("quarterly budget", 4, since=since, until=until)] == ["r3", "r2"]


def test_vectors_are_counted_sampled_and_looked_up_by_id(twin):
    import numpy as np

    store = twin.store(HIGH)
    docs = [_doc(i, HIGH, f"note {i}") for i in range(1, 21)]
    store.put_many(docs)
    vectors = np.eye(20, 384, dtype=np.float32)
    store.mark_embedded([d.id for d in docs[:15]], vectors[:15])
    assert store.vector_count() == 15
    sample = store.sample_vectors(5, seed=1)
    assert sample.shape == (5, 384) and all(any(np.array_equal(s, v) for v in vectors[:15]) for s in sample)
    assert store.sample_vectors(100).shape == (15, 384)
    got = {i: v for ids, mat in store.get_vectors(["r2", "r16", "r9"]) for i, v in zip(ids, mat, strict=True)}
    assert set(got) == {"r2", "r9"} and np.array_equal(got["r9"], vectors[8])


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_every_document_is_read_once_in_batches_in_storage_order(twin, tier):
    store = twin.store(tier)
    store.put_many([_doc(i, tier, f"body {i}") for i in range(1, 8)])
    store.delete(["r3"])
    batches = list(store.iter_documents(batch=3))
    assert [len(b) for b in batches] == [3, 3]
    got = [d for b in batches for d in b]
    assert [d.id for d in got] == store.ids()
    assert got == list(store.get_many(store.ids()).values())
