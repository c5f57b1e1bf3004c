"""topics: themes rising or declining, from topic shares before ``as_of``.

Topics are found again on the records before ``as_of`` (TF-IDF/LSA vectors and KMeans from
:mod:`twin_assets.processing.topics`; the stored topic model saw later records, so it is not used).
For each topic, its share of the topical records over the last 90 days is compared with its share
over the 270 days before. The score is the probability that the move continues over the next 90
days (the share stays on the same side of the midpoint), from a logistic model fitted on monthly
earlier cut-offs inside the same data.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from twin_assets.insights.base import TOPICS, Insight, Logit, evidence_ids, tier_of, ts
from twin_assets.insights.data import InsightData
from twin_assets.processing import topics as topics_mod
from twin_assets.records import Document

RISING, DECLINING = "rising", "declining"
RECENT, BASE, HORIZON = 90, 270, 90
FEATURES = ["ratio", "recent", "base"]
PRIOR = {"ratio": 0.5, "recent": 0.3, "base": 0.3}
MIN_DOCS = 40


@dataclass
class Move:
    topic: topics_mod.Topic
    direction: str
    recent: float
    base: float
    row: list[float]
    members: list[Document]
    probability: float = 0.0
    model: Logit | None = None


class TopicSeries:
    """Shares of each topic in time windows, from one clustering of the records before ``as_of``."""

    def __init__(self, data: InsightData, seed: int = 0) -> None:
        if data.topic_texts is not None:
            docs = [d for d in data.docs if d.id in data.topic_texts]
            texts = [data.topic_texts[d.id] for d in docs]
        else:
            docs, texts = topics_mod.topical_texts(data.docs)
        self.docs = docs
        self.model: topics_mod.TopicModel | None = None
        if len(docs) < MIN_DOCS:
            return
        vectors = topics_mod.tfidf_vectors(texts, seed=seed)
        self.model = topics_mod.find_topics(docs, vectors, texts=texts, seed=seed, k_range=(4, 16))
        self.t = {d.id: ts(d.event_time) for d in docs}  # type: ignore[arg-type]

    def share(self, topic_id: str, start: float, end: float) -> tuple[float, int, int]:
        assert self.model is not None
        inside = [d for d in self.docs if start <= self.t[d.id] < end]
        hits = sum(1 for d in inside if self.model.assignments.get(d.id) == topic_id)
        return (hits / len(inside) if inside else 0.0), hits, len(inside)

    def moves(self, c: float) -> list[Move]:
        if self.model is None:
            return []
        inside = [d for d in self.docs if c - RECENT - BASE <= self.t[d.id] < c]
        recent_n = sum(1 for d in inside if self.t[d.id] >= c - RECENT)
        base_n = len(inside) - recent_n
        if recent_n < 10 or base_n < 10:
            return []
        hits_recent: Counter = Counter()
        hits_base: Counter = Counter()
        for d in inside:
            tid = self.model.assignments.get(d.id)
            (hits_recent if self.t[d.id] >= c - RECENT else hits_base)[tid] += 1
        out = []
        for topic in self.model.topics:
            r, b = hits_recent[topic.id] / recent_n, hits_base[topic.id] / base_n
            direction = None
            if r >= 0.02 and r >= 1.5 * b + 0.01 and hits_recent[topic.id] >= 3:
                direction = RISING
            elif b >= 0.02 and r <= 0.5 * b and hits_base[topic.id] >= 3:
                direction = DECLINING
            if direction is None:
                continue
            row = [abs(math.log((r + 0.005) / (b + 0.005))), r, b]
            members = [d for d in inside if self.model.assignments.get(d.id) == topic.id]
            out.append(Move(topic, direction, r, b, row, members))
        return out

    def persisted(self, move: Move, c: float) -> int:
        after, _, n = self.share(move.topic.id, c, c + HORIZON)
        if n < 5:
            return 0
        mid = (move.recent + move.base) / 2
        return int(after > mid) if move.direction == RISING else int(after < mid)


def moves_at(data: InsightData, series: TopicSeries | None = None) -> list[Move]:
    series = series or TopicSeries(data)
    c = ts(data.as_of)
    moves = series.moves(c)
    first = data.first_time
    models = {}
    for direction in {m.direction for m in moves}:
        rows, labels = [], []
        for k in range(12):
            past = data.as_of - timedelta(days=HORIZON + 30 * k)
            if first is None or past < first + timedelta(days=RECENT + BASE):
                break
            for m in series.moves(ts(past)):
                if m.direction == direction:
                    rows.append(m.row)
                    labels.append(series.persisted(m, ts(past)))
        models[direction] = Logit(FEATURES, PRIOR, intercept=0.0).fit(rows, labels, min_rows=15)
    for m in moves:
        m.probability = float(models[m.direction].predict([m.row])[0])
        m.model = models[m.direction]
    moves.sort(key=lambda m: (-m.probability, m.topic.id))
    return moves


def topic_insights(data: InsightData, top: int = 8) -> list[Insight]:
    out = []
    series = TopicSeries(data)
    all_members: dict[str, list[str]] = {}
    if series.model is not None:
        by_id = {d.id: d for d in series.docs}
        for t in series.model.topics:
            all_members[t.id] = [by_id[i].tier for i in t.evidence if i in by_id]
    for m in moves_at(data, series)[:top]:
        model = m.model or Logit(FEATURES, PRIOR)
        words = ", ".join(m.topic.keywords[:5]) or m.topic.label
        reasons = [
            f"share of your messages, notes and events about it: {m.recent:.1%} in the last {RECENT} days vs "
            f"{m.base:.1%} in the {BASE} days before",
            f"{len(m.members)} records in those {RECENT + BASE} days; {m.topic.size} in all before the cut-off",
            f"keywords (class-based TF-IDF): {words}",
        ]
        reasons += model.explain(
            m.row,
            {
                "ratio": f"|log ratio| {m.row[0]:.2f}",
                "recent": f"recent share {m.recent:.1%}",
                "base": f"earlier share {m.base:.1%}",
            },
        )
        reasons.append(model.provenance())
        recent_docs = [d.id for d in m.members]
        out.append(
            Insight(
                kind=TOPICS,
                subject=m.topic.label,
                key=f"{','.join(m.topic.keywords[:3])}|{m.direction}",
                horizon_days=HORIZON,
                statement=f"{m.direction.capitalize()} theme: {m.topic.label} ({m.base:.1%} → {m.recent:.1%} "
                f"of records; {m.probability:.0%} chance the move holds)",
                score=m.probability,
                reasoning=reasons,
                evidence=evidence_ids(recent_docs),
                tier=tier_of(all_members.get(m.topic.id, [d.tier for d in m.members])),
            )
        )
    return out
