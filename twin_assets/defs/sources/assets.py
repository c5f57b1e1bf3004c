"""One asset per installed connector (group ``sources``): parse pending inputs, stage encrypted."""

from __future__ import annotations

from datetime import timedelta

from dagster import AssetsDefinition, FreshnessPolicy, MaterializeResult, asset

from twin_assets.connectors.registry import connectors
from twin_assets.defs.resources import TwinResource, content_safe
from twin_assets.pipeline.sync import pending_inputs, sync_source
from twin_assets.progress import reporter

SOURCE_PREFIX = "source_"


def source_asset_key(kind: str) -> str:
    return f"{SOURCE_PREFIX}{kind}"


def build_source_asset(kind: str, description: str) -> AssetsDefinition:
    @asset(
        name=source_asset_key(kind),
        group_name="sources",
        description=f"{description} Parses new inputs of this kind and stages their records, encrypted.",
        kinds={"python"},
        pool="twin_writer",
    )
    @content_safe
    def _source(twin: TwinResource) -> MaterializeResult:
        with twin.open() as t:
            # Records are counted as they come (an export says how many only once parsed); inputs have a total.
            files = reporter(f"importing {kind} files", total=len(pending_inputs(t, kind)))
            result = sync_source(t, kind, progress=reporter(f"importing {kind}"), inputs_done=files)
        return MaterializeResult(metadata=result.counts())

    return _source


file_source_assets = [build_source_asset(kind, c.description) for kind, c in sorted(connectors().items())]


@asset(
    name=source_asset_key("webhooks"),
    group_name="sources",
    description="Webhook events accepted by POST /v1/webhooks/{source} (stored encrypted before the 202), "
    "turned into records.",
    kinds={"python"},
    pool="twin_writer",
)
@content_safe
def webhooks_source(twin: TwinResource) -> MaterializeResult:
    from twin_assets.pipeline.webhooks import process_webhooks

    with twin.open() as t:
        result = process_webhooks(t)
    return MaterializeResult(metadata=result.counts())


@asset(
    name=source_asset_key("api"),
    group_name="sources",
    description="REST API sources configured in TWIN_HOME/api_sources.yaml, pulled incrementally "
    "(cursor with look-back; OAuth2 tokens kept encrypted).",
    kinds={"python"},
    pool="twin_writer",
    # Pulled hourly by api_sync_schedule: two missed pulls warn, three fail, so the UI shows when the daemon (or
    # its schedule) stopped. File sources have no such cadence (they arrive when the user drops an export).
    freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
)
@content_safe
def api_source(twin: TwinResource) -> MaterializeResult:
    from twin_assets.pipeline.api_sync import sync_all_api_sources

    with twin.open() as t:
        results = sync_all_api_sources(t)
    return MaterializeResult(
        metadata={
            "sources": len(results),
            "records_new": sum(r.records_new for r in results),
            "records_seen": sum(r.records_seen for r in results),
            "quarantined": sum(r.quarantined for r in results),
        }
    )
