"""``twin insights``: predictions computed only from records before ``--as-of`` (the CLI runs as the owner)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin_assets.errors import TwinError
from twin_assets.insights.base import KINDS, parse_as_of
from twin_assets.settings import get_settings
from twin_assets.stores import HIGH


def insights(as_of: str | None, kind: str | None, as_json: bool) -> None:
    """Print insights for ``as_of`` (default: the stored ones for now) as a Rich table or JSON."""
    from twin_assets.insights.store import insights_for
    from twin_query.service import QueryService

    try:
        when = parse_as_of(as_of)
    except ValueError:
        raise TwinError("--as-of must be a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if kind is not None and kind not in KINDS:
        raise TwinError(f"unknown --kind; choose from {', '.join(KINDS)}")
    with QueryService(get_settings()) as service:
        stamp, items, source = insights_for(service.twin(), HIGH, when, kind)
    if as_json:
        sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
        return
    out = Console()
    out.print(f"insights as of {stamp.isoformat()} ({source}; only records dated before it were used)")
    if not items:
        out.print("no insights")
        return
    table = Table("kind", "score", "ahead", "subject", "statement / reasoning", "evidence", show_lines=True)
    for i in items:
        ahead = f"{i['horizon_days']} d" if i.get("horizon_days") is not None else ""
        why = "\n".join(f"· {r}" for r in i["reasoning"][:4])
        table.add_row(
            i["kind"],
            f"{i['score']:.2f}",
            ahead,
            escape(i["subject"]),
            f"[bold]{escape(i['statement'])}[/bold]\n{escape(why)}",
            f"{len(i['evidence'])} record(s)\n{escape(i['evidence'][0]) if i['evidence'] else ''}",
        )
    out.print(table)
