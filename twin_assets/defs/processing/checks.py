"""Checks over each view's model, as Dagster asset checks (the functions are in twin_assets.pipeline.checks)."""

from collections.abc import Callable

from dagster import AssetCheckExecutionContext, AssetCheckResult, asset_check

from twin_assets.defs.processing.assets import entities, timeline
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.pipeline import checks
from twin_assets.stores import TIERS
from twin_assets.twin import Twin


def _check_views(
    context: AssetCheckExecutionContext, twin: TwinResource, fn: Callable[[Twin, str], checks.CheckOutcome]
) -> AssetCheckResult:
    """The run's view (every built view when the run has no partition): checking all three in each view's run
    read the million-record HIGH view in the LOW run too."""
    views = [context.partition_key] if context.has_partition_key else TIERS
    with twin.open() as t:
        outcomes = {v: fn(t, v) for v in views if t.derived(v).count("resolution")}
    metadata = {f"{v.lower()}_{k}": n for v, o in outcomes.items() for k, n in o.counts.items()}
    return AssetCheckResult(passed=all(o.passed for o in outcomes.values()), metadata=metadata)


@asset_check(
    asset=entities,
    blocking=True,
    description="Nothing in the view derives from a record above its tier (derived data inherits the highest tier "
    "of its evidence). Blocking: when it fails, nothing downstream of entities is built from the view in that run.",
)
@content_safe
def no_evidence_above_view(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.evidence_above_view)


@asset_check(asset=entities, description="Every mention points at a stored record and a stored entity.")
@content_safe
def no_orphan_mentions(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.orphan_mentions)


@asset_check(asset=entities, description="On the demo: no entity merges two different ground-truth people.")
@content_safe
def no_cross_person_merge(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.merges_across_people)


@asset_check(asset=timeline, description="Every dated record is on the timeline.")
@content_safe
def every_dated_record_on_timeline(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.timeline_coverage)
