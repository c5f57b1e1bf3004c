"""Evidence → an answer in explicit steps; every claim cites the records it rests on.

No model: the answer is composed from what retrieval found, and each step
lists the record ids behind it. The evidence list holds exactly the cited
records the caller may read, each with its timestamp and a snippet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from twin_assets.processing.resolution import Entity
from twin_assets.processing.timeline import TimelineEvent
from twin_query import views
from twin_query.ask.base import event_value, fact, person
from twin_query.ask.retrieve import Found, title_coverage

MAX_EVIDENCE = 40
FREQ = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def _day(t: datetime | str | None) -> str:
    t = views.parse_time(t)
    return t.strftime("%Y-%m-%d") if t else "undated"


def _dow(t: datetime | None) -> str:
    return t.strftime("%a %Y-%m-%d") if t else "undated"


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}".strip()


def _names(entities: list[Entity]) -> str:
    names = [e.name for e in entities]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _title(found: Found, doc_id: str) -> str:
    doc = found.docs.get(doc_id)
    if doc is None:
        return "a record"
    title = " ".join((doc.title or "").split()) or views.snippet_around(doc, found.terms, 60)
    return f"“{title[:80]}”"


class Answer:
    def __init__(self) -> None:
        self.text = ""
        self.steps: list[dict[str, Any]] = []
        # The contract (docs/api.md): the fact asked for, how sure, and what is not known when unsure.
        self.fact: dict[str, Any] | None = None
        self.confidence = 0.0
        self.unknown = "the answer to that"

    def step(self, text: str, ids: list[str] | None = None) -> None:
        self.steps.append({"step": len(self.steps) + 1, "text": text, "evidence": list(dict.fromkeys(ids or []))})


def interpretation(found: Found) -> str:
    it = found.intent
    parts = [f"intent {it.name.replace('_', ' ')}"]
    if it.entities:
        parts.append("about " + _names(it.entities))
    if it.time:
        span = " to ".join(
            x for x in (_day(it.time.since) if it.time.since else "", _day(it.time.until) if it.time.until else "") if x
        )
        parts.append(f"time {it.time.label} ({span})")
    if it.category:
        parts.append(f"category {it.category}")
    if it.amounts:
        parts.append("amount " + (it.amount_op or "") + ", ".join(f"{a:g}" for a in it.amounts))
    return "Read the question as " + "; ".join(parts) + "."


# ---- per intent -------------------------------------------------------------------------------------
def _search(found: Found, a: Answer) -> None:
    hits = found.hits
    for text, ids in found.steps:
        a.step(f"Ran a {text}: {len(hits)} hit(s).", ids[:10])
    if not hits:
        a.text = "Nothing in the records this token can read matches that question."
        return
    top = hits[0]
    a.step(f"Best match: {_title(found, top.id)} ({top.source}, {_day(top.timestamp)}).", [top.id])
    more = f" {len(hits) - 1} more related item(s) follow." if len(hits) > 1 else ""
    a.text = f"The best match is {_title(found, top.id)} ({top.source}, {_day(top.timestamp)}).{more}"
    # A search hit answers only when it clearly is what was asked for: its title holds nearly every word.
    coverage = title_coverage(found.intent.question, top.title)
    a.confidence = 0.35 + 0.4 * coverage
    a.fact = fact("text", top.title, top.title)
    a.unknown = "the answer to that: no record clearly answers it"


def _fallback(found: Found, a: Answer, what: str) -> None:
    a.step(f"No {what} in the question matches an entity this token can see; searched the records instead.")
    _search(found, a)
    a.text = f"I could not tell which {what} you mean among the entities this token can see. " + a.text
    a.fact, a.confidence, a.unknown = None, 0.0, f"which {what} you mean"


def _profile(found: Found, a: Answer) -> None:
    p, e = found.profile or {}, found.entity
    name, kind = (e.name, e.kind) if e is not None else (None, None)
    aliases = [n for n in (p.get("aliases") or {}).get("names", []) if n != name][:3]
    aka = f" (also {', '.join(aliases)})" if aliases else ""
    counts = p.get("counts") or {}
    sources = ", ".join(f"{s} {n}" for s, n in sorted((counts.get("by_source") or {}).items(), key=lambda x: -x[1])[:3])
    ids = [i for _, step_ids in found.steps for i in step_ids]
    a.step(f"Resolved the name to {name}, a {kind}{aka}.", [])
    first, last = p.get("first_seen"), p.get("last_seen")
    a.step(f"{counts.get('records', 0)} record(s) mention them, from {_day(first)} to {_day(last)} ({sources}).", ids)
    text = [
        f"{name} is a {kind}{aka}, in {counts.get('records', 0)} of your records "
        f"from {_day(first)} to {_day(last)}" + (f", mostly {sources}" if sources else "") + "."
    ]
    if found.edges:
        names = [r["entity"]["name"] for r in found.edges]
        a.step(
            "Most often together with "
            + ", ".join(f"{r['entity']['name']} ({int(r['weight'])} shared)" for r in found.edges)
            + ".",
            [i for r in found.edges for i in r["evidence_ids"][:1]],
        )
        text.append("Most often together with " + ", ".join(names) + ".")
    s = p.get("sentiment")
    if e is not None:
        a.fact = fact("person", person(e), e.name)
        a.confidence = 0.8 if counts.get("records") else 0.55
    if s and s.get("mean") is not None:
        mood = "positive" if s["mean"] > 0.05 else "negative" if s["mean"] < -0.05 else "neutral"
        trend = ""
        if s.get("slope") is not None:
            trend = ", warming" if s["slope"] > 0.01 else ", cooling" if s["slope"] < -0.01 else ", steady"
        a.step(f"Tone of your exchanges: {mood} on average (mean {s['mean']:+.2f}){trend}.", ids[-3:])
        text.append(f"The tone is {mood} on average{trend}.")
    a.text = " ".join(text)


def _relationship(found: Found, a: Answer) -> None:
    b = found.entity
    assert b is not None  # asked only when the question named someone
    other = found.other if isinstance(found.other, Entity) else None
    you = "you" if other is None or other.is_self else other.name
    edges = found.edges
    names = {e.id: e.name for e in found.path}
    if other is not None and other.is_self:
        names[other.id] = "you"
    for e in edges:
        a.step(
            f"{names.get(e['source'], '?')} – {names.get(e['target'], '?')}: {int(e['weight'])} shared record(s), "
            f"first {_day(e['first'])}, last {_day(e['last'])}.",
            e["evidence_ids"],
        )
    earliest = [i for text, ids in found.steps if text.startswith("earliest") for i in ids]
    if earliest:
        a.step(
            f"The earliest record mentioning {b.name}: {_title(found, earliest[0])} "
            f"({_day(found.docs[earliest[0]].event_time if earliest[0] in found.docs else None)}).",
            earliest[:1],
        )
    a.unknown = f"how you are connected to {b.name}"
    if len(found.path) >= 2 and edges:
        between = [p for p in found.path[1:-1]]
        a.fact = (
            fact("people", [person(p) for p in between], _names(between))
            if between
            else fact("yes_no", True, f"directly, {int(edges[0]['weight'])} shared record(s)")
        )
        a.confidence = 0.6
    if len(found.path) == 2 and edges:
        e = edges[0]
        a.text = (
            f"{you.capitalize()} know {b.name} directly: {int(e['weight'])} shared record(s) from "
            f"{_day(e['first'])} to {_day(e['last'])}"
            + (f", starting with {_title(found, e['evidence_ids'][0])}." if e["evidence_ids"] else ".")
        )
        if other is not None and not other.is_self:
            a.text = f"{other.name} and {b.name} are directly linked: {int(e['weight'])} shared record(s)."
    elif len(found.path) > 2:
        via = _names(found.path[1:-1])
        chain = " → ".join(names.get(e.id, e.name) for e in found.path)
        a.text = f"{you.capitalize()} are connected to {b.name} through {via}: {chain}."
    else:
        first = f" The earliest record mentioning them is {_title(found, earliest[0])}." if earliest else ""
        a.text = f"No chain of shared records links {you} and {b.name} in the records this token can read.{first}"


def _timeline(found: Found, a: Answer) -> None:
    it = found.intent
    label = it.time.label if it.time else "over all time"
    who = f" with {found.entity.name}" if found.entity else ""
    src = ", ".join(f"{n} {s}" for s, n in found.by_source.items())
    a.step(
        f"{found.n_events} timeline item(s) {label}{who}" + (f": {src}." if src else "."),
        [e.doc_id for e in found.events],
    )
    head = label[:1].upper() + label[1:] if it.time else "Overall"
    parts = [f"{head}{who}: {found.n_events} item(s)" + (f" ({src})" if src else "") + "."]
    lifes = []
    for le in found.life_events:
        d = le.details or {}
        what = le.kind.replace("_", " ")
        if le.kind == "trip" and d.get("destination"):
            what = f"trip to {d['destination']}"
        elif le.kind == "job_change" and d.get("new_payer"):
            what = f"job change (new salary payer {d['new_payer']})"
        span = _day(le.start) + (f" – {_day(le.end)}" if le.end else "")
        lifes.append(f"{what} ({span})")
        a.step(f"Life event: {what}, {span}, confidence {le.confidence or 0:.1f}.", le.evidence[:3])
    if lifes:
        parts.append("Life events: " + "; ".join(lifes) + ".")
    if found.events:
        shown = found.events[:5]
        parts.append("Highlights: " + "; ".join(f"{_title(found, e.doc_id)} ({_day(e.time)})" for e in shown) + ".")
    if not found.n_events and not lifes:
        parts = [f"Nothing on the timeline this token can read {label}{who}."]
    a.text = " ".join(parts)
    a.unknown = f"what happened {label}{who}"
    if found.n_events or lifes:
        a.fact = fact(
            "events",
            [event_value(e.title, e.time, e.end) for e in found.events],
            "; ".join(f"{e.title} ({_day(e.time)})" for e in found.events[:5]),
        )
        # A recap needs a period or a person; "when was my trip to X" read as all of time is no answer.
        a.confidence = 0.6 if (it.time or found.entity) else 0.4


def _aggregate(found: Found, a: Answer) -> None:
    it = found.intent
    label = it.time.label if it.time else "over all time"
    if it.measure == "count":
        kind = (it.count_kind or "record").replace("_", " ")
        who = f" involving {found.entity.name}" if found.entity else ""
        src = ", ".join(f"{n} {s}" for s, n in found.by_source.items())
        ids = [i for _, step_ids in found.steps for i in step_ids]
        a.step(f"Counted {found.considered} {kind} record(s) {label}{who}" + (f" ({src})." if src else "."), ids)
        a.text = f"{found.considered} {kind}(s) {label}{who}" + (f": {src}." if src else ".")
        a.fact = fact("count", found.considered, f"{found.considered} {kind}(s)")
        a.confidence = 0.75
        return
    rows = found.transactions
    what = it.category or (" ".join(it.keywords) if it.keywords else "") or "everything"
    verb = "earned" if it.measure == "income" else "spent"
    a.step(f"Looked at {found.considered} transaction(s) {label}.", [])
    if it.category:
        a.step(
            f"Kept those whose merchant or text matches the {it.category} terms: {len(rows)}.",
            [d.id for d, _, _ in rows[:MAX_EVIDENCE]],
        )
    elif it.keywords or found.entity:
        a.step(f"Kept those matching {what}: {len(rows)}.", [d.id for d, _, _ in rows[:MAX_EVIDENCE]])
    a.unknown = f"how much you {verb}{' on ' + what if what != 'everything' else ''} {label}"
    if not rows:
        a.text = (
            f"No {'income' if it.measure == 'income' else 'spending'} on {what} {label} in the records "
            f"this token can read."
        )
        if it.category:  # a known category with nothing in it is a zero, not a guess
            a.fact = fact("amount", {"amount": 0.0, "currency": ""}, "nothing")
            a.confidence = 0.55
        return
    totals: dict[str, float] = defaultdict(float)
    for _, amount, cur in rows:
        totals[cur] += abs(amount)
    total = ", ".join(_money(v, c) for c, v in sorted(totals.items(), key=lambda kv: -kv[1]))
    largest = sorted(rows, key=lambda r: -abs(r[1]))[:5]
    a.step(f"Summed the amounts: {total} over {len(rows)} transaction(s).", [d.id for d, _, _ in largest])
    top = largest[0]
    a.step(
        f"Largest: {_title(found, top[0].id)} {_money(abs(top[1]), top[2])} on {_day(top[0].event_time)}.", [top[0].id]
    )
    on = f" on {what}" if what != "everything" else ""
    currency, amount = max(totals.items(), key=lambda kv: kv[1])
    a.fact = fact("amount", {"amount": round(amount, 2), "currency": currency}, _money(amount, currency))
    # A category or merchant the question named is a match by terms; everything in a range is exact.
    a.confidence = 0.75 if (it.category or not it.keywords) else 0.6
    a.text = (
        f"You {verb} {total}{on} {label}, over {len(rows)} transaction(s). The largest was "
        f"{_title(found, top[0].id)}: {_money(abs(top[1]), top[2])} on {_day(top[0].event_time)}."
    )


def _prediction(found: Found, vd: views.ViewData | None, a: Answer) -> None:
    rng = found.other if isinstance(found.other, dict) else {}  # the prediction's window
    since, until = rng.get("since"), rng.get("until")
    label = found.intent.time.label if found.intent.time else "in the next 7 days"
    span = f"{_day(since)} – {_day(until - timedelta(seconds=1)) if until else '…'}"
    a.unknown = f"whom you will meet {label}"
    if not found.upcoming:
        a.step(f"No calendar events this token can read between {span}.")
        a.text = f"Nothing is scheduled {label} ({span}) in the calendar this token can read."
        a.fact, a.confidence = fact("events", [], "nothing scheduled"), 0.55
        return

    def freq(e: TimelineEvent) -> str | None:
        s = found.series.get(e.series_id or "")
        m = re.search(r"FREQ=(\w+)", (s.rrule if s else None) or "")
        return m[1] if m else ("RECURRING" if s else None)

    people: dict[str, list[TimelineEvent]] = defaultdict(list)
    for e in found.upcoming:
        if freq(e) == "YEARLY":  # birthdays and anniversaries are dates to remember, not meetings
            continue
        for eid in e.entity_ids:
            ent = vd.entity(eid) if vd else None
            if ent and ent.kind == "person" and not ent.is_self:
                people[eid].append(e)

    def likelihood(kv: tuple[str, list[TimelineEvent]]) -> tuple:
        # A regular series is the best predictor, then how many meetings, then how soon.
        evs = kv[1]
        return (not any(freq(e) for e in evs), -len(evs), evs[0].time, kv[0])

    lines = []
    for eid, evs in sorted(people.items(), key=likelihood):
        name = vd.entities[eid].name if vd else eid
        first = evs[0]
        why = "scheduled"
        s = found.series.get(first.series_id or "")
        if s:
            m = re.search(r"FREQ=(\w+)", s.rrule or "")
            every = FREQ.get(m[1], "recurring") if m else "recurring"
            why = f"a {every} series, {s.count} occurrence(s) since {_day(s.first)}"
        a.step(
            f"{name}: {len(evs)} event(s), first {_dow(first.time)} {_title(found, first.doc_id)}, {why}.",
            [e.doc_id for e in evs],
        )
        lines.append(f"{name} ({_dow(first.time)}, {_title(found, first.doc_id)}, {why})")
    if lines:
        a.text = f"{label[:1].upper() + label[1:]} ({span}) you are likely to meet " + "; ".join(lines[:8]) + "."
        ranked = [vd.entities[eid] for eid, _ in sorted(people.items(), key=likelihood)] if vd else []
        a.fact = fact("people", [person(p) for p in ranked], _names(ranked[:8]))
        a.confidence = 0.7
    else:
        shown = found.upcoming[:5]
        a.step(f"{found.n_events} event(s) planned, none with other people named.", [e.doc_id for e in shown])
        a.text = (
            f"{found.n_events} event(s) are planned {label} ({span}), none naming other people: "
            + "; ".join(f"{_title(found, e.doc_id)} ({_dow(e.time)})" for e in shown)
            + "."
        )
        a.fact = fact("events", [event_value(e.title, e.time, e.end) for e in shown], "; ".join(e.title for e in shown))
        a.confidence = 0.6


def _topic(found: Found, a: Answer) -> None:
    if found.intent.subject == "communities":
        if not found.communities:
            a.text = "The knowledge graph this token can read has no communities yet."
            return
        parts = []
        for c in found.communities:
            names = _names(c["members"]) or "unnamed entities"
            a.step(f"Community of {c['size']} entities; most central: {names}.", c["evidence_ids"])
            parts.append(f"{names} ({c['size']} entities)")
        a.text = "Your network's largest communities: " + "; ".join(parts) + "."
        first = found.communities[0]["members"]
        a.fact, a.confidence = fact("people", [person(m) for m in first], _names(first)), 0.6
        return
    a.unknown = "what your main topics are"
    if not found.topics:
        a.text = "No topics stand out in the records this token can read for that question."
        return
    parts = []
    for t in found.topics:
        trend = f", {t.trend}" if t.trend and t.trend != "stable" else ""
        a.step(
            f"Topic “{t.label}”: {t.size} record(s){trend}; keywords {', '.join(t.keywords[:4])}.",
            t.evidence[-2:],
        )
        parts.append(f"“{t.label}” ({t.size} records{trend})")
    label = f" {found.intent.time.label}" if found.intent.time else ""
    a.text = f"Your main topics{label}: " + "; ".join(parts) + "."
    a.fact = fact(
        "text",
        found.topics[0].label,
        "; ".join(f"{t.label} ({', '.join(t.keywords[:6])})" for t in found.topics),
    )
    a.confidence = 0.6


def compose(found: Found, vd: views.ViewData | None) -> dict[str, Any]:
    """The answer, its reasoning steps and the evidence they cite (only what the caller may read)."""
    it = found.intent
    a = Answer()
    a.step(interpretation(found))
    name = it.name
    if name == "search":
        _search(found, a)
    elif name == "person_profile" and found.profile:
        _profile(found, a)
    elif name == "relationship" and found.entity:
        _relationship(found, a)
    elif name in ("person_profile", "relationship"):
        _fallback(found, a, "person")
    elif name == "timeline":
        _timeline(found, a)
    elif name == "aggregate":
        _aggregate(found, a)
    elif name == "prediction":
        _prediction(found, vd, a)
    elif name == "topic":
        _topic(found, a)
    cited: list[str] = []
    for s in a.steps:
        s["evidence"] = [i for i in s["evidence"] if i in found.docs]
        cited += s["evidence"]
    cited = list(dict.fromkeys(cited))[:MAX_EVIDENCE]
    keep = set(cited)
    for s in a.steps:
        s["evidence"] = [i for i in s["evidence"] if i in keep]
    return {
        "intent": name,
        "answer": a.text,
        "reasoning": a.steps,
        "evidence": [views.evidence_item(found.docs[i], found.terms) for i in cited],
        "slots": it.slots(),
        "answered_by": "rules",
        "fact": a.fact,
        "confidence": a.confidence,
        "unknown": a.unknown,
        "future": name == "prediction",
    }
