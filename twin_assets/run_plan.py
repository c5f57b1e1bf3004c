"""The runs that materialize a set of assets, read off the asset graph.

A run executes one partition of assets that share a partitioning, so a selection is cut into runs along the
graph's topological levels wherever the partitioning changes, and a partitioned run is repeated for each
partition in the order the partition mappings demand (a partition after every partition of the same
partitioning it reads). Nothing here names an asset or a tier: the order is Dagster's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING

from dagster import AssetKey, PartitionsDefinition

if TYPE_CHECKING:  # what Definitions.resolve_asset_graph() returns
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph


@dataclass(frozen=True)
class PlannedRun:
    keys: list[AssetKey]
    partition: str | None  # None: the keys are unpartitioned


def plan_runs(
    graph: AssetGraph, keys: Iterable[AssetKey], partitions: Collection[str] | None = None
) -> list[PlannedRun]:
    """The runs that materialize ``keys`` in dependency order; partitioned runs only for ``partitions`` when given."""
    selected = set(keys)
    segments: list[tuple[list[AssetKey], PartitionsDefinition | None]] = []
    for level in graph.toposorted_asset_keys_by_level:
        # Unpartitioned first within a level, so the level joins the run before it when it can.
        for key in sorted(selected & level, key=lambda k: (graph.get(k).is_partitioned, k.to_user_string())):
            pdef = graph.get(key).partitions_def
            if segments and segments[-1][1] == pdef:
                segments[-1][0].append(key)
            else:
                segments.append(([key], pdef))
    runs: list[PlannedRun] = []
    for segment, pdef in segments:
        if pdef is None:
            runs.append(PlannedRun(segment, None))
            continue
        runs += [PlannedRun(segment, p) for p in partition_order(graph, pdef) if partitions is None or p in partitions]
    return runs


def partition_order(graph: AssetGraph, pdef: PartitionsDefinition) -> list[str]:
    """``pdef``'s partitions, each after the partitions it reads across any dependency within ``pdef``."""
    keys = list(pdef.get_partition_keys())
    reads: dict[str, set[str]] = {p: set() for p in keys}
    for node in graph.asset_nodes:
        if node.partitions_def != pdef:
            continue
        for parent in node.parent_keys:
            if graph.get(parent).partitions_def != pdef:
                continue
            for p in keys:
                upstream = graph.get_parent_partition_keys_for_child(p, parent, node.key)
                reads[p] |= set(upstream.partitions_subset.get_partition_keys()) - {p}
    return list(TopologicalSorter(reads).static_order())
