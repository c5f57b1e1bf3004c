"""Events in a time window come from bisecting the view's sorted events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin_query import views


def _view(n: int) -> views.ViewData:
    vd = views.ViewData("HIGH", (), {}, None, {}, {})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    vd._lazy["events"] = [{"doc_id": f"d{i:03d}", "_t": start + timedelta(days=i)} for i in range(n)]
    return vd


def test_events_in_a_window_are_half_open_and_unbounded_sides_reach_the_ends():
    vd = _view(100)
    day = lambda i: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i)  # noqa: E731
    assert [e["doc_id"] for e in views.events_in(None, vd, day(10), day(13))] == ["d010", "d011", "d012"]
    assert len(views.events_in(None, vd, None, day(5))) == 5
    assert len(views.events_in(None, vd, day(95), None)) == 5
    assert len(views.events_in(None, vd, None, None)) == 100
    assert views.events_in(None, vd, day(200), None) == []
    # The time list is built once and kept beside the events.
    times = vd._lazy["event_times"]
    views.events_in(None, vd, day(1), day(2))
    assert vd._lazy["event_times"] is times
