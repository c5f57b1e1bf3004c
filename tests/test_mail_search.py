"""Search over mail: one hit per message (content identity, not Message-ID), sender and day as fields, the time
bounds honoured by keyword and vector search alike, and fusion that does not lose to either side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twin_assets.embedding import embed
from twin_assets.records import Document
from twin_assets.stores import HIGH
from twin_query.query_fields import day_matches, parse_fields, sender_matches
from twin_query.search import content_identity, distinct_messages, search

T0 = datetime(2001, 10, 16, 18, 0, tzinfo=UTC)


def _doc(doc_id: str, title: str, body: str, when: datetime, sender: str = "a@x.com", name: str = "") -> Document:
    return Document(
        id=doc_id,
        source="email",
        kind="message",
        tier=HIGH,
        event_time=when,
        title=title,
        body=body,
        meta={"parties": [{"role": "from", "email": sender, "name": name}, {"role": "to", "email": "me@x.com"}]},
    )


def _put(twin, docs: list[Document], vectors: bool = False) -> None:
    store = twin.store(HIGH)
    store.put_many(docs)
    if vectors:
        store.mark_embedded([d.id for d in docs], embed([d.text() for d in docs]))


# ---- one hit per message ---------------------------------------------------------------------------------
COPIES = [
    # The same message in three folders: own ids, times 10 hours apart, wrapping and quoted-printable debris.
    _doc("c1", "Gas curve", "Could you send the curve?\nWe look at 2007 onwards.", T0),
    _doc("c2", "Gas curve", "Could you send the=20\ncurve? We look at 2007 onwards.", T0 - timedelta(hours=10)),
    _doc("c3", "RE: Gas curve", "Could you  send the curve?  We look at\n2007 onwards.", T0 + timedelta(hours=2)),
]


def test_copies_of_a_message_share_one_identity_and_other_messages_do_not():
    assert len({content_identity(d) for d in COPIES}) == 1
    other = _doc("o", "Gas curve", "The curve is attached.", T0)
    later = _doc("l", "Gas curve", COPIES[0].body, T0 + timedelta(days=9))  # re-sent a week later: a new message
    kept = distinct_messages([*COPIES, other, later])
    assert [d.id for d in kept] == ["c1", "o", "l"]


def test_one_liners_under_one_subject_stay_apart_by_sender():
    a = _doc("a", "RE:", "thanks", T0, sender="a@x.com")
    b = _doc("b", "RE:", "thanks", T0, sender="b@x.com")
    assert len(distinct_messages([a, b])) == 2


def test_search_lists_one_copy(twin):
    _put(twin, [*COPIES, _doc("n", "Lunch", "gas station lunch", T0)])
    ids = [h.id for h in search(twin, "gas curve", tiers=[HIGH], k=10, mode="keyword")]
    assert len([i for i in ids if i.startswith("c")]) == 1
    assert "n" in ids


# ---- sender and day as fields --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "sender", "day"),
    [
        ("what did Luchas Johnson send me on October 16 2001?", ("luchas", "johnson"), (2001, 10, 16)),
        ("email from Anne Moisan on 19 October 2001", ("anne", "moisan"), (2001, 10, 19)),
        ("message from Kevin on 9/17/2001", ("kevin",), (2001, 9, 17)),
        ("what did Jeff say about the gas deal", ("jeff",), None),
        ("what was the hub P&L on October 17?", (), (None, 10, 17)),
        ("mail from jeff@x.com", ("jeff@x.com",), None),
        ("who asked me to call?", (), None),
    ],
)
def test_query_fields(query, sender, day):
    f = parse_fields(query)
    assert f.sender == sender
    assert f.day == day


def test_field_matching():
    f = parse_fields("what did Luchas Johnson send me on October 16 2001")
    parties = [{"role": "from", "email": "luchas.johnson@x.com", "name": None}]
    assert sender_matches(f, parties)
    assert not sender_matches(f, [{"role": "to", "email": "luchas.johnson@x.com"}])
    assert day_matches(f, T0) and day_matches(f, T0 + timedelta(hours=10))  # a local evening is the next UTC day
    assert not day_matches(f, T0 + timedelta(days=2))


def test_named_sender_and_day_come_first(twin):
    docs = [
        _doc("p14", "P&L", "daily P&L estimate 100", T0 - timedelta(days=2), "luchas.johnson@x.com", "Luchas Johnson"),
        _doc("p16", "P&L", "daily P&L estimate 200", T0, "luchas.johnson@x.com", "Luchas Johnson"),
        _doc("q16", "P&L", "daily P&L estimate, P&L again", T0, "other@x.com", "Someone Else"),
    ]
    _put(twin, docs)
    hits = search(twin, "what did Luchas Johnson send me on October 16 2001", tiers=[HIGH], k=3, mode="keyword")
    assert hits[0].id == "p16"
    assert [h.id for h in hits[1:]] == ["p14"]  # the sender's other day; the other sender's words do not match


def test_the_keyword_index_holds_the_parties(twin):
    _put(twin, [_doc("m", "Hello", "see you", T0, "zed.quill@x.com", "Zed Quill")])
    assert [h for h, _ in twin.store(HIGH).keyword_search("quill", 5)] == ["m"]


# ---- time bounds -----------------------------------------------------------------------------------------
def test_keyword_and_vector_search_leave_out_what_is_after_until(twin):
    docs = [
        _doc("old", "Harbour ferry", "the harbour ferry timetable for winter", T0),
        _doc("new", "Harbour ferry", "the harbour ferry timetable for summer", T0 + timedelta(days=30)),
    ]
    _put(twin, docs, vectors=True)
    for mode in ("keyword", "vector", "hybrid"):
        ids = [h.id for h in search(twin, "harbour ferry", tiers=[HIGH], k=5, mode=mode, until=T0 + timedelta(days=1))]
        assert ids == ["old"], mode


# ---- fusion ----------------------------------------------------------------------------------------------
FUSION_DOCS = [
    _doc("k1", "Invoice 7741", "payment reference 7741 for the scaffolding", T0),
    _doc("k2", "Zorblat meeting", "agenda for the zorblat review", T0),
    _doc("v1", "Weekend", "we hiked up the mountain and slept in a tent under the stars", T0),
    _doc("v2", "Dinner", "my grandmother cooked a huge pasta feast for the whole family", T0),
    _doc("x1", "Printer", "the printer on floor three is out of toner", T0),
    _doc("x2", "Parking", "the garage will be closed for repainting on friday", T0),
]
FUSION_QUERIES = {  # words only the keyword side can match, paraphrases only the vector side can
    "7741": "k1",
    "zorblat": "k2",
    "camping trip in the hills overnight": "v1",
    "grandma made a big italian meal for relatives": "v2",
}


def test_hybrid_does_not_lose_to_either_side(twin):
    _put(twin, FUSION_DOCS, vectors=True)

    def mrr(mode: str) -> float:
        total = 0.0
        for query, want in FUSION_QUERIES.items():
            ids = [h.id for h in search(twin, query, tiers=[HIGH], k=5, mode=mode)]
            total += 1 / (ids.index(want) + 1) if want in ids else 0.0
        return total / len(FUSION_QUERIES)

    hybrid, keyword, vector = mrr("hybrid"), mrr("keyword"), mrr("vector")
    assert hybrid >= keyword and hybrid >= vector
    assert hybrid > 0.9
