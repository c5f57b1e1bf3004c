"""Recurring patterns found in what happened before a cut-off: meetings that repeat (a calendar series,
or single entries with the same title and guests), birthdays, and regular payments.

A pattern is projected forward from its own past occurrences only (never from calendar entries
dated after the cut-off), so "what is implied" is known at the cut-off.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise

from dateutil.relativedelta import relativedelta

from twin_assets.insights.base import MAX_MEETING, person_roles
from twin_assets.processing.names import fold
from twin_assets.processing.resolution import Resolution
from twin_assets.records import Document

PERIODS = {  # name: (days, tolerance in days for a hit)
    "weekly": (7, 1),
    "fortnightly": (14, 2),
    "monthly": (30.44, 4),
    "quarterly": (91.3, 7),
    "yearly": (365.25, 3),
}
_DIGITS = re.compile(r"\d+")
_BIRTHDAY = re.compile(r"(?i)\b(?:birthday|geburtstag|anniversaire|cumpleaños|compleanno|verjaardag)\b")


@dataclass
class Pattern:
    key: str
    kind: str  # meeting, birthday, payment
    title: str
    period: str
    times: list[datetime]
    entity_ids: list[str]
    evidence: list[str]
    tiers: list[str]
    regularity: float  # share of gaps that are whole multiples of the period
    amount: float | None = None
    counterparty: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def last(self) -> datetime:
        return self.times[-1]

    @property
    def period_days(self) -> float:
        return PERIODS[self.period][0]

    @property
    def tolerance(self) -> int:
        return PERIODS[self.period][1]

    def active(self, as_of: datetime) -> bool:
        """Still going: the last occurrence is at most about two periods back."""
        slack = 1.25 if self.period == "yearly" else 2.2
        return (as_of - self.last).total_seconds() / 86400 <= slack * self.period_days + self.tolerance

    def project(self, start: datetime, end: datetime) -> list[datetime]:
        """Expected occurrences in [start, end)."""
        out: list[datetime] = []
        for k in range(1, 2000):
            t = self._step(k)
            if t >= end:
                break
            if t >= start:
                out.append(t)
        return out

    def _step(self, k: int) -> datetime:
        last = self.last
        if self.period == "weekly":
            return last + timedelta(days=7 * k)
        if self.period == "fortnightly":
            return last + timedelta(days=14 * k)
        if self.period == "yearly":
            return last + relativedelta(years=k)
        months = k if self.period == "monthly" else 3 * k
        target = last + relativedelta(months=months)
        nth = self.details.get("nth_weekday")
        if nth is not None:  # "first Wednesday of the month"
            weekday, index = nth
            first = target.replace(day=1)
            offset = (weekday - first.weekday()) % 7
            return first + timedelta(days=offset + 7 * index)
        day = self.details.get("day")
        if day:
            import calendar

            day = min(day, calendar.monthrange(target.year, target.month)[1])
            return target.replace(day=day)
        return target


def classify_period(times: Sequence[datetime], min_count: int = 3) -> tuple[str, float] | None:
    """The period that best explains the gaps, and the share of gaps it explains."""
    if len(times) < min_count:
        return None
    gaps = [(b - a).total_seconds() / 86400 for a, b in pairwise(times)]
    gaps = [g for g in gaps if g > 0.5]
    if not gaps:
        return None
    med = statistics.median(gaps)
    best = None
    for name, (days, tol) in PERIODS.items():
        if abs(med - days) > max(tol, 0.15 * days):
            continue
        hits = sum(
            1 for g in gaps if round(g / days) >= 1 and abs(g - round(g / days) * days) <= tol * max(1, g / days)
        )
        share = hits / len(gaps)
        if best is None or share > best[1]:
            best = (name, share)
    if best is None or best[1] < 0.6:
        return None
    if best[0] == "yearly" and len(times) < 2:
        return None
    return best


def _nth_weekday(times: Sequence[datetime]) -> tuple[int, int] | None:
    keys = {(t.weekday(), (t.day - 1) // 7) for t in times[-6:]}
    return next(iter(keys)) if len(keys) == 1 else None


def _norm_title(title: str) -> str:
    return _DIGITS.sub("#", fold(title or "")).strip()


@dataclass
class Occurrence:
    key: str
    kind: str  # meeting, birthday
    doc: Document
    guests: frozenset[str]


def meeting_occurrences(docs: Sequence[Document], resolution: Resolution | None) -> list[Occurrence]:
    """Dated calendar entries with their pattern key: birthdays by title, meetings by (title, guests)."""
    owner = resolution.self_id if resolution else None
    events = [d for d in docs if d.kind == "event" and d.event_time is not None]
    roles = person_roles(resolution, {d.id for d in events}) if resolution else {}
    out = []
    for d in sorted(events, key=lambda d: (d.event_time, d.id)):
        r = roles.get(d.id, {})
        guests = frozenset(set().union(*(r.get(x, set()) for x in ("attendee", "organizer"))) - {owner})
        if len(guests) > MAX_MEETING:
            continue
        kind = "birthday" if _BIRTHDAY.search(d.title or "") else "meeting"
        out.append(Occurrence(f"{kind}|{_norm_title(d.title)}|{','.join(sorted(guests))}", kind, d, guests))
    return out


def meeting_patterns(occurrences: Sequence[Occurrence], before: datetime | None = None) -> list[Pattern]:
    """Calendar entries that repeat (a series, or single entries with the same title and guests),
    from the occurrences before ``before``."""
    groups: dict[str, dict[date, Occurrence]] = defaultdict(dict)
    for o in occurrences:
        when = o.doc.event_time
        if when is None:
            continue  # meeting_occurrences keeps dated entries only
        if before is not None and when >= before:
            break
        groups[o.key].setdefault(when.date(), o)  # one per day
    out: list[Pattern] = []
    for key, by_day in groups.items():
        items = list(by_day.values())
        kind = items[0].kind
        times = [o.doc.event_time for o in items if o.doc.event_time is not None]
        found = classify_period(times, min_count=2 if kind == "birthday" else 3)
        if found is None:
            continue
        period, share = found
        if kind == "birthday" and period != "yearly":
            continue
        details: dict = {}
        if period in ("monthly", "quarterly"):
            nth = _nth_weekday(times)
            if nth is not None:
                details["nth_weekday"] = nth
            else:
                details["day"] = statistics.median_low([t.day for t in times[-6:]])
        out.append(
            Pattern(
                key=key,
                kind=kind,
                title=items[-1].doc.title or "",
                period=period,
                times=times,
                entity_ids=sorted(items[-1].guests),
                evidence=[o.doc.id for o in items],
                tiers=[o.doc.tier for o in items],
                regularity=share,
                details=details,
            )
        )
    return out


# ---- payments --------------------------------------------------------------------------------------


def merchant_of(doc: Document) -> str:
    for p in (doc.meta or {}).get("parties") or []:
        if p.get("role") in ("merchant", "payee", "payer", "counterparty") and p.get("name"):
            return str(p["name"]).strip()
    return (doc.title or "").strip() or "unknown"


def amount_of(doc: Document) -> float | None:
    attrs = (doc.meta or {}).get("attributes") or {}
    value = attrs.get("amount")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def merchant_key(name: str) -> str:
    return re.sub(r"\s+", " ", _DIGITS.sub("", fold(name))).strip()


def payment_patterns(docs: Sequence[Document]) -> list[Pattern]:
    """Regular payments (or income) to/from one counterparty with a stable amount."""
    groups: dict[tuple[str, int], list[Document]] = defaultdict(list)
    for d in docs:
        if d.kind != "transaction" or d.event_time is None:
            continue
        amount = amount_of(d)
        if amount is None or amount == 0:
            continue
        groups[(merchant_key(merchant_of(d)), 1 if amount > 0 else -1)].append(d)
    out: list[Pattern] = []
    for (mkey, sign), items in groups.items():
        dated = sorted(((d.event_time, d) for d in items if d.event_time is not None), key=lambda td: td[0])
        items = [d for _t, d in dated]
        times = [t for t, _d in dated]
        found = classify_period(times)
        if found is None or found[0] == "yearly":
            continue
        amounts = [abs(amount_of(d) or 0.0) for d in items[-6:]]
        med = statistics.median(amounts)
        if med <= 0 or statistics.median(abs(a - med) for a in amounts) > 0.25 * med:
            continue  # amounts too different to be one bill
        period, share = found
        details: dict = (
            {"day": statistics.median_low([t.day for t in times[-6:]])} if period in ("monthly", "quarterly") else {}
        )
        out.append(
            Pattern(
                key=f"payment|{mkey}|{sign}",
                kind="payment",
                title=merchant_of(items[-1]),
                period=period,
                times=times,
                entity_ids=[],
                evidence=[d.id for d in items],
                tiers=[d.tier for d in items],
                regularity=share,
                amount=sign * med,
                counterparty=merchant_of(items[-1]),
                details=details,
            )
        )
    return out
