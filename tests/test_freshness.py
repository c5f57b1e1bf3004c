"""A model asset is rebuilt only when something it reads changed (pipeline.freshness).

A HIGH-only arrival must leave the LOW and MEDIUM views untouched: rebuilding them costs time at scale,
and when a view changes tells a reader of that view that something arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from twin_assets.pipeline import freshness, suppress
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, MEDIUM, TIERS
from twin_assets.tiers import Tier

pytestmark = pytest.mark.timeout(600)
MODEL = "group:processing or group:graph or group:insights"


def _rent(tier: str, months: range, amount: float, prefix: str = "rent") -> list[Document]:
    return [
        Document(
            f"{prefix}-{tier.lower()}-{m}",
            "bank_csv",
            "transaction",
            tier,
            datetime(2024, m, 1, 8, tzinfo=UTC),
            "Hausverwaltung",
            "Miete",
            {"parties": [{"role": "merchant", "name": "Hausverwaltung Kranich"}], "attributes": {"amount": amount}},
        )
        for m in months
    ]


def _fp(twin, view: str) -> str:
    return freshness.fingerprint(twin, Tier.parse(view).reads())


def test_every_kind_of_change_moves_the_fingerprint_of_the_views_that_read_it(twin):
    twin.store(LOW).put_many(_rent(LOW, range(1, 3), -400.0))
    before = {v: _fp(twin, v) for v in TIERS}
    twin.store(HIGH).put_many(_rent(HIGH, range(1, 3), -2500.0))
    after = {v: _fp(twin, v) for v in TIERS}
    assert after[LOW] == before[LOW] and after[MEDIUM] == before[MEDIUM] and after[HIGH] != before[HIGH]

    twin.store(MEDIUM).put_many(_rent(MEDIUM, range(1, 3), -700.0))
    moved = {v: _fp(twin, v) for v in TIERS}
    assert moved[LOW] == after[LOW] and moved[MEDIUM] != after[MEDIUM] and moved[HIGH] != after[HIGH]

    twin.store(LOW).mark_embedded(["rent-low-1"])  # topics read vectors
    assert _fp(twin, LOW) != moved[LOW]
    embedded = _fp(twin, LOW)
    twin.store(LOW).delete(["rent-low-2"])
    assert _fp(twin, LOW) != embedded
    deleted = _fp(twin, LOW)
    suppress.add(twin, ["0" * 64])  # forgetting an entity changes every view's entities
    assert _fp(twin, LOW) != deleted
    assert _fp(twin, LOW) == _fp(twin, LOW), "the fingerprint is stable while nothing changes"
    marked = {v: _fp(twin, v) for v in TIERS}
    freshness.mark_stale(twin, MEDIUM)
    assert _fp(twin, LOW) == marked[LOW] and _fp(twin, MEDIUM) != marked[MEDIUM] and _fp(twin, HIGH) != marked[HIGH]
    assert twin.store(HIGH).generation() > 0


def test_homes_with_equal_counters_have_different_fingerprints(twin, tmp_path, monkeypatch):
    """Two homes may share one Dagster instance (DAGSTER_HOME set for both): one's recorded data version must
    not make the other's views skip their build."""
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    monkeypatch.setenv("TWIN_HOME", str(tmp_path / "other"))
    init_home(get_settings())
    other = open_twin(get_settings())
    try:
        for t in (twin, other):
            t.store(LOW).put_many(_rent(LOW, range(1, 3), -400.0))
        assert twin.store(LOW).generation() == other.store(LOW).generation()
        assert _fp(twin, LOW) != _fp(other, LOW)
    finally:
        other.close()


def test_code_changes_are_part_of_the_fingerprint(twin, monkeypatch):
    first = _fp(twin, LOW)
    freshness.code_version.cache_clear()
    monkeypatch.setattr(freshness, "MODEL_CODE", freshness.MODEL_CODE[:-1])
    try:
        assert _fp(twin, LOW) != first
    finally:
        freshness.code_version.cache_clear()


def _rows(twin, view: str) -> list[tuple[int, str, str]]:
    return twin.store(view).conn.execute("SELECT rowid, kind, id FROM artifacts ORDER BY kind, id").fetchall()


def _unchanged_flags(settings, partition: str) -> dict[str, bool]:
    from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

    from twin_assets.run import use_dagster_home

    use_dagster_home(settings)
    flags = {}
    with DagsterInstance.get() as instance:
        for name in (
            "text",
            "entities",
            "sentiment",
            "timeline",
            "topics",
            "knowledge_graph",
            "graph_metrics",
            "insights",
        ):
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(name), asset_partitions=[partition]), limit=1
            ).records
            flags[name] = records[0].asset_materialization.metadata["unchanged"].value
    return flags


def _versions(settings, partition: str) -> dict[str, tuple[str, str]]:
    """(code version, data version) that Dagster recorded with each model asset's latest materialization."""
    from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

    from twin_assets.run import use_dagster_home

    use_dagster_home(settings)
    with DagsterInstance.get() as instance:
        out = {}
        for name in ("text", "entities", "topics", "insights"):
            (record,) = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(name), asset_partitions=[partition]), limit=1
            ).records
            tags = record.asset_materialization.tags
            out[name] = (tags["dagster/code_version"], tags["dagster/data_version"])
    return out


def _checked_views(run_ids: list[str]) -> dict[str, set[str]]:
    """Per partition run: the views its asset checks reported on (their metadata keys start with the view)."""
    from dagster import DagsterEventType, DagsterInstance

    out: dict[str, set[str]] = {}
    with DagsterInstance.get() as instance:
        for run_id in run_ids:
            partition = instance.get_run_by_id(run_id).tags.get("dagster/partition")
            for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
                metadata = entry.dagster_event.event_specific_data.metadata
                out.setdefault(partition, set()).update(k.split("_", 1)[0] for k in metadata)
    return out


def test_a_high_only_arrival_rebuilds_only_the_high_view(twin, home):
    from twin_assets.run import materialize

    for tier, amount in ((LOW, -400.0), (MEDIUM, -700.0), (HIGH, -2500.0)):
        docs = _rent(tier, range(1, 7), amount)
        twin.store(tier).put_many(docs)
        if tier != HIGH:
            with twin.vectors() as vectors:
                vectors.upsert(tier, [d.id for d in docs], np.eye(len(docs), 384, dtype=np.float32))
        twin.store(tier).mark_embedded([d.id for d in docs], np.eye(len(docs), 384, dtype=np.float32))
    outcome = materialize(home, MODEL)
    assert outcome.success
    assert not any(_unchanged_flags(home, LOW).values())
    assert _checked_views(outcome.run_ids) == {LOW: {"low"}, MEDIUM: {"medium"}, HIGH: {"high"}}, (
        "each view's run checks that view only"
    )
    built = {v: _rows(twin, v) for v in TIERS}
    assert all(built.values())
    versions = {v: _versions(home, v) for v in TIERS}
    assert {code for view in versions.values() for code, _ in view.values()} == {freshness.code_version()}
    assert versions[LOW]["entities"][1] == _fp(twin, LOW), "the data version is the fingerprint of what it read"

    twin.store(HIGH).put_many(_rent(HIGH, range(7, 9), -2600.0, prefix="later"))
    assert materialize(home, MODEL).success
    for view in (LOW, MEDIUM):
        assert all(_unchanged_flags(home, view).values()), view
        assert _rows(twin, view) == built[view], f"the {view} view was rewritten"
        assert _versions(home, view) == versions[view]
    high = _unchanged_flags(home, HIGH)
    assert not high["entities"] and not high["insights"] and not high["text"]
    assert _rows(twin, HIGH) != built[HIGH]
    assert _versions(home, HIGH)["entities"][1] != versions[HIGH]["entities"][1]

    freshness.mark_stale(twin, MEDIUM)  # what forget does: the view and every view reading MEDIUM rebuild
    assert materialize(home, MODEL).success
    assert all(_unchanged_flags(home, LOW).values())
    assert not any(_unchanged_flags(home, MEDIUM).values()) and not _unchanged_flags(home, HIGH)["entities"]


def test_the_view_cache_serves_a_view_until_it_changes(twin):
    from twin_assets.pipeline import model
    from twin_assets.pipeline.run_cache import caching

    twin.store(LOW).put_many(_rent(LOW, range(1, 3), -400.0))
    with caching(twin) as cache:
        first = model.view_documents(twin, MEDIUM)
        assert cache.holds() and model.view_documents(twin, MEDIUM) == first
        norms = model.view_norms(twin, MEDIUM, first)
        assert model.view_norms(twin, MEDIUM, first) == norms
        twin.store(MEDIUM).put_many(_rent(MEDIUM, range(1, 4), -700.0))
        second = model.view_documents(twin, MEDIUM)
        assert len(second) == len(first) + 3
        assert set(model.view_norms(twin, MEDIUM, second)) == {d.id for d in second}
        twin.store(HIGH).put_many(_rent(HIGH, range(1, 4), -900.0))
        assert model.view_documents(twin, MEDIUM) == second  # a higher tier is not part of this view
        assert len(model.view_documents(twin, HIGH)) == len(second) + 3
    assert twin.run_cache is None and not cache.holds(), "nothing is kept after the run"


def test_the_view_cache_releases_what_no_later_step_reads(twin):
    from twin_assets.pipeline import model
    from twin_assets.pipeline.run_cache import caching

    twin.store(LOW).put_many(_rent(LOW, range(1, 3), -400.0))
    with caching(twin):
        docs = model.view_documents(twin, LOW)
        model.view_topic_texts(twin, LOW, docs, model.view_norms(twin, LOW, docs))
        for step in ("build_entities", "build_sentiment"):
            model.step_done(twin, LOW, step)
            assert model.peek(twin, LOW, "norms") is not None, "the topics step still reads them"
        model.step_done(twin, LOW, "build_topics")
        assert model.peek(twin, LOW, "norms") is None
        assert model.peek(twin, LOW, "topic_texts") is not None, "insights still reads them"
        model.step_done(twin, LOW, "build_insights")
        assert model.peek(twin, LOW, "topic_texts") is None
        assert model.peek(twin, LOW, "documents") == docs, "documents are read to the end"
