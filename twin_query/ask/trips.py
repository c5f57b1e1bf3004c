"""Trips: when and where the next one is, who came along, how many in a year.

Trips are the timeline's ``trip`` life events (:func:`twin_assets.processing.timeline.detect_trips`: multi-day
all-day calendar entries away from home, corroborated by booking mail, travel payments and travel notes). A trip
still ahead of the reference time counts as known only once something about it is dated by then (its booking
mail or payment): a calendar entry alone carries no date of its own creation.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from twin_assets.artifacts import LIFE_EVENT
from twin_assets.processing.names import fold
from twin_assets.processing.timeline import LifeEvent
from twin_query import views
from twin_query.ask.base import Context, Kind, Reply, event_value, fact, human_span, person
from twin_query.ask.intent import Intent, match_entities

_TRIP = r"(?:trips?|travel(?:l?ing|l?ed)?|holidays?|vacations?|journeys?|getaways?|city breaks?|flying|fly)"
_NEXT_TRIP = re.compile(
    rf"\b(?:next|upcoming|coming)\s+(?:\w+\s+)?{_TRIP}|\b{_TRIP}\b.*\b(?:next|coming up|upcoming|planned|soon)\b"
    rf"|\bwhere am i (?:going|flying|travell?ing|off to)\b|\bwhen am i (?:going|flying|travell?ing|off|leaving)\b"
    rf"|\bwhere (?:will|do) i (?:go|fly|travel) next\b|\bwhen do i (?:leave|fly)\b"
)
_COMPANIONS = re.compile(
    rf"\bwho (?:came|went|travell?ed|was|joined|flew|accompanied)\b.*\b(?:{_TRIP}|to|in)\b"
    rf"|\bwith whom did i (?:go|travel|fly)\b|\bwho did i (?:go|travel|fly)\b.*\bwith\b"
    rf"|\bwho was with me\b|\bwho came along\b|\bcome (?:to|with me to) .+ with me\b|\bwho joined me\b"
)
_WHEN = re.compile(
    r"\bwhen (?:was|were|did) (?:my|our|i|we) (?:last )?(?:\w+ )?"
    r"(?:trip|holiday|vacation|go|travel|fly|been) (?:to|in)\b"
    r"|\bwhen was i (?:last )?in\b"
)
_COUNT = re.compile(
    rf"\bhow many (?:\w+\s+)?{_TRIP}|\bnumber of {_TRIP}|\bhow (?:many times|often) did i (?:travel|fly)"
)


def trips(ctx: Context) -> list[LifeEvent]:
    """The view's trips the caller may read, earliest first. A multi-day entry somewhere else with nothing
    around it that says travel (no booking, no travel payment, no spending there, no travel note) is an
    occasion, such as a wedding in the countryside, not a trip."""
    out = [
        le
        for le in views.of_kind(ctx.twin(), ctx.vd, LIFE_EVENT).values()
        if le.kind == "trip"
        and le.tier in ctx.tiers
        and le.start is not None
        and ((le.details or {}).get("corroboration") or (le.confidence or 0) > 0.5)
    ]
    return sorted(out, key=lambda le: views.as_utc(le.start) or le.start)


def destination(le: LifeEvent) -> str:
    raw = str((le.details or {}).get("destination") or "")
    place = raw.split(",")[0].strip()
    return re.sub(r"(?i)^(?:trip|reise|travel|holiday|vacation)\s*(?:to|nach)?\s*:?\s*", "", place).strip() or raw


def _span(le: LifeEvent) -> tuple[datetime, datetime | None]:
    start = views.as_utc(le.start)
    assert start is not None
    end = views.as_utc(le.end)
    # An all-day entry ends at midnight after its last day.
    return start, (end - timedelta(seconds=1)) if end and end > start else end


def _known_by(ctx: Context, le: LifeEvent) -> tuple[bool, list[str]]:
    """Whether something about the trip is dated by the reference time, and those records."""
    docs = views.fetch_docs(ctx.twin(), ctx.tiers, list(le.evidence))
    dated = [d.id for d in docs.values() if d.event_time is not None and ctx.by_now(d)]
    return bool(dated), dated


_PLACE = re.compile(r"\b(?:trip|travel|flight|holiday|vacation|going) (?:to|in) ([a-z][\w\- ]{2,30}?)\s*(?:\?|$|,|\.)")


def _mentions_place(q: str, le: LifeEvent) -> bool:
    words = [w for w in fold(destination(le)).split() if len(w) > 2]
    return bool(words) and all(re.search(rf"\b{re.escape(w)}\b", fold(q)) for w in words)


# ---- next trip -------------------------------------------------------------------------------------
def _next_trip(ctx: Context) -> Reply:
    r = Reply("", unknown="when and where your next trip is", future=True)
    ahead = [le for le in trips(ctx) if _span(le)[0] > ctx.now]
    named = _PLACE.search(ctx.question)
    if named:  # "my next trip to Sydney": only a trip there answers
        ahead = [le for le in ahead if _mentions_place(named[1], le)]
        r.unknown = f"of a trip to {named[1].strip().title()} ahead"
    r.step(f"Trips on the timeline starting after {ctx.now.date().isoformat()}: {len(ahead)}.", [])
    for le in ahead:
        known, dated = _known_by(ctx, le)
        if not known:
            continue  # only a calendar entry, nothing that says it was planned by then
        start, end = _span(le)
        place = destination(le)
        ids = list(dict.fromkeys([*le.evidence[:1], *dated[:4]]))
        r.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, ids))
        when = human_span(start, end)
        r.step(f"The first of them booked by then: {place}, {when} (booked: {len(dated)} record(s)).", ids)
        r.text = f"Your next trip is to {place}, {when}."
        r.fact = fact("event", event_value(f"Trip: {place}", start, end, place), f"{place}, {when}")
        r.confidence = 0.55 + 0.4 * (le.confidence or 0.5)
        return r
    r.text = "No trip ahead is on the calendar or booked in the records this token can read."
    r.fact = None
    return r


# ---- companions -----------------------------------------------------------------------------------
def _companions(ctx: Context) -> Reply:
    r = Reply("", unknown="who came with you on that trip")
    past = [le for le in trips(ctx) if _span(le)[0] <= ctx.now]
    chosen = [le for le in past if _mentions_place(ctx.question, le)]
    if ctx.intent.time and ctx.intent.time.since:
        lo, hi = ctx.intent.time.since, ctx.intent.time.until or ctx.now
        chosen = [le for le in (chosen or past) if lo <= _span(le)[0] < hi]
    if not chosen:
        r.text = "I found no such trip in the records this token can read."
        return r
    le = chosen[-1]
    start, end = _span(le)
    place = destination(le)
    docs = views.fetch_docs(ctx.twin(), ctx.tiers, list(le.evidence))
    docs = {i: d for i, d in docs.items() if ctx.by_now(d)}
    # Who the trip's records name: the booking's travellers, the travel note's "with …", the calendar guests.
    seen: Counter[str] = Counter()
    cite: dict[str, list[str]] = {}
    by_doc = {e.doc_id: e for e in views.events_in(ctx.twin(), ctx.vd, start - timedelta(days=90), end or start)}
    for d in docs.values():
        named = {e.id for e in match_entities(f"{d.title}\n{d.body}", ctx.vd, [])[0]}
        if d.id in by_doc:
            named |= set(by_doc[d.id].entity_ids)
        for eid in named:
            ent = ctx.vd.entity(eid)
            if ent is None or ent.kind != "person" or ent.is_self:
                continue
            seen[eid] += 1
            cite.setdefault(eid, []).append(d.id)
    r.docs.update(docs)
    r.step(f"The trip: {place}, {human_span(start, end)}; {len(docs)} record(s) about it.", list(docs)[:6])
    if not seen:
        r.text = f"Nobody else is named in the records about your trip to {place} ({human_span(start, end)})."
        r.fact = fact("people", [], "nobody named")
        r.confidence = 0.4
        return r
    ranked = [ctx.vd.entities[e] for e, _ in seen.most_common()]
    for ent in ranked[:3]:
        r.step(f"{ent.name} is named in {seen[ent.id]} of them.", cite[ent.id])
    names = ", ".join(e.name for e in ranked[:3])
    r.text = f"{names} came with you to {place} ({human_span(start, end)})."
    r.fact = fact("people", [person(e) for e in ranked], names)
    r.confidence = 0.6 + 0.1 * min(seen[ranked[0].id], 3)
    return r


# ---- count ----------------------------------------------------------------------------------------
def _count(ctx: Context) -> Reply:
    it = ctx.intent
    since = it.time.since if it.time else None
    until = min(it.time.until, ctx.now) if it.time and it.time.until else ctx.now
    label = it.time.label if it.time else "so far"
    found = [le for le in trips(ctx) if (since is None or _span(le)[0] >= since) and _span(le)[0] < until]
    r = Reply("", unknown=f"how many trips you took {label}")
    start = views.data_start(ctx.twin(), ctx.vd)
    if start is not None and until <= start:  # a year before the records begin: not zero, unknown
        r.text = f"Your records begin on {start.date().isoformat()}; I can't count trips before that."
        r.step(r.text, [])
        return r
    ids = [le.evidence[0] for le in found if le.evidence]
    r.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, ids))
    listed = "; ".join(f"{destination(le)} ({human_span(*_span(le))})" for le in found)
    r.step(f"Trips on the timeline {label}, started by {ctx.now.date().isoformat()}: {len(found)}.", ids)
    r.text = f"You took {len(found)} trip(s) {label}" + (f": {listed}." if found else ".")
    r.fact = fact("count", len(found), f"{len(found)} trip(s)")
    r.confidence = 0.75
    return r


# ---- a past trip ------------------------------------------------------------------------------------
def _when(ctx: Context) -> Reply:
    m = re.search(r"\b(?:to|in) ([a-z][\w\- ]{2,30}?)\s*(?:\?|$|,|\.)", ctx.question)
    place_asked = m[1].strip() if m else ""
    r = Reply("", unknown=f"of a trip to {place_asked.title() or 'that place'}")
    past = [le for le in trips(ctx) if _span(le)[0] <= ctx.now and place_asked and _mentions_place(place_asked, le)]
    if not past:
        r.text = f"I found no trip to {place_asked.title()} in the records this token can read."
        return r
    le = past[-1]
    start, end = _span(le)
    place = destination(le)
    docs = {i: d for i, d in views.fetch_docs(ctx.twin(), ctx.tiers, list(le.evidence)).items() if ctx.by_now(d)}
    r.docs.update(docs)
    r.step(
        f"Trips to {place} by {ctx.now.date().isoformat()}: {len(past)}; the latest {human_span(start, end)}.",
        list(docs)[:5],
    )
    r.text = f"Your trip to {place} was {human_span(start, end)}."
    r.fact = fact("event", event_value(f"Trip: {place}", start, end, place), f"{place}, {human_span(start, end)}")
    r.confidence = 0.55 + 0.4 * (le.confidence or 0.5)
    return r


def _is_next(q: str, _intent: Intent) -> bool:
    return bool(_NEXT_TRIP.search(q)) and not _COMPANIONS.search(q) and not _COUNT.search(q)


NEXT_TRIP = Kind("next_trip", "when and where the next trip is", _is_next, _next_trip)
TRIP_COMPANIONS = Kind(
    "trip_companions", "who came along on a trip", lambda q, _i: bool(_COMPANIONS.search(q)), _companions
)
TRIP_WHEN = Kind("trip_when", "when a past trip to a place was", lambda q, _i: bool(_WHEN.search(q)), _when)
TRIP_COUNT = Kind("trip_count", "how many trips in a period", lambda q, _i: bool(_COUNT.search(q)), _count)
