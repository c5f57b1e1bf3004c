"""Predictive insights, one partition per tier view (see twin_assets.insights)."""

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, asset

from twin_assets.defs.partitions import tier_partitions
from twin_assets.defs.processing.assets import entities, run_model_step, sentiment
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.insights.store import build_insights
from twin_assets.pipeline import freshness


@asset(
    group_name="insights",
    deps=[entities, sentiment],
    partitions_def=tier_partitions,
    automation_condition=AutomationCondition.eager(),
    code_version=freshness.code_version(),
    pool="twin_writer",
    kinds={"scikitlearn"},
    description="Predictions that explain themselves: next contacts (7/30 days), relationship health, upcoming "
    "commitments, spending forecast and anomalies, rising/declining topics, communication anomalies. Each has a "
    "calibrated score, reasoning and evidence ids, computed only from records before 'now' (the day after the "
    "latest observed record). Partition = tier view: built only from records at or below that tier. Stored as "
    "derived artifacts of kind 'insight'.",
)
@content_safe
def insights(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, build_insights)
