"""The knowledge graph of the caller's view: paths with evidence, central entities, communities."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from twin_assets.twin import Twin
from twin_query import views
from twin_query.api.deps import Caller, Service, get_caller, get_twin
from twin_query.api.routers.entities import ERRORS, brief, caller_view, evidence_out, resolve_or_fail
from twin_query.api.schemas import CentralEntity, CentralOut, CommunitiesOut, CommunityOut, PathEdgeOut, PathOut
from twin_query.api.shown import audited
from twin_query.ask.retrieve import graph_path

router = APIRouter(prefix="/v1/graph", tags=["graph"])


@router.get(
    "/path",
    response_model=PathOut,
    responses=ERRORS,
    summary="Shortest path between two entities (ids or names), with the evidence for each edge",
    description="Fewest hops, strongest links preferred, in the token's view. `found` is false when the two are "
    "not connected there; an entity the token cannot see gets 403 (404 for full-scope tokens).",
)
def get_path(
    service: Service,
    source: str = Query(..., min_length=1, max_length=200, description="Entity id or name."),
    target: str = Query(..., min_length=1, max_length=200, description="Entity id or name."),
    evidence: int = Query(3, ge=1, le=20, description="Evidence records per edge."),
    caller: Caller = Depends(get_caller),
    vd: views.ViewData | None = Depends(caller_view),
) -> PathOut:
    a = resolve_or_fail(vd, caller, source)
    b = resolve_or_fail(vd, caller, target)
    assert vd is not None  # resolve_or_fail raised otherwise
    if a.id == b.id:
        return PathOut(found=True, source=brief(a), target=brief(b), hops=0, path=[brief(a)], edges=[])
    path, edges, docs = graph_path(service, caller.tiers, vd, a.id, b.id, evidence)
    terms = {e.id: views.entity_terms(e) for e in path}
    out_edges = [
        PathEdgeOut(
            source=e["source"],
            target=e["target"],
            weight=e["weight"],
            first=e["first"],
            last=e["last"],
            evidence=[
                evidence_out(docs[i], terms.get(e["source"], []) + terms.get(e["target"], []))
                for i in e["evidence_ids"]
                if i in docs
            ],
        )
        for e in edges
    ]
    out = PathOut(
        found=bool(path),
        source=brief(a),
        target=brief(b),
        hops=len(path) - 1 if path else None,
        path=[brief(e) for e in path],
        edges=out_edges,
    )
    return audited(service.twin(), caller, out)


def _central(vd: views.ViewData, twin: Twin, eid: str) -> CentralEntity | None:
    c = views.artifacts(twin, vd, "centrality").get(eid)
    e = vd.entity(eid)
    if c is None or e is None:
        return None
    return CentralEntity(
        **views.brief(e),
        pagerank=float(c.get("pagerank") or 0.0),
        betweenness=float(c.get("betweenness") or 0.0),
        degree=int(c.get("degree") or 0),
    )


@router.get(
    "/central",
    response_model=CentralOut,
    responses=ERRORS,
    summary="The most central entities of the token's view (PageRank, betweenness or degree)",
)
def get_central(
    k: int = Query(10, ge=1, le=200),
    metric: str = Query("pagerank", pattern="^(pagerank|betweenness|degree)$"),
    kind: str | None = Query(None, pattern="^(person|organisation|place|project)$"),
    include_self: bool = Query(False, description="Include the twin's owner."),
    caller: Caller = Depends(get_caller),
    twin: Twin = Depends(get_twin),
    vd: views.ViewData | None = Depends(caller_view),
) -> CentralOut:
    if vd is None:
        return CentralOut(metric=metric, entities=[])
    items = [c for eid in views.artifacts(twin, vd, "centrality") if (c := _central(vd, twin, eid))]
    items = [c for c in items if (include_self or not c.is_self) and (not kind or c.kind == kind)]
    items.sort(key=lambda c: (-getattr(c, metric), c.id))
    return CentralOut(metric=metric, entities=items[:k])


@router.get(
    "/communities",
    response_model=CommunitiesOut,
    responses=ERRORS,
    summary="Communities of the token's view, largest first, with their most central members",
    description="Sizes count members within the token's view only.",
)
def get_communities(
    limit: int = Query(20, ge=1, le=200),
    members: int = Query(10, ge=1, le=200, description="Members listed per community, most central first."),
    min_size: int = Query(2, ge=1, le=10000),
    caller: Caller = Depends(get_caller),
    twin: Twin = Depends(get_twin),
    vd: views.ViewData | None = Depends(caller_view),
) -> CommunitiesOut:
    if vd is None:
        return CommunitiesOut(communities=[])
    out = []
    comms = sorted(views.artifacts(twin, vd, "community").items(), key=lambda kv: (-int(kv[1].get("size") or 0), kv[0]))
    for cid, c in comms:
        if not caller.can_read(c.get("tier")) or int(c.get("size") or 0) < min_size:
            continue
        ms = [m for eid in c.get("members", []) if (m := _central(vd, twin, eid))]
        ms.sort(key=lambda m: (-m.pagerank, m.id))
        out.append(CommunityOut(id=cid, size=int(c.get("size") or len(ms)), members=ms[:members]))
        if len(out) >= limit:
            break
    return CommunitiesOut(communities=out)
