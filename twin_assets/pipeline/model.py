"""Build the model of a life for one tier *view* and store it in that tier's store.

A view is cumulative: the LOW view is built from LOW documents only, MEDIUM from
MEDIUM and LOW, HIGH from everything. So nothing stored in (or served from) a
lower view derives from higher-tier evidence (invariant 2), and a caller reads
the view of the highest tier their scopes allow.

Each ``build_*`` is one asset's work: it reads documents and what earlier steps
stored, computes with :mod:`twin_assets.processing`, and swaps the results in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np

from twin_assets.artifacts import (
    DOC_SENTIMENT,
    EMPLOYMENT,
    ENTITY,
    EVENT,
    LIFE_EVENT,
    RELATION,
    RELATIONSHIP,
    SERIES,
    TOPIC,
)
from twin_assets.pipeline.suppress import apply_suppression
from twin_assets.processing import sentiment as sentiment_mod
from twin_assets.processing import timeline as timeline_mod
from twin_assets.processing import topics as topics_mod
from twin_assets.processing.resolution import EntityMention, Resolution, ResolveOptions, resolve
from twin_assets.processing.text import CleanText, Span, normalise
from twin_assets.records import Document
from twin_assets.sharing import Sharer
from twin_assets.stores.derived import Artifact
from twin_assets.stores.graph import add_shared_edge
from twin_assets.tiers import HIGH, Tier
from twin_assets.twin import Twin


def _cache_key(twin: Twin, view: str) -> tuple:
    from twin_assets.pipeline.freshness import fingerprint

    return (str(twin.settings.home), view, fingerprint(twin, Tier.parse(view).reads()))


def _cached(twin: Twin, view: str, what: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in the run's cache when the handle has one (see :mod:`twin_assets.pipeline.run_cache`)."""
    if twin.run_cache is None:
        return compute()
    return twin.run_cache.cached(_cache_key(twin, view), what, compute)


def step_done(twin: Twin, view: str, step: str) -> None:
    """Record that ``step`` has built (or skipped) ``view``, and release what no later step of the run reads."""
    if twin.run_cache is not None:
        twin.run_cache.step_done(_cache_key(twin, view), step)


def peek(twin: Twin, view: str, what: str) -> Any:
    """What this run already holds for the view, or None; never computes."""
    return twin.run_cache.peek(_cache_key(twin, view), what) if twin.run_cache is not None else None


def keep(twin: Twin, view: str, what: str, value: Any) -> None:
    """Hand ``value`` to a later step of this run (see :func:`peek`); a no-op without a run cache."""
    if twin.run_cache is not None:
        twin.run_cache.keep(_cache_key(twin, view), what, value)


def view_documents(twin: Twin, view: str) -> list[Document]:
    return list(_cached(twin, view, "documents", lambda: _read_view_documents(twin, view)))


def _read_view_documents(twin: Twin, view: str) -> list[Document]:
    docs: list[Document] = []
    share = Sharer()
    for tier in Tier.parse(view).reads():
        for batch in twin.store(tier).iter_documents():
            for doc in batch:
                doc.title, doc.meta = share.text(doc.title), share.value(doc.meta)
                docs.append(doc)
    docs.sort(key=lambda d: (d.event_time.timestamp() if d.event_time else 0.0, d.id))
    return docs


def view_norms(twin: Twin, view: str, docs: list[Document]) -> dict[str, CleanText]:
    """Each document's quote/signature/boilerplate offsets and language, read back from the ``text``
    artifacts of its own tier (records are content-addressed, so an artifact never goes stale), computed
    only where missing. Normalising once instead of in every step of every view saved ~30% of a rebuild."""
    if twin.run_cache is not None and [d.id for d in docs] == [d.id for d in view_documents(twin, view)]:
        return dict(_cached(twin, view, "norms", lambda: _read_view_norms(twin, view, docs)))
    return _read_view_norms(twin, view, docs)


def _read_view_norms(twin: Twin, view: str, docs: list[Document]) -> dict[str, CleanText]:
    by_id = {d.id: d for d in docs}
    out: dict[str, CleanText] = {}
    share = Sharer()
    for tier in Tier.parse(view).reads():
        for doc_id, data in twin.derived(tier).iter("text", ordered=False):
            doc = by_id.get(doc_id)
            if doc is None:
                continue
            out[doc.id] = CleanText(
                doc_id=doc.id,
                length=len(doc.body or ""),
                removed=[Span(int(a), int(b), share.text(str(k))) for a, b, k in data["removed"]],
                language=share.value(data["language"]),
                language_confidence=float(data["language_confidence"]),
                signer=(int(data["signer"][0]), int(data["signer"][1])) if data.get("signer") else None,
                tier=doc.tier,
                evidence=[doc.id],
            )
    for doc in docs:
        if doc.id not in out:
            out[doc.id] = normalise(doc)
    return out


def view_topic_texts(twin: Twin, view: str, docs: list[Document], norms: dict[str, CleanText]) -> dict[str, str]:
    """Topic text of each topical document of the view (the topics and insights steps both cluster them)."""

    def compute() -> dict[str, str]:
        kept, texts = topics_mod.topical_texts(docs, norms)
        return {d.id: t for d, t in zip(kept, texts, strict=True)}

    if twin.run_cache is not None and [d.id for d in docs] == [d.id for d in view_documents(twin, view)]:
        return _cached(twin, view, "topic_texts", compute)
    return compute()


# ---- text ----------------------------------------------------------------------------------
def build_text(twin: Twin, tier: str) -> dict[str, int]:
    """Per record of exactly this tier: language, quoted/signature/boilerplate ranges and citable
    passages, all as offsets into the stored body (never copies).

    Incremental: records are content-addressed, so a record's text artifact never goes stale; only new
    records are normalised and forgotten ones dropped, unless the model code changed since (then all)."""
    from twin_assets.pipeline.freshness import BUILT, code_version
    from twin_assets.processing.text import normalise, passages

    store, derived = twin.store(tier), twin.derived(tier)
    ids = store.ids()
    code = code_version()
    same_code = (derived.get(BUILT, "text_code") or {}).get("code") == code
    have = derived.ids("text") if same_code else set()
    current = set(ids)
    missing = [i for i in ids if i not in have]
    stale = [("text", i) for i in have - current]
    languages: dict[str, int] = defaultdict(int)
    n_passages = 0
    # The entities step of this materialization may have normalised these records already (it runs first on a
    # new home): reuse those, unless they could come from artifacts of older code.
    known = peek(twin, tier, "norms") if same_code or not derived.count("text") else None

    def artifacts():
        nonlocal n_passages
        for start in range(0, len(missing), 1000):
            for doc in store.get_many(missing[start : start + 1000]).values():
                norm = (known or {}).get(doc.id) or normalise(doc)
                ps = passages(doc, norm)
                n_passages += len(ps)
                languages[norm.language or "unknown"] += 1
                yield Artifact(
                    "text",
                    doc.id,
                    {
                        "language": norm.language,
                        "language_confidence": norm.language_confidence,
                        "removed": [[sp.start, sp.end, sp.kind] for sp in norm.removed],
                        "signer": list(norm.signer) if norm.signer else None,
                        "passages": [[p.start, p.end, p.field] for p in ps],
                    },
                    [doc.id],
                )

    if same_code:
        derived.delete(stale)
        new = derived.upsert_many("text", artifacts())
    else:
        new = derived.replace_kind("text", artifacts())
        derived.put(BUILT, "text_code", {"code": code})
    return {
        "documents": len(ids),
        "normalised": new,
        "dropped": len(stale),
        "new_passages": n_passages,
        "new_languages": len(languages),
    }


# ---- entities ------------------------------------------------------------------------------
def load_resolution(twin: Twin, view: str) -> Resolution:
    """The view's stored entities and mentions; read once per in-process materialization (sentiment, timeline,
    graph and insights each read it: ~2.5 million mentions at a million records)."""
    return _cached(twin, view, "resolution", lambda: _read_resolution(twin, view))


def _read_resolution(twin: Twin, view: str) -> Resolution:
    derived = twin.derived(view)
    entities = list(derived.read_all(ENTITY))
    share = Sharer()
    mentions: list[EntityMention] = []
    for entity_id, data in derived.iter("mentions"):
        if "mentions" in data:  # written before mentions were stored as columns
            mentions.extend(
                EntityMention(
                    share.text(m["doc_id"]),
                    share.text(m["entity_id"]),
                    share.text(m["role"]),
                    m["start"],
                    m["end"],
                    m["confidence"],
                    share.text(m["tier"]),
                )
                for m in data["mentions"]
            )
            continue
        entity_id = share.text(entity_id)
        mentions.extend(
            EntityMention(share.text(doc_id), entity_id, share.text(role), start, end, conf, share.text(tier))
            for doc_id, role, start, end, conf, tier in zip(
                data["doc_id"], data["role"], data["start"], data["end"], data["confidence"], data["tier"], strict=True
            )
        )
    meta = derived.get("resolution", "meta") or {}
    return Resolution(
        entities=entities, mentions=mentions, self_id=meta.get("self_id"), key_index=meta.get("key_index", {})
    )


MENTION_FIELDS = ("doc_id", "role", "start", "end", "confidence", "tier")


def mention_columns(mentions: list[EntityMention]) -> dict[str, Any]:
    """One entity's mentions as columns (the entity id is the artifact's): smaller than a dict per mention, and
    read back with far less garbage (the 100k HIGH view's resolution loaded in 1.5 s instead of 2.0 s; the
    process's memory after the whole view was about the same, since later steps reuse the freed space)."""
    return {"n": len(mentions), **{f: [getattr(m, f) for m in mentions] for f in MENTION_FIELDS}}


def build_entities(twin: Twin, view: str) -> dict[str, int]:
    docs = view_documents(twin, view)
    norms = view_norms(twin, view, docs)
    # Entity ids are keyed hashes: a plain hash of an address could be reversed by guessing.
    secret = bytes.fromhex(twin.keyring.keyed_hash("entity-id", b"v1", 64))
    res = resolve(docs, norms, ResolveOptions(secret=secret))
    res = apply_suppression(twin, res)  # entities the user asked to forget stay forgotten
    by_entity: dict[str, list[EntityMention]] = defaultdict(list)
    for m in res.mentions:
        by_entity[m.entity_id].append(m)
    derived = twin.derived(view)
    n_entities = derived.replace(ENTITY, res.entities)
    derived.replace_kind(
        "mentions",
        (Artifact("mentions", eid, mention_columns(ms), [m.doc_id for m in ms]) for eid, ms in by_entity.items()),
    )
    derived.replace_kind(
        "resolution", [Artifact("resolution", "meta", {"self_id": res.self_id, "key_index": res.key_index}, [])]
    )
    if twin.run_cache is not None:
        twin.run_cache.drop("resolution")  # the next read gets what was just stored
    return {
        "documents": len(docs),
        "entities": n_entities,
        "mentions": len(res.mentions),
        "people": len(res.of_kind("person")),
    }


# ---- sentiment -----------------------------------------------------------------------------
def build_sentiment(twin: Twin, view: str) -> dict[str, int]:
    """Per-record sentiment is incremental (a record's score depends on that record alone, and records are
    content-addressed); relationships are recomputed from all scores, since resolution may have changed."""
    from twin_assets.pipeline.freshness import BUILT, code_version

    docs = view_documents(twin, view)
    res = load_resolution(twin, view)
    derived = twin.derived(view)
    code = code_version()
    same_code = (derived.get(BUILT, "doc_sentiment_code") or {}).get("code") == code
    # Stored scores as just the compound of reliable ones (None: scored, not reliable): relationships need no
    # more, and a million score objects were ~0.4 GB of an incremental build's peak.
    known: dict[str, float | None] = {}
    if same_code:
        for doc_id, d in derived.iter("doc_sentiment", ordered=False):
            known[doc_id] = float(d["compound"]) if d.get("reliable", True) else None
    current = {d.id for d in docs}
    stale = [("doc_sentiment", i) for i in known if i not in current]
    fresh = sentiment_mod.document_sentiment([d for d in docs if d.id not in known], view_norms(twin, view, docs))
    scores = known
    scores.update((s.doc_id, s.compound if s.reliable else None) for s in fresh)
    rel = sentiment_mod.relationship_sentiment(docs, res, scores)
    # For insights, which read every score again: as an array in the view's order (8 MB at a million records,
    # where the stored artifacts took ~30 s to decrypt and a dict of them ~150 MB to hold until then).
    keep(
        twin,
        view,
        "doc_scores",
        np.fromiter(
            (np.nan if (c := scores.get(d.id)) is None else c for d in docs), dtype=np.float64, count=len(docs)
        ),
    )
    if same_code:
        derived.delete(stale)
        derived.upsert(DOC_SENTIMENT, fresh)
    else:  # nothing was known: every record was scored now
        derived.replace(DOC_SENTIMENT, fresh)
        derived.put(BUILT, "doc_sentiment_code", {"code": code})
    derived.replace(RELATIONSHIP, rel)
    return {"documents": sum(1 for d in docs if d.id in scores), "scored": len(fresh), "relationships": len(rel)}


# ---- timeline ------------------------------------------------------------------------------
def build_timeline(twin: Twin, view: str) -> dict[str, int]:
    docs = view_documents(twin, view)
    res = load_resolution(twin, view)
    tl = timeline_mod.build_timeline(docs, res)
    derived = twin.derived(view)
    derived.replace(EVENT, tl.events)
    derived.replace(SERIES, tl.series)
    derived.replace(LIFE_EVENT, tl.life_events)
    dated = sum(1 for d in docs if d.event_time is not None)
    return {
        "dated_documents": dated,
        "events": len(tl.events),
        "series": len(tl.series),
        "life_events": len(tl.life_events),
    }


# ---- relations -----------------------------------------------------------------------------
def build_relations(twin: Twin, view: str) -> dict[str, int]:
    """Who each person is to the owner (with reasons), every real contact with its tone, and the owner's
    employers: :mod:`twin_assets.processing.relations` over the view's records, resolution, tone scores and
    calendar occurrences. Each relation inherits the highest tier of the records it rests on."""
    from twin_assets.processing import relations as relations_mod

    docs = view_documents(twin, view)
    res = load_resolution(twin, view)
    derived = twin.derived(view)
    held = peek(twin, view, "doc_scores")  # the sentiment step's, when it ran in this materialization
    scores: dict[str, float | None]
    if held is not None and len(held) == len(docs):
        scores = {d.id: (None if c != c else c) for d, c in zip(docs, held.tolist(), strict=True)}
    else:
        scores = {
            doc_id: float(d["compound"]) if d.get("reliable", True) and d.get("compound") is not None else None
            for doc_id, d in derived.iter("doc_sentiment", ordered=False)
        }
    events = [e for e in derived.read_all(EVENT, ordered=False) if relations_mod.is_meeting(e)]
    model = relations_mod.infer(docs, res, scores, events)
    derived.replace(RELATION, model.relations)
    derived.replace(EMPLOYMENT, model.employment)
    by_kind = {r: sum(1 for x in model.relations if x.relation == r) for r in ("family", "colleague", "friend")}
    return {"relations": len(model.relations), "employers": len(model.employment), **by_kind}


# ---- topics --------------------------------------------------------------------------------
def _vector_matrix(twin: Twin, docs: list[Document], dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(which documents have a stored embedding, one row per document) with HIGH vectors decrypted in memory.

    Rows are written into one preallocated matrix: a dict of per-row arrays and a stack of it held three
    copies of a million-record view's vectors (4.5 GB) where this holds one."""
    from twin_assets.embedding import DIM

    row = {d.id: i for i, d in enumerate(docs)}
    mat: np.ndarray = np.zeros((len(docs), DIM), dtype=dtype)
    have = np.zeros(len(docs), dtype=bool)
    tiers = {d.tier for d in docs}
    if HIGH in tiers:
        store = twin.store(HIGH)
        high = [d.id for d in docs if d.tier == HIGH]
        # A few documents (new since the last build) are looked up; most of the tier is read in order.
        batches = store.get_vectors(high) if len(high) < 0.2 * store.count() else store.iter_vectors()
        for ids, chunk in batches:
            for i, v in zip(ids, chunk, strict=True):
                if (r := row.get(i)) is not None:
                    mat[r], have[r] = v, True
    rest = [t for t in tiers if t != HIGH]
    if rest:
        with twin.vectors() as vectors:
            for tier in rest:
                ids = [d.id for d in docs if d.tier == tier]
                for start in range(0, len(ids), 1000):
                    got = vectors.collection(tier).get(ids=ids[start : start + 1000], include=["embeddings"])
                    for i, v in zip(got["ids"], got["embeddings"], strict=True):
                        mat[row[i]], have[row[i]] = np.asarray(v, dtype=np.float32), True
    return have, mat


# New documents are placed on the stored clusters until this share of the view has come in since the fit.
REFIT_SHARE = 0.1


def build_topics(twin: Twin, view: str, seed: int = 0) -> dict[str, int]:
    """Cluster the view's topical documents. Choosing k and fitting are most of the work and hardly move for
    a few new documents, so a build that only adds documents (fewer than ``REFIT_SHARE`` of those fitted,
    counting every addition since) places them on the stored centroids and keeps each cluster's keywords.
    Anything else refits: a forgotten document, a new seed or new code (the keywords could hold its words)."""
    from twin_assets.pipeline.freshness import code_version

    all_docs = view_documents(twin, view)
    norms = view_norms(twin, view, all_docs)
    by_doc = view_topic_texts(twin, view, all_docs, norms)
    topical = [d for d in all_docs if d.id in by_doc]
    derived = twin.derived(view)
    fit = derived.get("topic_model", "fit") or {}
    current = {d.id for d in topical}
    labels: dict[str, int] = fit.get("labels", {})
    placed = fit.get("placed", 0)
    same = fit.get("code") == code_version() and fit.get("seed") == seed and labels and labels.keys() <= current
    if same:
        # Only records with a vector can be placed or fitted: records still waiting for their embedding
        # neither count as arrivals nor force a refit.
        new = [d for d in topical if d.id not in labels]
        have, mat = _vector_matrix(twin, new)
        same = placed + int(have.sum()) <= REFIT_SHARE * fit.get("fitted", 0)
    if same:
        centroids = np.asarray(fit["centroids"], dtype=np.float32)
        for d, label in zip(
            [d for d, h in zip(new, have, strict=True) if h],
            topics_mod.assign(mat[have], centroids).tolist(),
            strict=True,
        ):
            labels[d.id] = label
        docs = [d for d in topical if d.id in labels]
        model = topics_mod.describe_topics(
            docs,
            [labels[d.id] for d in docs],
            {int(c): w for c, w in fit["keywords"].items()},
            k=fit["k"],
            seed=seed,
            centroids=centroids,
            ids={int(c): t for c, t in fit.get("ids", {}).items()},
        )
        placed += len(docs) - fit["n"]
        fitted, refitted = fit["fitted"], False
    else:
        topical_texts = [by_doc[d.id] for d in topical]
        # Beyond the fitting sample a vector only finds its nearest centroid: half precision (what HIGH vectors
        # are stored as) halves the matrix, 1.5 GB at a million records.
        have, mat = _vector_matrix(twin, topical, np.float16 if len(topical) > topics_mod.FIT_SAMPLE else np.float32)
        docs = [d for d, h in zip(topical, have, strict=True) if h]
        texts = [t for t, h in zip(topical_texts, have, strict=True) if h]
        x = mat if have.all() else mat[have]
        del mat
        if len(docs) < 2:
            derived.replace_kind("topic", [])
            derived.replace_kind("topic_model", [])
            return {"documents": len(docs), "topics": 0}
        model = topics_mod.find_topics(docs, x, texts=texts, seed=seed)
        placed, fitted, refitted = 0, len(docs), True
    derived.replace(TOPIC, model.topics)
    derived.replace_kind(
        "topic_model",
        [
            Artifact(
                "topic_model",
                "fit",
                {
                    "code": code_version(),
                    "seed": seed,
                    "k": model.k,
                    "n": len(docs),
                    "fitted": fitted,
                    "placed": placed,
                    "centroids": model.centroids.tolist() if model.centroids is not None else [],
                    "keywords": model.keywords,
                    "ids": model.ids,
                    "labels": model.labels,
                },
                [],
            )
        ],
    )
    derived.replace_kind("topic_assignments", [])  # what builds before the stored fit kept; now in "labels"
    return {"documents": len(docs), "topics": len(model.topics), "refitted": int(refitted)}


# ---- knowledge graph -----------------------------------------------------------------------
MAX_EDGE_EVIDENCE = 50


def graph_from(docs: list[Document], res: Resolution) -> nx.Graph:
    """Entities and records as nodes; mentions, co-occurrence and reply edges, each with its tier."""
    g: nx.Graph = nx.Graph()
    doc_by_id = {d.id: d for d in docs}
    for e in res.entities:
        g.add_node(e.id, type="entity", kind=e.kind, name=e.name, tier=e.tier, is_self=e.is_self)
    for d in docs:
        g.add_node(
            d.id,
            type="record",
            kind=d.kind,
            source=d.source,
            tier=d.tier,
            time=d.event_time.isoformat() if d.event_time else None,
        )
    per_doc: dict[str, set[str]] = defaultdict(set)
    edge_data: dict[tuple[str, str], dict[str, Any]] = {}  # one dict per (role, tier), shared by its edges
    for m in res.mentions:
        if m.doc_id not in doc_by_id or m.entity_id not in g:
            continue
        per_doc[m.doc_id].add(m.entity_id)
        key = (m.role, doc_by_id[m.doc_id].tier)
        data = edge_data.get(key)
        if data is None:
            data = edge_data[key] = {"type": "mention", "role": key[0], "tier": key[1], "weight": 1.0}
        add_shared_edge(g, m.entity_id, m.doc_id, data)
    pair: dict[tuple[str, str], dict[str, Any]] = {}
    for doc_id, ents in per_doc.items():
        d = doc_by_id[doc_id]
        for a, b in combinations(sorted(ents), 2):
            p = pair.setdefault(
                (a, b),
                {
                    "weight": 0,
                    "tier": d.tier,
                    "evidence": [],
                    "first": None,
                    "last": None,
                    "by_month": defaultdict(int),
                },
            )
            p["weight"] += 1
            p["tier"] = Tier.max_of(p["tier"], d.tier)
            if len(p["evidence"]) < MAX_EDGE_EVIDENCE:
                p["evidence"].append(doc_id)
            if d.event_time:
                t = d.event_time.isoformat()
                p["first"] = min(p["first"] or t, t)
                p["last"] = max(p["last"] or t, t)
                p["by_month"][d.event_time.strftime("%Y-%m")] += 1
    for (a, b), p in pair.items():
        g.add_edge(
            a,
            b,
            type="related",
            weight=float(p["weight"]),
            tier=p["tier"],
            evidence=p["evidence"],
            first=p["first"],
            last=p["last"],
            by_month=dict(p["by_month"]),
        )
    return g


def build_graph(twin: Twin, view: str) -> dict[str, int]:
    docs = view_documents(twin, view)
    res = load_resolution(twin, view)
    g = graph_from(docs, res)
    version = twin.graphs(view).save(g)
    return {
        "version": version,
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "entities": len(res.entities),
    }


def build_graph_metrics(twin: Twin, view: str, seed: int = 0) -> dict[str, int]:
    loaded = twin.graphs(view).load_entity_graph()
    derived = twin.derived(view)
    if loaded is None:
        return {"entities": 0}
    version, eg = loaded
    n = eg.number_of_nodes()
    if n == 0:
        derived.replace_kind("centrality", [])
        derived.replace_kind("community", [])
        return {"entities": 0}
    pagerank = nx.pagerank(eg, weight="weight")
    between = nx.betweenness_centrality(eg, k=min(100, n), seed=seed, weight=None) if n > 2 else dict.fromkeys(eg, 0.0)
    communities = nx.community.louvain_communities(eg, weight="weight", seed=seed)
    derived.replace_kind(
        "centrality",
        (
            Artifact(
                "centrality",
                node,
                {
                    "pagerank": pagerank[node],
                    "betweenness": between.get(node, 0.0),
                    "degree": eg.degree(node),
                    "tier": eg.nodes[node]["tier"],
                    "graph_version": version,
                },
                [],
            )
            for node in eg.nodes
        ),
    )
    derived.replace_kind(
        "community",
        (
            Artifact(
                "community",
                f"c{i}",
                {
                    "members": sorted(c),
                    "size": len(c),
                    "tier": Tier.max_of(*(eg.nodes[m]["tier"] for m in c)),
                    "graph_version": version,
                },
                [],
            )
            for i, c in enumerate(sorted(communities, key=lambda c: (-len(c), min(c))))
        ),
    )
    return {"entities": n, "communities": len(communities), "graph_version": version}
