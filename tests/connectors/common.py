"""What every connector test does with parse output."""

from __future__ import annotations

import json
from collections.abc import Iterable

from twin_assets.records import ParseIssue, Record


def split(items: Iterable[Record | ParseIssue]) -> tuple[list[Record], list[ParseIssue]]:
    """Records and issues apart; nothing else may come out, and attributes must be JSON-serialisable."""
    out = list(items)
    records = [o for o in out if isinstance(o, Record)]
    issues = [o for o in out if isinstance(o, ParseIssue)]
    assert len(records) + len(issues) == len(out)
    for record in records:
        json.dumps(record.to_json())
    return records, issues
