"""The inputs of every insight model, cut at ``as_of``.

``InsightData.build`` keeps only documents with ``event_time < as_of`` (undated ones too are left
out: nothing says when they were known). Entity identity (who is who, their names and addresses)
comes from the resolution handed in; its mentions are restricted to the kept documents, so a
later record cannot add contact with anyone. Per-document sentiment is a function of that
document's own text, so stored scores of kept documents are used as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from twin_assets.insights.base import History, Interaction, interactions
from twin_assets.insights.patterns import Occurrence, meeting_occurrences
from twin_assets.processing.resolution import Resolution
from twin_assets.records import Document


@dataclass
class InsightData:
    docs: list[Document]
    resolution: Resolution
    as_of: datetime
    sentiment: dict[str, float] = field(default_factory=dict)  # doc id -> VADER compound (reliable only)
    # doc id -> topic text of each topical document, where the caller has them (None: computed here)
    topic_texts: dict[str, str] | None = None

    @classmethod
    def build(
        cls,
        docs: Sequence[Document],
        resolution: Resolution,
        as_of: datetime,
        sentiment: dict[str, float] | None = None,
        compute_missing_sentiment: bool = True,
        topic_texts: dict[str, str] | None = None,
    ) -> InsightData:
        kept = sorted(
            (d for d in docs if d.event_time is not None and d.event_time < as_of), key=lambda d: (d.event_time, d.id)
        )
        ids = {d.id for d in kept}
        cut = Resolution(
            entities=resolution.entities,
            mentions=[m for m in resolution.mentions if m.doc_id in ids],
            self_id=resolution.self_id,
            key_index=resolution.key_index,
        )
        scores = {k: v for k, v in (sentiment or {}).items() if k in ids}
        if compute_missing_sentiment:
            missing = [d for d in kept if d.kind in ("message", "chat_message") and d.id not in scores]
            if missing and sentiment is None:
                from twin_assets.processing.sentiment import document_sentiment

                scores.update((s.doc_id, s.compound) for s in document_sentiment(missing) if s.reliable)
        return cls(
            kept,
            cut,
            as_of,
            scores,
            {k: v for k, v in topic_texts.items() if k in ids} if topic_texts is not None else None,
        )

    @cached_property
    def by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.docs}

    @cached_property
    def interactions(self) -> list[Interaction]:
        return interactions(self.docs, self.resolution)

    @cached_property
    def history(self) -> History:
        return History(self.interactions)

    @cached_property
    def occurrences(self) -> list[Occurrence]:
        return meeting_occurrences(self.docs, self.resolution)

    @cached_property
    def transactions(self) -> list[Document]:
        return [d for d in self.docs if d.kind == "transaction"]

    @property
    def first_time(self) -> datetime | None:
        """The first observed (non-calendar) record: calendars reach far back through recurring entries."""
        return next((d.event_time for d in self.docs if d.kind != "event"), None)
