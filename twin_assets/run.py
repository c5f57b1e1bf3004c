"""Materialize assets in this process, recorded in the home's Dagster instance.

Used by ``twin materialize``, ``twin ingest`` and ``twin demo`` so the Dagster UI
shows what the CLI did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from twin_assets.errors import TwinError
from twin_assets.home import write_dagster_yaml
from twin_assets.settings import TwinSettings


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    materialized: list[str]
    failures: list[str]  # "asset: content-free description"


def use_dagster_home(settings: TwinSettings) -> None:
    """Point Dagster at the twin's instance (unless the user set DAGSTER_HOME)."""
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    write_dagster_yaml(settings)


def materialize(settings: TwinSettings, selection: str | None = None) -> RunOutcome:
    use_dagster_home(settings)
    from dagster import AssetSelection, DagsterInstance

    from twin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = None
    if selection:
        try:
            keys = list(AssetSelection.from_string(selection).resolve(graph))
        except Exception as exc:
            raise TwinError(f"invalid asset selection: {type(exc).__name__}: {exc}",
                            hint="e.g. --select 'group:sources' or --select 'key:documents'") from None
        if not keys:
            raise TwinError("the selection matches no asset", hint="see the asset names in the Dagster UI")
    job = defs.resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False)
        materialized = sorted(
            e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization and e.asset_key
        )
        failures = []
        for e in result.all_events:
            if e.is_step_failure:
                err = e.step_failure_data.error
                desc = e.step_failure_data.user_failure_data.description if e.step_failure_data.user_failure_data \
                    else (err.message.strip().splitlines()[-1] if err else "failed")
                failures.append(f"{e.step_key}: {desc}")
        return RunOutcome(result.success, result.run_id, materialized, failures)
