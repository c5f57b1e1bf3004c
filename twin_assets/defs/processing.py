"""The model of a life, one partition per tier view (see twin_assets.pipeline.model)."""

from collections.abc import Callable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetDep,
    AssetExecutionContext,
    AutomationCondition,
    MaterializeResult,
    StaticPartitionMapping,
    asset,
    asset_check,
)

from twin_assets.defs.index import documents, embeddings
from twin_assets.defs.partitions import tier_partitions
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.pipeline import checks, freshness, model
from twin_assets.stores import TIERS
from twin_assets.tiers import Tier
from twin_assets.twin import Twin

# A view reads its own tier and every lower one: each tier's partition feeds the views at or above it. The
# mapping is what orders the views' runs (run_plan) and what automation reacts to.
VIEW_READS = StaticPartitionMapping({t.value: [v.value for v in Tier if t.readable_by(v)] for t in Tier})


def run_model_step(
    twin: TwinResource, fn: Callable[[Twin, str], dict[str, int]], view: str, *, own_tier_only: bool = False
) -> MaterializeResult:
    """Build one model asset for a view, unless nothing it reads changed since it was last built."""
    with twin.open() as t:
        inputs = freshness.fingerprint(t, (view,) if own_tier_only else model.view_tiers(view))
        if freshness.is_current(t, view, fn.__name__, inputs):
            model.step_done(t, view, fn.__name__)
            return MaterializeResult(metadata={"unchanged": True})
        counts = fn(t, view)
        freshness.mark_built(t, view, fn.__name__, inputs)
        model.step_done(t, view, fn.__name__)
    return MaterializeResult(metadata={**counts, "unchanged": False})


COMMON = {"partitions_def": tier_partitions, "automation_condition": AutomationCondition.eager(), "pool": "twin_writer"}


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
    return run_model_step(twin, model.build_text, context.partition_key, own_tier_only=True)


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
    return run_model_step(twin, model.build_entities, context.partition_key)


@asset(
    group_name="processing",
    deps=[entities],
    kinds={"python"},
    **COMMON,
    description="VADER sentiment per record and per relationship per month.",
)
@content_safe
def sentiment(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(twin, model.build_sentiment, context.partition_key)


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
    return run_model_step(twin, model.build_timeline, context.partition_key)


@asset(
    group_name="processing",
    deps=[AssetDep(embeddings, partition_mapping=VIEW_READS)],
    kinds={"scikitlearn"},
    **COMMON,
    description="Topics: clusters of record embeddings with c-TF-IDF labels and monthly trends.",
)
@content_safe
def topics(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(twin, model.build_topics, context.partition_key)


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
    return run_model_step(twin, model.build_graph, context.partition_key)


@asset(
    group_name="graph",
    deps=[knowledge_graph],
    kinds={"networkx"},
    **COMMON,
    description="PageRank, approximate betweenness and Louvain communities over the entity graph.",
)
@content_safe
def graph_metrics(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    return run_model_step(twin, model.build_graph_metrics, context.partition_key)


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


@asset_check(asset=entities, description="Every mention points at a stored record and a stored entity.")
def no_orphan_mentions(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.orphan_mentions)


@asset_check(asset=entities, description="On the demo: no entity merges two different ground-truth people.")
def no_cross_person_merge(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.merges_across_people)


@asset_check(asset=timeline, description="Every dated record is on the timeline.")
def every_dated_record_on_timeline(context: AssetCheckExecutionContext, twin: TwinResource) -> AssetCheckResult:
    return _check_views(context, twin, checks.timeline_coverage)


processing_assets = [text, entities, sentiment, timeline, topics, knowledge_graph, graph_metrics]
processing_checks = [no_orphan_mentions, no_cross_person_merge, every_dated_record_on_timeline]
