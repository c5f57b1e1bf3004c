"""``twin ingest``: detect, register and materialize; or just parse with ``--dry-run``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from twin_assets.connectors.registry import detect_each, get_connector
from twin_assets.connectors.toolkit import shown_path
from twin_assets.errors import TwinError
from twin_assets.records import ParseIssue
from twin_assets.settings import TwinSettings
from twin_query.progress_view import ProgressView


def ingest_paths(
    settings: TwinSettings, paths: list[Path], *, source: str | None, dry_run: bool, show_progress: bool = True
) -> dict[str, Any]:
    """Returns ``{"files", "records", "by_source", "quarantined": [{"path", "error"}], "resumed"}``."""
    forced = get_connector(source) if source else None
    plan: list[tuple[Path, Any]] = []
    quarantined: list[dict[str, str]] = []
    for path in paths:
        if not path.exists():
            quarantined.append({"path": shown_path(path), "error": "no such file or folder"})
            continue
        # A folder no connector claims whole (a Takeout-style download) is walked: each export in it on its own.
        for part, connector in [(path, forced)] if forced else detect_each(path):
            if connector is None:
                quarantined.append(
                    {
                        "path": shown_path(part),
                        "error": "unrecognised format: no connector claims it (try --source KIND)",
                    }
                )
                continue
            plan.append((part, connector))
    by_source: Counter[str] = Counter()
    if dry_run:
        with ProgressView(show_progress) as view:
            for path, connector in plan:
                for item in connector.parse(path):
                    if isinstance(item, ParseIssue):
                        quarantined.append({"path": shown_path(path), "error": f"{item.where}: {item.reason}"})
                    else:
                        by_source[connector.kind] += 1
                    view.advance(f"parsing {connector.kind}", 1)
        return _summary(len(paths), by_source, quarantined)
    return _ingest(settings, len(paths), plan, quarantined, show_progress)


def _ingest(
    settings: TwinSettings,
    n_files: int,
    plan: list[tuple[Path, Any]],
    quarantined: list[dict[str, str]],
    show_progress: bool,
) -> dict[str, Any]:
    from twin_assets.db.models import Input, Quarantine
    from twin_assets.home import require_home
    from twin_assets.lifecycle.recover import leftovers, reap_dead_runs
    from twin_assets.pipeline.inputs import decrypt_path, register_input
    from twin_assets.twin import open_twin

    require_home(settings)
    twin = open_twin(settings)
    reap_dead_runs(settings)  # a killed run gives its writer slot back, and its undone work is finished below
    input_ids: list[str] = []
    kinds: set[str] = set()
    by_source: Counter[str] = Counter()
    for path, connector in plan:
        reg = register_input(twin, path, connector.kind, "ingest")
        by_source.setdefault(connector.kind, 0)
        if reg.input_id:
            input_ids.append(reg.input_id)
            kinds.add(connector.kind)
    # Interrupted earlier (this file or another): pending inputs, staged records, reaped runs' assets.
    left = leftovers(twin)
    resumed_ids = [i for i in left.pending_ids if i not in input_ids]
    keys = sorted({f"source_{k}" for k in kinds} | set(left.keys()))
    if keys:
        run_selection(settings, keys, show_progress)
    input_ids += resumed_ids  # their records count in this summary: no run reported them
    deferred = 0
    with twin.session() as s:
        for inp in s.scalars(select(Input).where(Input.id.in_(input_ids))):
            if inp.status == "pending":  # the sync's batch budget was spent before it: the next run resumes it
                deferred += 1
                continue
            by_source[inp.source] += inp.records
            where = shown_path(decrypt_path(twin, inp.path_enc)) if inp.path_enc else "?"
            for q in s.scalars(select(Quarantine).where(Quarantine.input_id == inp.id).order_by(Quarantine.id)):
                quarantined.append({"path": where, "error": f"{q.location}: {q.reason}"})
    twin.close()
    resumed = {"inputs": len(resumed_ids), "staged_records": left.staged_records, "runs": len(left.reaped_runs)}
    return _summary(n_files, by_source, quarantined, resumed, deferred)


def run_selection(settings: TwinSettings, keys: list[str], show_progress: bool) -> None:
    """Materialize ``keys`` and what depends on them in process, showing each stage's progress (see
    :mod:`twin_query.progress_view`)."""
    from twin_assets import progress
    from twin_assets.lifecycle.recover import selection
    from twin_assets.run import materialize

    with ProgressView(show_progress) as view, progress.reporting(view):
        outcome = materialize(settings, selection(keys))
    if not outcome.success:
        raise TwinError("materialization failed: " + "; ".join(outcome.failures), hint="see the run in the Dagster UI")


def _summary(
    files: int,
    by_source: Counter[str],
    quarantined: list[dict[str, str]],
    resumed: dict[str, int] | None = None,
    deferred: int = 0,
) -> dict[str, Any]:
    """``resumed``: what interrupted runs had left and this one finished (inputs still pending, records still
    staged, runs whose process died), counted as they were found. ``deferred``: inputs left pending because a
    sync spent its batch budget (``TWIN_SYNC_MAX_BATCH_*``); the next ingest, inbox sensor tick or doctor
    resumes them."""
    return {
        "files": files,
        "records": sum(by_source.values()),
        "by_source": dict(sorted(by_source.items())),
        "quarantined": quarantined,
        "resumed": resumed or {"inputs": 0, "staged_records": 0, "runs": 0},
        "deferred": {"inputs": deferred},
    }
