"""Who each person is to the owner, and how often and how warmly they are in touch, as data with evidence.

Per person (and per organisation the owner deals with) one :class:`Relation`: the relation (partner, mother,
father, sibling, family, manager, colleague, friend, service, other), the organisation it is through, the
reasons with the records that say so, and every real contact as columns (time, record, direction, tone), so a
question asked "as of" any date counts only what happened before it. Scheduled meetings after the view's
reference time (the newest record that is not a calendar entry) are not contacts. Per owner, the employers
(:class:`Employment`): organisations from the owner's work addresses and salary payers, with date ranges.

Every rule is a plain function over the view's documents, its resolution, the records' tone scores and the
timeline's events: nothing is downloaded, nothing is guessed from a name list of the persona.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from twin_assets.connectors.base import CALENDAR, CHAT
from twin_assets.connectors.registry import traits_for
from twin_assets.processing.entities import is_role_address
from twin_assets.processing.names import email_domain, fold, is_public_domain, parse_name
from twin_assets.processing.resolution import Entity, Resolution
from twin_assets.processing.timeline import TimelineEvent
from twin_assets.records import Document
from twin_assets.tiers import Tier

RELATIONS = ("partner", "mother", "father", "sibling", "family", "manager", "colleague", "friend", "service", "other")
SENT, RECEIVED, MET = "sent", "received", "met"
MESSAGE_KINDS = frozenset({"message", "chat_message"})
MAX_MEETING_SIZE = 12  # larger gatherings (all-hands, conferences) are no personal contact
MAX_REASON_EVIDENCE = 5
_AUTHOR_ROLES = frozenset({"from", "author", "sender"})
_RECIPIENT_ROLES = frozenset({"to", "cc", "bcc", "mention", "member"})
_DIRECT_ROLES = frozenset({"to"})

# How people are addressed or listed ("Mama", "Katja ❤️", a card's categories): folded words → relation.
_ADDRESS_TERMS: dict[str, str] = {
    **dict.fromkeys(
        ("mom", "mum", "mama", "mami", "mommy", "mummy", "mutti", "mother", "maman", "mamá", "mae", "mamma"), "mother"
    ),
    **dict.fromkeys(("dad", "daddy", "papa", "papi", "vati", "father", "papà", "pai"), "father"),
    **dict.fromkeys(("sis", "sister", "schwester", "sister-in-law"), "sibling"),
    **dict.fromkeys(("bro", "brother", "bruder"), "sibling"),
    **dict.fromkeys(
        ("wife", "husband", "partner", "girlfriend", "boyfriend", "fiance", "fiancee", "spouse", "schatz", "hubby"),
        "partner",
    ),
    **dict.fromkeys(
        ("aunt", "uncle", "cousin", "grandma", "grandpa", "oma", "opa", "tante", "onkel", "niece", "nephew", "family"),
        "family",
    ),
    **dict.fromkeys(("friend", "friends", "freund", "freundin", "buddy", "mate"), "friend"),
    **dict.fromkeys(("doctor", "dentist", "physician", "arzt", "ärztin", "lawyer", "accountant", "bank"), "service"),
}
_HEARTS = re.compile(r"[❤♥💕💖💗💘💞💓😘😍💑💏]")
_ENDEARMENT = re.compile(
    r"\b(?:love you|love u|luv you|my love|babe|baby|honey|darling|sweetheart|schatz|schatzi|liebling|xoxo)\b"
    r"|[❤♥💕💖💗😘]",
    re.IGNORECASE,
)
_CLUB = re.compile(
    r"\b(?:club|verein|team|choir|chor|band|league|society|group|class|course|kurs|crew|circle|runners?)\b", re.I
)
_MANAGER_TITLE = re.compile(
    r"\b(?:manager|head|lead|leader|director|chief|vp|vice president|supervisor|teamleiter|leiter|leiterin|"
    r"abteilungsleiter|cto|ceo|cfo|coo|founder|principal)\b",
    re.IGNORECASE,
)
_ONE_ON_ONE = re.compile(r"\b1\s*[:/-]\s*1\b|\bone[- ]on[- ]one\b|\bcheck[- ]?in\b|\bjour fixe\b", re.IGNORECASE)
_SERVICE_TITLE = re.compile(
    r"^(?:dr|prof|dipl)\b\.?|\b(?:praxis|clinic|dental|bank|shop|store|support|service|newsletter)\b", re.I
)
_SALARY_WORDS = re.compile(r"\b(?:gehalt|lohn|salary|payroll|wages?|bezüge)\b", re.IGNORECASE)
# Money moved between the owner's own accounts is no income, whoever the bank names as its payer.
_TRANSFER = re.compile(
    r"\b(?:umbuchung|übertrag|uebertrag|eigenübertrag|transfer|savings|sparkonto|tagesgeld|girokonto|own account)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'-]+|[^\w\s]", re.UNICODE)
_PARENT_GAP_YEARS = 16  # born this much earlier than the owner: a parent's generation, not a sibling's


@dataclass
class Reason:
    """One piece of evidence for a relation: what it is (``kind``, a short code), a short text and the records."""

    kind: str
    text: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Relation:
    entity_id: str
    relation: str  # one of RELATIONS
    organisation: str | None
    confidence: float
    reasons: list[Reason]
    # Every contact, oldest first, as columns: epoch seconds, record id, direction (SENT/RECEIVED/MET) and the
    # record's tone (VADER compound of its author's own words; None when unscored). ``direct`` marks a
    # received message addressed to the owner alone or in a one-to-one chat (what a reply is owed to).
    contacts: dict[str, list[Any]]
    months: list[dict[str, Any]]  # per month up to the reference time: sent, received, met, tone
    since: str | None  # when the relation holds from/until (a colleague's shared employment), ISO dates
    until: str | None
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Employment:
    organisation: str
    domain: str | None
    start: datetime
    end: datetime
    sources: list[str]  # "work address", "salary", "contact card"
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class RelationModel:
    relations: list[Relation]
    employment: list[Employment]
    reference: datetime | None


# ---- contacts -----------------------------------------------------------------------------------------
def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def reference_time(docs: Sequence[Document]) -> datetime | None:
    """The newest time that is not a calendar entry: what has happened by then is the view's past."""
    times = [d.event_time for d in docs if d.event_time is not None and d.kind != "event"]
    return max(times) if times else None


def collect_contacts(
    docs: Sequence[Document],
    resolution: Resolution,
    scores: dict[str, float | None],
    events: Sequence[TimelineEvent],
    reference: datetime | None,
) -> dict[str, list[tuple[int, str, str, float | None, bool]]]:
    """Per entity: (epoch, record, direction, tone, direct) for every message to or from the owner and every
    meeting (an event occurrence of at most ``MAX_MEETING_SIZE`` people) up to ``reference``."""
    owner = resolution.self_id
    wanted = {e.id for e in resolution.entities if e.kind in ("person", "organisation") and e.id != owner}
    people = {e.id for e in resolution.entities if e.kind == "person"}
    roles: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for m in resolution.mentions:
        if m.entity_id in wanted or m.entity_id == owner:
            roles[m.doc_id].append((m.role, m.entity_id))
    out: dict[str, list[tuple[int, str, str, float | None, bool]]] = defaultdict(list)
    for doc in docs:
        if doc.event_time is None or doc.kind not in MESSAGE_KINDS:
            continue
        r = roles.get(doc.id)
        if not r:
            continue
        authors = {e for role, e in r if role in _AUTHOR_ROLES}
        recipients = {e for role, e in r if role in _RECIPIENT_ROLES} - authors
        t, tone = _epoch(doc.event_time), scores.get(doc.id)
        if owner is not None and owner in authors:
            for e in recipients & wanted:
                out[e].append((t, doc.id, SENT, tone, False))
        else:
            to_owner = doc.kind == "chat_message" or owner in recipients
            if not to_owner:
                continue
            direct_to = {e for role, e in r if role in _DIRECT_ROLES}
            chat_one = doc.kind == "chat_message" and len(recipients - {owner}) <= 1
            direct = chat_one or (owner in direct_to and len(direct_to) == 1)
            for e in authors & wanted:
                out[e].append((t, doc.id, RECEIVED, tone, direct))
    limit = reference.timestamp() if reference else None
    for ev in events:
        if not is_meeting(ev) or len([e for e in ev.entity_ids if e in people]) > MAX_MEETING_SIZE:
            continue
        t = _epoch(ev.time)
        if limit is not None and t > limit:
            continue  # scheduled, not yet a contact
        for e in ev.entity_ids:
            if e in wanted:
                out[e].append((t, ev.doc_id, MET, None, False))
    for items in out.values():
        items.sort()
    return out


def is_meeting(ev: TimelineEvent) -> bool:
    """A calendar occurrence with people on it (not a message's or a payment's place on the timeline), at a
    time of day: an all-day entry naming someone is their birthday or a trip, not time spent with them."""
    return bool(ev.entity_ids) and traits_for(ev.source).medium == CALENDAR and not all_day(ev)


def all_day(ev: TimelineEvent) -> bool:
    t = ev.time
    if (t.hour, t.minute, t.second) != (0, 0, 0):
        return False
    return ev.end is None or (ev.end - t) % timedelta(days=1) == timedelta(0)


def _workspace_chat(doc: Document) -> bool:
    """A chat whose users have stable workspace ids (a work chat such as Slack), not a phone messenger."""
    traits = traits_for(doc.source)
    return traits.medium == CHAT and traits.handle_namespace is not None


def contact_columns(items: Sequence[tuple[int, str, str, float | None, bool]]) -> dict[str, list[Any]]:
    return {
        "t": [i[0] for i in items],
        "doc": [i[1] for i in items],
        "dir": [i[2] for i in items],
        "tone": [i[3] for i in items],
        "direct": [i[4] for i in items],
    }


def month_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m")


def monthly(contacts: dict[str, list[Any]], until: datetime | None = None) -> list[dict[str, Any]]:
    """Per calendar month from the first contact to ``until`` (or the last contact): counts by direction and
    the mean tone of the scored messages; months without contact are there with zeros."""
    limit = until.timestamp() if until else None
    rows: dict[str, dict[str, Any]] = {}
    tones: dict[str, list[float]] = defaultdict(list)
    for t, direction, tone in zip(contacts["t"], contacts["dir"], contacts["tone"], strict=True):
        if limit is not None and t >= limit:
            break
        month = month_of(t)
        row = rows.setdefault(month, {"month": month, SENT: 0, RECEIVED: 0, MET: 0, "tone": None})
        row[direction] += 1
        if tone is not None:
            tones[month].append(float(tone))
    if not rows:
        return []
    last = month_of(limit - 1) if limit is not None else max(rows)
    out = []
    for month in _month_range(min(rows), max(last, max(rows))):
        row = rows.get(month) or {"month": month, SENT: 0, RECEIVED: 0, MET: 0, "tone": None}
        if tones.get(month):
            row["tone"] = round(sum(tones[month]) / len(tones[month]), 4)
        out.append(row)
    return out


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# ---- frequency and tone over a window ------------------------------------------------------------------
@dataclass
class Window:
    contacts: int
    sent: int
    received: int
    met: int
    tone: float | None
    negative: int  # scored messages below -0.3
    evidence: list[str]


def _span(contacts: dict[str, list[Any]], since: datetime | None, until: datetime) -> range:
    """Positions of the contacts in ``[since, until)``: the columns are sorted by time, so two bisections."""
    times = contacts["t"]
    # Whole seconds: the columns hold ints, and an int list bisects several times faster with an int key.
    lo = bisect.bisect_left(times, math.ceil(since.timestamp())) if since else 0
    return range(lo, bisect.bisect_left(times, math.ceil(until.timestamp())))


def window(contacts: dict[str, list[Any]], since: datetime | None, until: datetime) -> Window:
    span = _span(contacts, since, until)
    dirs, tones_col = contacts["dir"][span.start : span.stop], contacts["tone"][span.start : span.stop]
    counts = Counter(dirs)
    tones = [float(t) for t in tones_col if t is not None]
    return Window(
        contacts=len(dirs),
        sent=counts[SENT],
        received=counts[RECEIVED],
        met=counts[MET],
        tone=round(sum(tones) / len(tones), 4) if tones else None,
        negative=sum(1 for t in tones if t < -0.3),
        evidence=contacts["doc"][span.start : span.stop],
    )


def last_contact(
    contacts: dict[str, list[Any]], until: datetime, kinds: Iterable[str] = (SENT, RECEIVED, MET)
) -> tuple[int, str, str] | None:
    """(epoch, record, direction) of the newest contact of these kinds before ``until``, or None."""
    wanted = set(kinds)
    for i in reversed(_span(contacts, None, until)):
        if contacts["dir"][i] in wanted:
            return contacts["t"][i], contacts["doc"][i], contacts["dir"][i]
    return None


def count(contacts: dict[str, list[Any]], since: datetime | None, until: datetime) -> int:
    """How many contacts fall in ``[since, until)`` (two bisections, nothing copied)."""
    return len(_span(contacts, since, until))


def _rate(contacts: dict[str, list[Any]], since: datetime, until: datetime, n: int | None = None) -> float:
    """Contacts per 30 days in ``[since, until)``, counting only the part of it after the first contact."""
    first = contacts["t"][0] if contacts["t"] else None
    if first is None or first >= until.timestamp():
        return 0.0
    days = max(1.0, (until - max(since, datetime.fromtimestamp(first, UTC))).total_seconds() / 86400)
    return (count(contacts, since, until) if n is None else n) * 30.0 / days


def trend(contacts: dict[str, list[Any]], as_of: datetime, recent_days: int = 90) -> dict[str, Any]:
    """Recent frequency and tone against the person's own past: the rate per 30 days over the last
    ``recent_days`` against the rate over the year before that (and the year before that, for a change that
    began longer ago), and the tone then and now.

    ``state``: ``strained`` when the last 60 days hold clearly negative messages well below the usual tone;
    ``fading`` when contact fell to under half its earlier rate, by more than chance (a Poisson margin);
    ``strengthening`` when it rose to over 1.6 times the earlier rate, by more than chance, in two thirds of the
    recent window including the last (one busy week is no stronger tie); else ``steady``."""
    recent_start = as_of - timedelta(days=recent_days)
    base_start = recent_start - timedelta(days=365)
    recent = window(contacts, recent_start, as_of)
    base = window(contacts, base_start, recent_start)
    recent_rate = _rate(contacts, recent_start, as_of, recent.contacts)
    base_rate = _rate(contacts, base_start, recent_start, base.contacts)
    older_rate = _rate(contacts, base_start - timedelta(days=365), base_start)
    thirds = [
        _rate(
            contacts,
            recent_start + timedelta(days=recent_days * i / 3),
            recent_start + timedelta(days=recent_days * (i + 1) / 3),
        )
        for i in range(3)
    ]
    months = recent_days / 30.0

    def fell(before: float) -> bool:
        expected = before * months
        return before >= 1.0 and recent_rate < 0.5 * before and recent.contacts <= expected - 1.5 * expected**0.5

    def rose(before: float) -> bool:
        expected = max(before, 0.5) * months
        return (
            recent_rate >= 2.0
            and recent_rate > 1.6 * max(before, 0.5)
            and recent.contacts >= expected + 2.0 * expected**0.5
            and sum(t > before for t in thirds) >= 2
            and thirds[-1] > before
        )

    # The strain window is shorter: a fight is a matter of weeks.
    burst = window(contacts, as_of - timedelta(days=60), as_of)
    usual = base.tone if base.tone is not None else 0.0
    state = "steady"
    # The year before last counts only when the contact goes back that far.
    known_then = bool(contacts["t"]) and contacts["t"][0] < (base_start - timedelta(days=90)).timestamp()
    if burst.tone is not None and usual - burst.tone > 0.3 and burst.negative >= 2:
        state = "strained"
    elif fell(base_rate) or (known_then and fell(older_rate) and base_rate <= 0.75 * older_rate):
        state = "fading"
    elif rose(base_rate) or (known_then and rose(older_rate) and base_rate >= 1.3 * max(older_rate, 0.5)):
        state = "strengthening"
    return {
        "state": state,
        "recent_rate": round(recent_rate, 2),
        "base_rate": round(base_rate, 2),
        "older_rate": round(older_rate, 2),
        "recent_tone": recent.tone,
        "base_tone": base.tone,
        "recent": recent,
        "base": base,
        "burst": burst,
    }


# ---- organisations ---------------------------------------------------------------------------------------
def _org_key(name: str) -> str:
    words = [w for w in fold(name).replace("-", " ").split() if w not in _LEGAL]
    return "".join(words)


_LEGAL = frozenset({"gmbh", "ag", "inc", "ltd", "llc", "kg", "se", "plc", "co", "corp", "sa", "bv", "ug", "ev", "the"})


def _domain_label(domain: str) -> str:
    parts = domain.lower().split(".")
    label = parts[-2] if len(parts) >= 2 else parts[0]
    return label.replace("-", "").replace("_", "")


def _attrs(doc: Document) -> dict[str, Any]:
    return (doc.meta or {}).get("attributes") or {}


def _parties(doc: Document) -> list[dict[str, Any]]:
    return [p for p in (doc.meta or {}).get("parties") or [] if isinstance(p, dict)]


def _amount(doc: Document) -> float | None:
    value = _attrs(doc).get("amount")
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def salary_payers(docs: Sequence[Document], owner_names: Iterable[str] = ()) -> dict[str, list[Document]]:
    """Payers of income that recurs monthly (at least three months, similar amounts) or says it is salary:
    folded payer name → its credits, oldest first. Transfers between the owner's own accounts (the owner as
    payer, or a transfer's wording) are not income."""
    own = {fold(n) for n in owner_names if n}
    by_payer: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        if d.kind != "transaction" or d.event_time is None:
            continue
        if fold(d.title or "") in own or _TRANSFER.search(f"{d.title} {d.body}"):
            continue
        amount = _amount(d)
        if amount is None or amount <= 0 or not (d.title or "").strip():
            continue
        by_payer[fold(d.title)].append(d)
    out = {}
    for payer, credits in by_payer.items():
        months = {c.event_time.strftime("%Y-%m") for c in credits if c.event_time}
        amounts = sorted(a for c in credits if (a := _amount(c)) is not None)
        said = any(_SALARY_WORDS.search(f"{c.title} {c.body}") for c in credits)
        steady = len(months) >= 3 and amounts and amounts[len(amounts) // 2] >= 500
        if said or steady:
            out[payer] = sorted(credits, key=lambda c: c.event_time or datetime.min.replace(tzinfo=UTC))
    return out


def _owner_addresses(owner: Entity | None) -> list[str]:
    return [a.lower() for a in (owner.aliases.get("emails", []) if owner else [])]


def employment(
    docs: Sequence[Document],
    resolution: Resolution,
    cards: dict[str, list[Document]],
) -> list[Employment]:
    """The owner's employers: each domain of the owner's own non-public addresses that an organisation name
    (a contact card's ORG, a salary payer) matches, or, with no names at all, the owner's own company domain;
    plus salary payers with no address. Ranges run from the first to the last use of that address by the owner
    (and the first to the last salary credit)."""
    owner = next((e for e in resolution.entities if e.id == resolution.self_id), None)
    addresses = _owner_addresses(owner)
    domains = sorted({email_domain(a) for a in addresses if "@" in a} - {""})
    domains = [d for d in domains if not is_public_domain(d)]
    # Organisation names the data states, by their key.
    names: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for card_docs in cards.values():
        for c in card_docs:
            org = _attrs(c).get("org")
            if isinstance(org, str) and org.strip():
                names[_org_key(org)] += 1
                shown.setdefault(_org_key(org), org.strip())
    payers = salary_payers(docs, [owner.name, *owner.aliases.get("names", [])] if owner else [])
    for payer, credits in payers.items():
        shown.setdefault(_org_key(payer), credits[0].title.strip())
    # Owner's use of each of their addresses: the messages they sent from it.
    used: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        if d.kind != "message" or d.event_time is None:
            continue
        for p in _parties(d):
            if p.get("role") in _AUTHOR_ROLES and (p.get("email") or "").lower() in addresses:
                used[email_domain(p["email"].lower())].append(d)
    jobs: dict[str, Employment] = {}

    def matches(domain: str) -> str | None:
        label = _domain_label(domain)
        for key in sorted(shown, key=lambda k: -len(k)):
            if key and len(label) >= 3 and (key.startswith(label) or label.startswith(key)):
                return key
        return None

    matched = {d: matches(d) for d in domains}
    named = any(matched.values())
    for domain in domains:
        key = matched[domain]
        sent = _without_stray_dates(used.get(domain, []))
        if key is None and (named or len(sent) < 3):
            continue  # a personal domain beside named employers, or an address the owner hardly used
        if not sent:
            continue
        name = _display_org(shown[key]) if key else _domain_label_name(domain)
        jobs[key or domain] = Employment(
            organisation=name,
            domain=domain,
            start=sent[0].event_time,  # type: ignore[arg-type]  # dated: filtered above
            end=sent[-1].event_time,  # type: ignore[arg-type]
            sources=["work address"],
            tier=Tier.max_of(*{d.tier for d in sent}),
            evidence=[sent[0].id, sent[-1].id],
        )
    for payer, credits in payers.items():
        key = _org_key(payer)
        job = jobs.get(key) or next((j for k, j in jobs.items() if k == key or _org_key(j.organisation) == key), None)
        first, last = credits[0], credits[-1]
        assert first.event_time and last.event_time
        if job is None:
            jobs[key] = Employment(
                organisation=_display_org(shown.get(key, first.title)),
                domain=None,
                start=first.event_time,
                end=last.event_time,
                sources=["salary"],
                tier=Tier.max_of(*{c.tier for c in credits}),
                evidence=[first.id, last.id],
            )
        else:
            job.start, job.end = min(job.start, first.event_time), max(job.end, last.event_time)
            job.sources.append("salary")
            job.tier = Tier.max_of(job.tier, *{c.tier for c in credits})
            job.evidence += [first.id, last.id]
    return sorted(jobs.values(), key=lambda j: (j.start, j.organisation))


def _without_stray_dates(docs: list[Document]) -> list[Document]:
    """Drop leading records more than a year before the next one: a wrong clock (a message dated 1980) should not
    start an employment decades early."""
    i = 0
    while i + 1 < len(docs) and docs[i + 1].event_time - docs[i].event_time > timedelta(days=365):  # type: ignore[operator]
        i += 1
    return docs[i:] if i < len(docs) // 2 + 1 else docs


def _display_org(name: str) -> str:
    """A payer written in capitals ("HELIO LABS GMBH") in the case people write it."""
    name = " ".join(name.split())
    if name.isupper():
        return " ".join(
            w if w.lower() in _LEGAL and len(w) <= 4 and w != "CO" else w.capitalize() for w in name.split()
        )
    return name


def _domain_label_name(domain: str) -> str:
    parts = domain.lower().split(".")
    label = parts[-2] if len(parts) >= 2 else parts[0]
    return " ".join(w.capitalize() for w in re.split(r"[-_]", label) if w)


# ---- relations ---------------------------------------------------------------------------------------------
def _terms_in(text: str) -> list[str]:
    return [w for w in (fold(t) for t in _WORD.findall(text or "")) if w in _ADDRESS_TERMS]


def _card_lines(card: Document, prefix: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in (card.body or "").splitlines() if line.startswith(prefix + ":")]


_GREETING = re.compile(
    r"^(?:hi|hey|hello|dear|dearest|hallo|liebe|lieber|moin|hola|ciao|salut|bonjour|morning|good morning)\s+"
    r"(?:my\s+)?([^\W\d_]+)",
    re.IGNORECASE,
)


def _greeting_and_signoff(doc: Document) -> tuple[str, str]:
    """The first line and the last two (where people greet and sign), and the words that name someone there:
    the one a greeting is addressed to ("Hi Mom") and a short closing line's last word ("Kuss, Mama")."""
    body = (doc.body or "").strip()
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if not lines:
        return "", ""
    text = " ".join([lines[0][:60], *(ln[:60] for ln in lines[-2:])])
    names = []
    if m := _GREETING.match(lines[0]):
        names.append(m[1])
    for line in lines[-2:]:
        words = re.findall(r"[^\W\d_]+", line)
        if 1 <= len(words) <= 3 and len(line) <= 30:
            names.append(words[-1])
    return text, " ".join(names)


def _birth_year(card_docs: Sequence[Document]) -> int | None:
    for c in card_docs:
        b = _attrs(c).get("birthday")
        if isinstance(b, str) and re.match(r"^(19|20)\d\d-", b) and not b.startswith("1604"):
            return int(b[:4])
    return None


def _surname(name: str) -> str | None:
    parts = parse_name(name)
    return parts.last if parts and parts.last and not parts.last_is_initial else None


def infer(
    docs: Sequence[Document],
    resolution: Resolution,
    scores: dict[str, float | None],
    events: Sequence[TimelineEvent],
) -> RelationModel:
    """Every person's and organisation's relation to the owner, with reasons, contacts and monthly series."""
    by_id = {d.id: d for d in docs}
    entities = {e.id: e for e in resolution.entities}
    owner_id = resolution.self_id
    owner = entities.get(owner_id) if owner_id else None
    reference = reference_time(docs)
    contacts = collect_contacts(docs, resolution, scores, events, reference)
    cards: dict[str, list[Document]] = defaultdict(list)
    notes: dict[str, list[str]] = defaultdict(list)
    for m in resolution.mentions:
        d = by_id.get(m.doc_id)
        if d is None:
            continue
        if d.kind == "contact" and m.role == "contact":
            cards[m.entity_id].append(d)
        elif d.kind == "note" and m.role == "mention":
            notes[m.entity_id].append(d.id)
    jobs = employment(docs, resolution, cards)
    owner_year = _birth_year(cards.get(owner_id or "", []))
    owner_surname = _surname(owner.name) if owner else None
    work_domains = {j.domain: j for j in jobs if j.domain}
    jobs_by_key = {_org_key(j.organisation): j for j in jobs}
    # Which one-to-one meetings each person had with the owner (a manager's 1:1s), and the group series
    # they attend (a club).
    persons = {e.id for e in resolution.entities if e.kind == "person"}
    one_on_ones: dict[str, list[str]] = defaultdict(list)
    series_of: dict[str, Counter[str]] = defaultdict(Counter)
    series_docs: dict[tuple[str, str], str] = {}
    limit = reference.timestamp() if reference else None
    for ev in events:
        if not is_meeting(ev):
            continue
        if limit is not None and ev.time.timestamp() > limit:
            continue
        others = [e for e in ev.entity_ids if e != owner_id and e in persons]
        if len(others) == 1 and (_ONE_ON_ONE.search(ev.title or "") or ev.series_id):
            one_on_ones[others[0]].append(ev.doc_id)
        if len(others) >= 2 and ev.title and _CLUB.search(ev.title):
            for e in others:
                series_of[e][ev.title.strip()] += 1
                series_docs[(e, ev.title.strip())] = ev.doc_id
    # Tone of affection, per person: the share of one-to-one messages with endearments.
    endear: Counter[str] = Counter()
    direct_n: Counter[str] = Counter()
    addressed: dict[str, Counter[str]] = defaultdict(Counter)
    addressed_docs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for eid, items in contacts.items():
        for _t, doc_id, direction, _tone, _direct in items:
            d = by_id.get(doc_id)
            if d is None or direction == MET:
                continue
            direct_n[eid] += 1
            text, naming = _greeting_and_signoff(d)
            if _ENDEARMENT.search(text):
                endear[eid] += 1
            for term in _terms_in(naming):
                rel = _ADDRESS_TERMS[term]
                if rel in ("mother", "father", "partner", "sibling"):
                    addressed[eid][rel] += 1
                    if len(addressed_docs[(eid, rel)]) < MAX_REASON_EVIDENCE:
                        addressed_docs[(eid, rel)].append(doc_id)
    out: list[Relation] = []
    manager_scores: dict[str, float] = {}
    for eid, ent in entities.items():
        if eid == owner_id or ent.kind not in ("person", "organisation"):
            continue
        items = contacts.get(eid, [])
        if not items and eid not in cards:
            continue
        reasons: list[Reason] = []
        votes: defaultdict[str, float] = defaultdict(float)
        org: str | None = None
        card_docs = cards.get(eid, [])
        card_ids = [c.id for c in card_docs][:MAX_REASON_EVIDENCE]
        # 1. How they are named: "Mama", "Katja ❤️", a card's categories, role, notes.
        named_terms: list[str] = []
        for alias in [ent.name, *ent.aliases.get("names", [])]:
            named_terms += _terms_in(alias)
            if _HEARTS.search(alias):
                named_terms.append("♥")
        for c in card_docs:
            for line in _card_lines(c, "Categories") + _card_lines(c, "Role") + _card_lines(c, "Note"):
                named_terms += _terms_in(line)
        for term in dict.fromkeys(named_terms):
            rel = "partner" if term == "♥" else _ADDRESS_TERMS[term]
            votes[rel] += 4  # what the owner's own address book or chat list calls them
            reasons.append(Reason(f"named:{rel}", f"named or listed as “{term}”", card_ids or ent.evidence[:1]))
        # 2. How they address you or sign ("Hi Mom", "Kuss, Mama").
        for rel, n in addressed.get(eid, Counter()).items():
            if n >= 2 or (n >= 1 and direct_n[eid] < 10):
                votes[rel] += 2 + min(n, 5) / 5
                reasons.append(
                    Reason(
                        f"addressed:{rel}", f"addressed or signed as {rel} in {n} messages", addressed_docs[(eid, rel)]
                    )
                )
        # 3. Affection: endearments in a good share of your one-to-one messages.
        if direct_n[eid] >= 5 and endear[eid] >= 3 and endear[eid] / direct_n[eid] >= 0.1:
            votes["partner"] += 1.5 + endear[eid] / direct_n[eid]
            reasons.append(Reason("affection", f"endearments in {endear[eid]} of {direct_n[eid]} messages", []))
        # 4. Family name and generation.
        surname = _surname(ent.name) if ent.kind == "person" else None
        if surname and owner_surname and surname == owner_surname:
            year = _birth_year(card_docs)
            if year and owner_year and owner_year - year >= _PARENT_GAP_YEARS:
                votes["parent"] += 2
                reasons.append(
                    Reason(
                        "surname+age:parent",
                        f"shares your family name and was born {owner_year - year} years before you",
                        card_ids,
                    )
                )
            elif year and owner_year and abs(owner_year - year) < _PARENT_GAP_YEARS:
                votes["sibling"] += 2
                reasons.append(
                    Reason(
                        "surname+age:sibling", f"shares your family name and is of your generation ({year})", card_ids
                    )
                )
            else:
                votes["family"] += 2
                reasons.append(Reason("surname", "shares your family name", card_ids or ent.evidence[:1]))
        # 5. Work: an address at an employer's domain, a card naming an employer, a shared Slack.
        domains = {email_domain(a.lower()) for a in ent.aliases.get("emails", []) if "@" in a}
        for dom in sorted(domains & set(work_domains)):
            org = work_domains[dom].organisation
            votes["colleague"] += 3
            reasons.append(
                Reason(
                    "work-domain",
                    f"writes from {dom}, the domain of your work address at {org}",
                    _first_ids(items, MAX_REASON_EVIDENCE),
                )
            )
        for c in card_docs:
            card_org = _attrs(c).get("org")
            if isinstance(card_org, str) and card_org.strip():
                card_job = jobs_by_key.get(_org_key(card_org))
                if card_job is not None:
                    org = card_job.organisation
                    votes["colleague"] += 3
                    reasons.append(Reason("card-org", f"contact card: works at {card_org.strip()}", [c.id]))
                elif not org:
                    org = card_org.strip()
                    votes["other"] += 0.5
                    reasons.append(Reason("card-org-other", f"contact card: works at {card_org.strip()}", [c.id]))
        if ent.kind == "person" and any(":" in h for h in ent.aliases.get("handles", [])):
            slack_docs = [i[1] for i in items if (d := by_id.get(i[1])) is not None and _workspace_chat(d)]
            if slack_docs:
                when = by_id[slack_docs[-1]].event_time
                chat_job = _job_at(jobs, when) if when else None
                org = org or (chat_job.organisation if chat_job else None)
                votes["colleague"] += 2
                where = f" while you were at {chat_job.organisation}" if chat_job else ""
                reasons.append(Reason("slack", f"in your work chat{where}", slack_docs[:MAX_REASON_EVIDENCE]))
        # 6. Manager: colleague with one-to-one meetings and/or a managing title.
        titles = [t for c in card_docs if isinstance(t := _attrs(c).get("title"), str) and t]
        if votes.get("colleague"):
            score = 0.0
            if one_on_ones.get(eid):
                score += min(len(one_on_ones[eid]), 20) / 4
            if any(_MANAGER_TITLE.search(t) for t in titles):
                score += 2
                # A managing title and a steady one-to-one exchange (weekly status mail) also make a manager.
                direct = sum(1 for i in items if i[4] or i[2] == SENT)
                score += min(direct / 20, 1.5)
            if score >= 3:
                manager_scores[eid] = score
                votes["manager"] += votes.pop("colleague") + score
                reasons.append(
                    Reason(
                        "manager",
                        _manager_text(titles, len(one_on_ones.get(eid, []))),
                        (one_on_ones.get(eid, [])[-3:] + card_ids)[:MAX_REASON_EVIDENCE],
                    )
                )
        # 7. Service: only ever writing to you, a service address or name, a payee.
        sent = sum(1 for i in items if i[2] == SENT)
        received = sum(1 for i in items if i[2] == RECEIVED)
        met = sum(1 for i in items if i[2] == MET)
        role_mailbox = bool(ent.aliases.get("emails")) and all(
            is_role_address(a) for a in ent.aliases.get("emails", [])
        )
        if ent.kind == "organisation" or role_mailbox:
            votes.pop("colleague", None)  # an organisation's or a function's mailbox is no colleague
            votes.pop("manager", None)
        if (
            ent.kind == "organisation"
            or role_mailbox
            or _SERVICE_TITLE.search(ent.name or "")
            or any(_SERVICE_TITLE.search(t) for t in titles)
        ):
            votes["service"] += 2 if ent.kind == "organisation" else 2.5
            reasons.append(
                Reason(
                    "service",
                    "an organisation or service"
                    if ent.kind == "organisation"
                    else "a service or practitioner by name or title",
                    card_ids or ent.evidence[:1],
                )
            )
        elif received >= 2 and sent == 0 and met == 0 and not any(votes.values()):
            votes["service"] += 1
            reasons.append(
                Reason(
                    "one-way", f"{received} messages from them, none from you", _first_ids(items, MAX_REASON_EVIDENCE)
                )
            )
        # 8. Friend: two-way, personal, not work or family; a club they share with you.
        if {k for k, v in votes.items() if v} <= {"other", "friend"}:
            club = series_of.get(eid)
            if club:
                title, n = club.most_common(1)[0]
                org = title
                votes["friend"] += 2
                reasons.append(Reason("club", f"{n} times at “{title}” with you", [series_docs[(eid, title)]]))
            if (sent and received) or met >= 2 or (ent.kind == "person" and sent + received >= 3 and card_docs):
                votes["friend"] += 1 + min(sent + received + met, 50) / 50
                reasons.append(
                    Reason(
                        "two-way",
                        f"{sent} messages from you, {received} to you, {met} meetings",
                        _first_ids(items, MAX_REASON_EVIDENCE),
                    )
                )
        if not reasons:  # no signal of what they are: say at least what there is
            reasons.append(
                Reason(
                    "contact",
                    f"{sent} messages from you, {received} to you, {met} meetings",
                    _first_ids(items, MAX_REASON_EVIDENCE) or card_ids,
                )
            )
        relation, confidence = _decide(votes)
        since = until = None
        if relation in ("colleague", "manager") and org:
            shared = jobs_by_key.get(_org_key(org))
            if shared:
                since, until = shared.start.date().isoformat(), shared.end.date().isoformat()
        if relation in ("service",) and ent.kind == "organisation":
            org = org or ent.name
        cols = contact_columns(items)
        months = monthly(cols, reference + timedelta(seconds=1) if reference else None)
        evidence_ids = list(dict.fromkeys(i for r in reasons for i in r.evidence))
        tiers = {by_id[i].tier for i in [*evidence_ids, *cols["doc"]] if i in by_id}
        out.append(
            Relation(
                entity_id=eid,
                relation=relation,
                organisation=org if relation in ("colleague", "manager", "friend", "service", "other") else None,
                confidence=confidence,
                reasons=reasons,
                contacts=cols,
                months=months,
                since=since,
                until=until,
                tier=Tier.max_of(*tiers) if tiers else Tier.parse(ent.tier),
                evidence=list(dict.fromkeys([*evidence_ids, *cols["doc"]])),
            )
        )
    _one_manager_per_organisation(out, manager_scores)
    return RelationModel(out, jobs, reference)


def _one_manager_per_organisation(relations: list[Relation], scores: dict[str, float]) -> None:
    """The owner has one manager per employer: the best evidenced (1:1s, title, one-to-one exchange) keeps the
    relation, other managing colleagues there are colleagues."""
    best: dict[str | None, tuple[float, str]] = {}
    for r in relations:
        if r.relation == "manager":
            key = (scores.get(r.entity_id, 0.0), r.entity_id)
            best[r.organisation] = max(best.get(r.organisation, key), key)
    for r in relations:
        if r.relation == "manager" and best[r.organisation][1] != r.entity_id:
            r.relation = "colleague"


def _first_ids(items: Sequence[tuple[int, str, str, float | None, bool]], n: int) -> list[str]:
    return [i[1] for i in items[:n]]


def _manager_text(titles: list[str], meetings: int) -> str:
    parts = []
    if titles:
        parts.append(f"title “{titles[0]}”")
    if meetings:
        parts.append(f"{meetings} one-to-one meetings with you")
    return "manager: " + " and ".join(parts)


def _job_at(jobs: Sequence[Employment], when: datetime) -> Employment | None:
    covering = [j for j in jobs if j.start - timedelta(days=31) <= when <= j.end + timedelta(days=31)]
    return max(covering, key=lambda j: j.start) if covering else None


def _decide(votes: dict[str, float]) -> tuple[str, float]:
    """The relation with the most weight; "parent" (no word for which) becomes family. Confidence grows with the
    weight and shrinks when another relation comes close."""
    if not votes:
        return "other", 0.3
    votes = {k: v for k, v in votes.items() if v}
    if "parent" in votes:  # the generation says parent; a name or an address says which one
        which = max(("mother", "father"), key=lambda r: votes.get(r, 0))
        target = which if votes.get(which) else "family"
        votes[target] = votes.get(target, 0.0) + votes.pop("parent")
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    top, weight = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = (weight - runner) / weight if weight else 0.0
    confidence = min(0.95, 0.4 + 0.1 * weight) * (0.6 + 0.4 * margin)
    return top, round(confidence, 3)
