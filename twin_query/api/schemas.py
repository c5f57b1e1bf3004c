"""Response models: the OpenAPI description is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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


class EntityProfile(EntityBrief):
    aliases: dict[str, list[str]]
    confidence: float | None
    counts: dict[str, Any] = Field(description="records, mentions, by_source, related — within the caller's view.")
    first_seen: datetime | None
    last_seen: datetime | None
    next_scheduled: datetime | None = Field(None, description="The next dated record after now, if any.")
    top_related: list[RelatedOut]
    sentiment: dict[str, Any] | None
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
    as_of: datetime | None = Field(None, description="Answer as if now were this instant (relative dates).")
    k: int = Field(10, ge=1, le=50, description="How many items to retrieve per step.")


class ReasoningStep(BaseModel):
    step: int
    text: str
    evidence: list[str] = Field(description="Record ids this step rests on; each is in `evidence`.")


class AskResponse(BaseModel):
    intent: str = Field(description="search, person_profile, relationship, timeline, aggregate, prediction, topic")
    answer: str
    reasoning: list[ReasoningStep]
    evidence: list[Evidence]
    slots: dict[str, Any]
    answered_by: str = Field(description="rules, or llm when TWIN_LLM_URL is configured")
