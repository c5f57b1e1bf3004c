"""What starts the sources: the inbox folder and waiting webhook events start runs for the sources that received
new data; a schedule pulls the REST API sources.

Cursors and run keys are opaque (hashes of input ids), never file names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from twin_assets.connectors.registry import connectors
from twin_assets.defs.sources.assets import source_asset_key
from twin_assets.errors import TwinError
from twin_assets.pipeline.inbox import InboxScan, scan_inbox
from twin_assets.pipeline.sync import deferred_inputs
from twin_assets.twin import Twin, open_twin

# Sensor runs cover the unpartitioned steps; the automation sensor then runs each
# tier's partitioned assets once `documents` has been updated.
DOWNSTREAM = ("documents",)
SENSOR_TARGET = AssetSelection.groups("sources") | AssetSelection.assets(*DOWNSTREAM)
T = TypeVar("T")


def _with_twin(fn: Callable[[Twin], T]) -> T | SkipReason:
    """Run ``fn`` on the home; a home that is not set up yet is a skipped tick, not a failed one."""
    try:
        twin = open_twin()
    except TwinError as exc:
        return SkipReason(f"twin home not ready: {exc.message}")
    with twin:
        return fn(twin)


def _scan_and_deferred(twin: Twin) -> tuple[InboxScan, dict[str, list[str]]]:
    """New drops, and the inputs of installed connectors a sync deferred (its batch budget was spent)."""
    installed = connectors()
    deferred = {kind: ids for kind, ids in deferred_inputs(twin).items() if kind in installed}
    return scan_inbox(twin, budget_seconds=30.0), deferred


@sensor(
    name="inbox_sensor",
    description="Registers exports dropped into TWIN_HOME/inbox and materializes the sources they feed; "
    "resumes inputs a sync deferred when its batch budget was spent.",
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=SENSOR_TARGET,
)
def inbox_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    try:
        found = _with_twin(_scan_and_deferred)
    except Exception as exc:  # Dagster keeps a failed tick's stack trace, which may name files: only the type
        return SkipReason(f"inbox scan failed: {type(exc).__name__}")
    if isinstance(found, SkipReason):
        return found
    scan, deferred = found
    failed = f"; entries that failed: {len(scan.failed)} ({', '.join(sorted(set(scan.failed)))})" if scan.failed else ""
    if not scan.registered and not deferred:
        return SkipReason(
            f"nothing new (duplicates removed: {scan.duplicates}, quarantined: {scan.quarantined}, "
            f"still being written: {scan.waiting}){failed}"
        )
    # The run key is the set of inputs it is for: a deferred set still waiting for its run is not asked twice,
    # and what a resumed sync defers again (fewer inputs) is a new set.
    ids = sorted(scan.registered + [i for ids in deferred.values() for i in ids])
    key = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
    kinds = scan.kinds | set(deferred)
    selection = [AssetKey(source_asset_key(k)) for k in sorted(kinds)] + [AssetKey(d) for d in DOWNSTREAM]
    return SensorResult(run_requests=[RunRequest(run_key=key, asset_selection=selection)], cursor=key)


@sensor(
    name="webhook_sensor",
    description="Starts a run when webhook events are waiting (they are already stored, encrypted).",
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=SENSOR_TARGET,
)
def webhook_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    from twin_assets.pipeline.webhooks import pending_webhooks

    pending = _with_twin(pending_webhooks)
    if isinstance(pending, SkipReason):
        return pending
    if not pending.events:
        return SkipReason("no webhook events waiting")
    selection = [AssetKey(source_asset_key("webhooks"))] + [AssetKey(d) for d in DOWNSTREAM]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"wh-{pending.newest}", asset_selection=selection)], cursor=pending.newest
    )


api_schedule = ScheduleDefinition(
    name="api_sync_schedule",
    target=AssetSelection.assets(source_asset_key("api"), *DOWNSTREAM),
    cron_schedule="17 * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Pulls REST API sources hourly (a no-op when none are configured).",
)
