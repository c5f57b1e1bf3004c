"""Events in a time window come from bisecting the view's sorted events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin_assets.processing.timeline import TimelineEvent
from twin_query import views


def _view(n: int) -> views.ViewData:
    vd = views.ViewData("HIGH", (), {}, None, {}, {})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    vd._lazy["events"] = [
        TimelineEvent(
            f"d{i:03d}", start + timedelta(days=i), None, None, None, "event", "calendar", "", [], None, "HIGH"
        )
        for i in range(n)
    ]
    return vd


def test_events_in_a_window_are_half_open_and_unbounded_sides_reach_the_ends():
    vd = _view(100)
    day = lambda i: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i)  # noqa: E731
    assert [e.doc_id for e in views.events_in(None, vd, day(10), day(13))] == ["d010", "d011", "d012"]
    assert len(views.events_in(None, vd, None, day(5))) == 5
    assert len(views.events_in(None, vd, day(95), None)) == 5
    assert len(views.events_in(None, vd, None, None)) == 100
    assert views.events_in(None, vd, day(200), None) == []
    # The time list is built once and kept beside the events.
    times = vd._lazy["event_times"]
    views.events_in(None, vd, day(1), day(2))
    assert vd._lazy["event_times"] is times


def test_stored_events_read_back_as_the_events_the_timeline_step_stores(twin):
    from twin_assets.stores.derived import Artifact, plain

    stored = [
        TimelineEvent(
            f"d{i}",
            datetime(2024, 3, 3 - i, 9, tzinfo=UTC),
            None,
            "Europe/Berlin",
            "2024-03-03T10:00:00+01:00",
            "event",
            "calendar",
            "Standup",
            ["e1", "e2"],
            "s1",
            "HIGH",
            [f"d{i}"],
        )
        for i in range(2)
    ]
    twin.derived("HIGH").replace_kind("event", [Artifact("event", e.doc_id, plain(e), e.evidence) for e in stored])
    vd = views.ViewData("HIGH", (), {}, None, {}, {})
    got = views.events(twin, vd)
    assert [e.doc_id for e in got] == ["d1", "d0"], "oldest first"
    assert got == [stored[1], stored[0]], "read back as the objects the timeline step stored"
    assert got[0].source is got[1].source and got[0].entity_ids[1] is got[1].entity_ids[1], "repeated values held once"


def test_an_entity_without_a_relationship_is_rated_on_its_own_records_scores_only(twin, monkeypatch):
    from twin_assets.artifacts import DOC_SENTIMENT
    from twin_assets.processing.resolution import Entity
    from twin_assets.processing.sentiment import DocSentiment
    from twin_assets.stores import HIGH
    from twin_query import views

    def score(doc_id: str, compound: float, reliable: bool = True) -> DocSentiment:
        return DocSentiment(doc_id, compound, 0.0, 0.0, 1.0, "neutral", "en", reliable, HIGH, [doc_id])

    derived = twin.derived(HIGH)
    scores = {f"d{i}": 0.1 * i for i in range(6)}
    derived.upsert(DOC_SENTIMENT, [score(d, c, reliable=d != "d5") for d, c in scores.items()])
    derived.upsert(DOC_SENTIMENT, [score("other", -1.0)])
    vd = views.ViewData(HIGH, (), {}, None, {}, {})
    shop = Entity("org_1", "organisation", "Shop", {}, 1.0, [], HIGH, [f"d{i}" for i in range(6)])
    got = views.sentiment_summary(twin, vd, shop)
    assert got == {"basis": "documents", "mean": 0.2, "documents": 5}, "the unreliable d5 and other records left out"
    assert "doc_sentiment" not in vd._lazy, "the view's scores are not all loaded for one entity"
    monkeypatch.setattr(views, "SENTIMENT_SAMPLE", 2)
    assert views.sentiment_summary(twin, vd, shop) == {
        "basis": "documents",
        "mean": 0.15,
        "documents": 2,
        "sample_of": 6,
    }  # d0 and d3
