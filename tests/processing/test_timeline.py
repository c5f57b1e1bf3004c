from __future__ import annotations

from tests.processing.helpers import make_doc, party
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.processing.timeline import build_timeline, detect_moves, detect_trips, events


def trip_event(doc_id, start, end, location, title="Trip"):
    return make_doc(
        doc_id,
        source="calendar",
        kind="event",
        title=title,
        tier="MEDIUM",
        when=start,
        end=end,
        attributes={"all_day": True, "location": location, "is_recurring": False},
        original_tz="floating",
    )


def txn(doc_id, when, title, body, amount, tier="HIGH"):
    return make_doc(
        doc_id,
        source="ofx",
        kind="transaction",
        title=title,
        body=body,
        when=when,
        tier=tier,
        parties=[party("merchant", title)],
        attributes={"amount": amount, "currency": "EUR"},
    )


def booking_mail(doc_id, when, subject, body):
    return make_doc(doc_id, title=subject, body=body, when=when, parties=[party("from", "SkyWay", "b@air.example")])


def test_trip_found_with_its_evidence_and_home_is_not_a_trip():
    docs = [
        trip_event("c1", "2024-05-10T00:00:00", "2024-05-14T00:00:00", "Lisbon, Portugal"),
        txn("t1", "2024-04-01T00:00:00", "SKYWAY AIR LIS", "Flug BER-LIS", -320.0),
        txn("t2", "2024-05-11T00:00:00", "RESTAURANT LISBON", "Visa Portugal", -42.0),
        txn("t3", "2024-05-11T00:00:00", "REWE MARKT", "Kartenzahlung", -12.0),
        booking_mail("m1", "2024-04-01T09:00:00", "Your booking: Berlin - Lisbon", "Flight BER -> LIS, passengers: 2"),
        booking_mail("m2", "2024-04-02T09:00:00", "Newsletter", "Cheap flights to Oslo"),
        trip_event("c2", "2024-08-01T00:00:00", "2024-08-04T00:00:00", "Berlin, Germany", title="Family visit"),
        trip_event("c3", "2024-09-01T00:00:00", "2024-09-02T00:00:00", "Rome, Italy"),  # one day only
    ]
    trips = detect_trips(docs, home="Berlin")
    assert len(trips) == 1
    trip = trips[0]
    assert trip.kind == "trip" and trip.start.date().isoformat() == "2024-05-10"
    assert set(trip.evidence) == {"c1", "t1", "t2", "m1"}
    assert trip.tier == "HIGH"  # a MEDIUM calendar entry corroborated by HIGH bank data
    assert trip.confidence > 0.8
    assert len(detect_trips(docs)) == 2  # without a home, the Berlin visit counts too


def test_events_keep_utc_and_the_original_zone_and_group_series():
    docs = [
        make_doc(
            f"o{i}",
            source="calendar",
            kind="event",
            title="1:1",
            when=f"2024-03-0{i}T14:00:00",
            original_tz="America/New_York",
            attributes={"is_recurring": True, "series_uid": "s1", "rrule": "X"},
        )
        for i in (1, 4)
    ] + [make_doc("n1", source="notes", kind="note", title="no date")]
    evts = events(docs)
    assert [e.doc_id for e in evts] == ["o1", "o4"]
    assert evts[0].time.isoformat() == "2024-03-01T14:00:00+00:00"
    assert evts[0].local_time == "2024-03-01T09:00:00-05:00"
    tl = build_timeline(docs)
    assert len(tl.series) == 1 and tl.series[0].count == 2 and tl.series[0].evidence == ["o1", "o4"]


def _sent(doc_id, when, address):
    return make_doc(
        doc_id,
        title="x",
        body="hello there",
        when=when,
        parties=[party("from", "Lena Brandt", address), party("to", "Bob", f"bob{doc_id}@x.example")],
    )


def test_job_change_from_own_work_domain_and_salary():
    docs = [_sent(f"h{i}", f"2024-0{i}-10T09:00:00", "lena@home.example") for i in range(1, 10)]
    docs += [_sent(f"a{i}", f"2024-0{i}-11T09:00:00", "lena@old-corp.example") for i in range(1, 6)]
    docs += [_sent(f"b{i}", f"2024-0{i}-12T09:00:00", "lena@new-corp.example") for i in range(6, 10)]
    docs += [
        txn(f"s{i}", f"2024-0{i}-27T00:00:00", "OLD CORP GMBH" if i < 6 else "NEW CORP GMBH", "Lohn/Gehalt", 4000.0)
        for i in range(1, 10)
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    tl = build_timeline(docs, res)
    [change] = [e for e in tl.life_events if e.kind == "job_change"]
    assert change.details["from_domain"] == "old-corp.example" and change.details["to_domain"] == "new-corp.example"
    assert change.start.date().isoformat() in ("2024-05-27", "2024-06-12")
    assert change.confidence >= 0.9 and "s6" in change.evidence


def test_move_from_rent_payee_change():
    docs = [
        txn(f"r{i}", f"2024-0{i}-01T00:00:00", "HAUSVERWALTUNG A" if i < 5 else "WOHNBAU B", "Miete", -900.0)
        for i in range(1, 9)
    ]
    docs.append(txn("u1", "2024-04-20T00:00:00", "Umzug Schmidt", "Umzugsfirma Rechnung", -700.0))
    [move] = detect_moves(docs)
    assert move.start.date().isoformat() == "2024-05-01" and "u1" in move.evidence and move.confidence == 0.9
