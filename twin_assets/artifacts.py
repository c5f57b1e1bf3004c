"""The kinds of derived artifact the model stores, each defined once: its name, its type, its id and evidence,
and how it is read back from the stored JSON.

The model steps write these (``DerivedStore.replace``/``upsert``) and the query side reads them
(``DerivedStore.read``/``read_many``/``read_all``) as objects, so both sides agree on one shape.
Writing uses :func:`~twin_assets.stores.derived.plain`, as the steps always did: stored bytes and digests
are unchanged, and rows written by older code read as they did (unknown keys are ignored, missing ones
take the field's default).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from twin_assets.processing.relations import Employment, Reason, Relation
from twin_assets.processing.resolution import Entity, Merge
from twin_assets.processing.sentiment import DocSentiment, MonthStat, RelationshipSentiment
from twin_assets.processing.timeline import LifeEvent, Series, TimelineEvent
from twin_assets.processing.topics import Topic
from twin_assets.stores.derived import ArtifactKind

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def time_of(value: Any) -> datetime | None:
    """A stored time (``str(datetime)``, as ``dumps`` writes it) as a datetime; None stays None."""
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _build(cls: type[T], data: dict[str, Any], **parsed: Any) -> T:
    """``cls`` from stored data: the fields it has, parsed ones replaced."""
    names = {f.name for f in fields(cls)}
    return cls(**{**{k: v for k, v in data.items() if k in names}, **parsed})


def _entity(data: dict[str, Any]) -> Entity:
    return _build(Entity, data, merges=[_build(Merge, m) for m in data.get("merges") or []])


def _event(data: dict[str, Any]) -> TimelineEvent:
    return _build(TimelineEvent, data, time=time_of(data["time"]), end=time_of(data.get("end")))


def _series(data: dict[str, Any]) -> Series:
    return _build(Series, data, first=time_of(data["first"]), last=time_of(data["last"]))


def _life_event(data: dict[str, Any]) -> LifeEvent:
    return _build(LifeEvent, data, start=time_of(data["start"]), end=time_of(data.get("end")))


def _relationship(data: dict[str, Any]) -> RelationshipSentiment:
    return _build(RelationshipSentiment, data, months=[_build(MonthStat, m) for m in data.get("months") or []])


ENTITY = ArtifactKind("entity", Entity, key=lambda e: e.id, evidence=lambda e: e.evidence, decode=_entity)
# An event is its record's: the record is its evidence.
EVENT = ArtifactKind("event", TimelineEvent, key=lambda e: e.doc_id, evidence=lambda e: [e.doc_id], decode=_event)
SERIES = ArtifactKind("series", Series, key=lambda s: s.series_id, evidence=lambda s: s.evidence, decode=_series)
LIFE_EVENT = ArtifactKind(
    "life_event",
    LifeEvent,
    key=lambda e: f"{e.kind}:{e.start.isoformat()}",
    evidence=lambda e: e.evidence,
    decode=_life_event,
)
DOC_SENTIMENT = ArtifactKind(
    "doc_sentiment",
    DocSentiment,
    key=lambda s: s.doc_id,
    evidence=lambda s: [s.doc_id],
    decode=lambda d: _build(DocSentiment, d),
)
RELATIONSHIP = ArtifactKind(
    "relationship",
    RelationshipSentiment,
    key=lambda r: r.entity_id,
    evidence=lambda r: r.evidence,
    decode=_relationship,
)


def _relation(data: dict[str, Any]) -> Relation:
    return _build(Relation, data, reasons=[_build(Reason, r) for r in data.get("reasons") or []])


def _employment(data: dict[str, Any]) -> Employment:
    return _build(Employment, data, start=time_of(data["start"]), end=time_of(data["end"]))


# Who a person (or organisation) is to the owner, with reasons and every contact (see processing.relations).
RELATION = ArtifactKind(
    "relation", Relation, key=lambda r: r.entity_id, evidence=lambda r: r.evidence, decode=_relation
)
# The owner's employers with date ranges, keyed by start (an id stays free of names: ids are not sealed).
EMPLOYMENT = ArtifactKind(
    "employment",
    Employment,
    key=lambda j: f"job:{j.start.isoformat()}",
    evidence=lambda j: j.evidence,
    decode=_employment,
)

TOPIC = ArtifactKind(
    "topic", Topic, key=lambda t: t.id, evidence=lambda t: t.evidence, decode=lambda d: _build(Topic, d)
)

KINDS: dict[str, ArtifactKind[Any]] = {
    k.name: k for k in (ENTITY, EVENT, SERIES, LIFE_EVENT, DOC_SENTIMENT, RELATIONSHIP, RELATION, EMPLOYMENT, TOPIC)
}
