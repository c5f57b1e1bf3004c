"""The timeline of the caller's view: dated records as events, plus life events (trips, job changes, moves)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from twin_assets.artifacts import LIFE_EVENT
from twin_assets.twin import Twin
from twin_query import views
from twin_query.api.deps import Caller, get_caller, get_twin
from twin_query.api.routers.entities import ERRORS, brief, caller_view, resolve_or_fail
from twin_query.api.schemas import Instant, LifeEventOut, TimelineEventOut, TimelineOut
from twin_query.api.shown import audited

router = APIRouter(prefix="/v1", tags=["timeline"])


@router.get(
    "/timeline",
    response_model=TimelineOut,
    responses=ERRORS,
    summary="Events between since and until, optionally for one entity (id or name), with life events",
    description="Oldest first; `total` counts every matching event in the token's view, `events` is one page.",
)
def get_timeline(
    entity: str | None = Query(None, min_length=1, max_length=200, description="Entity id or name."),
    since: Instant | None = Query(None, description="From this time (ISO 8601; UTC if no offset)."),
    until: Instant | None = Query(None, description="Before this time (ISO 8601; UTC if no offset)."),
    source: str | None = Query(None, max_length=64, description="Only this source (e.g. calendar)."),
    kind: str | None = Query(None, max_length=32, description="Only this record kind (e.g. event, message)."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    caller: Caller = Depends(get_caller),
    twin: Twin = Depends(get_twin),
    vd: views.ViewData | None = Depends(caller_view),
) -> TimelineOut:
    since, until = views.as_utc(since), views.as_utc(until)
    who = resolve_or_fail(vd, caller, entity) if entity else None
    if vd is None:
        return TimelineOut(entity=None, since=since, until=until, total=0, events=[], life_events=[])
    evs = views.events_in(twin, vd, since, until)
    evs = [
        e
        for e in evs
        if caller.can_read(e.tier)
        and (not source or e.source == source)
        and (not kind or e.kind == kind)
        and (who is None or who.id in e.entity_ids)
    ]
    page = evs[offset : offset + limit]
    out = []
    for e in page:
        ents = [brief(x) for i in e.entity_ids if (x := vd.entity(i))]
        out.append(
            TimelineEventOut(
                id=e.doc_id,
                time=e.time,
                end=views.as_utc(e.end),
                local_time=e.local_time,
                kind=e.kind or "",
                source=e.source or "",
                title=e.title or "",
                entities=ents,
                series_id=e.series_id,
            )
        )
    mine = set(who.evidence) if who else set()
    lifes = []
    for _, le in sorted(views.of_kind(twin, vd, LIFE_EVENT).items()):
        start = views.as_utc(le.start)
        end = views.as_utc(le.end)
        if start is None or not caller.can_read(le.tier):
            continue
        if (until is not None and start >= until) or (since is not None and (end or start) < since):
            continue
        if who is not None and not mine & set(le.evidence):
            continue
        lifes.append(
            LifeEventOut(
                kind=le.kind or "",
                start=start,
                end=end,
                confidence=float(le.confidence or 0.0),
                details=le.details or {},
                evidence=list(le.evidence),
            )
        )
    lifes.sort(key=lambda le: le.start)
    timeline = TimelineOut(
        entity=brief(who) if who else None,
        since=since,
        until=until,
        total=len(evs),
        events=out,
        life_events=lifes,
    )
    return audited(twin, caller, timeline)  # events show titles: HIGH ones are audited reads
