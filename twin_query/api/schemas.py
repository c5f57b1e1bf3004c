"""Response models: the OpenAPI description is generated from these."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from twin_query.ask.facts import FactKind

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text (or a datetime) is an instant here; pydantic's lax mode would take ``0`` or ``"0"`` for
    1970 and a number for seconds since then, which the schema (a date or date-time string) does not allow."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO.fullmatch(value.strip())):
        return value.strip() if isinstance(value, str) else value
    raise ValueError("must be an ISO 8601 date (2024-05-01) or date-time (2024-05-01T09:00:00Z)")


def _in_utc(value: datetime) -> datetime:
    """UTC (no offset means UTC). Year 1 or 9999 with an offset is a valid date-time past datetime's range in
    UTC: it is the earliest or latest instant there is, so a bound like ``since=0001-01-01T00:00:00+01:00``
    means "from the beginning" instead of failing later."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=UTC)


_INSTANT_SCHEMA = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
# A date (its midnight) or a date-time, in UTC. Used for every instant a request carries.
Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_utc), WithJsonSchema(_INSTANT_SCHEMA)]

AS_OF_RANGE = (datetime(100, 1, 1, tzinfo=UTC), datetime(9900, 1, 1, tzinfo=UTC))


def _in_as_of_range(value: datetime) -> datetime:
    """An ``as_of`` is a "now" that answers count back and forward from (last year, next week, years of history):
    one in the first or last century the calendar has is taken as the edge of this range, where none of that
    arithmetic leaves the calendar (no record of a twin is that old or that far ahead either)."""
    return min(max(value, AS_OF_RANGE[0]), AS_OF_RANGE[1])


# An instant used as "now" (ask, insights).
AsOf = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_utc),
    AfterValidator(_in_as_of_range),
    WithJsonSchema(_INSTANT_SCHEMA),
]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    version: str


class SearchHit(BaseModel):
    id: str
    source: str
    kind: str
    tier: str
    score: float
    timestamp: datetime | None
    title: str
    snippet: str


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class RecordOut(BaseModel):
    id: str
    source: str
    kind: str
    tier: str
    timestamp: datetime | None
    title: str
    body: str
    meta: dict[str, Any]
    lineage: dict[str, Any]


class ErrorOut(BaseModel):
    detail: str


# ---- query service: entities, graph, timeline, ask --------------------------------------------------
class EntityBrief(BaseModel):
    id: str
    kind: str = Field(description="person, organisation, place or project")
    name: str
    is_self: bool = False


class EntityMatch(EntityBrief):
    aliases: list[str] = Field(description="Other names this view knows for the entity.")
    records: int = Field(description="Records in the caller's view that mention it.")


class EntityList(BaseModel):
    entities: list[EntityMatch]


class Evidence(BaseModel):
    id: str = Field(description="Record id (GET /v1/records/{id}).")
    source: str
    kind: str
    tier: str
    timestamp: datetime | None
    title: str
    snippet: str


class RelatedOut(BaseModel):
    entity: EntityBrief
    weight: float = Field(description="Records the two share.")
    first: datetime | None
    last: datetime | None


class RelationReasonOut(BaseModel):
    kind: str = Field(description="What kind of evidence: e.g. named:mother, work-domain, card-org, manager, club.")
    text: str = Field(description="The reason in words.")
    evidence_ids: list[str] = Field(description="Records that say so (within the caller's view).")


class ContactMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    sent: int = Field(description="Messages from the owner to them.")
    received: int = Field(description="Messages from them to the owner.")
    met: int = Field(description="Meetings that took place (not scheduled ones still to come).")
    tone: float | None = Field(description="Mean VADER compound of that month's scored messages.")


class RelationOut(BaseModel):
    relation: Literal[
        "partner", "mother", "father", "sibling", "family", "manager", "colleague", "friend", "service", "other"
    ]
    organisation: str | None = Field(description="The organisation or club the relation is through, if any.")
    confidence: float
    since: date | None = Field(None, description="For a colleague or manager: start of the shared employment.")
    until: date | None = Field(None, description="For a colleague or manager: end of the shared employment.")
    reasons: list[RelationReasonOut]
    evidence_ids: list[str]
    months: list[ContactMonthOut] = Field(description="Contact frequency and tone per month, up to now.")
    trend: Literal["fading", "strengthening", "strained", "steady"] | None = Field(
        None, description="The last 90 days against the year before (a burst of negative messages: strained)."
    )
    last_contact: datetime | None = None
    last_contact_id: str | None = None


class EntityProfile(EntityBrief):
    aliases: dict[str, list[str]]
    confidence: float | None
    counts: dict[str, Any] = Field(description="records, mentions, by_source, related — within the caller's view.")
    first_seen: datetime | None
    last_seen: datetime | None
    next_scheduled: datetime | None = Field(None, description="The next dated record after now, if any.")
    top_related: list[RelatedOut]
    sentiment: dict[str, Any] | None
    relation: RelationOut | None = Field(
        None, description="Who this is to the owner, the evidence, and contact frequency and tone over time."
    )
    centrality: dict[str, Any] | None
    community: dict[str, Any] | None


class NeighborOut(BaseModel):
    entity: EntityBrief
    weight: float
    first: datetime | None
    last: datetime | None
    evidence: list[Evidence]


class NeighborsOut(BaseModel):
    entity: EntityBrief
    neighbors: list[NeighborOut]


class PathEdgeOut(BaseModel):
    source: str
    target: str
    weight: float
    first: datetime | None
    last: datetime | None
    evidence: list[Evidence]


class PathOut(BaseModel):
    found: bool
    source: EntityBrief
    target: EntityBrief
    hops: int | None
    path: list[EntityBrief]
    edges: list[PathEdgeOut]


class CentralEntity(EntityBrief):
    pagerank: float
    betweenness: float
    degree: int


class CentralOut(BaseModel):
    metric: str
    entities: list[CentralEntity]


class CommunityOut(BaseModel):
    id: str
    size: int = Field(description="Entities in the community, within the caller's view.")
    members: list[CentralEntity]


class CommunitiesOut(BaseModel):
    communities: list[CommunityOut]


class TimelineEventOut(BaseModel):
    id: str = Field(description="Record id.")
    time: datetime
    end: datetime | None
    local_time: str | None
    kind: str
    source: str
    title: str
    entities: list[EntityBrief]
    series_id: str | None


class LifeEventOut(BaseModel):
    kind: str = Field(description="trip, job_change, move")
    start: datetime
    end: datetime | None
    confidence: float
    details: dict[str, Any]
    evidence: list[str]


class TimelineOut(BaseModel):
    entity: EntityBrief | None
    since: datetime | None
    until: datetime | None
    total: int
    events: list[TimelineEventOut]
    life_events: list[LifeEventOut]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, examples=["how much did I spend on travel last year?"])
    as_of: AsOf | None = Field(None, description="Answer as if now were this instant (relative dates).")
    k: int = Field(10, ge=1, le=50, description="How many items to retrieve per step.")


class ReasoningStep(BaseModel):
    step: int
    text: str
    evidence: list[str] = Field(description="Record ids this step rests on; each is in `evidence`.")


class Fact(BaseModel):
    """The fact a question asked for (docs/api.md lists the value of each kind)."""

    kind: FactKind = Field(description="What the value is; the question says what it means.")
    value: Any = Field(
        description="person: {id, name}; people: [{id, name}] best first; date: YYYY-MM-DD; datetime: ISO; "
        "range: {start, end}; amount: {amount (a positive magnitude), currency}; count: int; place, organisation, "
        "trend, text: str; relation: {relation, organisation}; event: {title, start, end, place}; events: [event]; "
        "yes_no: bool."
    )
    text: str = Field(description="The value in words.")


class AskResponse(BaseModel):
    intent: str = Field(
        description="search, person_profile, relationship, timeline, aggregate, prediction, topic, or a question "
        "kind: next_trip, trip_when, trip_companions, trip_count, upcoming, birthday, busy_with, recurring_payment, "
        "income, how_know, last_contact, most_contacted, drifting, reply_debt, employer_history, manager, "
        "relationship_state, message_fact (what a message says; docs/api.md)"
    )
    answer: str = Field(description="The fact first, in words; when refused, what the twin does not know.")
    reasoning: list[ReasoningStep]
    evidence: list[Evidence]
    slots: dict[str, Any]
    answered_by: str = Field(description="rules, or llm when TWIN_LLM_URL is configured")
    as_of: datetime = Field(
        description="The one reference time of the question (the request's as_of, else now): relative words are "
        "read against it and nothing dated after it is counted or cited, except scheduled records a question "
        "about the future rests on."
    )
    fact: Fact | None = Field(description="The fact asked for; null when refused.")
    confidence: float = Field(ge=0, le=1, description="How sure the twin is of the fact.")
    refused: bool = Field(
        description="True when the confidence is below the threshold: the answer says what is not known, fact is "
        "null and evidence shows the nearest records."
    )
