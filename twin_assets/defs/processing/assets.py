"""The model of a life, one partition per tier view (see twin_assets.pipeline.model); its checks are in
:mod:`twin_assets.defs.processing.checks`."""

from collections.abc import Callable
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AutomationCondition,
    DataVersion,
    MaterializeResult,
    StaticPartitionMapping,
    asset,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG  # where MaterializeResult puts its version

from twin_assets.defs.index.assets import documents, embeddings
from twin_assets.defs.partitions import tier_partitions
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.pipeline import freshness, model
from twin_assets.tiers import Tier
from twin_assets.twin import Twin

# A view reads its own tier and every lower one: each tier's partition feeds the views at or above it. The
# mapping is what orders the views' runs (run_plan) and what automation reacts to.
VIEW_READS = StaticPartitionMapping({t.value: [v.value for v in Tier if t.readable_by(v)] for t in Tier})


def run_model_step(
    context: AssetExecutionContext,
    twin: TwinResource,
    fn: Callable[[Twin, str], dict[str, int]],
    *,
    own_tier_only: bool = False,
) -> MaterializeResult:
    """Build one model asset for the run's view, unless the data version it would have (the fingerprint of what
    it reads and of the model's code) is the one its last materialization recorded."""
    view = context.partition_key
    with twin.open() as t:
        version = DataVersion(freshness.fingerprint(t, (view,) if own_tier_only else Tier.parse(view).reads()))
        if _last_data_version(context) == version:
            model.step_done(t, view, fn.__name__)
            return MaterializeResult(metadata={"unchanged": True}, data_version=version)
        counts = fn(t, view)
        model.step_done(t, view, fn.__name__)
    return MaterializeResult(metadata={**counts, "unchanged": False}, data_version=version)


def _last_data_version(context: AssetExecutionContext) -> DataVersion | None:
    """The data version of this asset partition's latest materialization, from Dagster's event log."""
    record = context.instance.get_latest_data_version_record(
        context.asset_key, is_source=False, partition_key=context.partition_key
    )
    value = record.asset_materialization.tags.get(DATA_VERSION_TAG) if record and record.asset_materialization else None
    return DataVersion(value) if value else None


COMMON: dict[str, Any] = {  # keyword arguments of @asset, of several types
    "partitions_def": tier_partitions,
    "automation_condition": AutomationCondition.eager(),
    "pool": "twin_writer",
    # Dagster shows a view stale when the model's code changed since it was built (see pipeline.freshness).
    "code_version": freshness.code_version(),
}


@asset(
    group_name="processing",
    deps=[documents],
    kinds={"python"},
    **COMMON,
    description="Text of each record of this tier: language, quoted replies, signatures and boilerplate as "
    "offset ranges (not copies), and citable passages with their offsets.",
)
@content_safe
def text(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_text, own_tier_only=True)


@asset(
    group_name="processing",
    deps=[documents],
    kinds={"spacy"},
    **COMMON,
    description="People, organisations, places and projects resolved across sources (aliases merged with "
    "evidence), and which records mention them. Partition = tier view: built only from records at or "
    "below that tier.",
)
@content_safe
def entities(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_entities)


@asset(
    group_name="processing",
    deps=[entities],
    kinds={"python"},
    **COMMON,
    description="VADER sentiment per record and per relationship per month.",
)
@content_safe
def sentiment(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_sentiment)


@asset(
    group_name="processing",
    deps=[entities],
    kinds={"python"},
    **COMMON,
    description="Events in UTC with their original zone, recurring series, and life events (trips, job "
    "changes, moves) detected from clusters of evidence.",
)
@content_safe
def timeline(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_timeline)


@asset(
    group_name="processing",
    deps=[sentiment, timeline],
    kinds={"python"},
    **COMMON,
    description="Who each person is to the owner (partner, family, manager, colleague at an organisation, "
    "friend, service) with the evidence that says so, every real contact with its tone (nothing scheduled), and "
    "the owner's employers with date ranges.",
)
@content_safe
def relations(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_relations)


@asset(
    group_name="processing",
    deps=[AssetDep(embeddings, partition_mapping=VIEW_READS)],
    kinds={"scikitlearn"},
    **COMMON,
    description="Topics: clusters of record embeddings with c-TF-IDF labels and monthly trends.",
)
@content_safe
def topics(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_topics)


@asset(
    group_name="graph",
    deps=[entities],
    kinds={"networkx"},
    **COMMON,
    description="Knowledge graph of entities and records (tier on every node and edge, weights over time), "
    "saved as a versioned, encrypted snapshot.",
)
@content_safe
def knowledge_graph(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_graph)


@asset(
    group_name="graph",
    deps=[knowledge_graph],
    kinds={"networkx"},
    **COMMON,
    description="PageRank, approximate betweenness and Louvain communities over the entity graph.",
)
@content_safe
def graph_metrics(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(context, twin, model.build_graph_metrics)
