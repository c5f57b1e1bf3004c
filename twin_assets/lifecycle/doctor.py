"""``twin doctor``: check a home after something went wrong, and repair what is safe to repair.

Checks, in order: runs whose process is gone and the writer slots they hold (reaped: marked failed, slots
released); work interrupted runs left (pending inputs, staged records, reaped runs' assets: resumed by
materializing them); each store file's and the metadata DB's SQLite ``quick_check`` (reported, never "repaired");
orphaned files (raw archives of no input, leftover temporary files: removed, unless another run is live).

Findings name runs, input ids, counts and store names only: never a file path, a name or content.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from twin_assets.db.engine import quick_check
from twin_assets.db.models import Input
from twin_assets.errors import TwinError
from twin_assets.lifecycle.recover import leftovers, selection
from twin_assets.run import materialize, use_dagster_home
from twin_assets.run_reaper import StaleRun, find_stale, reap, slot_holders
from twin_assets.tiers import TIERS
from twin_assets.twin import STORE_FILES, Twin

if TYPE_CHECKING:
    from dagster import DagsterInstance

OK, REPAIRED, FOUND, NOTE = "ok", "repaired", "found", "note"  # FOUND: wrong and not (or not yet) repaired
FINISHED = ("SUCCESS", "FAILURE", "CANCELED", "DELETED")


@dataclass
class Finding:
    check: str  # runs, slots, pending, store, metadata, orphans
    status: str  # ok | repaired | found | note
    detail: str

    def line(self) -> str:
        return f"{self.status:8} {self.check}: {self.detail}"


@dataclass
class DoctorReport:
    dry_run: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Nothing wrong is left: every problem found was repaired."""
        return not any(f.status == FOUND for f in self.findings)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "healthy": self.healthy, "findings": [asdict(f) for f in self.findings]}


def doctor(twin: Twin, *, dry_run: bool = False, release: Sequence[str] = ()) -> DoctorReport:
    """Check the home of ``twin``; repair what is safe unless ``dry_run``. ``release``: ids (or id prefixes) of runs
    holding the writer slot that the user says are not running, though no recorded process proves it."""
    report = DoctorReport(dry_run)
    live = _runs(twin, report, dry_run, release)
    _leftovers(twin, report, dry_run)
    _stores(twin, report)
    _orphans(twin, report, dry_run=dry_run, live=live)
    return report


def _short(run_id: str) -> str:
    return run_id[:8]


def _released(instance: DagsterInstance, release: Sequence[str], stale: list[StaleRun]) -> list[StaleRun]:
    """The holders ``release`` names, as runs to reap; an id that names no holder, or several, is an error."""
    holders = slot_holders(instance)
    chosen: list[StaleRun] = []
    for prefix in release:
        match = [h for h in holders if h.run_id.startswith(prefix)]
        if len(match) != 1:
            raise TwinError(
                f"--release {prefix}: {'no' if not match else 'more than one'} run holding the writer slot has it",
                hint="`twin doctor --dry-run` lists the runs that hold it",
            )
        h = match[0]
        if h.alive:
            raise TwinError(f"run {_short(h.run_id)} (pid {h.pid}) is alive", hint="stop it instead")
        if h.run_id not in {s.run_id for s in stale + chosen}:
            run = instance.get_run_by_id(h.run_id)
            chosen.append(StaleRun(h.run_id, h.pid, run.status.value if run else "DELETED", h.claimed, []))
    return chosen


def _runs(twin: Twin, report: DoctorReport, dry_run: bool, release: Sequence[str]) -> bool:
    """Dead runs and held slots; returns whether a live run holds or waits for the writer slot."""
    use_dagster_home(twin.settings)
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        stale = find_stale(instance)
        released = _released(instance, release, stale)
        for s in released:
            action = "would release it" if dry_run else "marked failed, slot released"
            report.findings.append(
                Finding("runs", FOUND if dry_run else REPAIRED, f"run {_short(s.run_id)} released on request; {action}")
            )
            stale.append(s)
        stale = sorted(stale, key=lambda s: s.run_id)
        for s in stale:
            if s in released:
                continue  # said above
            if s.status in FINISHED:
                what = f"run {_short(s.run_id)} ({s.status}) has ended but still holds the writer slot"
            else:
                what = f"run {_short(s.run_id)} ({s.status}, pid {s.pid}): its process is gone" + (
                    ", holding the writer slot" if s.holds_slot else ""
                )
            action = "would mark it failed and release its slot" if dry_run else "marked failed, slot released"
            report.findings.append(Finding("runs", FOUND if dry_run else REPAIRED, f"{what}; {action}"))
        if not dry_run and stale:
            reap(instance, stale)
        reaped = {s.run_id for s in stale}
        holders = [h for h in slot_holders(instance) if h.run_id not in reaped]
        for h in holders:
            role = "holds" if h.claimed else "waits for"
            if h.alive is None:
                report.findings.append(
                    Finding(
                        "slots",
                        NOTE,
                        f"run {_short(h.run_id)} {role} the writer slot; it was started elsewhere (the Dagster "
                        "daemon or UI: Dagster's run monitoring watches it), or before this version recorded pids; "
                        f"if it is not running, `twin doctor --release {_short(h.run_id)}` gives the slot back",
                    )
                )
            else:
                report.findings.append(
                    Finding("slots", OK, f"run {_short(h.run_id)} (pid {h.pid}) {role} the writer slot and is alive")
                )
        if not stale and not holders:
            report.findings.append(Finding("runs", OK, "no stale run; the writer slot is free"))
        return any(h.alive is not False for h in holders)


def _leftovers(twin: Twin, report: DoctorReport, dry_run: bool) -> None:
    left = leftovers(twin)
    parts = []
    if left.pending_inputs:
        ids = ", ".join(i[:8] for i in left.pending_ids[:5]) + (", …" if len(left.pending_ids) > 5 else "")
        parts.append(f"{len(left.pending_ids)} input(s) pending ({ids})")
    if left.staged_records:
        parts.append(f"{left.staged_records} record(s) staged, not yet searchable")
    if left.reaped_runs:
        parts.append(f"{len(left.reaped_runs)} interrupted run(s) whose assets were not rebuilt")
    if not parts:
        report.findings.append(Finding("pending", OK, "no pending input, no staged record, nothing to resume"))
        return
    keys = left.keys()
    text = "; ".join(parts)
    if dry_run:
        report.findings.append(Finding("pending", FOUND, f"{text}; would materialize {len(keys)} asset(s) and below"))
        return
    try:
        outcome = materialize(twin.settings, selection(keys))
    except TwinError as exc:
        report.findings.append(Finding("pending", FOUND, f"{text}; resuming failed: {exc.message}"))
        return
    if outcome.success:
        report.findings.append(Finding("pending", REPAIRED, f"{text}; resumed in {len(outcome.run_ids)} run(s)"))
    else:
        report.findings.append(
            Finding("pending", FOUND, f"{text}; resuming failed: " + "; ".join(outcome.failures[:3]))
        )


def _stores(twin: Twin, report: DoctorReport) -> None:
    for tier in TIERS:
        name = STORE_FILES[tier]
        if not twin.store_path(tier).exists():
            report.findings.append(Finding("store", NOTE, f"{name}: not created yet"))
            continue
        try:
            problems = twin.store(tier).quick_check()
        except TwinError as exc:
            report.findings.append(Finding("store", FOUND, f"{name}: does not open: {exc.message}"))
            continue
        except Exception as exc:  # a damaged file: sqlite3.DatabaseError and the like, named by type only
            report.findings.append(Finding("store", FOUND, f"{name}: does not open ({type(exc).__name__})"))
            continue
        report.findings.append(_integrity("store", name, problems))
    try:
        meta = quick_check(twin.engine)
    except Exception as exc:
        report.findings.append(Finding("metadata", FOUND, f"metadata DB does not open ({type(exc).__name__})"))
        return
    if meta is None:
        report.findings.append(Finding("metadata", NOTE, "metadata DB is a server database: not checked here"))
    else:
        report.findings.append(_integrity("metadata", "metadata DB", meta))


def _integrity(check: str, name: str, problems: list[str]) -> Finding:
    if not problems:
        return Finding(check, OK, f"{name}: quick_check ok")
    return Finding(
        check,
        FOUND,
        f"{name}: quick_check found {len(problems)} problem(s), e.g. {problems[0][:120]}; "
        "not repaired: restore it from a backup",
    )


def _orphan_files(twin: Twin) -> Iterator[tuple[str, Path]]:
    """(kind, path) of raw archives no input refers to, and temporary files a killed writer left."""
    raw = twin.settings.raw_dir
    if raw.is_dir():
        with twin.session() as s:
            known = set(s.scalars(select(Input.id)))
        for path in sorted(raw.iterdir()):
            if path.suffix == ".tmp":
                yield "temporary file(s)", path
            elif path.suffix == ".fenc" and path.stem not in known:
                yield "raw archive(s) of no input", path
    for folder in (twin.settings.stores_dir, twin.settings.dagster_home):
        if folder.is_dir():
            for path in sorted(folder.glob("*.tmp")):
                yield "temporary file(s)", path


def _orphans(twin: Twin, report: DoctorReport, *, dry_run: bool, live: bool) -> None:
    """Orphaned files; removed unless this is a dry run or a live run may be writing them now."""
    keep = dry_run or live
    found: dict[str, int] = {}
    for kind, path in _orphan_files(twin):
        found[kind] = found.get(kind, 0) + 1
        if not keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if not found:
        report.findings.append(Finding("orphans", OK, "no orphaned file"))
    for kind, n in sorted(found.items()):
        if dry_run:
            report.findings.append(Finding("orphans", FOUND, f"{n} {kind}; would remove"))
        elif live:
            report.findings.append(Finding("orphans", NOTE, f"{n} {kind}; kept: a live run may be writing"))
        else:
            report.findings.append(Finding("orphans", REPAIRED, f"{n} {kind} removed"))
