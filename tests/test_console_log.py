"""Dagster's console (the terminal of `twin ingest` and `twin materialize`) prints a failing step as one line: the
error's type and our own message, never a stack trace, never an exception message that may quote a record."""

from __future__ import annotations

from dagster import AssetCheckResult, DagsterInstance, Definitions, asset, asset_check

from twin_assets.defs.console import one_line_console
from twin_assets.defs.resources import content_safe
from twin_assets.run import QUIET, _failure_text

CANARY = "Canary Zebulon Quist"


@asset
def leaky() -> None:
    """An error no content_safe wrapped (as in a resource or Dagster itself): its message quotes a record."""
    try:
        {}[CANARY]
    except KeyError as exc:
        raise RuntimeError(f"lookup of {CANARY} failed") from exc


@asset
@content_safe
def wrapped() -> None:
    raise ValueError(f"bad record {CANARY}")


@asset_check(asset=wrapped)
def unwrapped_check() -> AssetCheckResult:
    raise KeyError(CANARY)


def _run(capfd, *assets, loggers=None):
    defs = Definitions(assets=list(assets), loggers=loggers or {"console": one_line_console})
    job = defs.resolve_implicit_global_asset_job_def()
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(run_config=QUIET, instance=instance, raise_on_error=False)
    captured = capfd.readouterr()
    return result, captured.out + captured.err


def test_a_failing_step_is_one_line_without_trace_or_record_text(capfd):
    result, console = _run(capfd, leaky, wrapped)
    assert not result.success
    assert CANARY not in console and "Stack Trace" not in console and "Traceback" not in console
    lines = [line for line in console.splitlines() if "STEP_FAILURE" in line]
    assert len(lines) == 2, console
    assert any("leaky" in line and "(from RuntimeError from KeyError)" in line for line in lines), lines
    assert any("wrapped" in line and "Failure: wrapped failed with ValueError" in line for line in lines), lines
    failures = [_failure_text(e) for e in result.all_events if e.is_step_failure]  # what the CLI prints
    assert sorted(failures) == [
        "leaky: DagsterExecutionStepExecutionError (from RuntimeError from KeyError)",
        "wrapped: wrapped failed with ValueError",
    ]


def test_dagsters_own_console_logger_would_print_the_record(capfd):
    """Why ours exists: the default console logger prints the chain's messages and every frame."""
    from dagster import colored_console_logger

    _, console = _run(capfd, leaky, loggers={"console": colored_console_logger})
    assert CANARY in console and "Stack Trace" in console


def test_the_code_location_uses_it_and_wraps_its_checks():
    from twin_assets.definitions import defs
    from twin_assets.defs.processing import checks

    assert defs.resolve_implicit_global_asset_job_def().loggers["console"] is one_line_console
    names = ["no_evidence_above_view", "no_orphan_mentions", "no_cross_person_merge", "every_dated_record_on_timeline"]
    for name in names:  # a check's error reaches the event log as content_safe's Failure, type only
        fn = getattr(checks, name).node_def.compute_fn.decorated_fn
        assert getattr(fn, "__wrapped__", None) is not None, f"{name} is not content_safe"


def test_an_unwrapped_check_is_still_one_line(capfd):
    _, console = _run(capfd, wrapped, unwrapped_check)
    assert CANARY not in console and "Stack Trace" not in console
