"""`twin materialize` takes its runs and their order from the asset graph (twin_assets.run_plan)."""

from __future__ import annotations

from dagster import (
    AssetDep,
    AssetSelection,
    Definitions,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    asset,
)

from twin_assets.run_plan import plan_runs


def _names(runs) -> list[tuple[str | None, list[str]]]:
    return [(r.partition, [k.to_user_string() for k in r.keys]) for r in runs]


def test_the_twin_graph_runs_unpartitioned_steps_first_then_each_view_after_the_views_it_reads():
    from twin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    runs = plan_runs(graph, graph.get_all_asset_keys())
    assert [r.partition for r in runs] == [None, "LOW", "MEDIUM", "HIGH"]
    assert {"documents", "source_email"} <= {k.to_user_string() for k in runs[0].keys}
    assert len({tuple(r.keys) for r in runs[1:]}) == 1, "every view runs the same steps"
    order = [k.to_user_string() for k in runs[1].keys]
    assert order.index("embeddings") < order.index("topics") and order.index("entities") < order.index("insights")

    model = AssetSelection.assets("documents").downstream(include_self=False)
    assert [r.partition for r in plan_runs(graph, model.resolve(graph), {"HIGH", "MEDIUM"})] == ["MEDIUM", "HIGH"]


def test_runs_follow_the_graph_not_a_fixed_plan():
    """An unpartitioned asset downstream of partitioned ones gets a run after them, and partitions run in the
    order their mapping demands, whatever the partitions definition lists first."""
    parts = StaticPartitionsDefinition(["c", "b", "a"])
    reads_lower = StaticPartitionMapping({"a": ["a", "b", "c"], "b": ["b", "c"], "c": "c"})

    @asset
    def raw() -> None: ...

    @asset(deps=[raw], partitions_def=parts)
    def split() -> None: ...

    @asset(deps=[AssetDep(split, partition_mapping=reads_lower)], partitions_def=parts)
    def combined() -> None: ...

    @asset(deps=[combined])
    def report() -> None: ...

    graph = Definitions(assets=[raw, split, combined, report]).resolve_asset_graph()
    assert _names(plan_runs(graph, graph.get_all_asset_keys())) == [
        (None, ["raw"]),
        ("a", ["split", "combined"]),
        ("b", ["split", "combined"]),
        ("c", ["split", "combined"]),
        (None, ["report"]),
    ]
    assert _names(plan_runs(graph, [combined.key], {"b"})) == [("b", ["combined"])]
