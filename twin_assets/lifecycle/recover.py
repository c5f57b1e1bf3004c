"""What an interrupted run left undone, and the Dagster selection that finishes it.

A run can die anywhere: while parsing (its input stays ``pending``, some records staged), while classifying
(records still ``staged``, unsearchable) or later (the stores are full but the views were not rebuilt). Each leaves
a trace the next command reads: pending inputs, staged records, and runs reaped by :mod:`twin_assets.run_reaper`
(tagged ``twin/reaped``) whose assets no later run materialized. Resuming is re-materializing: parsing is
idempotent (records are keyed by content hash), classifying moves only what is still staged, and the assets
downstream rebuild from the stores.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from twin_assets.connectors.registry import connectors
from twin_assets.db.models import Input, RecordRow
from twin_assets.run import use_dagster_home
from twin_assets.run_reaper import StaleRun, find_stale, reap, unresumed
from twin_assets.settings import TwinSettings
from twin_assets.twin import Twin

DOCUMENTS = "documents"  # the asset that classifies staged records into the tier stores


@dataclass
class Leftovers:
    """Work a dead run left: pending inputs by source, staged records, and asset keys of reaped runs."""

    pending_inputs: Counter[str] = field(default_factory=Counter)
    pending_ids: list[str] = field(default_factory=list)
    staged_records: int = 0
    reaped_runs: list[str] = field(default_factory=list)
    reaped_assets: set[str] = field(default_factory=set)

    def keys(self) -> list[str]:
        """The asset keys to materialize (with everything downstream) to finish the work."""
        kinds = set(connectors())
        keys = {f"source_{k}" for k in self.pending_inputs if k in kinds}
        if self.staged_records:
            keys.add(DOCUMENTS)
        return sorted(keys | self.reaped_assets)

    def __bool__(self) -> bool:
        return bool(self.keys())


def reap_dead_runs(settings: TwinSettings, *, dry_run: bool = False) -> list[StaleRun]:
    """Runs whose process is gone (and finished runs still holding a slot); reaped unless ``dry_run``."""
    use_dagster_home(settings)
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        return find_stale(instance) if dry_run else reap(instance)


def leftovers(twin: Twin) -> Leftovers:
    """What interrupted runs left undone in this home (read only; reap first to see the runs just found dead)."""
    use_dagster_home(twin.settings)
    from dagster import DagsterInstance

    found = Leftovers()
    with twin.session() as s:
        for inp_id, source in s.execute(select(Input.id, Input.source).where(Input.status == "pending")):
            found.pending_inputs[source] += 1
            found.pending_ids.append(inp_id)
        found.staged_records = (
            s.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.status == "staged")) or 0
        )
    from twin_assets.definitions import defs

    known = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    with DagsterInstance.get() as instance:
        for run in unresumed(instance):
            assets = {k.to_user_string() for k in (run.asset_selection or ())} & known  # a removed asset: gone
            if assets:
                found.reaped_runs.append(run.run_id)
                found.reaped_assets |= assets
    return found


def selection(keys: list[str]) -> str | None:
    """A Dagster selection of ``keys`` and everything downstream of them."""
    if not keys:
        return None
    return "(" + " or ".join(f"key:{k}" for k in sorted(keys)) + ")+"
