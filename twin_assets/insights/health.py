"""relationship_health: ties that are fading or strengthening.

At a cut-off ``c``, for each person with at least :data:`MIN_YEAR` contacts in the past year:
the contact rate over the last 90 days against the 275 days before (the frequency trend), days
since the last contact against the usual gap (recency), the change in who starts the contact
(reciprocity), and the change in mean VADER sentiment of the messages exchanged (recomputed from
per-message scores before ``c``). A tie is called fading or strengthening from the trend; the score
is the probability that the change persists over the next 90 days, from a logistic model fitted on
monthly earlier cut-offs whose 90 days had passed by ``as_of``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from twin_assets.insights.base import (
    RELATIONSHIP_HEALTH,
    Insight,
    Logit,
    evidence_ids,
    fmt_days,
    person_label,
    tier_of,
    ts,
)
from twin_assets.insights.data import InsightData

FADING, STRENGTHENING = "fading", "strengthening"
MIN_YEAR = 8
RECENT = 182.0  # the last half year against the half year before
Z_MIN = 2.58  # two-sided 1% level: the rate changed
HORIZON = 90
FEATURES = ["trend", "recency", "sentiment", "base_rate", "recent_rate"]
PRIOR = {"trend": 0.8, "recency": 0.6, "sentiment": 0.3, "base_rate": 0.3, "recent_rate": 0.0}
TRAIN_CUTOFFS = 18  # monthly


@dataclass
class Tie:
    entity: str
    direction: str | None
    row: list[float]
    info: dict
    probability: float = 0.0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if len(values) >= 3 else None


def assess(data: InsightData, entity: str, c: float) -> Tie | None:
    h = data.history
    year = h.window(entity, c - 365, c)
    if len(year) < MIN_YEAR:
        return None
    recent = [i for i in year if i.t >= c - RECENT]
    base = [i for i in year if i.t < c - RECENT]
    r = len(recent) / (RECENT / 30.4)
    b = len(base) / ((365 - RECENT) / 30.4)
    trend = math.log((r + 0.25) / (b + 0.25))
    z = (len(recent) - len(base)) / math.sqrt(len(year))  # equal rates: recent ~ Binomial(n, 1/2)
    times = [i.t for i in year]
    gaps = [y - x for x, y in pairwise(times) if y - x > 0.25]
    gap = statistics.median(gaps) if gaps else 30.0
    since = c - times[-1]
    recency = math.log1p(since / max(gap, 1.0))
    s_recent = _mean([data.sentiment[i.doc_id] for i in recent if i.doc_id in data.sentiment])
    s_base = _mean([data.sentiment[i.doc_id] for i in base if i.doc_id in data.sentiment])
    sent_delta = (s_recent - s_base) if s_recent is not None and s_base is not None else 0.0
    own_recent = sum(1 for i in recent if i.direction == "sent") / max(1, len(recent))
    own_base = sum(1 for i in base if i.direction == "sent") / max(1, len(base))
    direction = None
    if (trend <= math.log(0.6) and z <= -Z_MIN) or (since > max(4 * gap, 45) and b >= 2):
        direction = FADING
    elif trend >= math.log(1.6) and z >= Z_MIN and r >= 1:
        direction = STRENGTHENING
    sign = -1.0 if direction == FADING else 1.0
    row = [abs(trend), recency * (1 if direction == FADING else -1), sign * sent_delta, math.log1p(b), math.log1p(r)]
    info = {
        "r": r,
        "b": b,
        "since": since,
        "gap": gap,
        "s_recent": s_recent,
        "s_base": s_base,
        "z": z,
        "own_recent": own_recent,
        "own_base": own_base,
        "year": year,
        "recent": recent,
        "trend": trend,
    }
    return Tie(entity, direction, row, info)


def persisted(data: InsightData, tie: Tie, c: float) -> int:
    after = data.history.count(tie.entity, c, c + HORIZON) / (HORIZON / 30)
    if tie.direction == FADING:
        return int(after < 0.75 * tie.info["b"])
    return int(after > 1.25 * tie.info["b"])


def fit(data: InsightData, cutoff: datetime, direction: str) -> Logit:
    rows, labels = [], []
    first = data.first_time
    for k in range(TRAIN_CUTOFFS):
        past = cutoff - timedelta(days=HORIZON + 30 * k)
        if first is None or past < first + timedelta(days=180):
            break
        c = ts(past)
        for e in data.history.entities():
            if e == data.resolution.self_id:
                continue
            tie = assess(data, e, c)
            if tie is not None and tie.direction == direction:
                rows.append(tie.row)
                labels.append(persisted(data, tie, c))
    return Logit(FEATURES, PRIOR, intercept=0.0).fit(rows, labels, min_rows=20)


def ties_at(data: InsightData, cutoff: datetime) -> list[Tie]:
    """Every tie with a direction at ``cutoff``, with the probability that it persists."""
    c = ts(cutoff)
    ties = [
        t
        for e in data.history.entities()
        if e != data.resolution.self_id
        for t in [assess(data, e, c)]
        if t is not None and t.direction
    ]
    models = {d: fit(data, cutoff, d) for d in {t.direction for t in ties if t.direction}}
    for t in ties:
        assert t.direction  # ties without one were left out above
        t.probability = float(models[t.direction].predict([t.row])[0])
        t.info["model"] = models[t.direction]
    ties.sort(key=lambda t: (-t.probability, t.entity))
    return ties


def relationship_health(data: InsightData, top: int = 15) -> list[Insight]:
    out = []
    for t in ties_at(data, data.as_of)[:top]:
        entity = data.resolution.get(t.entity)
        name = entity.name if entity else "someone"
        i = t.info
        verb = "fading" if t.direction == FADING else "strengthening"
        reasons = [
            f"{i['r']:.1f} contacts/month over the last 6 months vs {i['b']:.1f}/month in the 6 months before "
            f"(log-ratio {i['trend']:+.2f}, z {i['z']:+.1f})",
            f"last contact {fmt_days(i['since'])} ago; usual gap {i['gap']:.1f} days",
            f"share of contact started by you: {i['own_recent']:.0%} recently vs {i['own_base']:.0%} before",
        ]
        if i["s_recent"] is not None and i["s_base"] is not None:
            reasons.append(f"mean message sentiment {i['s_recent']:+.2f} recently vs {i['s_base']:+.2f} before")
        else:
            reasons.append("too few rated messages to compare sentiment")
        model: Logit = i["model"]
        reasons += model.explain(
            t.row,
            {
                "trend": f"|trend| {t.row[0]:.2f}",
                "recency": f"recency {t.row[1]:+.2f}",
                "sentiment": f"sentiment change {t.row[2]:+.2f}",
                "base_rate": f"earlier rate {i['b']:.1f}/month",
                "recent_rate": f"recent rate {i['r']:.1f}/month",
            },
        )
        reasons.append(model.provenance())
        tiers = [x.tier for x in i["year"]] + ([entity.tier] if entity else [])
        out.append(
            Insight(
                kind=RELATIONSHIP_HEALTH,
                subject=person_label(entity),
                key=f"{t.entity}|{t.direction}",
                statement=f"Your tie with {name} is {verb}: {t.probability:.0%} chance the change holds over the next "
                f"{HORIZON} days",
                score=t.probability,
                reasoning=reasons,
                horizon_days=HORIZON,
                evidence=evidence_ids([x.doc_id for x in i["year"]][-4:] + [x.doc_id for x in i["recent"]]),
                tier=tier_of(tiers),
            )
        )
    return out
