"""Sentiment per document (VADER) and per relationship over time.

VADER ships its lexicon inside the package, so nothing is downloaded. It reads only the author's own
words (quotes and signatures removed, see text.py), so an angry quoted message does not colour a
calm reply. VADER is an English lexicon: other languages still get a score but ``reliable`` is
False, and relationship averages leave unreliable scores out.

Per person: monthly mean compound score and message counts (sent by the owner to them, received
from them), with least-squares slopes over the months for the score and for the volume, so a
friendship that fades or a conflict shows as a number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from twin_assets.processing.resolution import Resolution
from twin_assets.processing.text import CleanText, normalise
from twin_assets.records import Document
from twin_assets.tiers import Tier

POSITIVE, NEGATIVE, NEUTRAL = "positive", "negative", "neutral"
THRESHOLD = 0.05  # VADER's own cut-off for its compound score
_LONG = 1200
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|hallo|liebe|lieber|moin|bonjour|hola|ciao|olá|hoi)\b[^\n]{0,40}[,!]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_CONVERSATION_ROLES = ("to", "cc", "bcc", "mention", "attendee")
_AUTHOR_ROLES = ("from", "author")


@dataclass(slots=True)  # one per record of a view: a million without slots held ~0.3 GB more
class DocSentiment:
    doc_id: str
    compound: float
    positive: float
    negative: float
    neutral: float
    label: str
    language: str | None
    reliable: bool
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class MonthStat:
    month: str  # "2025-03"
    mean: float | None  # mean compound of reliable messages, None when there were none
    sent: int
    received: int
    evidence: list[str] = field(default_factory=list)


@dataclass
class RelationshipSentiment:
    entity_id: str
    months: list[MonthStat]
    mean: float | None
    slope: float  # change of the monthly mean compound per month
    count_slope: float  # change of messages per month, per month
    lowest_month: str | None
    sent: int
    received: int
    tier: str
    evidence: list[str] = field(default_factory=list)


@cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_for(compound: float, threshold: float = THRESHOLD) -> str:
    if compound >= threshold:
        return POSITIVE
    if compound <= -threshold:
        return NEGATIVE
    return NEUTRAL


def score_text(text: str) -> dict[str, float]:
    """VADER scores; long texts are the length-weighted mean over their sentences (VADER saturates)."""
    text = _GREETING.sub("", text).strip()
    if not text:
        return {"compound": 0.0, "pos": 0.0, "neg": 0.0, "neu": 1.0}
    analyzer = _analyzer()
    if len(text) <= _LONG:
        return analyzer.polarity_scores(text)
    parts = [p for p in _SENTENCES.split(text[:50_000]) if p and p.strip()]
    totals = {"compound": 0.0, "pos": 0.0, "neg": 0.0, "neu": 0.0}
    weight = 0
    for part in parts:
        scores = analyzer.polarity_scores(part)
        w = len(part)
        for k in totals:
            totals[k] += scores[k] * w
        weight += w
    return (
        {k: v / weight for k, v in totals.items()} if weight else {"compound": 0.0, "pos": 0.0, "neg": 0.0, "neu": 1.0}
    )


def document_sentiment(docs: Sequence[Document], norms: dict[str, CleanText] | None = None) -> list[DocSentiment]:
    """One score per document with text of its own (contacts and transactions are skipped)."""
    out = []
    for doc in docs:
        if doc.kind in ("contact", "transaction"):
            continue
        norm = (norms or {}).get(doc.id) or normalise(doc)
        own = norm.clean(doc.body or "")
        text = own if own.strip() else (doc.title or "")
        if not text.strip():
            continue
        scores = score_text(text)
        lang = norm.language
        out.append(
            DocSentiment(
                doc_id=doc.id,
                compound=round(scores["compound"], 4),
                positive=round(scores["pos"], 4),
                negative=round(scores["neg"], 4),
                neutral=round(scores["neu"], 4),
                label=label_for(scores["compound"]),
                language=lang,
                reliable=lang in (None, "en"),
                tier=doc.tier,
                evidence=[doc.id],
            )
        )
    return out


def _slope(ys: Sequence[float], weights: Sequence[float] | None = None, xs: Sequence[float] | None = None) -> float:
    if len(ys) < 2:
        return 0.0
    x = np.arange(len(ys), dtype=float) if xs is None else np.asarray(xs, dtype=float)
    if np.ptp(x) == 0:
        return 0.0
    w = None if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    return float(np.polyfit(x, np.asarray(ys, dtype=float), 1, w=w)[0])


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def relationship_sentiment(
    docs: Sequence[Document],
    resolution: Resolution,
    doc_sentiment: dict[str, DocSentiment] | dict[str, float | None] | Sequence[DocSentiment],
    self_id: str | None = None,
) -> list[RelationshipSentiment]:
    """Per person: monthly sentiment and message counts in conversations with the owner. ``doc_sentiment`` holds
    each record's score, or only its compound when reliable and None when not (what the model keeps for a
    million stored scores)."""
    if not isinstance(doc_sentiment, dict):
        doc_sentiment = {s.doc_id: s for s in doc_sentiment}
    owner = self_id or resolution.self_id
    people = {e.id for e in resolution.of_kind("person")}
    # Per record, its (role, person) pairs, each pair one shared tuple: a dict of sets per record and role was
    # ~0.7 GB at a million records.
    wanted = {*_AUTHOR_ROLES, *_CONVERSATION_ROLES}
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    roles: dict[str, list[tuple[str, str]]] = {}
    for m in resolution.mentions:
        if m.entity_id in people and m.role in wanted:
            pair = (m.role, m.entity_id)
            roles.setdefault(m.doc_id, []).append(pairs.setdefault(pair, pair))
    # month -> entity -> lists
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    sent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    received: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    evidence: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    tiers: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        if doc.event_time is None or doc.kind not in ("message", "chat_message"):
            continue
        r = roles.get(doc.id)
        if not r:
            continue
        authors = {e for role, e in r if role in _AUTHOR_ROLES}
        recipients = {e for role, e in r if role in _CONVERSATION_ROLES}
        month = doc.event_time.strftime("%Y-%m")
        counterparts: set[str] = set()
        if owner in authors:
            for entity in recipients - {owner}:
                sent[entity][month] += 1
                counterparts.add(entity)
        else:
            to_owner = owner in recipients or doc.kind == "chat_message"
            for entity in authors - {owner}:
                if to_owner:
                    received[entity][month] += 1
                    counterparts.add(entity)
        s = doc_sentiment.get(doc.id)
        compound = s if s is None or isinstance(s, float) else (s.compound if s.reliable else None)
        for entity in counterparts:
            evidence[entity][month].append(doc.id)
            tiers[entity].add(doc.tier)
            if compound is not None:
                scores[entity][month].append(compound)
    out = []
    for entity in sorted(set(sent) | set(received)):
        months_seen = sorted(set(sent[entity]) | set(received[entity]))
        if not months_seen:
            continue
        months = []
        for month in _month_range(months_seen[0], months_seen[-1]):
            values = scores[entity].get(month, [])
            months.append(
                MonthStat(
                    month,
                    round(float(np.mean(values)), 4) if values else None,
                    sent[entity].get(month, 0),
                    received[entity].get(month, 0),
                    evidence[entity].get(month, []),
                )
            )
        rated = [(m, m.mean) for m in months if m.mean is not None]
        all_scores = [v for month in scores[entity].values() for v in month]
        counts = [m.sent + m.received for m in months]
        lowest = min(rated, key=lambda r: r[1])[0].month if rated else None
        out.append(
            RelationshipSentiment(
                entity_id=entity,
                months=months,
                mean=round(float(np.mean(all_scores)), 4) if all_scores else None,
                slope=round(
                    _slope(
                        [mean for _m, mean in rated],
                        [max(1, m.sent + m.received) for m, _mean in rated],
                        [months.index(m) for m, _mean in rated],
                    ),
                    5,
                ),
                count_slope=round(_slope(counts), 4),
                lowest_month=lowest,
                sent=sum(m.sent for m in months),
                received=sum(m.received for m in months),
                tier=Tier.max_of(*tiers[entity]),
                evidence=sorted({d for m in months for d in m.evidence}),
            )
        )
    return out
