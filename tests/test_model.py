"""Tier views: each is built only from records at or below its tier; snapshots are encrypted and versioned."""

from __future__ import annotations

import pytest

from tests.test_slice import HIGH_NAME, ICS, MBOX
from twin_assets.pipeline import checks, model
from twin_assets.pipeline.documents import build_documents
from twin_assets.pipeline.embeddings import embed_pending
from twin_assets.pipeline.inputs import register_input
from twin_assets.pipeline.run_cache import caching
from twin_assets.pipeline.sync import sync_source

pytestmark = pytest.mark.slow


@pytest.fixture
def built(twin, tmp_path):
    (tmp_path / "m.mbox").write_text(MBOX)
    (tmp_path / "c.ics").write_text(ICS)
    register_input(twin, tmp_path / "m.mbox", "email", "ingest")
    register_input(twin, tmp_path / "c.ics", "calendar", "ingest")
    sync_source(twin, "email")
    sync_source(twin, "calendar")
    build_documents(twin)
    embed_pending(twin)
    for tier in ("LOW", "MEDIUM", "HIGH"):
        model.build_text(twin, tier)
    for view in ("LOW", "MEDIUM", "HIGH"):
        for step in (
            model.build_entities,
            model.build_sentiment,
            model.build_timeline,
            model.build_topics,
            model.build_graph,
            model.build_graph_metrics,
        ):
            step(twin, view)
    return twin


def _names(twin, view):
    return {d["name"] for _, d in twin.derived(view).iter("entity")}


def test_lower_views_hold_nothing_from_higher_tiers(built):
    assert HIGH_NAME in _names(built, "HIGH")
    assert HIGH_NAME not in _names(built, "MEDIUM") | _names(built, "LOW")
    low_docs = {d.id for d in model.view_documents(built, "LOW")}
    for kind in ("entity", "mentions", "doc_sentiment", "event", "relationship"):
        for _, data in built.derived("LOW").iter(kind):
            # mentions are stored as columns: their doc_id is a list
            evidence = data.get("evidence") or (data["doc_id"] if kind == "mentions" else [data.get("doc_id")])
            assert set(e for e in evidence if e) <= low_docs, kind


def test_graph_snapshots_are_versioned_and_encrypted(built):
    graphs = built.graphs("HIGH")
    assert graphs.versions() == [1]
    model.build_graph(built, "HIGH")
    assert graphs.versions() == [1, 2]
    raw = graphs.path(2).read_bytes()
    assert HIGH_NAME.encode() not in raw and b"Ottoline" not in raw
    _, g = graphs.load()
    tiers = {a["tier"] for _, a in g.nodes(data=True)} | {a["tier"] for _, _, a in g.edges(data=True)}
    assert tiers <= {"LOW", "MEDIUM", "HIGH"} and "HIGH" in tiers
    assert any(a.get("name") == HIGH_NAME for _, a in g.nodes(data=True))


def test_checks_pass_on_a_consistent_view(built):
    for view in ("LOW", "MEDIUM", "HIGH"):
        assert checks.orphan_mentions(built, view).passed
        assert checks.timeline_coverage(built, view).passed


def test_orphan_check_can_fail(built):
    built.store("HIGH").delete([d.id for d in model.view_documents(built, "HIGH") if d.tier == "HIGH"][:1])
    assert not checks.orphan_mentions(built, "HIGH").passed


def test_text_artifacts_are_offsets_into_the_stored_body(built):
    for tier in ("LOW", "MEDIUM", "HIGH"):
        store, derived = built.store(tier), built.derived(tier)
        assert derived.count("text") == store.count()
        for doc_id, data in derived.iter("text"):
            doc = store.get(doc_id)
            for start, end, field in data["passages"]:
                source = doc.body if field == "body" else doc.title
                assert 0 <= start < end <= len(source)
            assert "body" not in data and "text" not in data  # offsets, never copies


def test_cached_normalisation_equals_computing_it(built):
    from twin_assets.processing.text import normalise

    for view in ("LOW", "MEDIUM", "HIGH"):
        docs = model.view_documents(built, view)
        cached = model.view_norms(built, view, docs)
        assert cached == {d.id: normalise(d) for d in docs}
    # A document whose text artifact is missing (text not yet built for its tier) is normalised on the spot.
    built.derived("LOW").replace_kind("text", [])
    docs = model.view_documents(built, "HIGH")
    assert model.view_norms(built, "HIGH", docs) == {d.id: normalise(d) for d in docs}


def _text_artifacts(twin, tier):
    return dict(twin.derived(tier).iter("text"))


@pytest.mark.parametrize("tier", ["LOW", "MEDIUM", "HIGH"])
def test_incremental_text_equals_a_full_rebuild(built, tier, monkeypatch):
    """Only new records are normalised, forgotten ones are dropped, and the result is what rebuilding
    everything gives; a change of model code rebuilds everything."""
    from twin_assets.pipeline import freshness

    store, derived = built.store(tier), built.derived(tier)
    full = _text_artifacts(built, tier)
    assert full, "precondition: this tier has records"
    assert model.build_text(built, tier)["normalised"] == 0  # nothing new
    gone = sorted(full)[0]
    derived.delete([("text", gone)])  # as if this record had arrived after the last build
    assert model.build_text(built, tier)["normalised"] == 1
    assert _text_artifacts(built, tier) == full

    doc = store.get_many([gone])[gone]
    store.delete([gone])
    result = model.build_text(built, tier)
    assert result["dropped"] == 1 and gone not in _text_artifacts(built, tier)
    store.put_many([doc])

    monkeypatch.setattr(freshness, "code_version", lambda: "another version of the model code")
    assert model.build_text(built, tier)["normalised"] == len(full)
    assert _text_artifacts(built, tier) == full


@pytest.mark.parametrize("view", ["MEDIUM", "HIGH"])
def test_incremental_sentiment_equals_a_full_rebuild(built, view, monkeypatch):
    from twin_assets.pipeline import freshness

    derived = built.derived(view)
    first = model.build_sentiment(built, view)  # the fixture built it already: nothing new to score
    assert first["scored"] == 0 and first["documents"] > 0
    full = {k: dict(derived.iter(k)) for k in ("doc_sentiment", "relationship")}
    derived.delete([("doc_sentiment", sorted(full["doc_sentiment"])[0])])
    assert model.build_sentiment(built, view)["scored"] == 1
    assert {k: dict(derived.iter(k)) for k in full} == full
    monkeypatch.setattr(freshness, "code_version", lambda: "another version of the model code")
    assert model.build_sentiment(built, view)["scored"] == first["documents"]
    assert {k: dict(derived.iter(k)) for k in full} == full


def test_text_step_reuses_the_normalisations_entities_made_and_stores_the_same(twin, tmp_path, monkeypatch):
    from twin_assets.pipeline.freshness import BUILT
    from twin_assets.processing import text as text_mod

    (tmp_path / "m.mbox").write_text(MBOX)
    register_input(twin, tmp_path / "m.mbox", "email", "ingest")
    sync_source(twin, "email")
    build_documents(twin)
    with caching(twin):
        model.build_entities(twin, "HIGH")  # normalises every record of the view (no text artifacts yet)
        calls = []
        real = text_mod.normalise
        monkeypatch.setattr(text_mod, "normalise", lambda doc: calls.append(doc.id) or real(doc))
        monkeypatch.setattr(model, "normalise", text_mod.normalise)
        model.build_text(twin, "HIGH")
    assert calls == []  # nothing normalised twice
    reused = dict(twin.derived("HIGH").iter("text"))
    assert reused
    monkeypatch.undo()
    derived = twin.derived("HIGH")
    derived.replace_kind("text", [])
    derived.delete([(BUILT, "text_code")])
    model.build_text(twin, "HIGH")  # from scratch, no cache
    assert dict(twin.derived("HIGH").iter("text")) == reused


def test_mentions_stored_before_the_column_layout_still_load(built):
    from twin_assets.stores.derived import Artifact

    new = model._read_resolution(built, "HIGH").mentions
    derived = built.derived("HIGH")
    by_entity: dict[str, list] = {}
    for m in new:
        by_entity.setdefault(m.entity_id, []).append(m)
    derived.replace_kind(
        "mentions",
        (
            Artifact(
                "mentions",
                eid,
                {
                    "mentions": [
                        {
                            "doc_id": m.doc_id,
                            "entity_id": m.entity_id,
                            "role": m.role,
                            "start": m.start,
                            "end": m.end,
                            "confidence": m.confidence,
                            "tier": m.tier,
                        }
                        for m in ms
                    ]
                },
                [m.doc_id for m in ms],
            )
            for eid, ms in by_entity.items()
        ),
    )
    old = model._read_resolution(built, "HIGH").mentions
    assert len(new) > 0
    assert sorted(map(repr, old)) == sorted(map(repr, new))


def test_insights_read_the_scores_the_sentiment_step_just_made(built):
    from twin_assets.insights.store import load_view

    stored = load_view(built, "HIGH")[2]
    assert stored, "the fixture has records with a reliable score"
    with caching(built):
        model.build_sentiment(built, "HIGH")
        scores = model.peek(built, "HIGH", "doc_scores")
        cached = load_view(built, "HIGH")[2]
        docs = model.view_documents(built, "HIGH")
        scored = next(i for i, d in enumerate(docs) if d.id in stored)
        scores[scored] = 0.123  # the array, not the stored artifacts, is what insights read
        assert load_view(built, "HIGH")[2][docs[scored].id] == 0.123
        model.step_done(built, "HIGH", "build_insights")
        assert model.peek(built, "HIGH", "doc_scores") is None
    assert cached == stored
