"""Time around the reference time: what is coming up, the next birthday, what has kept the owner busy lately.

Scheduled occurrences are read only as far ahead as the question asks (its window, by default the next seven
days) and are never counted as something that happened.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta

from twin_assets.artifacts import SERIES, TOPIC
from twin_assets.processing.names import fold
from twin_query import views
from twin_query.ask.base import Context, Kind, Reply, event_value, fact, human_day, human_span
from twin_query.ask.intent import Intent
from twin_query.ask.trips import _span, destination, trips

_UPCOMING = re.compile(
    r"\bwhat(?:'s|s| is| do i have)?\s+(?:coming up|on|planned|scheduled|happening|ahead)\b"
    r"|\bwhat(?:'s| is) (?:on )?(?:my|the) (?:calendar|agenda|schedule|plate)\b|\bwhat do i have (?:on|planned)\b"
    r"|\bwhat(?:'s| is) (?:next|upcoming)\b|\bmy plans\b"
    r"|\banything (?:planned|scheduled|coming up|on|happening|going on)\b"
    r"|\bwhat are my plans\b|\bcoming up\b|\bupcoming (?:events|plans|appointments)\b|\bam i busy\b"
    r"|\bwhat(?:'s| is) going on (?:next|this|tomorrow)"
)
_WHO = re.compile(r"\bwho\b|\bwhom\b|\bmeet(?:ing)?\b|\bsee(?:ing)?\b")
_BIRTHDAY = re.compile(r"\bbirthdays?\b|\bb-?days?\b|\bgeburtstag\b|\bborn\b|\bturns? (?:a year older|\d+)\b")
_BUSY = re.compile(
    r"\bbusy with\b|\bbeen (?:up to|doing|working on|focused on|focusing on)\b|\bkept me busy\b"
    r"|\bwhat(?:'s| has| have)? (?:been )?(?:keeping|kept) me\b|\bwhat am i (?:working on|up to|doing)\b"
    r"|\bmy focus\b|\bwhat have i been\b|\bwhat was i (?:busy|working) (?:with|on)\b"
    r"|\b(?:taken|taking|takes|take) up (?:most of |all of |much of )?my time\b|\bwhere (?:has|did) my time go\b"
)
_BIRTHDAY_KEYS = ("birthday", "bday", "born", "birthdate", "geburtstag")
_BIRTHDAY_TITLE = re.compile(r"(?i)\bbirthday\b|\bgeburtstag\b|\bb-?day\b|\bcumplea|\banniversaire\b")


# ---- upcoming -------------------------------------------------------------------------------------
def _window(ctx: Context) -> tuple[datetime, datetime, str]:
    t = ctx.intent.time
    if t and t.since and t.since >= ctx.now - timedelta(days=1):
        return t.since, t.until or t.since + timedelta(days=7), t.label
    return ctx.now, ctx.now + timedelta(days=7), "in the next 7 days"


def _upcoming(ctx: Context) -> Reply:
    since, until, label = _window(ctx)
    r = Reply("", unknown=f"what is coming up {label}", future=True)
    evs = [e for e in views.events_in(ctx.twin(), ctx.vd, since, until) if e.kind == "event" and e.tier in ctx.tiers]
    # A trip that starts before the window and is still going is part of it too.
    items: list[tuple[datetime, datetime | None, str, str | None, list[str]]] = []
    seen: set[tuple[str, date]] = set()
    for le in trips(ctx):
        start, end = _span(le)
        if start < until and (end or start) >= since:
            place = destination(le)
            items.append((start, end, f"Trip: {place}", place, le.evidence[:1]))
            seen.add((fold(f"trip {place}"), start.date()))
    for e in evs:
        key = (fold(e.title or ""), e.time.date())
        if key in seen:
            continue
        seen.add(key)
        # An all-day entry ends at the midnight after its last day.
        end = e.end - timedelta(seconds=1) if e.end and e.end > e.time and e.end.time() == time(0) else e.end
        items.append((e.time, end, e.title or "untitled", None, [e.doc_id]))
    items.sort(key=lambda x: x[0])
    ids = [i for *_, got in items for i in got]
    r.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, ids[:40]))
    span = f"{since.date().isoformat()} – {(until - timedelta(seconds=1)).date().isoformat()}"
    r.step(f"Calendar entries and trips between {span}: {len(items)}.", ids[:40])
    head = label[:1].upper() + label[1:]
    if not items:
        r.text = f"Nothing is scheduled {label} ({span}) in the records this token can read."
        r.fact, r.confidence = fact("events", [], "nothing scheduled"), 0.6
        return r
    listed = "; ".join(
        f"{title} ({human_span(start, end) if end and end.date() > start.date() else human_day(start)})"
        for start, end, title, _place, _ids in items[:12]
    )
    more = f" and {len(items) - 12} more" if len(items) > 12 else ""
    r.text = f"{head} ({span}): {listed}{more}."
    r.fact = fact(
        "events",
        [event_value(title, start, end, place) for start, end, title, place, _ids in items],
        "; ".join(title for _s, _e, title, _p, _i in items[:12]),
    )
    r.confidence = 0.8
    return r


def _is_upcoming(q: str, intent: Intent) -> bool:
    if _BIRTHDAY.search(q):
        return False
    if _UPCOMING.search(q):
        return not re.search(r"\bwho\b|\bwhom\b", q)
    future = intent.time is not None and intent.time.since is not None and intent.now is not None
    future = future and intent.time.since >= intent.now - timedelta(minutes=1)  # type: ignore[union-attr,operator]
    return (
        future
        and bool(re.search(r"\bwhat\b|\bplans?\b|\bschedule\b|\bcalendar\b|\bagenda\b", q))
        and not _WHO.search(q)
    )


# ---- birthdays ------------------------------------------------------------------------------------
def next_occurrence(month: int, day: int, after: date) -> date:
    """The first ``month``/``day`` on or after ``after`` (29 February falls on 1 March in other years)."""
    for year in (after.year, after.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            d = date(year, 3, 1)
        if d >= after:
            return d
    raise AssertionError("unreachable")


def _birthday(ctx: Context) -> Reply:
    it = ctx.intent
    people = [e for e in it.entities if e.kind == "person"]
    who = (
        people[0] if people else (ctx.vd.entity(ctx.vd.self_id) if ctx.vd.self_id and _SELFISH(ctx.question) else None)
    )
    if who is None:
        return Reply("", unknown="whose birthday you mean")
    r = Reply("", unknown=f"when {who.name}'s birthday is", future=True)
    r.terms = views.entity_terms(who)
    found: tuple[int, int] | None = None
    cite: list[str] = []
    # A yearly calendar series about them ("Katja's birthday"), else a birthday their card or note gives.
    for s in views.of_kind(ctx.twin(), ctx.vd, SERIES).values():
        if s.tier not in ctx.tiers or "YEARLY" not in (s.rrule or ""):
            continue
        named = who.id in s.entity_ids or fold(who.name) in fold(s.title or "")
        if named and _BIRTHDAY_TITLE.search(s.title or ""):
            local = _local_day(ctx, s.first, s.evidence[:1])
            if local:
                found, cite = (local.month, local.day), s.evidence[:1]
                break
    if found is None:  # a contact card's BDAY, or a note about them with a birthday in its front matter
        docs = views.fetch_docs(ctx.twin(), ctx.tiers, list(who.evidence)[:500])
        for d in sorted(docs.values(), key=lambda d: d.kind != "contact"):
            attrs = (d.meta or {}).get("attributes") or {}
            raw_front = attrs.get("front_matter")
            front: dict = raw_front if isinstance(raw_front, dict) else {}
            raw = attrs.get("birthday") or next((front[k] for k in _BIRTHDAY_KEYS if front.get(k)), None)
            m = re.search(r"(\d{4}|--)-?(\d{2})-?(\d{2})", str(raw or ""))
            if m and (d.kind == "contact" or fold(who.name) in fold(d.title or "")):
                found, cite = (int(m[2]), int(m[3])), [d.id]
                break
    if found is None:
        r.text = f"No birthday for {who.name} is in the records this token can read."
        return r
    nxt = next_occurrence(found[0], found[1], ctx.now.date())
    r.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, cite))
    r.step(f"{who.name}'s birthday is on {nxt.strftime('%d %B')}.", cite)
    r.text = f"{who.name}'s next birthday is on {human_day(nxt)}."
    r.fact = fact("date", nxt.isoformat(), human_day(nxt))
    r.confidence = 0.85
    return r


def _local_day(ctx: Context, when: datetime, ids: list[str]) -> date | None:
    """The calendar day of an occurrence where it was scheduled: an all-day birthday at midnight in Berlin is
    the evening before in UTC."""
    t = views.as_utc(when)
    if t is None:
        return None
    for e in views.events_in(ctx.twin(), ctx.vd, t, t + timedelta(seconds=1)):
        if e.doc_id in ids and e.local_time:
            return datetime.fromisoformat(e.local_time).date()
    return t.date()


def _SELFISH(q: str) -> bool:
    return bool(re.search(r"\bmy (?:birthday|b-?day)\b|\bwhen (?:was|am) i born\b", q))


# ---- busy with ------------------------------------------------------------------------------------
def _busy(ctx: Context) -> Reply:
    it = ctx.intent
    since = it.time.since if it.time and it.time.since else ctx.now - timedelta(days=90)
    until = min(it.time.until, ctx.now) if it.time and it.time.until else ctx.now
    label = it.time.label if it.time else "lately"
    r = Reply("", unknown=f"what you have been busy with {label}")
    lo, hi = since.strftime("%Y-%m"), until.strftime("%Y-%m")
    scored = []
    for t in views.of_kind(ctx.twin(), ctx.vd, TOPIC).values():
        if t.tier not in ctx.tiers:
            continue
        n = sum(v for m, v in (t.months or {}).items() if lo <= m <= hi)
        if n:
            scored.append((n, t))
    scored.sort(key=lambda x: (-x[0], x[1].label))
    top = [t for n, t in scored if n >= 0.5 * scored[0][0]][:4] if scored else []
    ids = [i for t in top for i in t.evidence[-3:]]
    evs = [e for e in views.events_in(ctx.twin(), ctx.vd, since, until) if e.kind == "event" and e.tier in ctx.tiers]
    by_title: Counter[str] = Counter(e.title for e in evs if e.title)
    common = [title for title, _n in by_title.most_common(3)]
    docs = views.fetch_docs(ctx.twin(), ctx.tiers, ids)
    # Cite only what was dated by the reference time.
    docs = {i: d for i, d in docs.items() if ctx.by_now(d)}
    r.docs.update(docs)
    for n, t in scored[: len(top)]:
        r.step(f"Topic “{t.label}”: {n} record(s) {label}; keywords {', '.join(t.keywords[:5])}.", t.evidence[-3:])
    if common:
        first = {e.title: e.doc_id for e in evs}
        r.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, [first[c] for c in common]))
        r.step(
            "Most frequent calendar entries: " + ", ".join(f"{c} ({by_title[c]}×)" for c in common) + ".",
            [first[c] for c in common],
        )
    if not top and not common:
        r.text = f"Nothing stands out {label} in the records this token can read."
        return r
    parts = [f"{t.label} ({', '.join(t.keywords[:4])})" for t in top]
    text = "; ".join(parts)
    r.text = (
        f"{label[:1].upper() + label[1:]} you have been busy with "
        + (text or "your calendar")
        + (f". On the calendar: {', '.join(common)}." if common else ".")
    )
    words = " ".join([*(t.label for t in top), *(k for t in top for k in t.keywords[:6]), *common])
    r.fact = fact("text", text or ", ".join(common), words)
    r.confidence = 0.65 if top else 0.5
    return r


UPCOMING = Kind("upcoming", "what is scheduled in a window ahead (trips too)", _is_upcoming, _upcoming)
BIRTHDAY = Kind(
    "birthday", "the next occurrence of someone's birthday", lambda q, _i: bool(_BIRTHDAY.search(q)), _birthday
)
BUSY_WITH = Kind("busy_with", "topics and calendar of a recent window", lambda q, _i: bool(_BUSY.search(q)), _busy)
