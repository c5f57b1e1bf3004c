"""Reading a tier view for a caller: entities, graph, timeline and evidence.

A token reads the view of the highest tier its scopes allow (model.py builds
view T only from documents at or below T and stores it in store T). So
everything a view holds — names, counts, degrees, community sizes — is already
computed without higher-tier evidence, and lower-scope callers cannot learn
from it that higher-tier items exist.

Views are cached by a :class:`ViewCache`, which a
:class:`~twin_query.service.QueryService` owns: the derived artifacts by the
tier store's generations (any commit by a Dagster run changes them), the graph
by its snapshot version. The cache is shared by threads; each thread reads
through its own :class:`Twin` (SQLite connections are per thread).
"""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import networkx as nx

from twin_assets.artifacts import DOC_SENTIMENT, EMPLOYMENT, ENTITY, EVENT, RELATION, RELATIONSHIP, SERIES
from twin_assets.processing import relations as relations_mod
from twin_assets.processing.names import fold, normalise_phone
from twin_assets.processing.resolution import Entity
from twin_assets.processing.timeline import TimelineEvent
from twin_assets.records import Document
from twin_assets.sharing import Sharer
from twin_assets.stores.derived import ArtifactKind
from twin_assets.tiers import Tier
from twin_assets.twin import Twin

SNIPPET = 200
T = TypeVar("T")
LEGAL_SUFFIXES = frozenset({"gmbh", "ag", "inc", "ltd", "llc", "kg", "se", "plc", "co", "corp", "sa", "bv", "ug", "ev"})


class RecordLinks:
    """Which records mention each entity, with the record fields the API reads (time, source, kind, tier), as
    arrays. The API used to keep the whole snapshot graph for this: at a million records its record nodes and
    mention edges were over a gigabyte, where these arrays are a tenth of that."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.times = array("d")  # epoch seconds, NaN when undated
        self._codes: dict[str, array] = {f: array("B") for f in ("source", "kind", "tier")}
        self._names: dict[str, list[str | None]] = {f: [] for f in self._codes}
        self._of: dict[str, Any] = {}  # entity id -> record positions (array of int32, numpy once loaded)

    def _code(self, field_name: str, value: str | None) -> int:
        names = self._names[field_name]
        try:
            return names.index(value)
        except ValueError:
            names.append(value)
            return len(names) - 1

    def add_record(self, attrs: dict[str, Any]) -> int:
        t = parse_time(attrs.get("time"))
        self.times.append(t.timestamp() if t else float("nan"))
        for f, codes in self._codes.items():
            codes.append(self._code(f, attrs.get(f)))
        return len(self.times) - 1

    def link(self, entity_id: str, position: int) -> None:
        self._of.setdefault(entity_id, array("i")).append(position)

    def finish(self) -> RecordLinks:
        import numpy as np

        self._of = {e: np.frombuffer(a, dtype=np.int32).copy() for e, a in self._of.items()}
        return self

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self._of

    def records(self, entity_id: str) -> list[dict[str, Any]]:
        """The records mentioning ``entity_id``: id, type, time (ISO, UTC), source, kind and tier."""
        out = []
        for i in self._of.get(entity_id, ()):
            t = self.times[i]
            out.append(
                {
                    "id": self.ids[i],
                    "type": "record",
                    "time": datetime.fromtimestamp(t, UTC).isoformat() if t == t else None,
                    **{f: self._names[f][self._codes[f][i]] for f in self._codes},
                }
            )
        return out


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """Artifact times are stored as ``str(datetime)``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def iso(value: Any) -> str | None:
    t = parse_time(value)
    return t.isoformat() if t else None


def _store_signature(twin: Twin, tier: str) -> tuple[int, ...]:
    """Changes whenever anyone commits records or model artifacts to the tier's store, and reads the same from
    every thread and process (see ``DerivedStore.generation``)."""
    return twin.store(tier).generation(), twin.derived(tier).generation()


def _name_keys(name: str) -> set[str]:
    key = fold(name)
    if not key:
        return set()
    keys = {key}
    words = key.split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words = words[:-1]
        keys.add(" ".join(words))
    return keys


@dataclass
class ViewData:
    """One view's derived artifacts, loaded once per store change."""

    view: str
    signature: tuple[int, ...]
    entities: dict[str, Entity]
    self_id: str | None
    alias_index: dict[str, set[str]]  # folded name, or an address, number, handle or uid as it is -> entity ids
    first_names: dict[str, set[str]]  # folded first name -> person ids
    _lazy: dict[str, Any] = field(default_factory=dict)
    # Re-entrant: one lazy load may need another. Held while loading, so a request that arrives during the
    # server's warm-up waits for that load instead of making a second copy of a million events.
    _loading: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def entity(self, entity_id: str) -> Entity | None:
        return self.entities.get(entity_id)

    def weight(self, entity_id: str) -> int:
        return len(self.entities[entity_id].evidence)

    def resolve(self, text: str) -> Entity | None:
        """An entity by id, name or any alias (e-mail, phone number, handle, uid); the best-evidenced one if
        several match."""
        text = text.strip()
        if text in self.entities:
            return self.entities[text]
        ids: set[str] = set(self.alias_index.get(text.lower(), set()))  # addresses, numbers, uids as they are
        phone = normalise_phone(text) if _PHONE_LIKE.match(text) else None
        if phone:
            ids |= self.alias_index.get(phone, set())
        for key in _name_keys(text):
            ids |= self.alias_index.get(key, set())
        if not ids:
            ids = set(self.first_names.get(fold(text), set()))
        if not ids:
            return None
        return self.entities[max(ids, key=lambda i: (self.weight(i), i))]

    def find(self, query: str, kind: str | None = None, limit: int = 20) -> list[Entity]:
        """Entities whose name or an alias matches: exact, then word prefix, then substring."""
        q = fold(query)
        if not q:
            return []
        scored: list[tuple[int, int, str]] = []
        for eid, e in self.entities.items():
            if kind and e.kind != kind:
                continue
            best = 0
            for alias in (e.name, *e.all_aliases):
                a = fold(alias)
                if not a:
                    continue
                if a == q:
                    best = 3
                    break
                if a.startswith(q) or f" {q}" in f" {a}":
                    best = max(best, 2)
                elif q in a:
                    best = max(best, 1)
            if best:
                scored.append((best, self.weight(eid), eid))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        return [self.entities[eid] for _, _, eid in scored[:limit]]

    def lazy(self, key: str, load: Any) -> Any:
        if key not in self._lazy:
            with self._loading:
                if key not in self._lazy:
                    self._lazy[key] = load()
        return self._lazy[key]


_PHONE_LIKE = re.compile(r"^\s*(?:tel:)?\+?[\d\s().\-/]{6,}$", re.IGNORECASE)


def _load_view(twin: Twin, view: str, signature: tuple[int, ...]) -> ViewData:
    derived = twin.derived(view)
    share = Sharer()  # a record's id recurs in the evidence of every entity it mentions
    entities = {e.id: e for e in derived.read_all(ENTITY, share=share.value)}
    meta = derived.get("resolution", "meta") or {}
    alias_index: dict[str, set[str]] = defaultdict(set)
    firsts: dict[str, set[str]] = defaultdict(set)
    for eid, e in entities.items():
        names = [e.name, *e.aliases.get("names", [])]
        for alias in names:
            for key in _name_keys(alias):
                alias_index[key].add(eid)
            if e.kind == "person":
                words = fold(alias).split()
                if len(words) > 1 and len(words[0]) > 2:
                    firsts[words[0]].add(eid)
        # Every other alias (e-mail, phone, handle, uid: ``Entity.all_aliases``) is found as it is; a handle
        # ("slack:U123") also by its id alone.
        for alias in e.all_aliases:
            if alias in names:
                continue
            alias_index[alias.lower()].add(eid)
            if ":" in alias:
                alias_index[fold(alias.split(":", 1)[-1])].add(eid)
    return ViewData(view, signature, entities, meta.get("self_id"), dict(alias_index), dict(firsts))


Graph = tuple[int, RecordLinks, nx.Graph]  # (snapshot version, each entity's records, entity graph)


class ViewCache:
    """Each view's derived data and graph, loaded once per change and shared by the threads of one service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[tuple[str, str], ViewData] = {}
        self._graphs: dict[tuple[str, str], Graph] = {}
        self._graph_loading = threading.Lock()  # one snapshot read at a time: two at once held two copies

    def data(self, twin: Twin, view: str) -> ViewData:
        key = (str(twin.settings.stores_dir), view)
        signature = _store_signature(twin, view)
        with self._lock:
            cached = self._views.get(key)
        if cached is not None and cached.signature == signature:
            return cached
        loaded = _load_view(twin, view, signature)
        with self._lock:
            self._views[key] = loaded
        return loaded

    def graph(self, twin: Twin, view: str) -> Graph | None:
        """(version, each entity's records, entity graph of 'related' edges), cached by snapshot version. Read
        from the snapshot line by line: the whole graph is never held."""
        versions = twin.graphs(view).versions()
        if not versions:
            return None
        key = (str(twin.settings.stores_dir), view)
        with self._lock:
            cached = self._graphs.get(key)
        if cached is not None and cached[0] == versions[-1]:
            return cached
        with self._graph_loading:
            with self._lock:
                cached = self._graphs.get(key)
            if cached is not None and cached[0] == versions[-1]:
                return cached  # loaded while this call waited
            loaded = _load_graph(twin, view, versions[-1])
            if loaded is None:  # pruned between listing and reading: the next call retries
                return cached
            with self._lock:
                self._graphs[key] = loaded
            return loaded


def _load_graph(twin: Twin, view: str, version: int) -> Graph | None:
    graphs = twin.graphs(view)
    try:
        eg: nx.Graph = nx.Graph()
        links = RecordLinks()
        position: dict[str, int] = {}
        for item in graphs.items(version):
            if "n" in item:
                if item["a"].get("type") == "entity":
                    eg.add_node(item["n"], **item["a"])
                elif item["a"].get("type") == "record":
                    position[item["n"]] = links.add_record(item["a"])
                    links.ids.append(item["n"])
            elif "u" in item:
                u, v, a = item["u"], item["v"], item["a"]
                if a.get("type") == "related" and u in eg and v in eg:
                    eg.add_edge(u, v, **a)
                elif a.get("type") == "mention":
                    if u in eg and v in position:
                        links.link(u, position[v])
                    elif v in eg and u in position:
                        links.link(v, position[u])
    except (OSError, ValueError):
        return None
    del position
    return version, links.finish(), eg


# ---- artifacts --------------------------------------------------------------------------------
def events(twin: Twin, vd: ViewData) -> list[TimelineEvent]:
    """The view's timeline events (the event artifact kind), oldest first."""

    def load() -> list[TimelineEvent]:
        share = Sharer()  # kinds, sources, zones, entity ids and recurring titles repeat across events
        out = list(twin.derived(vd.view).read_all(EVENT, ordered=False, share=share.value))
        out.sort(key=lambda e: (e.time, e.doc_id))
        return out

    return vd.lazy("events", load)


def events_in(twin: Twin, vd: ViewData, since: datetime | None, until: datetime | None) -> list[TimelineEvent]:
    """The view's events in ``[since, until)``, found by bisecting a time list kept beside them (building that list
    on every call cost a pass over a million events per question)."""
    evs = events(twin, vd)
    times = vd.lazy("event_times", lambda: [e.time for e in evs])
    lo = bisect.bisect_left(times, since) if since else 0
    hi = bisect.bisect_left(times, until) if until else len(evs)
    return evs[lo:hi]


def artifacts(twin: Twin, vd: ViewData, kind: str) -> dict[str, dict[str, Any]]:
    return vd.lazy(kind, lambda: dict(twin.derived(vd.view).iter(kind)))


def of_kind(twin: Twin, vd: ViewData, kind: ArtifactKind[T]) -> dict[str, T]:
    """Every artifact of a typed kind in the view, as objects by id, loaded once per view."""
    return vd.lazy(f"typed:{kind.name}", lambda: {kind.key(x): x for x in twin.derived(vd.view).read_all(kind)})


def community_of(twin: Twin, vd: ViewData) -> dict[str, str]:
    def load() -> dict[str, str]:
        return {m: cid for cid, c in artifacts(twin, vd, "community").items() for m in c.get("members", [])}

    return vd.lazy("community_of", load)


def brief(e: Entity) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "name": e.name, "is_self": bool(e.is_self)}


# ---- evidence ---------------------------------------------------------------------------------
def fetch_docs(twin: Twin, tiers: tuple[str, ...], ids: list[str]) -> dict[str, Document]:
    """Documents by id from the stores the caller may read (nothing else is even opened)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Document] = {}
    for tier in Tier.lowest_first():  # LOW first: cheapest to open
        if tier not in tiers or not wanted:
            continue
        got = twin.store(tier).get_many(wanted)
        found.update((i, d) for i, d in got.items() if d.tier in tiers)
        wanted = [i for i in wanted if i not in found]
    return found


def newest(twin: Twin, tiers: tuple[str, ...], ids: list[str], n: int) -> list[str]:
    """The ``n`` newest of these records the caller may read (undated last), found from their times alone: an
    edge keeps up to 50 evidence ids, and opening all of them to show three was most of a neighbours request."""
    times: dict[str, float | None] = {}
    wanted = list(dict.fromkeys(ids))
    for tier in Tier.lowest_first():
        if tier not in tiers or not wanted:
            continue
        times.update(twin.store(tier).event_times(wanted))
        wanted = [i for i in wanted if i not in times]
    ranked = sorted(times, key=lambda i: (times[i] is None, times[i] or 0.0, i), reverse=True)
    return ranked[:n]


def snippet_around(doc: Document, terms: list[str], size: int = SNIPPET) -> str:
    body = " ".join((doc.body or "").split())
    lower = body.lower()
    pos = -1
    for term in terms:
        term = term.strip().lower()
        if len(term) < 2:
            continue
        pos = lower.find(term)
        if pos >= 0:
            break
    start = max(0, pos - size // 3) if pos >= 0 else 0
    text = body[start : start + size]
    return ("…" if start > 0 else "") + text + ("…" if start + size < len(body) else "")


def evidence_item(doc: Document, terms: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": doc.id,
        "source": doc.source,
        "kind": doc.kind,
        "tier": doc.tier,
        "timestamp": doc.event_time.isoformat() if doc.event_time else None,
        "title": doc.title,
        "snippet": snippet_around(doc, terms or []),
    }


def evidence(
    twin: Twin, tiers: tuple[str, ...], ids: list[str], terms: list[str] | None = None
) -> list[dict[str, Any]]:
    """Evidence items (id, timestamp, snippet...) in the order given, only what the caller may read."""
    docs = fetch_docs(twin, tiers, ids)
    return [evidence_item(docs[i], terms) for i in dict.fromkeys(ids) if i in docs]


def entity_terms(e: Entity | None) -> list[str]:
    """Strings to centre a snippet on: the entity's names, longest first."""
    if not e:
        return []
    names = [e.name, *e.aliases.get("names", [])]
    return sorted({n for n in names if n}, key=len, reverse=True)


# ---- profile ----------------------------------------------------------------------------------
def record_neighbours(links: RecordLinks | None, entity_id: str) -> list[dict[str, Any]]:
    return links.records(entity_id) if links is not None else []


def related(eg: nx.Graph | None, vd: ViewData, entity_id: str, limit: int) -> list[dict[str, Any]]:
    if eg is None or entity_id not in eg:
        return []
    edges = []
    for n in eg.neighbors(entity_id):
        e = vd.entity(n)
        if e is None:
            continue
        a = eg.edges[entity_id, n]
        edges.append((float(a.get("weight", 0)), n, e, a))
    edges.sort(key=lambda x: (-x[0], x[1]))
    return [
        {
            "entity": brief(e),
            "weight": w,
            "first": iso(a.get("first")),
            "last": iso(a.get("last")),
            "evidence_ids": list(a.get("evidence") or []),
        }
        for w, _, e, a in edges[:limit]
    ]


SENTIMENT_SAMPLE = 2000  # records whose scores rate an entity that has no relationship artifact


def sentiment_summary(twin: Twin, vd: ViewData, entity: Entity) -> dict[str, Any] | None:
    rel = of_kind(twin, vd, RELATIONSHIP).get(entity.id)
    if rel:
        months = [m for m in rel.months if m.mean is not None]
        return {
            "basis": "relationship",
            "mean": rel.mean,
            "slope": rel.slope,
            "sent": rel.sent,
            "received": rel.received,
            "lowest_month": rel.lowest_month,
            "recent_months": [{"month": m.month, "mean": m.mean} for m in months[-6:]],
        }
    # No relationship (an organisation, a place): the mean of its records' own scores, read for those records
    # only. Loading every score of the view for this was ~30 s and ~0.5 GB of the server at a million records.
    # Evidence ids are content hashes, so every n-th of a long list is an unbiased sample.
    evidence = list(entity.evidence)
    step = -(-len(evidence) // SENTIMENT_SAMPLE)
    scores = twin.derived(vd.view).read_many(DOC_SENTIMENT, evidence[::step] if step > 1 else evidence)
    values = [s.compound for s in scores.values() if s.compound is not None and s.reliable]
    if not values:
        return None
    out = {"basis": "documents", "mean": round(sum(values) / len(values), 4), "documents": len(values)}
    return {**out, "sample_of": len(evidence)} if step > 1 else out


def relations(twin: Twin, vd: ViewData) -> dict[str, relations_mod.Relation]:
    """The view's relation facts by entity id (see :mod:`twin_assets.processing.relations`), loaded once."""
    return of_kind(twin, vd, RELATION)


def employers(twin: Twin, vd: ViewData) -> list[relations_mod.Employment]:
    """The owner's employers in the view, earliest first."""
    return vd.lazy("employers", lambda: sorted(of_kind(twin, vd, EMPLOYMENT).values(), key=lambda j: j.start))


def relation_summary(twin: Twin, vd: ViewData, entity: Entity, now: datetime | None = None) -> dict[str, Any] | None:
    """Who the entity is to the owner, with the reasons and their evidence ids, the monthly contact series up to
    ``now`` (nothing scheduled after it counts) and the recent trend against the entity's own past."""
    rel = relations(twin, vd).get(entity.id)
    if rel is None:
        return None
    now = as_utc(now) or datetime.now(UTC)
    last = relations_mod.last_contact(rel.contacts, now)
    trend = relations_mod.trend(rel.contacts, now) if rel.contacts["t"] else None
    return {
        "relation": rel.relation,
        "organisation": rel.organisation,
        "confidence": rel.confidence,
        "since": rel.since,
        "until": rel.until,
        "reasons": [{"kind": r.kind, "text": r.text, "evidence_ids": list(r.evidence)} for r in rel.reasons],
        "evidence_ids": list(dict.fromkeys(i for r in rel.reasons for i in r.evidence)),
        "months": relations_mod.monthly(rel.contacts, now),
        "trend": trend["state"] if trend else None,
        "last_contact": datetime.fromtimestamp(last[0], UTC).isoformat() if last else None,
        "last_contact_id": last[1] if last else None,
    }


def series_occurrences(twin: Twin, vd: ViewData) -> frozenset[str]:
    """Record ids of the occurrences of recurring calendar series (scheduled, so never a contact by itself)."""
    return vd.lazy(
        "series_occurrences",
        lambda: frozenset(i for s in of_kind(twin, vd, SERIES).values() if s.count > 1 for i in s.evidence),
    )


def data_start(twin: Twin, vd: ViewData) -> datetime | None:
    """When the view's data begins: its first dated record that is not an occurrence of a recurring series."""

    def load() -> datetime | None:
        scheduled = series_occurrences(twin, vd)
        return next((e.time for e in events(twin, vd) if e.doc_id not in scheduled), None)

    return vd.lazy("data_start", load)


def profile(
    twin: Twin,
    vd: ViewData,
    entity: Entity,
    graph: Graph | None,
    related_limit: int = 10,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The entity's profile; ``graph`` is the view's (:meth:`ViewCache.graph`), None when it has none yet."""
    g, eg = (graph[1], graph[2]) if graph else (None, None)
    records = record_neighbours(g, entity.id)
    now = now or datetime.now(UTC)
    dated = sorted(t for r in records if (t := parse_time(r.get("time"))))
    # A recurring series is expanded from its rule's start (a birthday's from the birth year) and into the future:
    # its occurrences are scheduled, not contact, so first and last seen come from the other records.
    scheduled = series_occurrences(twin, vd)
    happened = sorted(
        t for r in records if r["id"] not in scheduled and (t := parse_time(r.get("time"))) is not None and t <= now
    )
    start = data_start(twin, vd)
    times = happened or [t for t in dated if t <= now and (start is None or t >= start)]
    upcoming = [t for t in dated if t > now]
    by_source = Counter(r.get("source") for r in records if r.get("source"))
    mentions = twin.derived(vd.view).get("mentions", entity.id) or {}
    centrality = artifacts(twin, vd, "centrality").get(entity.id)
    cid = community_of(twin, vd).get(entity.id)
    community = artifacts(twin, vd, "community").get(cid) if cid else None
    aliases = entity.aliases
    return {
        **brief(entity),
        "aliases": {k: list(v) for k, v in aliases.items() if v},
        "confidence": entity.confidence,
        "counts": {
            "records": len(records) or len(entity.evidence),
            # columns with a count (pipeline.model.mention_columns), or a list from before
            "mentions": mentions["n"] if "n" in mentions else len(mentions.get("mentions", [])),
            "by_source": dict(sorted(by_source.items())),
            "related": eg.degree(entity.id) if eg is not None and entity.id in eg else 0,
        },
        "first_seen": times[0].isoformat() if times else None,
        "last_seen": times[-1].isoformat() if times else None,
        "next_scheduled": upcoming[0].isoformat() if upcoming else None,
        "top_related": [
            {k: v for k, v in r.items() if k != "evidence_ids"} for r in related(eg, vd, entity.id, related_limit)
        ],
        "sentiment": sentiment_summary(twin, vd, entity),
        "relation": relation_summary(twin, vd, entity, now),
        "centrality": {k: centrality.get(k) for k in ("pagerank", "betweenness", "degree")} if centrality else None,
        "community": {"id": cid, "size": community.get("size")} if community else None,
    }


def latest_records(links: RecordLinks | None, entity_id: str, n: int, oldest: bool = False) -> list[str]:
    recs = [(parse_time(r.get("time")), r["id"]) for r in record_neighbours(links, entity_id)]
    dated = sorted(((t, i) for t, i in recs if t), reverse=not oldest)
    return [i for _, i in dated[:n]]


# ---- change signals ---------------------------------------------------------------------------
INSIGHT_KIND = "insight"


def insight_signature(twin: Twin, view: str) -> str:
    """Changes only when the view's insights differ; "" when it has none.

    Content only (not rowids, not ciphertext, not whether the table exists yet): every new document
    re-materializes every tier's view, so a rewrite alone would tell a LOW caller that a higher-tier
    record arrived.
    """
    import hashlib

    h = hashlib.sha256()
    found = False
    for artifact_id, body in twin.derived(view).iter_bytes(INSIGHT_KIND):
        found = True
        h.update(f"{artifact_id}:".encode())
        h.update(body)
    return h.hexdigest() if found else ""


def store_signature(twin: Twin, view: str) -> tuple[int, ...]:
    return _store_signature(twin, view)
