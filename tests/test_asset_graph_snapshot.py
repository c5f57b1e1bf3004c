"""The whole asset graph (assets, deps, groups, partitions, versions, checks, automation) against a committed
snapshot, so a change to what Dagster runs, or in what order, is a visible diff in review.

After an intended change, rewrite the snapshot and commit it with the change:

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest -q tests/test_asset_graph_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
UPDATE = "UPDATE_SNAPSHOTS=1 .venv/bin/pytest -q tests/test_asset_graph_snapshot.py"


def asset_graph_summary() -> dict[str, Any]:
    """What the code location defines, in a stable, reviewable form (code versions as present or not: their
    value is a hash of the model's code and changes with every edit to it)."""
    from twin_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    assets: dict[str, Any] = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        pdef = node.partitions_def
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": list(pdef.get_partition_keys()) if pdef else None,
            "partition_mappings": {
                parent.to_user_string(): repr(mapping) for parent, mapping in sorted(node.partition_mappings.items())
            },
            "code_version": bool(node.code_version),
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
            "freshness_policy": repr(node.freshness_policy) if node.freshness_policy else None,
            "pools": sorted(node.pools or ()),
            "checks": {
                check.name: {"blocking": graph.get_check_spec(check).blocking}
                for check in sorted(node.check_keys, key=lambda c: c.name)
            },
        }
    return {
        "assets": assets,
        "sensors": sorted(s.name for s in defs.sensors or ()),
        "schedules": sorted(s.name for s in defs.schedules or ()),
        "resources": sorted(defs.resources or {}),
    }


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def test_asset_graph_matches_the_snapshot():
    current = _dump(asset_graph_summary())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    stored = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    if current != stored:
        diff = "".join(difflib.unified_diff(stored.splitlines(True), current.splitlines(True), "snapshot", "code"))
        raise AssertionError(
            f"the asset graph differs from {SNAPSHOT.relative_to(Path(__file__).parents[1])}.\n"
            f"If the change is intended, rewrite the snapshot with `{UPDATE}` and commit it.\n{diff}"
        )


def test_the_graph_holds_what_the_pipeline_relies_on():
    """The properties behind the snapshot's lines that other code depends on, stated once more in words."""
    summary = asset_graph_summary()["assets"]
    model = [name for name, a in summary.items() if a["group"] in ("processing", "graph", "insights")]
    assert model and all(summary[name]["code_version"] for name in model), "skipping unchanged views needs them"
    assert summary["entities"]["checks"]["no_evidence_above_view"] == {"blocking": True}
    assert summary["source_api"]["freshness_policy"]
    order = list(summary)
    assert all(order.index(dep) < order.index(name) for name, a in summary.items() for dep in a["deps"])
