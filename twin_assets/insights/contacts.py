"""next_contacts: who the owner will be in touch with in the next 7 and 30 days.

Features per person at a cut-off ``c`` (all from interactions before ``c``): days since the last
contact, contact counts over 7/30/90/365 days, how many of the last 8 weeks and 6 months had any
contact (weekly / monthly periodicity), whether the usual gap says the next contact is due inside
the horizon, reciprocity (sent vs received), and meetings with them that a recurring calendar
pattern projects into the horizon. A logistic model per horizon is fitted on weekly earlier
cut-offs whose horizon ended before ``as_of`` (their outcomes are known at ``as_of``), so the score
is a calibrated probability and each reason shows its share of the log-odds.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from twin_assets.insights.base import (
    NEXT_CONTACTS,
    Insight,
    Interaction,
    Logit,
    evidence_ids,
    fmt_days,
    person_label,
    tier_of,
    ts,
)
from twin_assets.insights.data import InsightData
from twin_assets.insights.patterns import Pattern, meeting_patterns

HORIZONS = (7, 30)
FEATURES = [
    "recency",
    "n7",
    "n30",
    "n90",
    "n365",
    "weeks_active",
    "months_active",
    "scheduled",
    "due",
    "reciprocity",
    "fresh",
]
PRIOR = {
    "recency": -1.2,
    "n7": 0.6,
    "n30": 0.6,
    "n90": 0.4,
    "n365": 0.2,
    "weeks_active": 0.5,
    "months_active": 0.3,
    "scheduled": 1.0,
    "due": 0.4,
    "reciprocity": 0.2,
    "fresh": 0.5,
}
TRAIN_CUTOFFS = 26  # weekly
TOP = 10


@dataclass
class Scored:
    entity: str
    horizon: int
    probability: float
    row: list[float]
    info: dict


def _scheduled(patterns: list[Pattern], start: datetime, end: datetime) -> dict[str, list[tuple[Pattern, datetime]]]:
    out: dict[str, list[tuple[Pattern, datetime]]] = defaultdict(list)
    for p in patterns:
        if p.kind != "meeting" or not p.entity_ids or not p.active(start):
            continue
        for when in p.project(start, end):
            for e in p.entity_ids:
                out[e].append((p, when))
    return out


def features(
    data: InsightData, entity: str, c: float, horizon: int, scheduled: list[tuple[Pattern, datetime]]
) -> tuple[list[float], dict]:
    h = data.history
    last = h.last_before(entity, c)
    since = c - last.t if last else 730.0
    n = {w: h.count(entity, c - w, c) for w in (7, 30, 90, 365)}
    weeks = sum(1 for k in range(8) if h.count(entity, c - 7 * (k + 1), c - 7 * k))
    months = sum(1 for k in range(6) if h.count(entity, c - 30 * (k + 1), c - 30 * k))
    recent = h.window(entity, c - 365, c)
    times = [i.t for i in recent[-12:]]
    gaps = [b - a for a, b in pairwise(times) if b - a > 0.25]
    gap = statistics.median(gaps) if len(gaps) >= 3 else None
    due = 1.0 if gap is not None and gap - since < horizon and since < 3 * gap else 0.0
    window = h.window(entity, c - 180, c)
    sent = sum(1 for i in window if i.direction in ("sent", "met"))
    received = sum(1 for i in window if i.direction in ("received", "met"))
    recip = min(sent, received) / max(sent, received) if max(sent, received) else 0.0
    row = [
        math.log1p(since),
        math.log1p(n[7]),
        math.log1p(n[30]),
        math.log1p(n[90]),
        math.log1p(n[365]),
        weeks / 8,
        months / 6,
        math.log1p(len(scheduled)),
        due,
        recip,
        math.exp(-since / horizon),
    ]
    info = {
        "since": since,
        "n": n,
        "weeks": weeks,
        "months": months,
        "gap": gap,
        "sent": sent,
        "received": received,
        "scheduled": scheduled,
        "recent": recent,
    }
    return row, info


def _candidates(data: InsightData, c: float, scheduled: dict) -> list[str]:
    h = data.history
    return sorted({e for e in h.entities() if h.count(e, c - 365, c)} | set(scheduled))


def score_at(data: InsightData, cutoff: datetime, horizon: int, model: Logit | None = None) -> list[Scored]:
    """Every candidate's probability of contact in [cutoff, cutoff + horizon days)."""
    c = ts(cutoff)
    patterns = meeting_patterns(data.occurrences, before=cutoff)
    sched = _scheduled(patterns, cutoff, cutoff + timedelta(days=horizon))
    rows, infos, ents = [], [], []
    for e in _candidates(data, c, sched):
        if e == data.resolution.self_id:
            continue
        row, info = features(data, e, c, horizon, sched.get(e, []))
        rows.append(row)
        infos.append(info)
        ents.append(e)
    if not rows:
        return []
    model = model or fit(data, cutoff, horizon)
    probs = model.predict(rows)
    out = [Scored(e, horizon, float(p), r, i) for e, p, r, i in zip(ents, probs, rows, infos, strict=True)]
    out.sort(key=lambda s: (-s.probability, s.entity))
    for s in out:
        s.info["model"] = model
    return out


def fit(data: InsightData, cutoff: datetime, horizon: int) -> Logit:
    """Fit on weekly earlier cut-offs whose whole horizon lies before ``cutoff``."""
    model = Logit(FEATURES, PRIOR)
    rows: list[list[float]] = []
    labels: list[int] = []
    first = data.first_time
    for k in range(TRAIN_CUTOFFS):
        past = cutoff - timedelta(days=horizon + 7 * k)
        if first is None or past < first + timedelta(days=60):
            break
        c = ts(past)
        patterns = meeting_patterns(data.occurrences, before=past)
        sched = _scheduled(patterns, past, past + timedelta(days=horizon))
        for e in _candidates(data, c, sched):
            if e == data.resolution.self_id:
                continue
            row, _ = features(data, e, c, horizon, sched.get(e, []))
            rows.append(row)
            labels.append(1 if data.history.count(e, c, c + horizon) else 0)
    return model.fit(rows, labels)


def _reasons(s: Scored) -> list[str]:
    i = s.info
    n = i["n"]
    out = [
        f"last contact {fmt_days(i['since'])} ago" if i["since"] < 730 else "no contact in the last two years",
        f"{n[7]} contacts in the last 7 days, {n[30]} in 30, {n[90]} in 90, {n[365]} in 365",
        f"contact in {i['weeks']} of the last 8 weeks and {i['months']} of the last 6 months",
    ]
    if i["gap"] is not None:
        out.append(f"usual gap between contacts {i['gap']:.1f} days")
    out.append(f"last 180 days: {i['sent']} sent or met, {i['received']} received or met")
    if i["scheduled"]:
        p, when = i["scheduled"][0]
        out.append(
            f"recurring {p.period} meeting '{p.title}' ({len(p.times)} past occurrences) projected for "
            f"{when.date().isoformat()}"
        )
    labels = {
        "recency": f"recency {i['since']:.0f} d",
        "n7": f"7-day count {n[7]}",
        "n30": f"30-day count {n[30]}",
        "n90": f"90-day count {n[90]}",
        "n365": f"365-day count {n[365]}",
        "weeks_active": f"active weeks {i['weeks']}/8",
        "months_active": f"active months {i['months']}/6",
        "scheduled": f"projected meetings {len(i['scheduled'])}",
        "due": f"next contact due: {bool(s.row[8])}",
        "reciprocity": f"reciprocity {s.row[9]:.2f}",
        "fresh": f"freshness {s.row[10]:.2f}",
    }
    model: Logit = i["model"]
    out += model.explain(s.row, labels)
    out.append(model.provenance())
    return out


def next_contacts(data: InsightData, top: int = TOP) -> list[Insight]:
    out: list[Insight] = []
    for horizon in HORIZONS:
        for s in score_at(data, data.as_of, horizon)[:top]:
            entity = data.resolution.get(s.entity)
            recent: list[Interaction] = s.info["recent"]
            sched = s.info["scheduled"]
            evidence = evidence_ids([i.doc_id for i in recent] + [x for p, _ in sched[:1] for x in p.evidence[-3:]])
            tiers = [i.tier for i in recent] + [t for p, _ in sched for t in p.tiers]
            if entity is not None:
                tiers.append(entity.tier)
            label = person_label(entity)
            out.append(
                Insight(
                    kind=NEXT_CONTACTS,
                    subject=label,
                    horizon_days=horizon,
                    key=s.entity,
                    statement=f"{entity.name if entity else label}: {s.probability:.0%} chance of contact "
                    f"in the next {horizon} days",
                    score=s.probability,
                    reasoning=_reasons(s),
                    evidence=evidence,
                    tier=tier_of(tiers),
                )
            )
    return out
