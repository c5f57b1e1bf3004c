"""Shared pieces of the insight models: the Insight value, the inputs cut at ``as_of``, the
owner's interactions, and a small logistic model that explains its own scores.

Everything here is a plain function over plain data. ``InsightInputs.cut`` drops every record
whose ``event_time`` is not strictly before ``as_of`` (undated records too), so no model can look
past the cut-off; models never read the clock.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np

from twin_assets.connectors.registry import traits_for
from twin_assets.processing.resolution import Entity, Resolution
from twin_assets.records import Document
from twin_assets.tiers import Tier

NEXT_CONTACTS = "next_contacts"
RELATIONSHIP_HEALTH = "relationship_health"
UPCOMING_COMMITMENTS = "upcoming_commitments"
SPENDING = "spending"
TOPICS = "topics"
COMMUNICATION_ANOMALIES = "communication_anomalies"
KINDS = (NEXT_CONTACTS, RELATIONSHIP_HEALTH, UPCOMING_COMMITMENTS, SPENDING, TOPICS, COMMUNICATION_ANOMALIES)

DAY = 86400.0
CONVERSATION = ("message", "chat_message")
_RECIPIENT_ROLES = ("to", "cc", "bcc", "mention", "attendee")
_AUTHOR_ROLES = ("from", "author")
_MEETING_ROLES = ("attendee", "organizer")
MAX_MEETING = 12  # larger events are broadcasts, not contact with each guest
MAX_EVIDENCE = 12


@dataclass
class Insight:
    kind: str
    subject: str
    statement: str
    score: float
    reasoning: list[str]
    evidence: list[str]
    tier: str
    horizon_days: int | None = None
    key: str = ""  # what the insight is about, stable across runs (entity id, merchant, topic ...)

    @property
    def artifact_id(self) -> str:
        """Content-free id for storage: a hash of kind, key and horizon."""
        raw = f"{self.kind}|{self.key or self.subject}|{self.horizon_days}"
        return f"{self.kind}:{hashlib.sha256(raw.encode()).hexdigest()[:20]}"

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "subject": self.subject,
            "statement": self.statement,
            "score": round(float(self.score), 3),
            "reasoning": list(self.reasoning),
            "evidence": list(self.evidence),
        }
        if self.horizon_days is not None:
            out["horizon_days"] = int(self.horizon_days)
        out["tier"] = self.tier
        return out


def parse_as_of(value: str | datetime | None) -> datetime | None:
    """A date ("2025-06-01": midnight UTC at its start) or an ISO date-time; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("as_of must be a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def default_as_of(docs: Iterable[Document], now: datetime | None = None) -> datetime:
    """ "Now" for a twin: the start of the day after its latest observed record (calendar entries are
    plans, not observations, so they do not count), never later than the clock."""
    now = now or datetime.now(UTC)
    latest = max(
        (d.event_time for d in docs if d.event_time is not None and d.kind != "event" and d.event_time <= now),
        default=None,
    )
    if latest is None:
        return now
    nxt = datetime.combine(latest.astimezone(UTC).date() + timedelta(days=1), time(), tzinfo=UTC)
    return min(nxt, now)


def ts(t: datetime) -> float:
    return t.timestamp() / DAY  # days since the epoch


def tier_of(tiers: Iterable[str]) -> Tier:
    return Tier.max_of(*tiers)


# ---- interactions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    t: float  # days since the epoch
    entity: str
    doc_id: str
    direction: str  # sent, received, met
    tier: str
    source: str
    thread: str | None


def person_roles(resolution: Resolution, doc_ids: set[str]) -> dict[str, dict[str, set[str]]]:
    people = {e.id for e in resolution.entities if e.kind == "person"}
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for m in resolution.mentions:
        if m.doc_id in doc_ids and m.entity_id in people:
            out[m.doc_id][m.role].add(m.entity_id)
    return out


def thread_of(doc: Document) -> str | None:
    meta = doc.meta or {}
    attrs = meta.get("attributes") or {}
    return traits_for(doc.source).conversation(doc.source, attrs)


_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|tr|sv)\s*:\s*)+", re.IGNORECASE)


def exchange_of(doc: Document) -> str | None:
    """The back-and-forth a message belongs to: its chat or channel (:func:`thread_of`), else for mail the
    subject without "Re:"/"Fwd:" prefixes (exports such as Enron's keep no References headers)."""
    thread = thread_of(doc)
    if thread is not None or doc.kind != "message":
        return thread
    subject = " ".join(_REPLY_PREFIX.sub("", doc.title or "").lower().split())
    return f"{doc.source}:subject:{subject}" if subject else None


_AUTOMATED = re.compile(
    r"^(?:no-?reply|do-?not-?reply|postmaster|mailer-daemon|notifications?|newsletters?|news|feedback|info|"
    r"support|updates?|alerts?|bounces?|listserv|majordomo|owner-.*|.*-request|"
    r"(?:customer|member)[._-]?(?:care|services?))@",
    re.IGNORECASE,
)


def _bulk(doc: Document) -> bool:
    attrs = (doc.meta or {}).get("attributes") or {}
    precedence = str(attrs.get("precedence") or "").lower()
    return bool(
        attrs.get("list_id")
        or attrs.get("auto_submitted")
        or attrs.get("is_bot")
        or precedence in ("bulk", "list", "junk")
        or attrs.get("system")
    )


def _automated(entity: Entity) -> bool:
    emails = entity.aliases.get("emails") or []
    return bool(emails) and all(_AUTOMATED.match(e) for e in emails)


_UNSUBSCRIBE = re.compile(
    r"unsubscribe|to be removed from|opt[- ]out|"
    r"remove (?:you|yourself) from (?:our|this|the) (?:mailing |e-?mail )?list|"
    r"you (?:are |have )?receiv(?:e|ed|ing) this (?:e-?mail|message|newsletter)|"
    r"(?:cancel|change|manage) (?:my |your )?(?:e-?mail )?subscription|manage (?:your )?(?:email |subscription )?"
    r"preferences|to stop receiving|abmelden|abbestellen|se désabonner|darse de baja|afmelden",
    re.IGNORECASE,
)
_LOCAL_SPLIT = re.compile(r"[._+-]+")
SERVICE_SHARE = 0.5  # a sender is a service when at least this share of their mail to the owner is broadcast


def _registrable(domain: str) -> str:
    """The last two labels ("ect.example.com" -> "example.com"): close enough to say "same organisation"."""
    return ".".join(domain.split(".")[-2:])


def owner_ids(resolution: Resolution) -> set[str]:
    """The owner and the person entities that are the owner's other addresses the resolver kept apart.

    An address is the owner's when it is at the organisation of one of the owner's addresses (same
    registrable domain, not a public mail provider) and its local part contains the owner's surname:
    "pkeavey@ect.example.com" and "f..keavey@example.com" for Peter F. Keavey at example.com. A relative
    with the same surname at another domain stays a separate person.
    """
    from twin_assets.processing.names import is_public_domain, parse_name

    owner = resolution.get(resolution.self_id) if resolution.self_id else None
    if owner is None:
        return set()
    domains = {
        _registrable(e.rsplit("@", 1)[1])
        for e in owner.aliases.get("emails") or []
        if "@" in e and not is_public_domain(e.rsplit("@", 1)[1])
    }
    surnames: set[str] = set()
    firsts: set[str] = set()
    for name in [owner.name, *(owner.aliases.get("names") or [])]:
        parts = parse_name(name)
        if parts is not None and parts.last and not parts.last_is_initial and len(parts.last) >= 4:
            surnames.add(parts.last)
            if parts.first:
                firsts.add(parts.first)
    # At a public provider only the plain forms: "pkeavey@", "peter.keavey@" (not "tom.keavey@").
    personal = {f + s for s in surnames for f in firsts} | {f[0] + s for s in surnames for f in firsts}
    out = {owner.id}
    if not surnames:
        return out
    for e in resolution.entities:
        if e.kind != "person" or e.id == owner.id:
            continue
        for email in e.aliases.get("emails") or []:
            local, _, domain = email.lower().rpartition("@")
            plain = _LOCAL_SPLIT.sub("", local).rstrip("0123456789")
            if (_registrable(domain) in domains and any(s in local for s in surnames)) or plain in personal:
                out.add(e.id)
                break
    return out


def content_key(doc: Document) -> tuple:
    """What makes two stored messages the same message: time, sender and subject. Mail exports give
    each folder's copy its own Message-ID (Enron's "sent" and "all_documents"), so ids cannot say it."""
    meta = doc.meta or {}
    senders = sorted(
        str(p.get("email") or p.get("handle") or p.get("name") or "").lower()
        for p in meta.get("parties") or []
        if p.get("role") in _AUTHOR_ROLES
    )
    return (doc.kind, doc.event_time, tuple(senders), " ".join((doc.title or "").lower().split()))


def _broadcast(doc: Document, recipients: set[str], owners: set[str]) -> bool:
    """Mail sent to many, not to the owner: list headers, an unsubscribe footer, or the owner not among
    the visible recipients (a blind copy, "undisclosed recipients", a sender writing to itself)."""
    if _bulk(doc) or not (recipients & owners):
        return True
    return bool(_UNSUBSCRIBE.search(doc.body[-2000:]))  # footers sit at the end


def service_senders(
    docs: Sequence[Document],
    resolution: Resolution,
    owners: set[str] | None = None,
    roles: dict[str, dict[str, set[str]]] | None = None,
) -> set[str]:
    """People who only send the owner newsletters, notices and offers: addresses that look automated
    ("no-reply@", "news@"), and senders the owner never wrote to whose mail to the owner is mostly
    broadcast (:func:`_broadcast`). Judged from ``docs`` only, so at a cut-off it uses what was known then."""
    owners = owners if owners is not None else owner_ids(resolution)
    if roles is None:
        roles = person_roles(resolution, {d.id for d in docs if d.kind in CONVERSATION})
    written: set[str] = set()
    for d in docs:
        r = roles.get(d.id)
        if r is not None and d.kind in CONVERSATION and any(r.get(x, set()) & owners for x in _AUTHOR_ROLES):
            written |= set().union(*(r.get(x, set()) for x in ("to", "cc", "bcc")))
    broadcast: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        r = roles.get(d.id)
        if r is None or d.kind != "message":  # chats name no recipients; a bot or system line is caught by _bulk
            continue
        authors = set().union(*(r.get(x, set()) for x in _AUTHOR_ROLES)) - written
        if not authors or authors & owners:
            continue  # only mail from people the owner never wrote to is read for footers
        flag = _broadcast(d, set().union(*(r.get(x, set()) for x in ("to", "cc"))), owners)
        for a in authors:
            broadcast[a][0] += int(flag)
            broadcast[a][1] += 1
    out = {e.id for e in resolution.entities if e.kind == "person" and _automated(e)}
    out |= {a for a, (b, n) in broadcast.items() if b >= SERVICE_SHARE * n}
    return out - owners


def interactions(docs: Sequence[Document], resolution: Resolution) -> list[Interaction]:
    """The owner's contact with each person: messages they sent or got, and meetings they shared.

    A message counts for its recipients when the owner wrote it, and for its author when the owner
    received it (an e-mail addressed to the owner, or a chat the owner is in). A calendar entry counts
    for every guest, up to :data:`MAX_MEETING` guests. The owner's other addresses (:func:`owner_ids`)
    count as the owner, newsletters and service senders (:func:`service_senders`) are no contact, and
    copies of one message in several folders count once (:func:`content_key`).
    """
    owners = owner_ids(resolution)
    ids = {d.id for d in docs if d.event_time is not None}
    roles = person_roles(resolution, ids)
    machines = service_senders(docs, resolution, owners, roles)
    out: list[Interaction] = []
    seen: set[tuple] = set()
    for d in docs:
        if d.event_time is None or d.id not in roles:
            continue
        if d.kind in CONVERSATION:
            key = content_key(d)
            if key in seen:
                continue
            seen.add(key)
        r = roles[d.id]
        t = ts(d.event_time)
        if d.kind in CONVERSATION:
            authors = set().union(*(r.get(x, set()) for x in _AUTHOR_ROLES))
            recipients = set().union(*(r.get(x, set()) for x in _RECIPIENT_ROLES))
            if authors & owners:
                pairs = [(e, "sent") for e in recipients - owners]
            elif not _bulk(d):
                # The owner's own export: what is in it and not bulk mail reached the owner, even when
                # it names an address the resolver could not tie to the owner (a list, an old alias).
                pairs = [(e, "received") for e in authors - owners]
            else:
                pairs = []
        elif d.kind == "event":
            guests = set().union(*(r.get(x, set()) for x in _MEETING_ROLES)) - owners
            pairs = [(e, "met") for e in guests] if 0 < len(guests) <= MAX_MEETING else []
        else:
            pairs = []
        thread = exchange_of(d)
        out.extend(
            Interaction(t, e, d.id, direction, d.tier, d.source, thread) for e, direction in pairs if e not in machines
        )
    out.sort(key=lambda i: (i.t, i.entity, i.doc_id))
    return out


class History:
    """Per-entity sorted interaction times, for fast window counts at any cut-off."""

    def __init__(self, items: Sequence[Interaction]) -> None:
        self.by_entity: dict[str, list[Interaction]] = defaultdict(list)
        for i in items:
            self.by_entity[i.entity].append(i)
        self.times = {e: [i.t for i in xs] for e, xs in self.by_entity.items()}

    def entities(self) -> list[str]:
        return sorted(self.by_entity)

    def count(self, entity: str, start: float, end: float, direction: str | None = None) -> int:
        times = self.times.get(entity, [])
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        if direction is None:
            return hi - lo
        return sum(1 for i in self.by_entity[entity][lo:hi] if i.direction == direction)

    def window(self, entity: str, start: float, end: float) -> list[Interaction]:
        times = self.times.get(entity, [])
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        return self.by_entity[entity][lo:hi]

    def last_before(self, entity: str, end: float) -> Interaction | None:
        times = self.times.get(entity, [])
        hi = bisect.bisect_left(times, end)
        return self.by_entity[entity][hi - 1] if hi else None


# ---- naming --------------------------------------------------------------------------------------


def person_label(entity: Entity | None, fallback: str = "someone") -> str:
    """ "Anna Kovacs <anna@x.example>": the name the twin knows, with an address when one is known."""
    if entity is None:
        return fallback
    emails = entity.aliases.get("emails") or []
    return f"{entity.name} <{emails[0]}>" if emails else entity.name


def fmt_days(days: float) -> str:
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}"


# ---- an explainable, calibrated logistic model ----------------------------------------------------


@dataclass
class Logit:
    """Logistic regression over named features, fitted on outcomes at earlier cut-offs.

    ``prior`` gives hand-set weights (on standardised features) used until there are enough past
    outcomes to fit; ``fitted`` says which. ``explain`` lists each feature's value and its
    contribution to the log-odds, largest first, so a score can be read back into its reasons.
    """

    names: list[str]
    prior: dict[str, float]
    intercept: float = -2.0
    coef: np.ndarray | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    fitted: bool = False
    n_train: int = 0
    base_rate: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def _std(self, x: np.ndarray) -> np.ndarray:
        mean = self.mean if self.mean is not None else np.zeros(len(self.names))
        scale = self.scale if self.scale is not None else np.ones(len(self.names))
        return (x - mean) / scale

    def fit(self, rows: Sequence[Sequence[float]], labels: Sequence[int], min_rows: int = 40) -> Logit:
        x = np.asarray(rows, dtype=float).reshape(-1, len(self.names))
        y = np.asarray(labels, dtype=int)
        self.n_train = len(y)
        self.base_rate = float(y.mean()) if len(y) else None
        self.mean = x.mean(axis=0) if len(x) else np.zeros(len(self.names))
        scale = x.std(axis=0) if len(x) else np.ones(len(self.names))
        self.scale = np.where(scale > 1e-9, scale, 1.0)
        if len(y) < min_rows or y.min(initial=1) == y.max(initial=0) or min(y.sum(), len(y) - y.sum()) < 5:
            self.coef = np.array([self.prior.get(n, 0.0) for n in self.names])
            if self.base_rate is not None:
                rate = min(0.98, max(0.02, self.base_rate))
                self.intercept = math.log(rate / (1 - rate))
            return self
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, max_iter=500)
        model.fit(self._std(x), y)
        self.coef = model.coef_[0].astype(float)
        self.intercept = float(model.intercept_[0])
        self.fitted = True
        return self

    def _coef(self) -> np.ndarray:
        return self.coef if self.coef is not None else np.array([self.prior.get(n, 0.0) for n in self.names])

    def predict(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        x = np.asarray(rows, dtype=float).reshape(-1, len(self.names))
        z = self._std(x) @ self._coef() + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def explain(self, row: Sequence[float], labels: dict[str, str] | None = None, top: int = 4) -> list[str]:
        x = np.asarray(row, dtype=float)
        contrib = self._std(x) * self._coef()
        order = np.argsort(-np.abs(contrib))[:top]
        out = []
        for j in order:
            name = self.names[j]
            shown = (labels or {}).get(name) or f"{name} {x[j]:.3g}"
            out.append(f"{shown} → {contrib[j]:+.2f} log-odds")
        return out

    def provenance(self) -> str:
        if self.fitted:
            return (
                f"weights fitted on {self.n_train} outcomes at earlier cut-offs (base rate "
                f"{(self.base_rate or 0):.0%}); the score is the fitted probability"
            )
        return (
            f"too few or one-sided past outcomes to fit ({self.n_train}); prior weights, intercept from "
            f"the base rate {(self.base_rate or 0):.0%}"
        )


def evidence_ids(ids: Iterable[str], limit: int = MAX_EVIDENCE) -> list[str]:
    """Distinct ids, most recent last in the input, keeping the last ``limit``."""
    seen = list(dict.fromkeys(ids))
    return seen[-limit:]
