"""Materialize assets in this process, recorded in the home's Dagster instance.

Used by ``twin materialize``, ``twin ingest`` and ``twin demo`` so the Dagster UI
shows what the CLI did.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twin_assets import progress
from twin_assets.errors import TwinError
from twin_assets.home import write_dagster_yaml
from twin_assets.run_reaper import WaitWatch, mark_resumed, process_tags, reap, unresumed, wait_for_writer
from twin_assets.settings import TwinSettings, default_env

if TYPE_CHECKING:
    from dagster import AssetSelection

# Runs are recorded in the instance (the UI shows them); the console gets warnings only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class RunOutcome:
    success: bool
    run_ids: list[str]
    materialized: list[str]
    failures: list[str]  # "asset: content-free description"
    checks: list[str] = field(default_factory=list)  # "asset:check passed|FAILED"


def use_dagster_home(settings: TwinSettings) -> None:
    """Point Dagster at the twin's instance (unless the user set DAGSTER_HOME)."""
    default_env(DAGSTER_HOME=str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    write_dagster_yaml(settings)


def materialize(
    settings: TwinSettings, selection: str | AssetSelection | None = None, *, views: Iterable[str] | None = None
) -> RunOutcome:
    """Materialize ``selection`` (a selection string or object; everything when None), tier-partitioned
    assets for ``views`` only when given. The runs and their order come from the asset graph (see run_plan)."""
    use_dagster_home(settings)
    import warnings

    from dagster import AssetCheckEvaluation, AssetSelection, BetaWarning, DagsterInstance

    warnings.filterwarnings("ignore", category=BetaWarning)  # `group:` selections print one per call

    from twin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = None
    if selection:
        try:
            chosen = AssetSelection.from_string(selection) if isinstance(selection, str) else selection
            keys = list(chosen.resolve(graph))
        except Exception as exc:
            raise TwinError(
                f"invalid asset selection: {type(exc).__name__}: {exc}",
                hint="e.g. --select 'group:sources' or --select 'key:documents'",
            ) from None
        if not keys:
            raise TwinError("the selection matches no asset", hint="see the asset names in the Dagster UI")
    keys = keys if keys is not None else list(graph.get_all_asset_keys())
    job = defs.resolve_implicit_global_asset_job_def()
    outcome = RunOutcome(True, [], [], [])
    from twin_assets.defs.resources import sharing_models
    from twin_assets.embedding import EmbeddingModels
    from twin_assets.run_plan import plan_runs

    # Each run's steps share one view cache: the runs execute in process, where TwinResource sets it up once.
    # The runs share one set of embedding models: one load per command, not per tier's run.
    with DagsterInstance.get() as instance, sharing_models(EmbeddingModels()):
        reap(instance)  # first, so the runs it finds dead count among those this materialize resumes
        to_resume = unresumed(instance)
        ran: set[str] = set()
        runs = plan_runs(graph, keys, None if views is None else set(views))
        progress.expect(progress.STEPS, sum(len(r.keys) for r in runs))
        for run in runs:
            subset, partition = run.keys, run.partition
            # A run killed earlier holds the writer slot until reaped; a live one is waited for, aloud.
            wait_for_writer(instance, settings.writer_wait, _say)
            with WaitWatch(settings.writer_wait, _say) as watch:  # another writer may take the slot meanwhile
                result = job.execute_in_process(
                    run_config=QUIET,
                    instance=instance,
                    asset_selection=subset,
                    partition_key=partition,
                    raise_on_error=False,
                    tags=process_tags(),  # a pid and a host name: how a later command knows this run died
                )
            watch.raise_for_reason()
            outcome.run_ids.append(result.run_id)
            outcome.materialized += [
                e.asset_key.to_user_string() + (f"[{partition}]" if partition else "")
                for e in result.all_events
                if e.is_step_materialization and e.asset_key
            ]
            outcome.failures += [_failure_text(e) for e in result.all_events if e.is_step_failure]
            for e in result.all_events:
                ev = e.event_specific_data
                if isinstance(ev, AssetCheckEvaluation):
                    state = "passed" if ev.passed else "FAILED"
                    outcome.checks.append(
                        f"{ev.asset_key.to_user_string()}:{ev.check_name}"
                        f"{f'[{partition}]' if partition else ''} {state}"
                    )
            if not result.success:
                outcome.success = False
                break
            ran |= {k.to_user_string() for k in subset}
        # A killed run's assets are rebuilt once runs selecting them all succeeded (an asset whose inputs did not
        # change may skip its materialization, so what was selected counts, not what was written).
        covered = [r for r in to_resume if outcome.success and set(_keys_of(r)) <= ran]
        mark_resumed(instance, covered, outcome.run_ids[-1] if outcome.run_ids else "")
    return outcome


def _keys_of(run) -> list[str]:
    return sorted(k.to_user_string() for k in (run.asset_selection or ()))


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _failure_text(event) -> str:
    """``step: our description``, or the error's types only: another error's message may quote a record."""
    from twin_assets.defs.console import error_line

    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        desc = data.user_failure_data.description
    elif data.error:
        desc = error_line(data.error)
    else:
        desc = "failed"
    return f"{event.step_key}: {desc}"


def unmaterialized(settings: TwinSettings) -> list[str]:
    """Assets (and tier partitions) this home's Dagster instance has never materialized."""
    use_dagster_home(settings)
    from dagster import DagsterInstance

    from twin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    missing: list[str] = []
    with DagsterInstance.get() as instance:
        for key in graph.get_all_asset_keys():
            node = graph.get(key)
            if node.partitions_def is not None:
                done = instance.get_materialized_partitions(key)
                missing += [
                    f"{key.to_user_string()}[{p}]" for p in node.partitions_def.get_partition_keys() if p not in done
                ]
            elif instance.get_latest_materialization_event(key) is None:
                missing.append(key.to_user_string())
    return missing
