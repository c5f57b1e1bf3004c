"""The tier invariant is a blocking asset check: a view holding anything derived from a record above its tier
stops that view's run before anything downstream of entities is built from it."""

from __future__ import annotations

import pytest

from tests.test_freshness import MODEL, _rent
from twin_assets.pipeline import checks
from twin_assets.stores import HIGH, LOW
from twin_assets.stores.derived import Artifact

pytestmark = pytest.mark.timeout(600)


def test_the_check_counts_artifacts_with_evidence_above_the_view(twin):
    twin.store(LOW).put_many(_rent(LOW, range(1, 3), -400.0))
    twin.store(HIGH).put_many(_rent(HIGH, range(1, 3), -2500.0))
    twin.derived(LOW).upsert_many("event", [Artifact("event", "ev-low", {"t": 1}, ["rent-low-1"])])
    twin.derived(HIGH).upsert_many("event", [Artifact("event", "ev-high", {"t": 1}, ["rent-low-1", "rent-high-1"])])
    assert checks.evidence_above_view(twin, LOW).passed
    assert checks.evidence_above_view(twin, HIGH).passed, "HIGH may derive from everything"

    twin.derived(LOW).upsert_many("event", [Artifact("event", "ev-leak", {"t": 1}, ["rent-high-2"])])
    outcome = checks.evidence_above_view(twin, LOW)
    assert not outcome.passed and outcome.counts == {"tiers_above": 2, "artifacts_above": 1}


def test_a_failed_tier_check_stops_the_view_downstream_of_entities(twin, home):
    from twin_assets.run import materialize

    twin.store(LOW).put_many(_rent(LOW, range(1, 7), -400.0))
    twin.store(HIGH).put_many(_rent(HIGH, range(1, 3), -2500.0))
    # Kind "event" is the timeline's: the entities step leaves it alone, so the leak is there when the check runs.
    twin.derived(LOW).upsert_many("event", [Artifact("event", "ev-leak", {"t": 1}, ["rent-high-1"])])

    outcome = materialize(home, MODEL, views=[LOW])
    assert not outcome.success
    assert "entities:no_evidence_above_view[LOW] FAILED" in outcome.checks
    assert "entities[LOW]" in outcome.materialized
    downstream = {"sentiment[LOW]", "timeline[LOW]", "knowledge_graph[LOW]", "graph_metrics[LOW]", "insights[LOW]"}
    assert not downstream & set(outcome.materialized), outcome.materialized
