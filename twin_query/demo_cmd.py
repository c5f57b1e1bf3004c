"""``twin demo``: generate the persona's exports, ingest, materialize, then serve UI and API."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from rich.console import Console

from twin_assets.errors import TwinError
from twin_assets.settings import TwinSettings, child_env
from twin_assets.tiers import Scope
from twin_query.setup import init_home

console = Console()

# Export paths the generator writes, relative to its output folder.
EXPORTS = (
    "mail/mailbox.mbox",
    "calendar/calendar.ics",
    "contacts/contacts.vcf",
    "notes",
    "finance/statement.csv",
    "finance/statement.ofx",
    "chat/slack",
    "chat/whatsapp.txt",
)


def generate_and_ingest(
    settings: TwinSettings, *, seed: int, people: int, years: int, out_dir: Path, end: date | None = None
) -> dict:
    """Generate the persona's exports (their data ending on ``end``; the generator's fixed default when None, so
    benchmarks are reproducible), ingest and materialize them."""
    from twin_assets.demo import generate
    from twin_assets.run import materialize, unmaterialized
    from twin_query.ingest import ingest_paths

    report = init_home(settings)
    if report.token:
        console.print(f"API token (shown once, scopes low,medium,high): [bold]{report.token}[/bold]")
    t0 = time.monotonic()
    if end is None:
        summary = generate(out_dir, seed=seed, people=people, years=years)
    else:
        summary = generate(out_dir, seed=seed, people=people, years=years, end=end)
    console.print(f"wrote {summary['records']} demo records to {out_dir} in {time.monotonic() - t0:.1f}s")
    _keep_truth_encrypted(settings, out_dir)
    paths = [out_dir / p for p in EXPORTS if (out_dir / p).exists()]
    t0 = time.monotonic()
    result = ingest_paths(settings, paths, source=None, dry_run=False)
    # Everything else too, so the UI shows the whole graph materialized; a repeat demo with
    # nothing new skips this (ingest already ran whatever the new records affect).
    if result["records"] or unmaterialized(settings):
        from twin_assets import progress
        from twin_query.progress_view import ProgressView

        with ProgressView() as view, progress.reporting(view):
            outcome = materialize(settings, None)
        if not outcome.success:
            raise TwinError("materialization failed: " + "; ".join(outcome.failures))
    console.print(
        f"ingested {result['records']} records from {result['files']} exports and materialized all assets "
        f"in {time.monotonic() - t0:.1f}s ({len(result['quarantined'])} quarantined)"
    )
    return result


def _keep_truth_encrypted(settings: TwinSettings, out_dir: Path) -> None:
    """The asset checks compare against the demo's ground truth; it holds canaries, so only encrypted."""
    import json

    from twin_assets.pipeline.checks import save_demo_truth
    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    try:
        save_demo_truth(twin, json.loads((out_dir / "ground_truth.json").read_text()))
    finally:
        twin.close()


def _stop_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    # The webserver and daemon can outlive `dagster dev` itself; the group reaches them.
    time.sleep(1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def run_demo(settings: TwinSettings, *, seed: int, people: int, years: int, out_dir: Path, serve: bool) -> None:
    # The demo's life reaches today, so "what's coming up next week?" needs no --as-of: everything up to today
    # has happened and the calendar's recurring series and planned trips run on into the weeks ahead.
    generate_and_ingest(settings, seed=seed, people=people, years=years, out_dir=out_dir, end=datetime.now(UTC).date())
    if not serve:
        return
    import uvicorn

    from twin_assets.run import use_dagster_home
    from twin_assets.stores.chroma_client import hold_server
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    use_dagster_home(settings)
    token = create_token(open_twin(settings), list(Scope))
    with hold_server(settings) as chroma_url:
        env = child_env(
            TWIN_HOME=str(settings.home_path), TWIN_CHROMA_URL=chroma_url, DAGSTER_HOME=str(settings.dagster_home)
        )
        # Its own process group: `dagster dev` starts a webserver, a daemon and code servers,
        # and all of them must go when the demo stops, however it is stopped.
        dagster = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster")),
                "dev",
                "-m",
                "twin_assets.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                "3000",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below on `kill` too
        try:
            ui_up = _wait("http://127.0.0.1:3000/server_info", 120)
            console.print(f"Dagster UI: http://127.0.0.1:3000{'' if ui_up else ' (still starting)'}")
            console.print("API:        http://127.0.0.1:8000  (docs at /docs)")
            console.print(f"Read token: [bold]{token}[/bold]")
            console.print(f'Try: curl -H "Authorization: Bearer {token}" "http://127.0.0.1:8000/v1/search?q=rent"')
            uvicorn.run(create_app(settings), host="127.0.0.1", port=8000, access_log=False, log_level="warning")
        finally:
            _stop_group(dagster)
