"""Relation facts on small synthetic record sets: who each person is, with evidence; contacts, months and trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.processing.helpers import make_doc, party
from twin_assets.processing import relations as R
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.processing.timeline import TimelineEvent

ME = ("Lena Brandt", "lena@acme-labs.example")
ME_HOME = ("Lena Brandt", "lena.brandt@post.example")
MOM = ("Susanne Brandt", "susanne@post.example")
SIS = ("Jule Brandt", "jule@inbox.example")
LOVE = ("Katja Roth", "katja@webpost.example")
BOB = ("Bob Stone", "bob@acme-labs.example")
BOSS = ("Carla Wendt", "carla@acme-labs.example")
PACO = ("Paco Krause", "paco@mail.example")
NEWS = ("The Weekly Byte", "newsletter@weeklybyte.example")


def _msg(doc_id, when, sender, recipient, body="Hi,\n\nsee you soon.\n\nL", tier="HIGH", **kw):
    return make_doc(
        doc_id, body=body, when=when, tier=tier, parties=[party("from", *sender), party("to", *recipient)], **kw
    )


def _card(doc_id, who, **attrs):
    return make_doc(
        doc_id,
        source="contacts",
        kind="contact",
        title=who[0],
        body="\n".join(f"{k.capitalize()}: {v}" for k, v in attrs.items() if k in ("note", "categories")),
        parties=[party("contact", who[0], who[1])],
        attributes={"emails": [who[1]], **attrs},
    )


def _world():
    t0 = datetime(2024, 1, 8, 9, tzinfo=UTC)
    docs = [
        _card("c-me", ME_HOME, birthday="1990-04-01", emails=[ME[1], ME_HOME[1]]),
        _card("c-mom", MOM, birthday="1958-02-02", nicknames=["Mama"]),
        _card("c-sis", SIS, birthday="1993-07-07"),
        _card("c-bob", BOB, org="ACME Labs GmbH", title="Data Engineer"),
        _card("c-boss", BOSS, org="ACME Labs GmbH", title="Head of Engineering"),
    ]
    n = 0
    for week in range(40):
        t = t0 + timedelta(days=7 * week)
        for who, mine in ((BOB, ME), (BOSS, ME), (PACO, ME_HOME), (SIS, ME_HOME)):
            n += 1
            docs.append(_msg(f"m{n}", t.isoformat(), who, mine))
            n += 1
            docs.append(_msg(f"m{n}", (t + timedelta(hours=2)).isoformat(), mine, who))
        n += 1
        docs.append(_msg(f"m{n}", t.isoformat(), MOM, ME_HOME, body="Hallo Lena,\n\nwie geht's?\n\nKuss, Mama"))
        n += 1
        docs.append(_msg(f"m{n}", t.isoformat(), LOVE, ME_HOME, body="Dinner tonight? Love you ❤️"))
        n += 1
        docs.append(_msg(f"m{n}", t.isoformat(), ME_HOME, LOVE, body="Yes babe, 8pm"))
        n += 1
        docs.append(_msg(f"m{n}", t.isoformat(), NEWS, ME_HOME, body="This week in tech"))
        # Salary from the employer; a transfer between own accounts is not income.
        if week % 4 == 0:
            for i, (payer, amount) in enumerate((("ACME LABS GMBH", 4200.0), ("Umbuchung Girokonto", 900.0))):
                docs.append(
                    make_doc(
                        f"tx{week}-{i}",
                        source="bank_csv",
                        kind="transaction",
                        title=payer,
                        when=(t + timedelta(days=1)).isoformat(),
                        attributes={"amount": amount, "currency": "EUR"},
                    )
                )
    return docs


def _infer(docs, events=()):
    res = resolve(docs, options=ResolveOptions(text=False))
    model = R.infer(docs, res, {}, list(events))
    by_name = {e.name: e for e in res.entities}
    return res, model, {by_name[name].id: name for name in by_name}


def _relation_of(model, names, name):
    [rel] = [r for r in model.relations if names.get(r.entity_id) == name]
    return rel


def test_relations_from_cards_names_addresses_and_domains():
    docs = _world()
    res = resolve(docs, options=ResolveOptions(text=False))
    boss = res.lookup(f"email:{BOSS[1]}").id
    events = [
        TimelineEvent(
            f"one-on-one-{i}",
            datetime(2024, 1, 9, 10, tzinfo=UTC) + timedelta(days=7 * i),
            None,
            None,
            None,
            "event",
            "calendar",
            "1:1",
            [boss, res.self_id],
            "s1",
            "HIGH",
        )
        for i in range(12)
    ]
    model = R.infer(docs, res, {}, events)
    names = {e.id: e.name for e in res.entities}
    got = {names[r.entity_id]: (r.relation, r.organisation) for r in model.relations}
    assert got["Susanne Brandt"][0] == "mother"  # "Mama" on her card and her sign-off, a parent's generation
    assert got["Jule Brandt"][0] == "sibling"  # the family name, born three years after the owner
    assert got["Katja Roth"][0] == "partner"  # endearments both ways
    assert got["Bob Stone"] == ("colleague", "ACME Labs GmbH")
    assert got["Carla Wendt"] == ("manager", "ACME Labs GmbH")  # a managing title and weekly 1:1s
    assert got["Paco Krause"][0] == "friend"
    assert got["The Weekly Byte"][0] == "service"
    # Every relation names records that say so, and those records are the view's.
    ids = {d.id for d in docs} | {e.doc_id for e in events}
    for rel in model.relations:
        assert rel.reasons and all(set(r.evidence) <= ids for r in rel.reasons)
    mom = _relation_of(model, names, "Susanne Brandt")
    assert "c-mom" in {i for r in mom.reasons for i in r.evidence}
    # One employer, from the work address and the salary; the transfer between own accounts is no employer.
    assert [(j.organisation, sorted(j.sources)) for j in model.employment] == [
        ("ACME Labs GmbH", ["salary", "work address"])
    ]


def _owner_known(tier="HIGH"):
    """The owner writing to a few others, so resolution knows whose records these are."""
    return [
        _msg(f"o{i}", f"2024-01-0{i + 1}T10:00:00", ME, (f"P{i} Other", f"p{i}@x.example"), tier=tier) for i in range(4)
    ]


def test_contacts_exclude_birthdays_and_scheduled_meetings():
    docs = [
        _msg("a", "2024-03-01T10:00:00", PACO, ME),
        _msg("b", "2024-03-02T10:00:00", ME, PACO),
        *_owner_known(),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    paco = res.lookup(f"email:{PACO[1]}").id

    def ev(doc_id, when, end):
        return TimelineEvent(doc_id, when, end, None, None, "event", "calendar", "x", [paco], None, "HIGH")

    events = [
        ev("bday", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 2, tzinfo=UTC)),  # all day: a birthday
        ev("lunch", datetime(2024, 2, 10, 12, tzinfo=UTC), datetime(2024, 2, 10, 13, tzinfo=UTC)),
        ev("later", datetime(2024, 5, 1, 12, tzinfo=UTC), None),  # after the newest record: still scheduled
    ]
    model = R.infer(docs, res, {}, [e for e in events if R.is_meeting(e)])
    [rel] = [r for r in model.relations if r.entity_id == paco]
    assert rel.contacts["doc"] == ["lunch", "a", "b"]
    assert rel.contacts["dir"] == [R.MET, R.RECEIVED, R.SENT]
    assert [(m["month"], m["met"], m["sent"], m["received"]) for m in rel.months] == [
        ("2024-02", 1, 0, 0),
        ("2024-03", 0, 1, 1),
    ]


def test_relation_inherits_the_highest_tier_of_its_records():
    docs = [
        _msg("a", "2024-03-01T10:00:00", PACO, ME, tier="LOW"),
        _msg("b", "2024-03-02T10:00:00", ME, PACO, tier="MEDIUM"),
        *_owner_known("LOW"),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    model = R.infer(docs, res, {}, [])
    [rel] = [r for r in model.relations if r.entity_id == res.lookup(f"email:{PACO[1]}").id]
    assert rel.tier == "MEDIUM"
    low = [d for d in docs if d.tier == "LOW"]
    res_low = resolve(low, options=ResolveOptions(text=False))
    assert all(r.tier == "LOW" for r in R.infer(low, res_low, {}, []).relations)


def _cols(items):
    items = sorted(items)
    return R.contact_columns([(int(t.timestamp()), f"d{i}", d, tone, False) for i, (t, d, tone) in enumerate(items)])


def test_trend_fading_strengthening_strained_and_steady():
    as_of = datetime(2025, 1, 1, tzinfo=UTC)
    year = [as_of - timedelta(days=100 + 7 * i) for i in range(50)]  # weekly for a year before the recent window
    recent_weekly = [as_of - timedelta(days=1 + 7 * i) for i in range(12)]
    steady = _cols([(t, R.RECEIVED, 0.5) for t in year + recent_weekly])
    assert R.trend(steady, as_of)["state"] == "steady"
    fading = _cols([(t, R.RECEIVED, 0.5) for t in year] + [(as_of - timedelta(days=40), R.SENT, 0.5)])
    assert R.trend(fading, as_of)["state"] == "fading"
    growing = _cols(
        [(t, R.RECEIVED, 0.5) for t in year[::8]]
        + [(as_of - timedelta(days=1 + 2 * i), R.SENT, 0.5) for i in range(40)]
    )
    assert R.trend(growing, as_of)["state"] == "strengthening"
    fight = _cols(
        [(t, R.RECEIVED, 0.5) for t in year + recent_weekly[4:]]
        + [(as_of - timedelta(days=5 + i), R.RECEIVED, -0.8) for i in range(4)]
    )
    assert R.trend(fight, as_of)["state"] == "strained"
    # The same fight a year on is history: the window moves with as_of.
    assert R.trend(fight, as_of + timedelta(days=400))["state"] != "strained"


def test_last_contact_and_window_ignore_what_comes_after_as_of():
    cols = _cols(
        [
            (datetime(2024, 1, 5, tzinfo=UTC), R.SENT, None),
            (datetime(2024, 2, 5, tzinfo=UTC), R.MET, None),
            (datetime(2024, 3, 5, tzinfo=UTC), R.RECEIVED, -0.5),
        ]
    )
    _t, doc, direction = R.last_contact(cols, datetime(2024, 3, 1, tzinfo=UTC))
    assert (doc, direction) == ("d1", R.MET)
    assert R.last_contact(cols, datetime(2024, 1, 1, tzinfo=UTC)) is None
    w = R.window(cols, None, datetime(2024, 3, 1, tzinfo=UTC))
    assert (w.contacts, w.sent, w.met, w.received, w.tone) == (2, 1, 1, 0, None)
    months = R.monthly(cols, datetime(2024, 3, 1, tzinfo=UTC))
    assert [m["month"] for m in months] == ["2024-01", "2024-02"]
