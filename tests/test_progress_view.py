"""Progress off a terminal: plain lines, at most every few seconds or each further 10 %, a "still running" line
for a quiet step, and a last line per stage; and the totals the steps announce reach the view."""

from __future__ import annotations

import io

from twin_assets import progress
from twin_query.progress_view import ProgressView


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _view(clock: Clock) -> tuple[ProgressView, io.StringIO]:
    out = io.StringIO()
    return ProgressView(stream=out, terminal=False, every=5.0, quiet=30.0, clock=clock, ticker=False), out


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_lines_come_on_start_each_tenth_every_five_seconds_and_at_the_end():
    clock = Clock()
    view, out = _view(clock)
    with view:
        view.expect("classifying", 200)
        view.advance("classifying", 5)  # the first report: a line
        assert _lines(out) == ["classifying: 5/200 (2%), 0 s"]
        clock.now += 1
        view.advance("classifying", 5)  # 10/200 is 5 %: no new tenth, too soon
        assert len(_lines(out)) == 1
        clock.now += 1
        view.advance("classifying", 15)  # 25/200 crosses 10 %
        assert _lines(out)[-1] == "classifying: 25/200 (12%), 2 s"
        clock.now += 5
        view.advance("classifying", 1)  # 5 s after the last line
        assert _lines(out)[-1] == "classifying: 26/200 (13%), 7 s"
        clock.now += 1
        for _ in range(10):  # ten small steps within one tenth and one second: silent
            view.advance("classifying", 1)
        assert len(_lines(out)) == 3
        clock.now += 5
        view.tick()  # the ticker shows what moved since
        assert _lines(out)[-1] == "classifying: 36/200 (18%), 13 s"
        view.tick()  # nothing moved: nothing to say
        assert len(_lines(out)) == 4
        view.advance("classifying", 164)
    assert _lines(out)[-2:] == ["classifying: 200/200 (100%), 13 s", "classifying: 200/200 (100%), 13 s done"]


def test_a_stage_without_a_total_counts_items_and_a_quiet_step_says_it_still_runs():
    clock = Clock()
    view, out = _view(clock)
    with view:
        view.expect(progress.STEPS, 3)
        view.note(progress.STEPS, "documents")
        view.advance("importing mail", 100)
        view.advance(progress.STEPS, 1)
        view.note(progress.STEPS, "entities")
        start = len(_lines(out))
        clock.now += 29
        view.tick()
        assert len(_lines(out)) == start
        clock.now += 2  # 31 s without a line
        view.tick()
        assert _lines(out)[-1] == "steps: 1/3 (33%), entities, 31 s"
    lines = _lines(out)
    assert "steps: 0/3 (0%), documents, 0 s" in lines
    assert "importing mail: 100 items, 0 s" in lines
    assert "importing mail: 100 items, 31 s done" in lines


def test_nothing_is_written_when_disabled_or_drawn_as_lines_on_a_terminal():
    clock = Clock()
    for view in (
        ProgressView(False, stream=io.StringIO(), terminal=False, clock=clock, ticker=False),
        ProgressView(stream=io.StringIO(), terminal=True, clock=clock),
    ):
        with view:
            view.expect("embedding LOW", 10)
            view.advance("embedding LOW", 10)
        assert "embedding LOW: " not in view.stream.getvalue()  # type: ignore[attr-defined]
        assert view.summary() == {"embedding LOW": {"done": 10, "total": 10}}


def test_a_materialization_reports_its_steps_and_the_import_totals(home, tmp_path):
    from tests.test_parse_budget import minutely_series
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.run import materialize
    from twin_assets.twin import open_twin

    path = tmp_path / "week.ics"
    path.write_bytes(minutely_series(2, occurrences=30))
    with open_twin(home) as twin:
        assert register_input(twin, path, "calendar", "cli").input_id
    out = io.StringIO()
    with ProgressView(stream=out, terminal=False, ticker=False) as view, progress.reporting(view):
        assert materialize(home, "key:source_calendar").success
    assert view.summary() == {
        "steps": {"done": 1, "total": 1},
        "importing calendar": {"done": 60, "total": None},
        "importing calendar files": {"done": 1, "total": 1},
    }
    assert "steps: 0/1 (0%), source_calendar, " in out.getvalue()
