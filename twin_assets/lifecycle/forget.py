"""``twin forget``: remove a record, a source or an entity, and everything derived from it.

Records (``--record ID``; ``--source NAME`` forgets every record of the source):

* the document and its keyword-index entries in its tier store (deleted with SQLite's
  ``secure_delete``, the keyword index optimised and the file vacuumed, so the bytes are gone,
  not just unlinked), its vector (Chroma for LOW/MEDIUM; HIGH vectors live in the row), its
  blind-index entries;
* every derived artifact whose evidence includes it, in every view; every kept graph snapshot
  is rewritten without its node, its edges' evidence, and entity nodes that only it mentioned;
* lineage rows, the records row (with its staged copy), API read-log rows;
* the raw archive of its input: an archive holds the forgotten content, so it is deleted (the
  other records of that input stay in the stores; only re-parsing from the archive is lost);
  when no record of the input is left, the input row and its quarantine rows go too;
* for webhook records, the stored webhook event it came from.

All of that is deleted and committed first (the vectors before anything else: a vector store that
cannot be reached stops forget while running it again still finds the records). Only then are the
views that held any of its data rebuilt, by materializing every asset derived from the documents
through Dagster, so entities seen only in it disappear. The views are marked stale before: a
rebuild that fails leaves the data forgotten and the views rebuilt by the next ``twin materialize``.

Re-ingesting the same export brings the content back: forgetting is not a block list for
records. ``--source`` also removes the source's inputs, quarantine rows, sync batches (their
cursors), webhook events and REST API state (cursor, tokens).

Entities (``--entity ID``): the entity node, its aliases, mentions, relationship and sentiment
artifacts and graph edges in every view and every kept graph snapshot; the records mentioning
it are *not* deleted. Keyed hashes of its addresses, numbers, ids and full names join an
encrypted suppression list that entity resolution consults, so it does not come back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from sqlalchemy import delete, func, select

from twin_assets.connectors.registry import traits_for
from twin_assets.db.engine import rowcount
from twin_assets.db.models import (
    ApiState,
    HighRead,
    Input,
    Lineage,
    Quarantine,
    RecordRow,
    Source,
    SyncBatch,
    WebhookEvent,
    table_of,
)
from twin_assets.errors import TwinError
from twin_assets.pipeline import blind_index, suppress
from twin_assets.stores import HIGH, LOW, MEDIUM, TIERS
from twin_assets.stores.chroma_client import home_server_dir
from twin_assets.tiers import Tier
from twin_assets.twin import Twin

# Model caches fitted on a view's documents that hold their words but name no evidence (the topic model's keywords):
# dropped from every view forget rebuilds, so a rebuild that fails does not keep them; the next build refits.
FITTED_CACHES = (("topic_model", "fit"),)


@dataclass
class ForgetReport:
    what: str
    removed: dict[str, Any] = field(default_factory=dict)
    views_rebuilt: list[str] = field(default_factory=list)

    def add(self, key: str, n: int, sub: str | None = None) -> None:
        if sub is None:
            self.removed[key] = self.removed.get(key, 0) + n
        else:
            bucket = self.removed.setdefault(key, {})
            bucket[sub] = bucket.get(sub, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "removed": self.removed, "views_rebuilt": self.views_rebuilt}


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _view_is_built(twin: Twin, view: str) -> bool:
    return bool(twin.derived(view).kinds()) or bool(twin.graphs(view).versions())


def rebuild_views(twin: Twin, views: Iterable[str]) -> list[str]:
    """Mark the views stale and materialize what derives from the documents for them, through Dagster (the
    path every run takes), so the asset graph alone decides which steps run and in what order."""
    _mark_stale(twin, views)
    return _materialize_views(twin, views)


def _mark_stale(twin: Twin, views: Iterable[str]) -> None:
    """Until a materialization of the views succeeds, their fingerprints differ from the last one recorded, so
    whichever run comes next rebuilds them."""
    from twin_assets.pipeline import freshness

    for view in views:
        freshness.mark_stale(twin, view)


def _materialize_views(twin: Twin, views: Iterable[str]) -> list[str]:
    from dagster import AssetSelection

    from twin_assets.run import materialize

    chosen: list[str] = [v for v in Tier.lowest_first() if v in set(views)]
    if not chosen:
        return []
    # Forget removed the documents and vectors itself; everything built from them is rebuilt.
    derived = AssetSelection.assets("documents").downstream(include_self=False) - AssetSelection.assets("embeddings")
    try:
        outcome = materialize(twin.settings, derived, views=chosen)
        failed = None if outcome.success else "; ".join(outcome.failures) or "a step failed"
    except TwinError as exc:
        failed = exc.message
    except Exception as exc:  # the data is already gone: say so, whatever stopped the rebuild
        failed = type(exc).__name__
    if failed is not None:
        raise TwinError(
            f"the data is forgotten, but rebuilding the views failed ({failed})",
            hint="`twin materialize` rebuilds them",
        )
    return chosen


def _rebuild_and_compact(twin: Twin, views: set[str], tiers: set[str], report: ForgetReport) -> None:
    """The last step of a forget, after every deletion is committed; compaction runs even when the rebuild fails,
    and after it when it succeeds, since the rebuild's replaced artifacts are deleted bytes too."""
    try:
        report.views_rebuilt += _materialize_views(twin, views)
    finally:
        _compact(twin, tiers | views)


def _secure(twin: Twin) -> None:
    for tier in TIERS:
        twin.store(tier).secure_delete()


def _compact(twin: Twin, tiers: Iterable[str]) -> None:
    """Drop deleted bytes for good (see ``DocumentStore.compact``)."""
    for tier in tiers:
        twin.store(tier).compact()


# ---- graph snapshot rewriting ---------------------------------------------------------------
def without_records(ids: set[str]) -> Callable[[nx.Graph], nx.Graph]:
    def transform(g: nx.Graph) -> nx.Graph:
        touched: set[str] = set()
        for rid in ids & set(g.nodes):
            touched.update(n for n in g.neighbors(rid) if g.nodes[n].get("type") == "entity")
            g.remove_node(rid)
        for u, v, attrs in list(g.edges(data=True)):
            evidence = attrs.get("evidence")
            if isinstance(evidence, list) and ids.intersection(evidence):
                kept = [e for e in evidence if e not in ids]
                if not kept:
                    g.remove_edge(u, v)
                else:
                    attrs["evidence"] = kept
                    attrs["weight"] = max(1.0, float(attrs.get("weight", 1.0)) - (len(evidence) - len(kept)))
        for node in touched:
            if node in g and not any(g.nodes[n].get("type") == "record" for n in g.neighbors(node)):
                g.remove_node(node)  # seen only in forgotten records
        return g

    return transform


def _rewrite_graphs(twin: Twin, transform: Callable[[nx.Graph], nx.Graph], report: ForgetReport) -> None:
    for view in TIERS:
        graphs = twin.graphs(view)
        if graphs.versions():
            report.add("graph_snapshots_rewritten", graphs.rewrite_all(transform), view)


# ---- records --------------------------------------------------------------------------------
def _webhook_hash(twin: Twin, event: WebhookEvent) -> str | None:
    from twin_assets.pipeline.webhooks import parse_body, to_record

    try:
        record = to_record(event.source, event.id, parse_body(twin.keyring.decrypt(event.body_enc)), event.received_at)
    except Exception:  # an unusable body was quarantined; it made no record
        return None
    return twin.keyring.keyed_hash("content", record.canonical_content(), 64)


def _forget_vectors(twin: Twin, ids: list[str], tiers: set[str], report: ForgetReport) -> None:
    """Chroma's vectors (LOW, MEDIUM) of ``ids`` and their entries in its write-ahead log. A store that cannot be
    reached is one line and stops forget: nothing is left behind silently."""
    if not tiers & {LOW, MEDIUM}:
        return
    try:
        with twin.vectors() as vectors:
            for tier in (LOW, MEDIUM):
                if tier not in tiers:
                    continue
                col = vectors.collection(tier)
                for chunk in _chunks(ids):
                    found = col.get(ids=chunk, include=[])["ids"]
                    if found:
                        col.delete(ids=found)
                        report.add("vectors", len(found), tier)
            purged = vectors.purge_log(ids, home_server_dir(twin.settings, vectors.client, twin.chroma))
    except Exception as exc:  # chromadb raises bare Exceptions; messages are not ours to print
        reason = exc.message if isinstance(exc, TwinError) else type(exc).__name__
        raise TwinError(
            f"forget could not delete the vectors ({reason}); the records are not forgotten yet",
            hint="run the same `twin forget` again once the vector store answers",
        ) from None
    if purged > 0:
        report.add("vector_log_entries", purged)


def _forget_records(
    twin: Twin, ids: list[str], report: ForgetReport, *, source: str | None = None
) -> tuple[set[str], set[str]]:
    """Delete the records and everything that identifies them, committed. Returns the views to rebuild (marked
    stale already) and the tiers to compact, for the caller's last step (:func:`_rebuild_and_compact`)."""
    with twin.session() as s:
        rows = [r for chunk in _chunks(ids) for r in s.scalars(select(RecordRow).where(RecordRow.id.in_(chunk)))]
    ids = list(dict.fromkeys(ids))
    if not ids:
        return set(), set()
    present = {tier: twin.store(tier).existing_ids(ids) for tier in TIERS}
    tiers = {r.tier for r in rows if r.tier} | {tier for tier, found in present.items() if found}
    input_ids = {r.input_id for r in rows if r.input_id}
    _secure(twin)
    # Chroma first: while it fails, every other trace is still there for the next attempt to find.
    _forget_vectors(twin, ids, tiers, report)
    # documents, keyword index, HIGH vectors, blind index
    touched_tiers: set[str] = {tier for tier, found in present.items() if found}
    for tier in (t for t in TIERS if present[t]):
        store = twin.store(tier)
        if tier == HIGH:
            report.add("vectors", store.vector_count(present[tier]), HIGH)
        report.add("documents", store.delete(present[tier]), tier)
    report.add("blind_index", blind_index.remove(twin, ids))
    # derived artifacts, graph snapshots; the views that held any of it are rebuilt last
    rebuild: set[str] = set()
    for view in TIERS:
        derived = twin.derived(view)
        keys = derived.derived_from(ids)
        if keys:
            report.add("artifacts", derived.delete(keys), view)
        if (keys or view.reads_any(tiers)) and tiers and _view_is_built(twin, view):
            rebuild.add(view)
            if dropped := derived.delete(FITTED_CACHES):
                report.add("artifacts", dropped, view)
    _mark_stale(twin, rebuild)
    _rewrite_graphs(twin, without_records(set(ids)), report)
    # metadata: webhook events, raw archives, inputs, quarantine, lineage, read log, records
    hashes = {r.content_hash for r in rows if traits_for(r.source).from_webhook_events}
    with twin.session() as s:
        every_event = source is not None and traits_for(source).from_webhook_events
        if hashes or every_event:
            for ev in s.scalars(select(WebhookEvent)):
                if every_event or _webhook_hash(twin, ev) in hashes:
                    s.delete(ev)
                    report.add("webhook_events", 1)
        for chunk in _chunks(ids):
            report.add("lineage", rowcount(s.execute(delete(Lineage).where(Lineage.record_id.in_(chunk)))))
            report.add("high_reads", rowcount(s.execute(delete(HighRead).where(HighRead.record_id.in_(chunk)))))
            report.add("records", rowcount(s.execute(delete(RecordRow).where(RecordRow.id.in_(chunk)))))
        s.flush()
        for input_id in sorted(input_ids):
            _drop_input_archive(twin, s, input_id, report)
    return rebuild, touched_tiers


def _drop_input_archive(twin: Twin, s, input_id: str, report: ForgetReport) -> None:
    inp = s.get(Input, input_id)
    if inp is None:
        return
    if inp.raw_location:
        path = twin.settings.home_path / inp.raw_location
        if path.exists():
            path.unlink()
            report.add("raw_archives", 1)
        inp.raw_location = None
    left = s.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.input_id == input_id))
    if not left:
        report.add("quarantine", rowcount(s.execute(delete(Quarantine).where(Quarantine.input_id == input_id))))
        s.delete(inp)
        report.add("inputs", 1)


def forget_record(twin: Twin, record_id: str) -> ForgetReport:
    """Forget one record and everything derived from it (see the module doc)."""
    with twin.session() as s:
        known = s.get(RecordRow, record_id) is not None
    if not known and not any(twin.store(t).get(record_id) for t in TIERS):
        raise TwinError(f"no record {record_id!r}", hint="ids are shown by `twin search --json` and `twin audit`")
    report = ForgetReport("record")
    rebuild, tiers = _forget_records(twin, [record_id], report)
    _rebuild_and_compact(twin, rebuild, tiers, report)
    return report


def forget_source(twin: Twin, name: str) -> ForgetReport:
    """Forget every record of a source, its inputs and archives, events, cursors and tokens."""
    with twin.session() as s:
        ids = list(s.scalars(select(RecordRow.id).where(RecordRow.source == name)))
        inputs = list(s.scalars(select(Input.id).where(Input.source == name)))
        known = (
            ids
            or inputs
            or s.get(Source, name) is not None
            or s.get(ApiState, name) is not None
            or s.scalars(select(WebhookEvent.id).where(WebhookEvent.source == name)).first() is not None
        )
        hashes = {
            h
            for ev in s.scalars(select(WebhookEvent).where(WebhookEvent.source == name))
            if (h := _webhook_hash(twin, ev))
        }
        if hashes:  # a webhook sender's events became "webhook" records
            ids += list(s.scalars(select(RecordRow.id).where(RecordRow.content_hash.in_(hashes))))
    if not known:
        raise TwinError(f"no source {name!r}", hint="`twin audit` lists the sources")
    report = ForgetReport("source")
    rebuild, tiers = _forget_records(twin, ids, report, source=name)
    with twin.session() as s:
        for ev in s.scalars(select(WebhookEvent).where(WebhookEvent.source == name)):
            s.delete(ev)
            report.add("webhook_events", 1)
        for input_id in inputs:
            _drop_input_archive(twin, s, input_id, report)
        s.flush()
        report.add("quarantine", rowcount(s.execute(delete(Quarantine).where(Quarantine.source == name))))
        batches = list(s.scalars(select(SyncBatch.id).where(SyncBatch.source == name)))
        if batches:
            # Records of this source are gone; anything else pointing at its batches loses the link only.
            s.execute(table_of(Quarantine).update().where(Quarantine.batch_id.in_(batches)).values(batch_id=None))
            s.execute(table_of(Input).update().where(Input.batch_id.in_(batches)).values(batch_id=None))
            s.execute(table_of(RecordRow).update().where(RecordRow.batch_id.in_(batches)).values(batch_id=None))
            report.add("sync_batches", rowcount(s.execute(delete(SyncBatch).where(SyncBatch.id.in_(batches)))))
        report.add("api_state", rowcount(s.execute(delete(ApiState).where(ApiState.name == name))))
        report.add("sources", rowcount(s.execute(delete(Source).where(Source.name == name))))
    _rebuild_and_compact(twin, rebuild, tiers, report)
    return report


# ---- entities ---------------------------------------------------------------------------------
def find_entity(twin: Twin, entity_id: str) -> tuple[str, dict[str, Any]] | None:
    for view in TIERS:  # HIGH first: the fullest picture of the entity
        data = twin.derived(view).get("entity", entity_id)
        if data is not None:
            return view, data
    return None


def forget_entity(twin: Twin, entity_id: str) -> ForgetReport:
    """Remove an entity from every view and snapshot and keep it out of rebuilds; records stay."""
    found = find_entity(twin, entity_id)
    if found is None:
        raise TwinError(f"no entity {entity_id!r}", hint="entity ids are shown by the API's /v1/entities")
    report = ForgetReport("entity")
    hashes = suppress.entity_hashes(twin, found[1])
    report.add("suppression_keys", suppress.add(twin, hashes))
    _secure(twin)
    matched: set[str] = set()
    rebuild: set[str] = set()
    for view in TIERS:
        derived = twin.derived(view)
        ids = {eid for eid, data in derived.iter("entity") if suppress.entity_hashes(twin, data) & hashes}
        if ids:
            matched |= ids
            keys = {(kind, eid) for eid in ids for kind in ("entity", "mentions", "relationship", "centrality")}
            report.add("artifacts", derived.delete(keys), view)
            rebuild.add(view)

    def drop_entity(g: nx.Graph) -> nx.Graph:
        gone = [
            n
            for n, a in g.nodes(data=True)
            if a.get("type") == "entity" and (n in matched or suppress.node_hashes(twin, n, a) & hashes)
        ]
        g.remove_nodes_from(gone)
        return g

    _mark_stale(twin, rebuild)
    _rewrite_graphs(twin, drop_entity, report)
    with twin.session() as s:
        if matched:
            report.add("lineage", rowcount(s.execute(delete(Lineage).where(Lineage.artifact_id.in_(sorted(matched))))))
    report.add("entities", len(matched))
    _rebuild_and_compact(twin, rebuild, set(), report)
    return report


def report_lines(report: ForgetReport) -> list[str]:
    """Counts per store, for the CLI (ids and counts only)."""
    lines = []
    for key, value in report.removed.items():
        if isinstance(value, dict):
            lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        else:
            lines.append(f"{key}: {value}")
    if report.views_rebuilt:
        lines.append("views rebuilt: " + ", ".join(report.views_rebuilt))
    return lines
