"""The topics step places a few new documents on the stored clusters instead of refitting (pipeline.model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from twin_assets.pipeline import model
from twin_assets.records import Document
from twin_assets.stores import HIGH

THEMES = {  # three separable directions, each with its own words
    0: "sailing regatta harbour boat crew wind",
    1: "invoice payment budget accounting quarter report",
    2: "garden tomatoes compost seedlings watering roses",
}


def _docs(twin, theme: int, start: int, n: int, *, embedded: bool = True) -> list[Document]:
    rng = np.random.default_rng(theme * 1000 + start)
    docs = [
        Document(
            f"note-{theme}-{i}",
            "notes",
            "note",
            HIGH,
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i),
            f"note {i}",
            f"{THEMES[theme]} entry {i}",
            {},
        )
        for i in range(start, start + n)
    ]
    centre = np.zeros(384, dtype=np.float32)
    centre[theme * 10 : theme * 10 + 10] = 1.0
    vectors = centre + 0.05 * rng.standard_normal((n, 384)).astype(np.float32)
    store = twin.store(HIGH)
    store.put_many(docs)
    if embedded:
        store.mark_embedded([d.id for d in docs], vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    return docs


def _fit(twin) -> dict:
    return twin.derived(HIGH).get("topic_model", "fit")


def test_new_documents_join_their_cluster_without_a_refit_until_enough_arrive(twin):
    for theme in THEMES:
        _docs(twin, theme, 0, 40)
    assert model.build_topics(twin, HIGH)["refitted"] == 1
    first = _fit(twin)
    assert first["fitted"] == 120 and first["placed"] == 0

    new = _docs(twin, 1, 40, 6)  # 5% of what was fitted
    counts = model.build_topics(twin, HIGH)
    assert counts["refitted"] == 0 and counts["documents"] == 126
    fit = _fit(twin)
    assert fit["centroids"] == first["centroids"] and fit["keywords"] == first["keywords"] and fit["placed"] == 6
    old_label = first["labels"]["note-1-0"]
    assert {fit["labels"][d.id] for d in new} == {old_label}, "each new note joins the cluster of its theme"
    topics = {t["size"]: t for _, t in twin.derived(HIGH).iter("topic")}
    assert 46 in topics and {d.id for d in new} <= set(topics[46]["evidence"])
    assert fit["ids"] == first["ids"], "a topic keeps its id while documents join it"
    assert twin.derived(HIGH).derived_from([new[0].id]) == {("topic", fit["ids"][str(old_label)])}

    _docs(twin, 2, 40, 8)  # 6 + 8 placed since the fit: more than 10% of 120
    assert model.build_topics(twin, HIGH)["refitted"] == 1
    assert _fit(twin)["fitted"] == 134


def test_a_removed_document_means_a_refit_so_no_keyword_can_come_from_it(twin):
    for theme in THEMES:
        _docs(twin, theme, 0, 40)
    model.build_topics(twin, HIGH)
    twin.store(HIGH).delete(["note-0-3"])  # what forgetting a record does to the store
    assert model.build_topics(twin, HIGH)["refitted"] == 1
    assert "note-0-3" not in _fit(twin)["labels"]


def test_records_still_waiting_for_their_embedding_do_not_force_a_refit(twin):
    for theme in THEMES:
        _docs(twin, theme, 0, 40)
    model.build_topics(twin, HIGH)
    _docs(twin, 0, 40, 60, embedded=False)  # half as many again, not embedded yet: nothing to place
    counts = model.build_topics(twin, HIGH)
    assert counts["refitted"] == 0 and counts["documents"] == 120
    new = _docs(twin, 1, 100, 4)
    assert model.build_topics(twin, HIGH)["refitted"] == 0
    assert {_fit(twin)["labels"][d.id] for d in new} == {_fit(twin)["labels"]["note-1-0"]}


def test_a_view_larger_than_the_fitting_sample_is_clustered_from_half_precision_vectors(twin, monkeypatch):
    from twin_assets.processing import topics as topics_mod

    for theme in THEMES:
        _docs(twin, theme, 0, 40)
    monkeypatch.setattr(topics_mod, "FIT_SAMPLE", 60)
    seen = []
    real = model._vector_matrix
    monkeypatch.setattr(
        model, "_vector_matrix", lambda twin, docs, dtype=np.float32: seen.append(dtype) or real(twin, docs, dtype)
    )
    assert model.build_topics(twin, HIGH)["documents"] == 120
    assert seen == [np.float16]
    themes_of: dict[int, set[str]] = {}
    for doc_id, label in _fit(twin)["labels"].items():
        themes_of.setdefault(label, set()).add(doc_id.split("-")[1])
    assert all(len(t) == 1 for t in themes_of.values()), "no cluster mixes two themes"
