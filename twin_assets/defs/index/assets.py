"""The normalised documents table (tier-routed) and the vector index over it."""

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, asset

from twin_assets.connectors.registry import connectors
from twin_assets.defs.partitions import tier_partitions
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.defs.sources.assets import source_asset_key
from twin_assets.pipeline.documents import build_documents, staged_count
from twin_assets.pipeline.embeddings import embed_pending
from twin_assets.progress import reporter
from twin_assets.stores import TIERS


@asset(
    group_name="index",
    deps=[*(source_asset_key(k) for k in sorted(connectors())), source_asset_key("webhooks"), source_asset_key("api")],
    description="Staged records classified HIGH/MEDIUM/LOW and routed to their tier's store "
    "(LOW plain SQLite, MEDIUM SQLCipher, HIGH SQLCipher + per-record AES-GCM), with a keyword index.",
    kinds={"sqlite"},
    pool="twin_writer",
)
@content_safe
def documents(twin: TwinResource) -> MaterializeResult:
    with twin.open() as t:
        counts = build_documents(t, progress=reporter("classifying", total=staged_count(t)))
        totals = {f"total_{tier.lower()}": t.store(tier).count() for tier in TIERS}
    return MaterializeResult(metadata={**{f"new_{k.lower()}": v for k, v in counts.items()}, **totals})


@asset(
    group_name="index",
    deps=[documents],
    partitions_def=tier_partitions,
    automation_condition=AutomationCondition.eager(),
    description="Embeddings of new documents, one partition per tier: LOW and MEDIUM in Chroma (one "
    "collection each; MEDIUM without text or metadata), HIGH encrypted in the HIGH store.",
    kinds={"chromadb"},
    pool="twin_writer",
)
@content_safe
def embeddings(context: AssetExecutionContext, twin: TwinResource) -> MaterializeResult:
    tier = context.partition_key
    with twin.open() as t:
        pending = t.store(tier).pending_embedding_count()
        counts = embed_pending(t, tiers=(tier,), progress=reporter(f"embedding {tier}", total=pending))
        total = t.store(tier).count() - t.store(tier).pending_embedding_count()
    return MaterializeResult(metadata={"embedded_new": counts[tier], "embedded_total": total})
