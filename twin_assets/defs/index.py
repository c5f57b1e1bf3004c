"""The normalised documents table (tier-routed) and the vector index over it."""

from __future__ import annotations

from dagster import MaterializeResult, asset

from twin_assets.connectors.registry import connectors
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.defs.sources import source_asset_key
from twin_assets.pipeline.documents import build_documents
from twin_assets.pipeline.embeddings import embed_pending
from twin_assets.progress import reporter
from twin_assets.stores import TIERS


@asset(
    group_name="index",
    deps=[*(source_asset_key(k) for k in sorted(connectors())), source_asset_key("webhooks")],
    description="Staged records classified HIGH/MEDIUM/LOW and routed to their tier's store "
    "(LOW plain SQLite, MEDIUM SQLCipher, HIGH SQLCipher + per-record Fernet), with a keyword index.",
    kinds={"sqlite"},
    pool="twin_writer",
)
@content_safe
def documents(twin: TwinResource) -> MaterializeResult:
    t = twin.open()
    try:
        counts = build_documents(t, progress=reporter("classifying"))
        totals = {f"total_{tier.lower()}": t.store(tier).count() for tier in TIERS}
    finally:
        t.close()
    return MaterializeResult(metadata={**{f"new_{k.lower()}": v for k, v in counts.items()}, **totals})


@asset(
    group_name="index",
    deps=[documents],
    description="Embeddings of new documents: LOW and MEDIUM in Chroma (one collection per tier; "
    "MEDIUM without text), HIGH encrypted in its store.",
    kinds={"chromadb"},
    pool="twin_writer",
)
@content_safe
def embeddings(twin: TwinResource) -> MaterializeResult:
    t = twin.open()
    try:
        counts = embed_pending(t, progress=reporter("embedding"))
    finally:
        t.close()
    return MaterializeResult(metadata={f"embedded_{k.lower()}": v for k, v in counts.items()})
