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
