"""Predictive insights that explain themselves, computed only from records before ``as_of``.

:func:`compute_insights` is a plain function over plain data (documents, a resolution for entity
identity, per-document sentiment); :mod:`twin_assets.insights.store` reads a twin's view, stores
"now" insights as derived artifacts (kind ``insight``) and computes any earlier ``as_of`` on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from twin_assets.insights.anomalies import communication_anomalies
from twin_assets.insights.base import (
    COMMUNICATION_ANOMALIES,
    KINDS,
    NEXT_CONTACTS,
    RELATIONSHIP_HEALTH,
    SPENDING,
    TOPICS,
    UPCOMING_COMMITMENTS,
    Insight,
    default_as_of,
    parse_as_of,
)
from twin_assets.insights.commitments import upcoming_commitments
from twin_assets.insights.contacts import next_contacts
from twin_assets.insights.data import InsightData
from twin_assets.insights.health import relationship_health
from twin_assets.insights.spending import spending as spending_insights
from twin_assets.insights.topics import topic_insights
from twin_assets.processing.resolution import Resolution
from twin_assets.records import Document

MODELS = {
    NEXT_CONTACTS: next_contacts,
    RELATIONSHIP_HEALTH: relationship_health,
    UPCOMING_COMMITMENTS: upcoming_commitments,
    SPENDING: spending_insights,
    TOPICS: topic_insights,
    COMMUNICATION_ANOMALIES: communication_anomalies,
}

__all__ = ["KINDS", "Insight", "InsightData", "compute_insights", "default_as_of", "parse_as_of"]


def compute_insights(
    docs: Sequence[Document],
    resolution: Resolution,
    as_of: datetime | None = None,
    *,
    kinds: Iterable[str] | None = None,
    sentiment: dict[str, float] | None = None,
    topic_texts: dict[str, str] | None = None,
) -> list[Insight]:
    """Every insight of the given kinds (default all) as of ``as_of`` (default: the data's "now").

    Only documents with ``event_time < as_of`` are read.
    """
    as_of = as_of or default_as_of(docs)
    wanted = list(kinds) if kinds else list(KINDS)
    unknown = [k for k in wanted if k not in MODELS]
    if unknown:
        raise ValueError(f"unknown insight kind; choose from {', '.join(KINDS)}")
    data = InsightData.build(docs, resolution, as_of, sentiment, topic_texts=topic_texts)
    out: list[Insight] = []
    for kind in wanted:
        out.extend(MODELS[kind](data))
    return out
