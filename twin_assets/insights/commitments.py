"""upcoming_commitments: what recurring patterns imply for the next 30 days.

Patterns come only from records before ``as_of`` (see :mod:`patterns`): regular payments (rent,
subscriptions, salary), meetings that repeat (a calendar series, or single entries with the same
title and guests — so a weekly 1:1 carries on when its series ends but the meetings go on), and
birthdays. Calendar entries dated after ``as_of`` are never read, so everything here is implied,
not looked up. The score is the probability that the occurrence happens (within the pattern's
tolerance), from a logistic model fitted on monthly earlier cut-offs whose 30 days had passed.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from datetime import datetime, timedelta

from twin_assets.insights.base import UPCOMING_COMMITMENTS, Insight, Logit, evidence_ids, tier_of
from twin_assets.insights.data import InsightData
from twin_assets.insights.patterns import (
    Pattern,
    amount_of,
    meeting_patterns,
    merchant_key,
    merchant_of,
    payment_patterns,
)

HORIZON = 30
FEATURES = ["regularity", "count", "lateness", "payment", "birthday"]
PRIOR = {"regularity": 0.8, "count": 0.5, "lateness": -0.8, "payment": 0.2, "birthday": 0.3}
TRAIN_CUTOFFS = 12


def patterns_before(data: InsightData, cutoff: datetime) -> list[Pattern]:
    txs = [d for d in data.transactions if d.event_time < cutoff]  # type: ignore[operator]
    return [p for p in meeting_patterns(data.occurrences, before=cutoff) + payment_patterns(txs) if p.active(cutoff)]


def _row(p: Pattern, cutoff: datetime) -> list[float]:
    lateness = ((cutoff - p.last).total_seconds() / 86400) / p.period_days
    return [p.regularity, math.log1p(len(p.times)), lateness, float(p.kind == "payment"), float(p.kind == "birthday")]


def _realised_index(data: InsightData) -> dict[str, list[float]]:
    idx: dict[str, list[float]] = defaultdict(list)
    for o in data.occurrences:
        idx[o.key].append(o.doc.event_time.timestamp())  # type: ignore[union-attr]
    for d in data.transactions:
        amount = amount_of(d)
        if amount:
            idx[f"payment|{merchant_key(merchant_of(d))}|{1 if amount > 0 else -1}"].append(d.event_time.timestamp())  # type: ignore[union-attr]
    for v in idx.values():
        v.sort()
    return idx


def _happened(idx: dict[str, list[float]], p: Pattern, when: datetime) -> bool:
    times = idx.get(p.key, [])
    tol = (p.tolerance + 1) * 86400
    lo = bisect.bisect_left(times, when.timestamp() - tol)
    return lo < len(times) and times[lo] <= when.timestamp() + tol


def fit(data: InsightData, cutoff: datetime) -> Logit:
    rows, labels = [], []
    idx = _realised_index(data)
    first = data.first_time
    for k in range(TRAIN_CUTOFFS):
        past = cutoff - timedelta(days=HORIZON + 30 * k)
        if first is None or past < first + timedelta(days=90):
            break
        for p in patterns_before(data, past):
            nxt = p.project(past, past + timedelta(days=HORIZON))
            if nxt:
                rows.append(_row(p, past))
                labels.append(int(_happened(idx, p, nxt[0])))
    return Logit(FEATURES, PRIOR, intercept=1.5).fit(rows, labels, min_rows=20)


def upcoming(
    data: InsightData, cutoff: datetime, horizon: int = HORIZON
) -> list[tuple[Pattern, datetime, float, list[float]]]:
    model = fit(data, cutoff)
    out = []
    for p in patterns_before(data, cutoff):
        nxt = p.project(cutoff, cutoff + timedelta(days=horizon))
        if nxt:
            row = _row(p, cutoff)
            out.append((p, nxt[0], float(model.predict([row])[0]), row))
    out.sort(key=lambda x: (x[1], -x[2], x[0].key))
    for item in out:
        item[0].details["model"] = model
    return out


def _describe(p: Pattern) -> tuple[str, str]:
    if p.kind == "payment":
        what = "income from" if (p.amount or 0) > 0 else "payment to"
        return p.counterparty or p.title, f"{p.period} {what} {p.counterparty} of about {abs(p.amount or 0):,.2f}"
    if p.kind == "birthday":
        return p.title, p.title
    return p.title, f"{p.period} '{p.title}'"


def upcoming_commitments(data: InsightData) -> list[Insight]:
    out = []
    for p, when, prob, row in upcoming(data, data.as_of):
        subject, what = _describe(p)
        days = max(1, math.ceil((when - data.as_of).total_seconds() / 86400))
        model: Logit = p.details["model"]
        gaps_note = f"{len(p.times)} past occurrences, last on {p.last.date().isoformat()}"
        reasons = [
            f"{p.period} pattern: {gaps_note}; {p.regularity:.0%} of gaps are whole {p.period} steps",
            f"next expected {when.date().isoformat()} (in {days} days), not on the calendar yet",
        ]
        if p.kind == "payment" and p.amount is not None:
            reasons.append(f"median of the last amounts {p.amount:,.2f}")
        reasons += model.explain(
            row,
            {
                "regularity": f"regularity {row[0]:.2f}",
                "count": f"occurrences {len(p.times)}",
                "lateness": f"periods since last {row[2]:.2f}",
                "payment": f"payment {bool(row[3])}",
                "birthday": f"birthday {bool(row[4])}",
            },
        )
        reasons.append(model.provenance())
        out.append(
            Insight(
                kind=UPCOMING_COMMITMENTS,
                subject=subject,
                key=p.key,
                horizon_days=days,
                statement=f"Expected {when.date().isoformat()}: {what} ({prob:.0%})",
                score=prob,
                reasoning=reasons,
                evidence=evidence_ids(p.evidence, 6),
                tier=tier_of(p.tiers),
            )
        )
    return out
