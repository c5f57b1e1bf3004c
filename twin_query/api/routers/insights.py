"""GET /v1/insights: predictions that explain themselves, from the caller's tier view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, WithJsonSchema

from twin_assets.insights.base import KINDS, parse_as_of
from twin_assets.insights.store import insights_for
from twin_assets.twin import Twin
from twin_query.api.deps import Caller, get_caller, get_twin
from twin_query.api.schemas import AsOf, ErrorOut

router = APIRouter(prefix="/v1", tags=["insights"])
# The schema lists the kinds, so a client (and Schemathesis) knows any other name is a 422, as checked below.
Kind = Annotated[str, WithJsonSchema({"type": "string", "enum": list(KINDS)})]


class InsightOut(BaseModel):
    kind: str = Field(examples=["next_contacts"])
    subject: str
    statement: str
    score: float = Field(ge=0, le=1, description="Calibrated probability (see the reasoning for how).")
    reasoning: list[str]
    evidence: list[str] = Field(description="Record ids (GET /v1/records/{id}).")
    horizon_days: int | None = Field(None, description="How far ahead the prediction looks, where it does.")
    tier: str


class InsightsOut(BaseModel):
    as_of: str = Field(description="Only records dated before this instant were used.")
    source: str = Field(description="'stored' (materialized for now) or 'computed' (on demand for as_of).")
    insights: list[InsightOut]


@router.get(
    "/insights",
    response_model=InsightsOut,
    response_model_exclude_none=True,
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Predictions with calibrated scores, reasoning and evidence, from records before as_of",
    description="Without as_of: the insights materialized for 'now' (the day after the latest observed record). "
    "With as_of (a date or ISO date-time): computed on demand from records dated strictly before it. "
    "Kinds: " + ", ".join(KINDS) + ". Built from the highest tier view the token may read, so nothing derives "
    "from records above the token's scopes.",
)
def get_insights(
    as_of: AsOf | None = Query(None, description="Cut-off date (YYYY-MM-DD) or ISO 8601 date-time."),
    kind: Kind | None = Query(None, max_length=40, description="One kind."),
    caller: Caller = Depends(get_caller),
    twin: Twin = Depends(get_twin),
) -> dict[str, Any]:
    try:
        when = parse_as_of(as_of)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if kind is not None and kind not in KINDS:
        raise HTTPException(422, f"unknown kind; choose from {', '.join(KINDS)}")
    view = caller.view
    if view is None:
        return {"as_of": (when.isoformat() if when else ""), "source": "computed", "insights": []}
    stamp, items, source = insights_for(twin, view, when, kind)
    visible = [i for i in items if caller.can_read(i.get("tier"))]
    return {"as_of": stamp.isoformat(), "source": source, "insights": visible}
