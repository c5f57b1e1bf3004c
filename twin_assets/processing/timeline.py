"""The timeline: dated events, recurring series and life events found from clusters of evidence.

Every dated document becomes an event in UTC that keeps the zone the source gave (so "09:00 in New
York" stays readable). Occurrences of one calendar series (``series_uid``) are grouped. Life events
are inferred, never planted by hand, and always cite their evidence:

* **trip** — a multi-day all-day calendar entry at a place away from home, corroborated by spending
  at the destination, travel bookings (airline, hotel) and booking mails in the weeks before;
* **job_change** — the owner's own work e-mail domain changing (old domain falls silent, a new one
  starts), corroborated by the salary payer changing;
* **move** — the rent payee changing, or payments to a moving company.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from twin_assets.connectors.toolkit import zone_or_offset
from twin_assets.processing.names import email_domain, fold, is_public_domain, normalise_email
from twin_assets.processing.resolution import Resolution
from twin_assets.records import Document
from twin_assets.tiers import Tier

_TRAVEL_WORDS = re.compile(
    r"\b(?:flight|flights|flug|flüge|vol|vuelo|airline|airlines|airways|air|boarding|booking|buchung|hotel|hostel|"
    r"airbnb|check-in|check-out|itinerary|reise|travel|trip|urlaub|vacation|holiday|passenger|passengers)\b",
    re.IGNORECASE,
)
_TRIP_TITLE = re.compile(
    r"\b(?:trip|travel|vacation|holiday|holidays|urlaub|reise|ferien|vacances|viaje|"
    r"flight|flug|conference|offsite)\b",
    re.IGNORECASE,
)
_SALARY = re.compile(
    r"\b(?:gehalt|lohn|salary|payroll|wages|salaire|nómina|nomina|salario|loon|stipendio)\b", re.IGNORECASE
)
_RENT = re.compile(r"\b(?:miete|kaltmiete|warmmiete|rent|loyer|alquiler|huur|affitto|aluguel)\b", re.IGNORECASE)
_MOVERS = re.compile(
    r"\b(?:umzug|umzugsfirma|umzugsunternehmen|movers|moving company|removals|u-haul|"
    r"déménagement|mudanza|mudanzas|verhuizing|trasloco|mudança)\b",
    re.IGNORECASE,
)
_NON_PLACES = re.compile(r"(?i)^(?:home|zuhause|office|büro|remote)$")


@dataclass(slots=True)  # a million of them are held by a server's view
class TimelineEvent:
    doc_id: str
    time: datetime  # UTC
    end: datetime | None
    original_tz: str | None
    local_time: str | None  # ISO time in the original zone, when that zone is known
    kind: str
    source: str
    title: str
    entity_ids: list[str]
    series_id: str | None
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Series:
    series_id: str
    title: str
    count: int
    first: datetime
    last: datetime
    rrule: str | None
    entity_ids: list[str]
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class LifeEvent:
    kind: str  # trip, job_change, move
    start: datetime
    end: datetime | None
    confidence: float
    tier: str
    evidence: list[str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    events: list[TimelineEvent]
    series: list[Series]
    life_events: list[LifeEvent]

    def for_entity(self, entity_id: str) -> list[TimelineEvent]:
        return [e for e in self.events if entity_id in e.entity_ids]

    def between(self, start: datetime, end: datetime) -> list[TimelineEvent]:
        return [e for e in self.events if start <= e.time < end]


# ---- events --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)  # a handful of zone names, a million events
def _zone(name: str | None) -> tzinfo | None:
    return None if name == "floating" else zone_or_offset(name)  # "floating": the source gave no zone


def _end_time(doc: Document) -> datetime | None:
    raw = (doc.meta or {}).get("end_time")
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and raw:
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def belongs_on_timeline(doc: Document) -> bool:
    """Dated records, except chat system lines ("X added Y"), which say nothing about a life."""
    return doc.event_time is not None and not ((doc.meta or {}).get("attributes") or {}).get("system")


def events(docs: Sequence[Document], resolution: Resolution | None = None) -> list[TimelineEvent]:
    """Every dated document as an event, oldest first."""
    entity_ids: dict[str, set[str]] = defaultdict(set)
    if resolution is not None:
        for m in resolution.mentions:
            entity_ids[m.doc_id].add(m.entity_id)
    out = []
    for doc in docs:
        if doc.event_time is None or not belongs_on_timeline(doc):
            continue
        meta = doc.meta or {}
        attrs = meta.get("attributes") or {}
        tz_name = meta.get("original_tz")
        zone = _zone(tz_name)
        when = doc.event_time.astimezone(UTC)
        series = attrs.get("series_uid") if attrs.get("is_recurring") else None
        out.append(
            TimelineEvent(
                doc_id=doc.id,
                time=when,
                end=_end_time(doc),
                original_tz=tz_name,
                local_time=when.astimezone(zone).isoformat() if zone else None,
                kind=doc.kind,
                source=doc.source,
                title=doc.title,
                entity_ids=sorted(entity_ids.get(doc.id, ())),
                series_id=series,
                tier=doc.tier,
                evidence=[doc.id],
            )
        )
    out.sort(key=lambda e: (e.time, e.doc_id))
    return out


def series(evts: Sequence[TimelineEvent], docs: Sequence[Document]) -> list[Series]:
    """Calendar occurrences grouped by their series UID."""
    by_id = {d.id: d for d in docs}
    groups: dict[str, list[TimelineEvent]] = defaultdict(list)
    for e in evts:
        if e.series_id:
            groups[e.series_id].append(e)
    out = []
    for sid, items in sorted(groups.items()):
        titles = Counter(e.title for e in items)
        first_doc = by_id.get(items[0].doc_id)
        rrule = ((first_doc.meta or {}).get("attributes") or {}).get("rrule") if first_doc else None
        out.append(
            Series(
                series_id=sid,
                title=titles.most_common(1)[0][0],
                count=len(items),
                first=items[0].time,
                last=items[-1].time,
                rrule=rrule,
                entity_ids=sorted({i for e in items for i in e.entity_ids}),
                tier=Tier.max_of(*(e.tier for e in items)),
                evidence=[e.doc_id for e in items],
            )
        )
    return out


# ---- trips ---------------------------------------------------------------------------------------


def _text(doc: Document) -> str:
    return f"{doc.title}\n{doc.body}"


def _place_words(location: str) -> list[str]:
    """The searchable parts of a location: "Lisbon, Portugal" -> ["lisbon", "portugal"]."""
    return [fold(p) for p in re.split(r"[,;/]", location) if len(fold(p)) >= 3]


class _Dated:
    """Documents by time, for the ones in a window, in their input order: each trip looks at the weeks
    around it, and scanning every message and payment for each of a decade's trips was most of the
    timeline step at a million records."""

    def __init__(self, docs: Sequence[Document]) -> None:
        self._items = sorted(
            ((d.event_time, i, d) for i, d in enumerate(docs) if d.event_time is not None), key=lambda x: (x[0], x[1])
        )
        self._times = [t for t, _i, _d in self._items]

    def between(self, start: datetime, end: datetime) -> list[Document]:
        """Documents with ``start <= event_time <= end``."""
        window = self._items[bisect_left(self._times, start) : bisect_right(self._times, end)]
        return [d for _t, _i, d in sorted(window, key=lambda x: x[1])]


def detect_trips(docs: Sequence[Document], *, home: str | None = None) -> list[LifeEvent]:
    """Trips: multi-day all-day calendar entries away from home, with the evidence around them."""
    home_words = set(_place_words(home)) if home else set()
    transactions = _Dated([d for d in docs if d.kind == "transaction"])
    messages = _Dated([d for d in docs if d.kind == "message"])
    notes = [d for d in docs if d.kind == "note"]
    seeds: list[tuple[datetime, datetime, str, Document]] = []
    for doc in docs:
        attrs = (doc.meta or {}).get("attributes") or {}
        if doc.kind != "event" or not attrs.get("all_day") or doc.event_time is None:
            continue
        end = _end_time(doc) or doc.event_time
        if end - doc.event_time < timedelta(days=2):
            continue
        raw_location = attrs.get("location")
        location = raw_location if isinstance(raw_location, str) else ""
        if location and _NON_PLACES.match(location.strip()):
            continue
        if not location and not _TRIP_TITLE.search(doc.title or ""):
            continue
        words = _place_words(location) if location else []
        if home_words and (set(words) & home_words or any(w in fold(doc.title) for w in home_words)):
            continue
        seeds.append((doc.event_time, end, location, doc))
    seeds.sort(key=lambda s: s[0])
    out: list[LifeEvent] = []
    for start, end, location, doc in seeds:
        if out and start < (out[-1].end or out[-1].start):
            out[-1].evidence.append(doc.id)  # the same trip twice (two calendars)
            continue
        city_words = _place_words(location)[:1] or [w for w in fold(doc.title).split() if len(w) > 3][-1:]
        evidence = [doc.id]
        kinds: set[str] = set()
        tiers = [doc.tier]
        mail_days: set = set()
        for m in messages.between(start - timedelta(days=75), end):
            assert m.event_time is not None
            text = _text(m)
            if _TRAVEL_WORDS.search(text) and any(w in fold(text) for w in city_words):
                kinds.add("booking or travel mail")
                evidence.append(m.id)
                tiers.append(m.tier)
                mail_days.add(m.event_time.date())
        for t in transactions.between(start - timedelta(days=75), end + timedelta(days=2)):
            assert t.event_time is not None
            text = fold(_text(t))
            during = start - timedelta(days=1) <= t.event_time <= end + timedelta(days=2)
            before = start - timedelta(days=75) <= t.event_time < start
            at_destination = any(w in text for w in city_words)
            # A booking paid before the trip names an airport code, not the city: tie it to a booking
            # mail about this destination from the same days.
            booked = before and any(abs((t.event_time.date() - day).days) <= 1 for day in mail_days)
            if during and at_destination:
                kinds.add("spending at the destination")
            elif _TRAVEL_WORDS.search(_text(t)) and (during or (before and (at_destination or booked))):
                kinds.add("travel booking payment")
            else:
                continue
            evidence.append(t.id)
            tiers.append(t.tier)
        for n in notes:
            attrs = (n.meta or {}).get("attributes") or {}
            front_matter = attrs.get("front_matter")
            front = front_matter if isinstance(front_matter, dict) else {}
            where = fold(str(front.get("location") or n.title or ""))
            if n.event_time and abs((n.event_time - start).days) <= 3 and any(w in where for w in city_words):
                kinds.add("travel note")
                evidence.append(n.id)
                tiers.append(n.tier)
        confidence = min(0.95, 0.5 + 0.15 * len(kinds))
        out.append(
            LifeEvent(
                kind="trip",
                start=start,
                end=end,
                confidence=round(confidence, 2),
                tier=Tier.max_of(*tiers),
                evidence=evidence,
                details={"destination": location or doc.title, "corroboration": sorted(kinds)},
            )
        )
    return out


# ---- job changes ---------------------------------------------------------------------------------


def _self_emails(resolution: Resolution | None) -> set[str]:
    """The owner's addresses, including others that carry exactly the owner's full name."""
    if resolution is None or not resolution.self_id:
        return set()
    me = resolution.get(resolution.self_id)
    if me is None:
        return set()
    out = set(me.aliases.get("emails", []))
    own = fold(me.name)
    if " " in own:
        for e in resolution.of_kind("person"):
            if e.id != me.id and fold(e.name) == own:
                out |= set(e.aliases.get("emails", []))
    return out


def _org_for_domain(resolution: Resolution | None, domain: str) -> str:
    """The organisation whose name the domain spells ("heliolabs.example" -> "Helio Labs GmbH")."""
    label = re.sub(r"[^a-z0-9]", "", domain.split(".")[0].lower())
    if resolution is not None:
        for org in resolution.of_kind("organisation"):
            for name in [org.name, *org.aliases.get("names", [])]:
                words = [w for w in fold(name).split() if w not in ("gmbh", "ag", "inc", "ltd", "llc", "the")]
                joined = "".join(words)
                if joined and (
                    joined == label
                    or (len(words) > 1 and "".join(words[:2]) == label)
                    or (words and words[0] == label and len(label) >= 5)
                ):
                    return org.name
    return domain


def detect_job_changes(docs: Sequence[Document], resolution: Resolution | None) -> list[LifeEvent]:
    """The owner's work domain changing, corroborated by a new salary payer."""
    mine = _self_emails(resolution)
    usage: dict[str, list[tuple[datetime, Document]]] = defaultdict(list)
    for doc in docs:
        if doc.event_time is None or doc.kind not in ("message", "event", "chat_message"):
            continue
        for party in (doc.meta or {}).get("parties") or []:
            if party.get("role") not in ("from", "organizer", "attendee"):
                continue
            email = normalise_email(party.get("email"))
            if email and email in mine and not is_public_domain(email_domain(email)):
                usage[email_domain(email)].append((doc.event_time, doc))
                break
    spans: dict[str, tuple[datetime, datetime, list[Document]]] = {}
    for domain, used in usage.items():
        used.sort(key=lambda u: u[0])
        if len(used) >= 3:
            spans[domain] = (used[0][0], used[-1][0], [d for _t, d in used])
    salary = _payer_changes(docs)
    out: list[LifeEvent] = []
    ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
    for (old, (o_first, o_last, o_docs)), (new, (n_first, n_last, n_docs)) in _pairs(ordered):
        # A personal domain spans everything; a job change is one work domain ending as the next begins.
        if not (n_first > o_first + timedelta(days=60) and o_last < n_first + timedelta(days=90) and n_last > o_last):
            continue
        evidence = [d.id for d in o_docs[-3:]] + [d.id for d in n_docs[:3]]
        tiers = [d.tier for d in o_docs[-3:] + n_docs[:3]]
        confidence = 0.7
        start = n_first
        details: dict[str, Any] = {
            "from": _org_for_domain(resolution, old),
            "to": _org_for_domain(resolution, new),
            "from_domain": old,
            "to_domain": new,
        }
        for change in salary:
            if abs((change.start - n_first).days) <= 75:
                confidence = 0.9
                evidence += change.evidence
                tiers.append(change.tier)
                details["salary_payer"] = change.details
                start = min(start, change.start)
        out.append(
            LifeEvent(
                kind="job_change",
                start=start,
                end=None,
                confidence=confidence,
                tier=Tier.max_of(*tiers),
                evidence=evidence,
                details=details,
            )
        )
    if not out:  # no work mail: the payer change alone is weaker evidence
        for change in salary:
            change.confidence = 0.5
            out.append(change)
    return out


def _pairs(ordered: list) -> list:
    return [(ordered[i], ordered[j]) for i in range(len(ordered)) for j in range(i + 1, len(ordered))]


def _payer_changes(docs: Sequence[Document]) -> list[LifeEvent]:
    """Regular incoming salary switching from one payer to another."""
    payments = []
    for doc in docs:
        attrs = (doc.meta or {}).get("attributes") or {}
        amount = attrs.get("amount")
        if doc.kind != "transaction" or doc.event_time is None or not isinstance(amount, int | float) or amount <= 0:
            continue
        if _SALARY.search(_text(doc)):
            payments.append((doc.event_time, fold(doc.title), doc))
    return _switches(payments, kind="job_change", label="payer", min_run=2)


def _switches(
    payments: list[tuple[datetime, str, Document]], *, kind: str, label: str, min_run: int
) -> list[LifeEvent]:
    payments.sort(key=lambda p: p[0])
    out = []
    for i in range(1, len(payments)):
        prev, cur = payments[i - 1], payments[i]
        if prev[1] == cur[1] or not prev[1] or not cur[1]:
            continue
        before = [p for p in payments[:i] if p[1] == prev[1]][-min_run:]
        after = [p for p in payments[i:] if p[1] == cur[1]][:min_run]
        if len(before) < min_run or len(after) < min_run:
            continue
        docs = [p[2] for p in before + after]
        out.append(
            LifeEvent(
                kind=kind,
                start=cur[0],
                end=None,
                confidence=0.7,
                tier=Tier.max_of(*(d.tier for d in docs)),
                evidence=[d.id for d in docs],
                details={f"old_{label}": prev[2].title, f"new_{label}": cur[2].title},
            )
        )
    return out


# ---- moves ---------------------------------------------------------------------------------------


def detect_moves(docs: Sequence[Document]) -> list[LifeEvent]:
    """A new rent payee (after regular rent to another), or a payment to movers."""
    rent = []
    movers = []
    for doc in docs:
        attrs = (doc.meta or {}).get("attributes") or {}
        amount = attrs.get("amount")
        if doc.kind != "transaction" or doc.event_time is None or not isinstance(amount, int | float):
            continue
        text = _text(doc)
        if amount < 0 and _RENT.search(text):
            rent.append((doc.event_time, fold(doc.title), doc))
        if amount < 0 and _MOVERS.search(text):
            movers.append(doc)
    out = _switches(rent, kind="move", label="rent_payee", min_run=2)
    for doc in movers:
        assert doc.event_time is not None
        near = [e for e in out if abs((e.start - doc.event_time).days) <= 60]
        if near:
            near[0].evidence.append(doc.id)
            near[0].confidence = 0.9
            near[0].tier = Tier.max_of(near[0].tier, doc.tier)
        else:
            out.append(
                LifeEvent(
                    kind="move",
                    start=doc.event_time,
                    end=None,
                    confidence=0.5,
                    tier=doc.tier,
                    evidence=[doc.id],
                    details={"movers": doc.title},
                )
            )
    out.sort(key=lambda e: e.start)
    return out


def build_timeline(
    docs: Sequence[Document], resolution: Resolution | None = None, *, home: str | None = None
) -> Timeline:
    """Events, series and life events for a set of documents."""
    evts = events(docs, resolution)
    life = detect_trips(docs, home=home) + detect_job_changes(docs, resolution) + detect_moves(docs)
    life.sort(key=lambda e: (e.start, e.kind))
    return Timeline(events=evts, series=series(evts, docs), life_events=life)
