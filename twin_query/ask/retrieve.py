"""Intent → the evidence that answers it: hybrid search, graph traversal, the view's artifacts.

Everything is read from the caller's view and the stores the caller may read;
time filters run inside the stores (``search(since=, until=)``) or over the
view's time-sorted events. Each function returns plain data plus the record
ids it rests on; :mod:`twin_query.ask.reason` turns that into an answer.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import networkx as nx

from twin_assets.artifacts import LIFE_EVENT, SERIES, TOPIC
from twin_assets.connectors.base import MAIL
from twin_assets.connectors.registry import traits_for
from twin_assets.processing.names import fold
from twin_assets.processing.resolution import Entity
from twin_assets.processing.timeline import LifeEvent, Series, TimelineEvent
from twin_assets.processing.topics import Topic
from twin_assets.records import Document
from twin_assets.twin import Twin
from twin_query import views
from twin_query.ask.intent import CATEGORY_TERMS, Intent
from twin_query.search import Hit
from twin_query.service import QueryService

MAX_PATHS = 50


@dataclass
class Found:
    """What retrieval found for one question."""

    intent: Intent
    steps: list[tuple[str, list[str]]] = field(default_factory=list)  # how it was looked up, with ids
    hits: list[Hit] = field(default_factory=list)
    entity: Entity | None = None
    other: Entity | dict[str, Any] | None = None  # the other entity of a relationship; an aggregate's range
    profile: dict[str, Any] | None = None
    path: list[Entity] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    n_events: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    life_events: list[LifeEvent] = field(default_factory=list)
    transactions: list[tuple[Document, float, str]] = field(default_factory=list)
    considered: int = 0
    upcoming: list[TimelineEvent] = field(default_factory=list)
    series: dict[str, Series] = field(default_factory=dict)
    topics: list[Topic] = field(default_factory=list)
    communities: list[dict[str, Any]] = field(default_factory=list)
    docs: dict[str, Document] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


def _in_range(t: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or t >= since) and (until is None or t < until)


# ---- search -----------------------------------------------------------------------------------------
def do_search(service: QueryService, tiers: tuple[str, ...], found: Found, k: int, mode: str = "hybrid") -> None:
    it = found.intent
    text = it.text
    if it.entities and it.keywords:
        text = " ".join([*it.keywords, *(e.name for e in it.entities)])
    since, until = (it.time.since, it.time.until) if it.time else (None, None)
    # Nothing after the question's reference time is searched (keyword and vector alike).
    until = min(until, it.now) if until and it.now else (until or it.now)
    found.hits = service.search(text, tiers=tiers, k=k, mode=mode, since=since, until=until)
    label = "hybrid keyword + vector search" + (f", {it.time.label}" if it.time else "")
    if it.time:
        # The time words may be part of what is sought ("Events this month: flea markets"): search the whole
        # question over all time too, and prefer that when it matches a title nearly word for word.
        whole = service.search(it.question, tiers=tiers, k=k, mode=mode, until=it.now)
        best = max((title_coverage(it.question, h.title) for h in whole[:3]), default=0.0)
        within = max((title_coverage(it.question, h.title) for h in found.hits[:3]), default=0.0)
        if not found.hits or (best >= 0.8 and best > within + 0.3):
            found.hits = whole
            label = f"hybrid keyword + vector search over all time (“{it.time.label}” read as part of a title)"
    found.steps.append((label, [h.id for h in found.hits]))
    found.docs.update(views.fetch_docs(service.twin(), tiers, [h.id for h in found.hits]))
    found.terms = it.keywords


def title_coverage(question: str, title: str) -> float:
    """The share of the question's words that the title contains."""
    q = {w for w in fold(question).split() if len(w) > 1 or w.isdigit()}
    return len(q & set(fold(title or "").split())) / len(q) if q else 0.0


# ---- profile ----------------------------------------------------------------------------------------
def do_profile(service: QueryService, tiers: tuple[str, ...], vd: views.ViewData, found: Found) -> None:
    twin = service.twin()
    entity = found.intent.entities[0]
    found.entity = entity
    graph = service.view_graph(vd.view)
    found.profile = views.profile(twin, vd, entity, graph, related_limit=5, now=found.intent.now)
    g = graph[1] if graph else None
    first = views.latest_records(g, entity.id, 1, oldest=True)
    recent = views.latest_records(g, entity.id, 3)
    found.edges = views.related(graph[2] if graph else None, vd, entity.id, 3)
    linked = [r["evidence_ids"][0] for r in found.edges if r["evidence_ids"]]
    found.docs.update(views.fetch_docs(twin, tiers, first + recent + linked))
    found.steps.append(("first and latest records mentioning the entity", first + recent))
    found.terms = views.entity_terms(entity)


# ---- relationship -----------------------------------------------------------------------------------
def best_path(eg: nx.Graph, a: str, b: str) -> list[str] | None:
    """Fewest hops; among those, the path whose weakest edge is strongest."""
    if a not in eg or b not in eg:
        return None
    try:
        paths = []
        for p in nx.all_shortest_paths(eg, a, b):
            paths.append(p)
            if len(paths) >= MAX_PATHS:
                break
    except nx.NetworkXNoPath:
        return None

    def strength(p: list[str]) -> tuple[float, float]:
        ws = [float(eg.edges[u, v].get("weight", 0)) for u, v in itertools.pairwise(p)]
        return (min(ws) if ws else 0.0, sum(ws))

    return max(paths, key=lambda p: (strength(p), tuple(p)))


def edge_evidence(
    twin: Twin, tiers: tuple[str, ...], eg: nx.Graph, u: str, v: str, n: int = 3, now: datetime | None = None
) -> tuple[dict[str, Any], dict[str, Document]]:
    """An edge's weight, first/last dates and ``n`` evidence records. With ``now``, only what happened by
    then counts: recurring calendar events are expanded into the future, and "you know X from 2022 to 2028"
    would count meetings that have not happened."""
    a = eg.edges[u, v]
    ids = list(a.get("evidence") or [])
    docs = views.fetch_docs(twin, tiers, ids)
    weight, last = float(a.get("weight", 0)), views.iso(a.get("last"))
    if now is not None:
        docs = {i: d for i, d in docs.items() if d.event_time is None or d.event_time <= now}
        by_month = a.get("by_month") or {}
        if by_month:
            month = now.strftime("%Y-%m")
            weight = float(sum(c for m, c in by_month.items() if m <= month))
        last_time = views.parse_time(last)
        if last_time is not None and last_time > now:
            times = [d.event_time for d in docs.values() if d.event_time is not None]
            last = max(times).isoformat() if times else None
    dated = sorted((d for d in docs.values()), key=lambda d: (d.event_time is None, d.event_time or 0, d.id))
    pick = dated[:1] + dated[-(n - 1) :] if len(dated) > n else dated
    chosen = list(dict.fromkeys(d.id for d in pick))
    return (
        {
            "source": u,
            "target": v,
            "weight": weight,
            "first": views.iso(a.get("first")),
            "last": last,
            "evidence_ids": chosen,
        },
        {i: docs[i] for i in chosen},
    )


def graph_path(
    service: QueryService,
    tiers: tuple[str, ...],
    vd: views.ViewData,
    source: str,
    target: str,
    n_evidence: int = 3,
    now: datetime | None = None,
) -> tuple[list[Entity], list[dict[str, Any]], dict[str, Document]]:
    graph = service.view_graph(vd.view)
    if graph is None:
        return [], [], {}
    eg = graph[2]
    path = best_path(eg, source, target)
    if not path:
        return [], [], {}
    edges, docs = [], {}
    for u, v in itertools.pairwise(path):
        edge, got = edge_evidence(service.twin(), tiers, eg, u, v, n_evidence, now=now)
        edges.append(edge)
        docs.update(got)
    return [vd.entities[n] for n in path if n in vd.entities], edges, docs


def do_relationship(service: QueryService, tiers: tuple[str, ...], vd: views.ViewData, found: Found) -> None:
    twin = service.twin()
    ents = found.intent.entities
    a: Entity | None
    if len(ents) >= 2:
        a, b = ents[0], ents[1]
    else:
        a, b = (vd.entity(vd.self_id) if vd.self_id else None), ents[0]
    found.entity, found.other = b, a
    found.terms = views.entity_terms(b)
    if a is not None and a.id != b.id:
        found.path, found.edges, docs = graph_path(service, tiers, vd, a.id, b.id, now=found.intent.now)
        found.docs.update(docs)
        found.steps.append(
            (
                "shortest path in the knowledge graph, strongest links preferred",
                [i for e in found.edges for i in e["evidence_ids"]],
            )
        )
    graph = service.view_graph(vd.view)
    first = views.latest_records(graph[1] if graph else None, b.id, 2, oldest=True)
    found.docs.update(views.fetch_docs(twin, tiers, first))
    found.steps.append(("earliest records mentioning them", first))
    found.profile = views.profile(twin, vd, b, graph, related_limit=3, now=found.intent.now)


# ---- timeline ---------------------------------------------------------------------------------------
HIGHLIGHT_ORDER = {"event": 0, "note": 1, "message": 2, "transaction": 3, "chat_message": 4, "contact": 5}


def do_timeline(twin: Twin, tiers: tuple[str, ...], vd: views.ViewData, found: Found, k: int) -> None:
    it = found.intent
    since, until = bounded(it)
    evs = views.events_in(twin, vd, since, until)
    entity = it.entities[0] if it.entities else None
    if entity:
        evs = [e for e in evs if entity.id in e.entity_ids]
        found.entity = entity
        found.terms = views.entity_terms(entity)
    evs = [e for e in evs if e.tier in tiers]
    found.n_events = len(evs)
    found.by_source = dict(Counter(e.source or "?" for e in evs).most_common())
    ranked = sorted(evs, key=lambda e: (HIGHLIGHT_ORDER.get(e.kind, 9), -len(e.entity_ids), e.time))
    if entity and not it.time:  # "what happened with X": the latest first
        ranked = sorted(evs, key=lambda e: e.time, reverse=True)
    distinct, seen = [], set()
    for e in ranked:  # highlights with distinct titles first: ten "Book club"s say little
        if (e.title or "") not in seen:
            seen.add(e.title or "")
            distinct.append(e)
        if len(distinct) >= k:
            break
    found.events = sorted(distinct, key=lambda e: e.time)
    lifes = []
    mine = set(entity.evidence) if entity else set()
    for le in views.of_kind(twin, vd, LIFE_EVENT).values():
        start = views.as_utc(le.start)
        end = views.as_utc(le.end) or start
        if start is None or le.tier not in tiers:
            continue
        overlaps = (until is None or start < until) and (since is None or (end or start) >= since)
        if overlaps and (entity is None or mine & set(le.evidence)):
            lifes.append(le)
    found.life_events = sorted(lifes, key=lambda le: le.start)
    ids = [e.doc_id for e in found.events] + [i for le in found.life_events for i in le.evidence[:2]]
    found.docs.update(views.fetch_docs(twin, tiers, ids))
    found.steps.append(
        ("events from the timeline" + (f", {it.time.label}" if it.time else ""), [e.doc_id for e in found.events])
    )


# ---- aggregate --------------------------------------------------------------------------------------
def amount_of(doc: Document) -> tuple[float, str] | None:
    attrs = (doc.meta or {}).get("attributes") or {}
    value = attrs.get("amount")
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return None
    if amount != amount or amount in (float("inf"), float("-inf")):
        return None
    return amount, str(attrs.get("currency") or "")


def doc_words(doc: Document) -> str:
    attrs = (doc.meta or {}).get("attributes") or {}
    parties = " ".join(p.get("name") or "" for p in (doc.meta or {}).get("parties") or [])
    return " " + fold(f"{doc.title} {doc.body} {parties} {attrs.get('category') or ''}") + " "


def payee_is_person(vd: views.ViewData, doc: Document) -> bool:
    ids = vd.alias_index.get(fold(doc.title or ""), set())
    return any(vd.entities[i].kind == "person" for i in ids)


def matches_terms(words: str, terms: tuple[str, ...] | list[str]) -> bool:
    return any(f" {fold(t)} " in words for t in terms)


def bounded(it: Intent) -> tuple[datetime | None, datetime | None]:
    """The question's time range, cut at its reference time: nothing after it is counted or cited."""
    since, until = (it.time.since, it.time.until) if it.time else (None, None)
    if it.now is not None:
        until = min(until, it.now) if until else it.now
    return since, until


def do_aggregate(twin: Twin, tiers: tuple[str, ...], vd: views.ViewData, found: Found) -> None:
    it = found.intent
    since, until = bounded(it)
    evs = views.events_in(twin, vd, since, until)
    kind = it.count_kind or "transaction"
    if kind == "message":
        evs = [e for e in evs if e.kind in ("message", "chat_message") or traits_for(e.source).medium == MAIL]
    else:
        evs = [e for e in evs if e.kind == kind]
    entity = it.entities[0] if it.entities else None
    if entity and kind != "transaction":
        evs = [e for e in evs if entity.id in e.entity_ids]
    evs = [e for e in evs if e.tier in tiers]
    label = it.time.label if it.time else "all time"
    if it.measure == "count":
        found.considered = len(evs)
        found.events = evs
        found.by_source = dict(Counter(e.source or "?" for e in evs).most_common())
        sample = [e.doc_id for e in evs[:3]] + [e.doc_id for e in evs[-2:]]
        found.docs.update(views.fetch_docs(twin, tiers, sample))
        found.steps.append((f"counted {kind} records, {label}", sample))
        if entity:
            found.entity = entity
            found.terms = views.entity_terms(entity)
        return
    docs = views.fetch_docs(twin, tiers, [e.doc_id for e in evs])
    found.considered = len(docs)
    rows: list[tuple[Document, float, str]] = []
    terms: tuple[str, ...] = CATEGORY_TERMS.get(it.category or "", ())
    merchant_terms = list(it.keywords)
    if entity:
        merchant_terms += views.entity_terms(entity)
        found.entity = entity
    for e in evs:
        doc = docs.get(e.doc_id)
        got = amount_of(doc) if doc else None
        if doc is None or got is None:
            continue
        amount, currency = got
        if (it.measure == "income" and amount <= 0) or (it.measure == "spend" and amount >= 0):
            continue
        words = doc_words(doc)
        if terms and payee_is_person(vd, doc):
            # Paying a friend back "for pizza" is not restaurant spending: only the payee's name counts.
            words = " " + fold(doc.title or "") + " "
        if terms and not matches_terms(words, terms):
            continue
        if merchant_terms and not terms and not matches_terms(words, merchant_terms):
            continue
        if it.amounts and it.amount_op:
            limit = it.amounts[0]
            if (it.amount_op == ">" and abs(amount) <= limit) or (it.amount_op == "<" and abs(amount) >= limit):
                continue
        rows.append((doc, amount, currency))
    found.transactions = rows
    found.docs.update({d.id: d for d, _, _ in rows})
    found.terms = [t for t in (*terms, *merchant_terms) if len(t) > 2]
    found.steps.append((f"transactions {label}: {len(docs)}", []))


# ---- prediction -------------------------------------------------------------------------------------
def do_prediction(twin: Twin, tiers: tuple[str, ...], vd: views.ViewData, found: Found, k: int) -> None:
    it = found.intent
    now = it.now or datetime.now().astimezone()
    if it.time and it.time.since and it.time.since >= now - timedelta(days=1):
        since, until = it.time.since, it.time.until or it.time.since + timedelta(days=7)
    else:
        since, until = now, now + timedelta(days=7)
    it.time = it.time if it.time and it.time.since and it.time.since >= now - timedelta(days=1) else None
    evs = [e for e in views.events_in(twin, vd, since, until) if e.kind == "event" and e.tier in tiers]
    entity = it.entities[0] if it.entities else None
    if entity:
        evs = [e for e in evs if entity.id in e.entity_ids]
        found.entity = entity
    found.series = {sid: s for sid, s in views.of_kind(twin, vd, SERIES).items() if s.tier in tiers}
    found.upcoming = evs[: max(k, 20)]
    found.n_events = len(evs)
    found.docs.update(views.fetch_docs(twin, tiers, [e.doc_id for e in found.upcoming]))
    found.steps.append(
        (
            f"calendar events from {since.date().isoformat()} to {until.date().isoformat()}",
            [e.doc_id for e in found.upcoming],
        )
    )
    found.other = {"since": since, "until": until}


# ---- topics and communities -------------------------------------------------------------------------
def do_topic(service: QueryService, tiers: tuple[str, ...], vd: views.ViewData, found: Found, k: int) -> None:
    twin = service.twin()
    it = found.intent
    if it.subject == "communities":
        centrality = views.artifacts(twin, vd, "centrality")
        graph = service.view_graph(vd.view)
        eg = graph[2] if graph else None
        out: list[dict[str, Any]] = []
        for cid, c in sorted(views.artifacts(twin, vd, "community").items(), key=lambda kv: -kv[1].get("size", 0)):
            if c.get("tier") not in tiers or c.get("size", 0) < 2:
                continue
            members = [m for m in c.get("members", []) if m in vd.entities and not vd.entities[m].is_self]
            members.sort(key=lambda m: -(centrality.get(m) or {}).get("pagerank", 0))
            strongest: list[str] = []
            if eg is not None:
                inner = [(float(a.get("weight", 0)), u, v) for u, v, a in eg.subgraph(members[:10]).edges(data=True)]
                if inner:
                    _, u, v = max(inner)
                    edge, docs = edge_evidence(twin, tiers, eg, u, v, 2, now=it.now)
                    strongest = edge["evidence_ids"]
                    found.docs.update(docs)
            out.append(
                {
                    "id": cid,
                    "size": c.get("size"),
                    "members": [vd.entities[m] for m in members[:5]],
                    "evidence_ids": strongest,
                }
            )
            if len(out) >= min(k, 5):
                break
        found.communities = out
        found.steps.append(
            ("communities of the knowledge graph (Louvain), largest first", [i for c in out for i in c["evidence_ids"]])
        )
        return
    topics = [t for t in views.of_kind(twin, vd, TOPIC).values() if t.tier in tiers]
    since, until = bounded(it) if it.time else (None, None)
    rising = bool(
        re.search(r"\btrending\b|\brising\b|\blately\b|\brecently\b|\bgrowing\b|\bmore and more\b", it.question.lower())
    )

    def share(t: Topic) -> float:
        months = t.months or {}
        if since is None and until is None:
            return float(t.size)
        lo = since.strftime("%Y-%m") if since else "0000-00"
        hi = until.strftime("%Y-%m") if until else "9999-99"
        return sum(v for m, v in months.items() if lo <= m < hi or (until and m == lo))

    if rising:
        topics = [t for t in topics if t.trend == "rising"]
        topics.sort(key=lambda t: -(t.slope or 0))
    else:
        topics.sort(key=lambda t: -share(t))
        topics = [t for t in topics if share(t) > 0]
    found.topics = topics[: min(k, 5)]
    ids = [i for t in found.topics for i in t.evidence[-2:]]
    found.docs.update(views.fetch_docs(twin, tiers, ids))
    found.steps.append(
        ("topics of the view" + (" that are rising" if rising else "") + (f", {it.time.label}" if it.time else ""), ids)
    )
