"""The ``twin`` command line. Errors print one line and exit non-zero; ``--json`` for scripts."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin_assets.errors import TwinError, storage_error
from twin_assets.settings import default_env, get_settings
from twin_assets.tiers import Scope

app = typer.Typer(
    help="Digital Twin: a private, queryable model of your life built from your own exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
webhooks_app = typer.Typer(help="Webhook senders and their secrets.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
out = Console()
err = Console(stderr=True)


@app.callback()
def _check_settings() -> None:
    # Every command starts by reading the settings, so a bad TWIN_* value stops it here as one line.
    get_settings()


def _dump(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# ---- init -----------------------------------------------------------------------
@app.command()
def init(
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help="Protect the keys with a passphrase (asked for here, or TWIN_PASSPHRASE); "
            "later commands read TWIN_PASSPHRASE or ask.",
        ),
    ] = False,
) -> None:
    """Create TWIN_HOME, keys, dagster.yaml and a first API token (printed once)."""
    from twin_assets.keys import using_passphrase
    from twin_query.setup import init_home

    with contextlib.ExitStack() as scope:
        if passphrase:
            from_env = get_settings().keys.passphrase
            given = (from_env.get_secret_value() if from_env else None) or typer.prompt(
                "passphrase", hide_input=True, confirmation_prompt=True
            )
            scope.enter_context(using_passphrase(given))
        report = init_home(get_settings())
    for line in report.created:
        out.print(f"created {line}")
    if not report.created:
        out.print(f"twin home {get_settings().home_path} is already initialised; nothing changed")
    if report.token:
        out.print(f"API token (shown once, scopes low,medium,high): [bold]{report.token}[/bold]")


# ---- ingest / materialize ----------------------------------------------------------
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.", show_default=False)],
    source: Annotated[str | None, typer.Option(help="Connector kind; default: detect by content.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Parse only; store nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Detect each file's kind, stage it for its connector and materialize what it affects."""
    from twin_query.ingest import ingest_paths

    summary = ingest_paths(get_settings(), paths, source=source, dry_run=dry_run, show_progress=not as_json)
    if as_json:
        _dump(summary)
    else:
        out.print(
            f"{summary['files']} file(s), {summary['records']} record(s) "
            f"{'parsed' if dry_run else 'ingested'}: "
            + (", ".join(f"{k} {v}" for k, v in summary["by_source"].items()) or "none")
        )
        for q in summary["quarantined"]:
            err.print(f"quarantined {q['path']}: {q['error']}")
        resumed = summary["resumed"]
        if any(resumed.values()):
            out.print(
                f"resumed what interrupted runs left: {resumed['inputs']} input(s), "
                f"{resumed['staged_records']} staged record(s), {resumed['runs']} run(s)"
            )
        if deferred := summary["deferred"]["inputs"]:
            out.print(
                f"deferred {deferred} input(s): the sync's batch budget was spent (TWIN_SYNC_MAX_BATCH_SECONDS, "
                "TWIN_SYNC_MAX_BATCH_RECORDS); they stay pending, and `twin ingest` again, the inbox sensor or "
                "`twin doctor` resumes them"
            )
    if summary["files"] and not summary["records"] and summary["quarantined"]:
        raise typer.Exit(1)


@app.command()
def materialize(
    select: Annotated[str | None, typer.Option(help="Dagster asset selection (default: all).")] = None,
) -> None:
    """Materialize assets in-process; the Dagster UI shows the run."""
    from twin_assets.run import materialize as run

    settings = get_settings()
    from twin_assets import progress
    from twin_assets.home import require_home
    from twin_query.progress_view import ProgressView

    require_home(settings)
    with ProgressView() as view, progress.reporting(view):
        outcome = run(settings, select)
    for key in outcome.materialized:
        out.print(f"materialized {key}")
    for c in outcome.checks:
        out.print(f"check {c}")
    for f in outcome.failures:
        err.print(f"failed {f}")
    if not outcome.success or any(c.endswith("FAILED") for c in outcome.checks):
        raise typer.Exit(1)


# ---- query ------------------------------------------------------------------------------
@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hybrid keyword + vector search over everything (the CLI runs as the owner)."""
    from twin_query.service import QueryService

    with QueryService(get_settings()) as service:
        hits = service.search(query, k=k)
    if as_json:
        _dump([{**h.__dict__, "timestamp": h.timestamp.isoformat() if h.timestamp else None} for h in hits])
        return
    table = Table("id", "source", "tier", "when", "title / snippet")
    for h in hits:
        when = h.timestamp.strftime("%Y-%m-%d") if h.timestamp else ""
        snippet = h.snippet if len(h.snippet) <= 160 else h.snippet[:159] + "…"
        table.add_row(h.id, h.source, h.tier, when, f"[bold]{escape(h.title)}[/bold]\n{escape(snippet)}")
    out.print(table if hits else "no hits")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question in plain language, e.g. 'how do I know Anna?'.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Answer as if now were this date (YYYY-MM-DD) or ISO date-time; relative dates count from it.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Items retrieved per step.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Intent → retrieval → reasoning: an answer in steps, each citing the records it rests on."""
    from datetime import datetime

    from twin_query.ask import ask as run_ask
    from twin_query.service import QueryService

    if not question.strip() or len(question) > 2000:
        raise TwinError("the question must be 1 to 2000 characters", hint="e.g. twin ask 'who will I meet next week?'")
    when = None
    if as_of:
        try:
            when = datetime.fromisoformat(as_of)
        except ValueError:
            raise TwinError("--as-of is not a date", hint="use YYYY-MM-DD or an ISO 8601 date-time") from None
    with QueryService(get_settings()) as service:
        result = run_ask(service, question, as_of=when, k=k)
    if as_json:
        _dump(result)
        return
    out.print(f"[bold]{escape(result['answer'])}[/bold]")
    out.print(
        f"[dim]intent: {result['intent']} · confidence {result['confidence']:.2f}"
        f"{' (refused)' if result['refused'] else ''} · as of {result['as_of']}[/dim]"
    )
    for step in result["reasoning"]:
        cites = (
            f" [dim]{', '.join(step['evidence'][:6])}{' …' if len(step['evidence']) > 6 else ''}[/dim]"
            if step["evidence"]
            else ""
        )
        out.print(f"  {step['step']}. {escape(step['text'])}{cites}")
    if result["evidence"]:
        table = Table("id", "source", "tier", "when", "title / snippet")
        for e in result["evidence"]:
            snippet = e["snippet"] if len(e["snippet"]) <= 160 else e["snippet"][:159] + "…"
            table.add_row(
                e["id"],
                e["source"],
                e["tier"],
                (e["timestamp"] or "")[:10],
                f"[bold]{escape(e['title'])}[/bold]\n{escape(snippet)}",
            )
        out.print(table)


@app.command("insights")
def insights_cmd(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Cut-off date (YYYY-MM-DD) or ISO date-time; only records before it are used. "
            "Default: the stored 'now'.",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="One kind: next_contacts, relationship_health, upcoming_commitments, "
            "spending, topics, communication_anomalies."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predictions with calibrated scores, reasoning and evidence, from records before --as-of."""
    from twin_query.cli_insights import insights

    insights(as_of, kind, as_json)


# ---- serve / demo ---------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
) -> None:
    """Run the REST + WebSocket API."""
    from twin_query.serve import serve_api

    serve_api(get_settings(), host, port)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same exports.")] = 7,
    people: Annotated[int, typer.Option(help="People in the persona's life (at least 12: the planted cast).")] = 40,
    years: Annotated[int, typer.Option(min=1, help="Years of history.")] = 3,
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the exports.")] = Path("demo_data"),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after materializing.")] = False,
) -> None:
    """Write the demo persona's exports, ingest and materialize them, then serve the UI and API."""
    from twin_assets.demo.world import MIN_PEOPLE
    from twin_query.demo_cmd import run_demo

    if people < MIN_PEOPLE:  # checked here, before any file is written, not as a traceback from the generator
        raise typer.BadParameter(
            f"{people} is too few: the demo's planted cast needs at least {MIN_PEOPLE}", param_hint="--people"
        )

    run_demo(get_settings(), seed=seed, people=people, years=years, out_dir=out_dir, serve=not no_serve)


@tokens_app.command("create")
def tokens_create(
    scopes: Annotated[str, typer.Option(help="Comma-separated: low,medium,high.")] = Scope.LOW.value,
    expires: Annotated[
        str | None,
        typer.Option(help="When it stops working: a span (12h, 30d, 2w) or a date (2027-01-01, UTC). Default: never."),
    ] = None,
) -> None:
    """Create an API token and print it once."""
    from twin_assets.twin import open_twin
    from twin_query.tokens import create_token, parse_expiry, parse_scopes

    parsed = parse_scopes(scopes)
    expires_at = parse_expiry(expires) if expires else None
    token = create_token(open_twin(get_settings()), parsed, expires_at)
    out.print(token)
    if expires_at is not None:
        err.print(f"expires {expires_at.isoformat(timespec='seconds')}")


@tokens_app.command("list")
def tokens_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List API tokens: id, scopes, created, expires, revoked (never the token)."""
    from datetime import UTC, datetime

    from twin_assets.twin import open_twin
    from twin_query.tokens import list_tokens

    tokens = list_tokens(open_twin(get_settings()))
    if as_json:
        _dump([t.as_dict() for t in tokens])
        return
    now = datetime.now(UTC)
    out.print(f"{'id':16}  {'scopes':18}  {'created':20}  {'expires':20}  state")
    for t in tokens:
        expires = t.expires.strftime("%Y-%m-%d %H:%M UTC") if t.expires else "never"
        state = "revoked" if t.revoked else "expired" if t.expires and t.expires <= now else "active"
        created = t.created.strftime("%Y-%m-%d %H:%M UTC")
        out.print(f"{t.id:16}  {','.join(t.scopes):18}  {created:20}  {expires:20}  {state}", highlight=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Option(prompt=True, hide_input=True, help="The token to revoke (asked if not given).")],
) -> None:
    """Revoke an API token: REST refuses it at once, an open WebSocket on its next message or push (code 4401)."""
    from twin_assets.twin import open_twin
    from twin_query.tokens import revoke_token

    if not revoke_token(open_twin(get_settings()), token.strip()):
        raise TwinError("no such token", hint="pass the token `twin tokens create` printed")
    out.print("revoked")


@webhooks_app.command("create")
def webhooks_create(name: Annotated[str, typer.Argument(help="Sender name, used in the URL.")]) -> None:
    """Register a webhook sender; prints its URL path and secret (shown once)."""
    from twin_assets.pipeline.webhooks import create_webhook_source
    from twin_assets.twin import open_twin

    secret = create_webhook_source(open_twin(get_settings()), name)
    out.print(f"POST /v1/webhooks/{name}")
    out.print(f"secret (shown once): {secret}")


from twin_query.cli_admin import register as _register_admin  # noqa: E402 - `twin keys`, `forget`, `audit`

_register_admin(app)


def main() -> None:
    default_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        app()
    except TwinError as exc:
        sys.stderr.write(f"error: {exc}\n")  # one unwrapped line, whatever the terminal width
        sys.exit(exc.exit_code)
    except Exception as exc:
        storage = storage_error(exc)  # a full disk, an unwritable home or a locked database: one line, not a traceback
        if storage is None:
            raise
        sys.stderr.write(f"error: {storage}\n")
        sys.exit(storage.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
