from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from twin_query.api.deps import Caller, Service, get_caller
from twin_query.api.schemas import ErrorOut, Instant, SearchHit, SearchResponse
from twin_query.api.shown import audited

router = APIRouter(prefix="/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={401: {"model": ErrorOut}},
    summary="Hybrid keyword + vector search over what the token may read",
)
def search_endpoint(
    service: Service,
    q: str = Query(..., min_length=1, max_length=1000, description="What to look for."),
    k: int = Query(10, ge=1, le=100, description="How many hits."),
    source: str | None = Query(None, max_length=64, description="Only this source kind (e.g. email)."),
    since: Instant | None = Query(None, description="Only items at or after this time (ISO 8601)."),
    until: Instant | None = Query(None, description="Only items before this time (ISO 8601)."),
    caller: Caller = Depends(get_caller),
) -> SearchResponse:
    hits = service.search(q, tiers=caller.tiers, k=k, since=since, until=until, source=source)
    return audited(service.twin(), caller, SearchResponse(query=q, hits=[SearchHit(**h.__dict__) for h in hits]))
