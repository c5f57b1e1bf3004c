"""The questions benchmark's expected answers are computed right (no twin, no materialization)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks import questions as qb
from twin_assets.demo import generate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> qb.World:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=7, people=12, years=1)
    return qb.build_world(out)


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 19, 30, tzinfo=UTC)


def test_next_birthday_crosses_the_year_boundary(world: qb.World) -> None:
    assert qb.next_birthday(date(1990, 1, 5), date(2025, 12, 20)) == date(2026, 1, 5)
    assert qb.next_birthday(date(1990, 12, 25), date(2025, 12, 20)) == date(2025, 12, 25)
    assert qb.next_birthday(date(1992, 2, 29), date(2025, 3, 2)) == date(2026, 3, 1)
    # and per person: the next occurrence is within a year after as-of, on their month and day
    as_of = date(world.end.year - 1, 12, 30)
    for p in world.people.values():
        born = date.fromisoformat(p["birthday"])
        nxt = qb.next_birthday(born, as_of)
        assert as_of <= nxt < as_of + timedelta(days=366)
        assert (nxt.month, nxt.day) == (born.month, born.day) or (born.month, born.day) == (2, 29)


def test_trip_count_per_year_matches_the_exported_calendar(world: qb.World) -> None:
    # independent of the truth file: the exported calendar's "Trip: <city>" events
    starts = sorted({e.start.date() for e in world.events if e.title.startswith("Trip:")})
    assert starts, "the demo plants trips"
    for year in {d.year for d in starts}:
        end_of_year = _at(date(year, 12, 31))
        assert qb.trip_count(world, year, end_of_year) == sum(1 for d in starts if d.year == year)
    first = starts[0]
    assert qb.trip_count(world, first.year, _at(first - timedelta(days=1))) == sum(
        1 for d in starts if d.year == first.year and d < first
    )


def test_next_trip_needs_a_booking_before_as_of(world: qb.World) -> None:
    trip = qb.trips(world)[-1]
    start = date.fromisoformat(trip["start"])
    booked = qb.booked_on(trip)
    assert qb.next_trip(world, _at(start - timedelta(days=1)))["start"] == trip["start"]  # type: ignore[index]
    earlier = qb.next_trip(world, _at(booked - timedelta(days=1)))
    assert earlier is None or earlier["start"] != trip["start"]


def test_reply_debt_is_the_unanswered_direct_mail_of_the_window(world: qb.World) -> None:
    now = _at(date(2026, 3, 1))
    pids = sorted(world.people)[:5]
    a, b, c, d, e = pids
    mail = [
        qb.Contact(now - timedelta(days=5), a, "email"),  # answered the next day
        qb.Contact(now - timedelta(days=4), a, "email", outgoing=True),
        qb.Contact(now - timedelta(days=3), b, "email"),  # not answered: owed
        qb.Contact(now - timedelta(days=40), c, "email"),  # too old to be waiting
        qb.Contact(now - timedelta(days=2), d, "email", direct=False),  # the owner was only in Cc
        qb.Contact(now - timedelta(days=2), e, "chat"),  # chat is not mail
        qb.Contact(now + timedelta(days=1), a, "email"),  # after as-of
    ]
    tiny = qb.World(world.truth, world.people, mail, [], [], world.start, world.end)
    assert qb.reply_debt(tiny, now) == {b}
    assert qb.reply_debt(tiny, now + timedelta(days=2)) == {a, b}


def test_last_contact_ignores_what_comes_after_as_of(world: qb.World) -> None:
    partner = next(pid for pid, p in world.people.items() if p["role"] == "partner")
    times = [c.when for c in world.contacts if c.person == partner]
    mid = times[len(times) // 2]
    assert qb.last_contact(world, partner, mid) == mid
    assert qb.last_contact(world, partner, mid - timedelta(microseconds=1)) == max(t for t in times if t < mid)


def test_generation_gives_both_splits_with_unanswerables(world: qb.World) -> None:
    dev = qb.build_questions(world, 7, "dev")
    held = qb.build_questions(world, 7, "heldout")
    for qs in (dev, held):
        kinds = Counter(q.kind for q in qs)
        assert len(qs) >= 200
        assert kinds["unanswerable"] >= 10
        assert len(kinds) >= 25
        assert all(q.as_of.date() <= world.end for q in qs)
    # different as-of dates and different wording between the splits
    assert not {q.as_of for q in dev} & {q.as_of for q in held}
    assert not {q.question for q in dev if "{" not in q.question} & {q.question for q in held}


def test_grader_reads_facts_and_falls_back_to_the_first_sentence(world: qb.World) -> None:
    pid = sorted(world.people)[0]
    p = world.person(pid)
    g = qb.Grader(world, {"ent-1": pid})
    q = qb.Question("x", 7, "dev", "profile", "who?", _at(date(2026, 1, 1)), qb.Expect("person", pid))
    assert g.grade(q, {"answer": "…", "fact": {"kind": "person", "value": {"id": "ent-1", "name": "?"}}})
    assert g.grade(q, {"answer": "…", "fact": {"kind": "person", "value": {"id": "e9", "name": p["name"]}}})
    assert not g.grade(q, {"answer": f"{p['name']}.", "fact": {"kind": "person", "value": {"id": "e9", "name": "Z"}}})
    assert g.grade(q, {"answer": f"That is {p['name']}. More.", "evidence": []})
    assert not g.grade(q, {"answer": f"Unsure. {p['name']} maybe.", "evidence": []})
    amount = qb.Question("y", 7, "dev", "rent", "rent?", q.as_of, qb.Expect("amount", 1180.0, {"currency": "EUR"}))
    assert g.grade(amount, {"answer": "", "fact": {"kind": "amount", "value": {"amount": 1180.004, "currency": "EUR"}}})
    assert not g.grade(amount, {"answer": "", "fact": {"kind": "amount", "value": {"amount": 1180, "currency": "USD"}}})
    assert g.grade(amount, {"answer": "Your rent is 1,180.00 EUR a month."})
    when = qb.Question("w", 7, "dev", "birthday", "?", q.as_of, qb.Expect("date", ["2026-03-20"]))
    assert g.grade(when, {"answer": "", "fact": {"kind": "date", "value": "2026-03-20"}})
    assert g.grade(when, {"answer": "", "fact": {"kind": "datetime", "value": "2026-03-20T23:30:00-01:00"}})
    span = {"start": "2026-03-20", "end": "2026-03-22"}
    assert g.grade(when, {"answer": "", "fact": {"kind": "range", "value": span}})
    assert g.grade(when, {"answer": "Lisbon, 20–22 Mar 2026."})
    assert g.grade(when, {"answer": "On 20 March."})
    assert not g.grade(when, {"answer": "On 20 March 2027."})
    assert not g.grade(when, {"answer": "", "fact": {"kind": "date", "value": "2027-03-20"}})
    busy = qb.Question("b", 7, "dev", "busy_with", "?", q.as_of, qb.Expect("keywords", ["tiles"], {"top_items": 3}))
    assert g.grade(busy, {"answer": "", "fact": {"kind": "text", "value": "x", "text": "harbor; tiles; a; b"}})
    late = "harbor; a; b; tiles"
    assert not g.grade(busy, {"answer": late, "fact": {"kind": "text", "value": late}})
    refuse = qb.Question("z", 7, "dev", "unanswerable", "?", q.as_of, qb.Expect("refuse"))
    assert g.grade(refuse, {"answer": "I don't know who that is.", "fact": None})
    assert g.grade(refuse, {"answer": "No match.", "refused": True})
    assert not g.grade(refuse, {"answer": "Gandalf is a colleague."})
    assert not g.grade(q, {"answer": "I don't know.", "refused": True})


def test_heldout_phrasings_are_not_in_the_dev_file() -> None:
    from benchmarks.questions_heldout import PHRASES

    dev = {f for forms in qb.DEV_PHRASES.values() for f in forms}
    assert set(PHRASES) == set(qb.DEV_PHRASES)
    assert not dev & {f for forms in PHRASES.values() for f in forms}
    assert Path(qb.__file__).with_name("questions_heldout.py").exists()


def test_evidence_after_as_of_is_allowed_only_for_scheduled_events_of_future_questions(world: qb.World) -> None:
    from types import SimpleNamespace

    as_of = _at(date(2025, 5, 1))
    docs = {
        "cal": SimpleNamespace(source="calendar", event_time=as_of + timedelta(days=9)),
        "mail": SimpleNamespace(source="email", event_time=as_of + timedelta(days=1)),
        "old": SimpleNamespace(source="email", event_time=as_of - timedelta(days=1)),
    }
    store = SimpleNamespace(get_many=lambda ids: {i: docs[i] for i in ids if i in docs})
    twin = SimpleNamespace(store=lambda tier: store)

    def q(kind: str) -> qb.Question:
        return qb.Question("e", 7, "dev", kind, "?", as_of, qb.Expect("date", []))

    def cites(*ids: str) -> dict:
        return {"evidence": [{"id": i, "timestamp": None} for i in ids]}

    assert qb.evidence_in_time(twin, q("last_contact"), cites("old"))
    assert not qb.evidence_in_time(twin, q("last_contact"), cites("old", "cal"))
    assert qb.evidence_in_time(twin, q("next_trip"), cites("old", "cal"))
    assert not qb.evidence_in_time(twin, q("next_trip"), cites("mail"))
    asked = {x.kind for x in qb.build_questions(world, 7, "dev")}
    assert qb.FUTURE_KINDS.issubset(asked)  # the names of asked kinds, not of phrasing lists
