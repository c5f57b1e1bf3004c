"""Entities of the caller's view: search by name or alias, profiles, graph neighbours with evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from twin_assets.processing.resolution import Entity
from twin_assets.records import Document
from twin_assets.tiers import HIGH
from twin_query import views
from twin_query.api.deps import Caller, Service, get_caller
from twin_query.api.schemas import (
    EntityBrief,
    EntityList,
    EntityMatch,
    EntityProfile,
    ErrorOut,
    Evidence,
    NeighborOut,
    NeighborsOut,
)
from twin_query.api.shown import audited

router = APIRouter(prefix="/v1", tags=["entities"])
NOT_AVAILABLE = "entity not available to this token"
# FastAPI takes responses as dict[int | str, dict[str, Any]]; the annotation keeps the literal that type.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    429: {"model": ErrorOut},
}


def brief(e: Entity) -> EntityBrief:
    """An entity as the API shows it in lists and paths."""
    return EntityBrief.model_validate(views.brief(e))


def evidence_out(doc: Document, terms: list[str]) -> Evidence:
    """A record cited as evidence, its snippet centred on ``terms``."""
    return Evidence.model_validate(views.evidence_item(doc, terms))


def caller_view(service: Service, caller: Caller = Depends(get_caller)) -> views.ViewData | None:
    """The view of the highest tier the token may read."""
    view = caller.view
    return service.view_data(view) if view else None


def unavailable(caller: Caller) -> HTTPException:
    # Below full scope, "absent" and "above your scope" must look the same.
    if caller.can_read(HIGH):
        return HTTPException(404, "no such entity")
    return HTTPException(403, NOT_AVAILABLE)


def resolve_or_fail(vd: views.ViewData | None, caller: Caller, ref: str) -> Entity:
    entity = vd.resolve(ref) if vd is not None else None
    if entity is None:
        raise unavailable(caller)
    return entity


@router.get(
    "/entities",
    response_model=EntityList,
    responses=ERRORS,
    summary="Search people, organisations, places and projects by name or alias",
    description="Exact alias matches first, then word prefixes, then substrings; within the token's view.",
)
def list_entities(
    q: str | None = Query(None, max_length=200, description="Name, alias, e-mail or handle (part of it)."),
    kind: str | None = Query(None, pattern="^(person|organisation|place|project)$"),
    limit: int = Query(20, ge=1, le=200),
    caller: Caller = Depends(get_caller),
    vd: views.ViewData | None = Depends(caller_view),
) -> EntityList:
    if vd is None:
        return EntityList(entities=[])
    if q and q.strip():
        found = vd.find(q, kind=kind, limit=limit)
    else:
        ranked = sorted(vd.entities.values(), key=lambda e: (-vd.weight(e.id), e.id))
        found = [e for e in ranked if not kind or e.kind == kind][:limit]
    out = []
    for e in found:
        names = [n for n in e.aliases.get("names", []) if n != e.name]
        out.append(EntityMatch(**views.brief(e), aliases=names[:20], records=vd.weight(e.id)))
    return EntityList(entities=out)


@router.get(
    "/entities/{entity_id}",
    response_model=EntityProfile,
    responses=ERRORS,
    summary="An entity's profile: aliases, counts, first/last seen, top related, sentiment",
    description="Everything is computed within the token's view. An id the token may not read gets 403 "
    "(404 only for tokens that can read everything), so the answer never tells what exists above the scope.",
)
def get_entity(
    service: Service,
    entity_id: str = Path(..., min_length=1, max_length=200),
    related: int = Query(10, ge=0, le=100, description="How many related entities."),
    caller: Caller = Depends(get_caller),
    vd: views.ViewData | None = Depends(caller_view),
) -> EntityProfile:
    entity = vd.entity(entity_id) if vd is not None else None
    if entity is None or vd is None:
        raise unavailable(caller)
    graph = service.view_graph(vd.view)
    return EntityProfile(**views.profile(service.twin(), vd, entity, graph, related_limit=related))


@router.get(
    "/entities/{entity_id}/neighbors",
    response_model=NeighborsOut,
    responses=ERRORS,
    summary="Graph neighbours with the evidence for each edge (record ids, timestamps, snippets)",
)
def get_neighbors(
    service: Service,
    entity_id: str = Path(..., min_length=1, max_length=200),
    limit: int = Query(20, ge=1, le=200, description="How many neighbours, strongest first."),
    evidence: int = Query(3, ge=0, le=20, description="Evidence records per edge."),
    caller: Caller = Depends(get_caller),
    vd: views.ViewData | None = Depends(caller_view),
) -> NeighborsOut:
    entity = vd.entity(entity_id) if vd is not None else None
    if entity is None or vd is None:
        raise unavailable(caller)
    twin = service.twin()
    graph = service.view_graph(vd.view)
    rel = views.related(graph[2] if graph else None, vd, entity_id, limit)
    shown = [views.newest(twin, caller.tiers, r["evidence_ids"], evidence) if evidence else [] for r in rel]
    docs = views.fetch_docs(twin, caller.tiers, [i for ids in shown for i in ids])
    out = []
    for r, ids in zip(rel, shown, strict=True):
        picked = [docs[i] for i in ids if i in docs]
        terms = views.entity_terms(entity) + views.entity_terms(vd.entity(r["entity"]["id"]))
        out.append(
            NeighborOut(
                entity=r["entity"],
                weight=r["weight"],
                first=r["first"],
                last=r["last"],
                evidence=[evidence_out(d, terms) for d in picked],
            )
        )
    return audited(twin, caller, NeighborsOut(entity=brief(entity), neighbors=out))
