"""``twin keys``, ``twin forget``, ``twin audit``, ``twin doctor`` and ``twin quarantine``: the twin's data over its
life.

Registered on the main app by :func:`register`. Output is ids, counts and key ids only.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from twin_assets.errors import TwinError
from twin_assets.settings import get_settings

keys_app = typer.Typer(help="Keys: rotation, and new secrets for TWIN_MASTER_KEY.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _dump(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@keys_app.command("rotate")
def keys_rotate(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Re-encrypt everything under a new key, verify it, then retire the old key.

    Covers tier stores (SQLCipher rekey), HIGH rows, vectors, derived data, metadata columns, archives, snapshots.

    Stop `twin serve` and Dagster runs first. If interrupted, run it again: it continues where it stopped.

    With TWIN_MASTER_KEY: set TWIN_PREVIOUS_MASTER_KEY to the current key and TWIN_MASTER_KEY to a new one.
    """
    from twin_assets.home import require_home
    from twin_assets.lifecycle.rotate import rotate_keys

    settings = get_settings()
    require_home(settings)
    report = rotate_keys(settings)
    if as_json:
        _dump(
            {
                "key_id": report.target,
                "resumed": report.resumed,
                "retired": report.retired,
                "reencrypted": report.counts,
                "verified_items": report.verified_items,
            }
        )
        return
    out.print(("resumed rotation" if report.resumed else "rotated") + f" to key {report.target}")
    for phase, n in report.counts.items():
        out.print(f"  {phase}: {n}")
    out.print(f"verified {report.verified_items} item(s) with the new key alone")
    if report.retired:
        out.print(
            "retired "
            + ", ".join(report.retired)
            + (" (you may now unset TWIN_PREVIOUS_MASTER_KEY)" if settings.keys.master_key is not None else "")
        )


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a fresh random master key (base64, 32 bytes) for TWIN_MASTER_KEY; stores nothing."""
    from twin_assets.keys import new_secret

    out.print(new_secret(), markup=False, highlight=False)


def forget(
    record: Annotated[
        str | None, typer.Option("--record", help="A record id: the record and all derived data.")
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            help="An entity id: the entity, its aliases, mentions, edges and relationship data in every "
            "view and graph snapshot, kept out of later rebuilds. The records mentioning it are NOT deleted.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="A source name (email, calendar, a webhook sender, an API source): every record, input, "
            "raw archive, event, cursor and token of it.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was removed as JSON.")] = False,
) -> None:
    """Remove a record, an entity or a source, and everything derived from it, from every store.

    Documents, keyword index, vectors, blind indexes, derived data (affected views are rebuilt), graph snapshots.

    Also lineage, staged copies and the raw archives holding the content (the whole archived export).

    Re-ingesting the same export brings records back; forgotten entities stay forgotten.
    """
    from twin_assets.lifecycle.forget import forget_entity, forget_record, forget_source, report_lines
    from twin_assets.twin import open_twin

    given = [x for x in (record, entity, source) if x]
    if len(given) != 1:
        raise TwinError("give exactly one of --record, --entity, --source", hint="see `twin forget --help`")
    twin = open_twin(get_settings())
    try:
        if record:
            report = forget_record(twin, record)
        elif entity:
            report = forget_entity(twin, entity)
        else:
            report = forget_source(twin, source or "")
    finally:
        twin.close()
    if as_json:
        _dump(report.as_dict())
        return
    out.print(f"forgot {report.what}")
    for line in report_lines(report):
        out.print(f"  {line}", markup=False, highlight=False)


def _print_audit(data: dict[str, Any]) -> None:
    keys = data["keys"]
    out.print(f"keys ({keys['source']}): active {keys['active']}", markup=False)
    for k in keys["keys"]:
        state = f"retired {k['retired']}" if k.get("retired") else "in use"
        out.print(f"  {k['id']}: created {k['created']}, {state}", markup=False)
    if keys.get("rotation_in_progress"):
        out.print(f"  rotation to {keys['rotation_in_progress']['to']} unfinished: run `twin keys rotate`")
    out.print("stores:")
    for st in data["stores"]:
        used = st.get("key_ids") or {}
        flat = _flat_counts(used)
        extra = f", documents {st['documents']}, artifacts {st['artifacts']}" if "documents" in st else ""
        out.print(f"  {st['path']} [{st['tier']}] {st['encryption']}{extra}; keys {flat or '-'}", markup=False)
    out.print("records by source and tier (classifier reasons):")
    for src, tiers in data["records"]["by_source"].items():
        for tier, v in tiers.items():
            reasons = ", ".join(f"{r} {n}" for r, n in list(v["reasons"].items())[:6])
            out.print(f"  {src} {tier}: {v['count']} ({reasons})", markup=False)
    if data.get("vectors"):
        out.print("vectors: " + ", ".join(f"{k} {v}" for k, v in data["vectors"].items()), markup=False)
    for view, kinds in data["derived"].items():
        if kinds:
            out.print(f"derived {view}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), markup=False)
    for view, g in data["graphs"].items():
        if g["versions"]:
            out.print(f"graph {view}: versions {g['versions']}", markup=False)
    raw = data["raw_archives"]
    out.print(f"raw archives: {raw['files']} ({raw['bytes']} bytes)", markup=False)
    out.print(f"quarantine: {data['quarantine']['total']}", markup=False)
    if data["blind_index"]:
        out.print("blind index: " + ", ".join(f"{k} {n}" for k, n in data["blind_index"].items()), markup=False)
    reads = data["high_reads"]
    out.print(
        f"HIGH reads through the API: {reads['count']}"
        + (" (latest: " + ", ".join(r["record_id"] for r in reads["last"]) + ")" if reads["last"] else ""),
        markup=False,
    )


def _flat_counts(used: dict[str, Any]) -> str:
    total: dict[str, int] = {}
    for key, counts in used.items():
        for k, n in counts.items() if isinstance(counts, dict) else [(key, counts)]:
            total[k] = total.get(k, 0) + int(n)
    return ", ".join(f"{k}: {n}" for k, n in sorted(total.items()))


def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    record: Annotated[str | None, typer.Option("--record", help="One record's full lineage instead.")] = None,
    last: Annotated[int, typer.Option("--last", min=0, max=1000, help="How many latest HIGH reads to list.")] = 10,
) -> None:
    """What is stored where, at which tier, under which key id, and why (counts and ids only, no content)."""
    from twin_assets.lifecycle.audit import audit as run_audit
    from twin_assets.lifecycle.audit import audit_record
    from twin_assets.twin import open_twin

    twin = open_twin(get_settings())
    try:
        if record:
            data = audit_record(twin, record)
            if data is None:
                raise TwinError(f"no record {record!r}", hint="`twin search --json` shows record ids")
        else:
            data = run_audit(twin, last=last)
    finally:
        twin.close()
    if as_json or record:
        _dump(data)
    else:
        _print_audit(data)


def doctor(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    release: Annotated[
        list[str] | None,
        typer.Option(
            "--release",
            metavar="RUN_ID",
            help="A run holding the writer slot with no recorded process (started by an older version) that you "
            "know is not running: mark it failed and give its slot back. Repeatable; an id prefix will do.",
        ),
    ] = None,
) -> None:
    """Check this home after a crash or a kill, and repair what is safe.

    Runs whose process is gone (marked failed, their writer slot released), pending inputs and staged records
    (resumed), each store's and the metadata DB's integrity (reported), orphaned files (removed).

    One line per finding, ids and counts only. Exits 1 when something is wrong and was not repaired.
    """
    from twin_assets.home import require_home
    from twin_assets.lifecycle.doctor import doctor as run_doctor
    from twin_assets.twin import open_twin

    settings = get_settings()
    require_home(settings)
    from twin_assets import progress
    from twin_query.progress_view import ProgressView

    twin = open_twin(settings)
    try:
        with ProgressView(not as_json) as view, progress.reporting(view):  # resuming can be a long materialization
            report = run_doctor(twin, dry_run=dry_run, release=release or ())
    finally:
        twin.close()
    if as_json:
        _dump(report.as_dict())
    else:
        for finding in report.findings:
            out.print(finding.line(), markup=False, highlight=False, soft_wrap=True)
    if not report.healthy:
        raise typer.Exit(1)


def quarantine(
    item: Annotated[int | None, typer.Argument(help="With --retry: the quarantine item (its id) to retry.")] = None,
    retry: Annotated[
        bool, typer.Option("--retry", help="Put the item's kept export back through ingest (its whole file).")
    ] = False,
    retry_all: Annotated[bool, typer.Option("--all", help="With --retry: every item whose export is kept.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what could not be used (source, when, where in the file, reason), or retry it once its cause is fixed
    (a raised TWIN_PARSE_* budget, a fixed or new connector). File names are shown to you here, never logged."""
    from rich.markup import escape

    from twin_query.quarantine import list_quarantine
    from twin_query.quarantine import retry as retry_items

    settings = get_settings()
    if not retry:
        if item is not None or retry_all:
            raise TwinError("an item id or --all goes with --retry", hint="twin quarantine --retry ID")
        items = list_quarantine(settings)
        if as_json:
            _dump(items)
            return
        if not items:
            out.print("nothing is quarantined")
        for q in items:
            where = q["file"] or f"{q['source']} sync"
            place = "" if q["location"] == "file" else f" ({q['location']})"
            kept = "" if q["retryable"] else "  [not retryable: no kept export]"
            out.print(
                f"{q['id']:>5}  {q['when'][:19].replace('T', ' ')}  {q['source'] or '?'}  {escape(where)}{place}: "
                f"{escape(q['reason'])}{kept}",
                highlight=False,
                soft_wrap=True,  # one line per item, whatever the width (it is read by people and by grep)
            )
        return
    if (item is None) == (not retry_all):
        raise TwinError("--retry needs one item id or --all", hint="`twin quarantine` lists the ids")
    outcomes = retry_items(settings, [item] if item is not None else None, show_progress=not as_json)
    if as_json:
        _dump(outcomes)
        return
    if not outcomes:
        out.print("nothing to retry")
    for o in outcomes:
        line = f"input {o['input']}: {o['status']}, {o['records']} record(s)"
        if o["source"] is None:
            line = f"input {o['input']}: still no connector claims it"
        out.print(line + "".join(f"; {escape(r)}" for r in o["reasons"]), highlight=False, soft_wrap=True)
    if any(o["status"] != "done" or o["reasons"] for o in outcomes):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command("forget")(forget)
    app.command("audit")(audit)
    app.command("doctor")(doctor)
    app.command("quarantine")(quarantine)
