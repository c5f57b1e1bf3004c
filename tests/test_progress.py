"""The CLI's progress hook reaches the steps of the runs it executes in process, and only inside its block."""

from __future__ import annotations

from dagster import asset, materialize

from twin_assets import progress


def test_steps_of_an_in_process_run_report_to_the_block_that_runs_it():
    @asset
    def counted() -> None:
        report = progress.reporter("counting")
        assert report is not None
        report(3)

    seen: list[tuple[str, int]] = []
    with progress.reporting(lambda stage, n: seen.append((stage, n))):
        assert materialize([counted]).success
    assert seen == [("counting", 3)]
    assert progress.reporter("counting") is None, "nothing reports outside the block"


def test_blocks_nest_and_restore_the_outer_reporter():
    outer: list[int] = []
    inner: list[int] = []
    with progress.reporting(lambda _s, n: outer.append(n)):
        with progress.reporting(lambda _s, n: inner.append(n)):
            progress.reporter("x")(1)  # type: ignore[misc]
        progress.reporter("x")(2)  # type: ignore[misc]
    assert (outer, inner) == ([2], [1])
