"""kill -9 ``twin ingest`` and ``twin materialize`` at awkward points, run them again: the twin recovers by itself.

Each kill point is a state of the home, not a delay, so it is the same on a slow machine: an input registered but
not parsed; a step after the sources holding the writer slot (records stored, views not built); a
``twin materialize`` in the middle of the views. After each kill the same command runs again (with a timeout: the
hang this guards against was a run waiting forever for the slot of the dead one), and the home must hold the same
records (count and ids), the same entities and the same search results as a home that was never interrupted, with
no duplicates and nothing left pending or staged.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

TWIN = str(Path(sys.executable).parent / "twin")
STEP = 300  # seconds any one command may take before the test calls it hung
QUERY = "meeting"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TWIN_HOME": str(home)}
    return subprocess.run([TWIN, *args], env=env, capture_output=True, text=True, timeout=STEP, check=False)


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)


def _query(path: Path, sql: str) -> list[tuple]:
    if not path.exists():
        return []
    try:
        with _ro(path) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet, or busy: not there yet
        return []


def input_pending(home: Path) -> bool:
    return bool(_query(home / "stores" / "metadata.sqlite", "SELECT 1 FROM inputs WHERE status = 'pending'"))


def slot_held_by(*steps: str) -> Callable[[Path], bool]:
    def held(home: Path) -> bool:
        rows = _query(
            home / "dagster" / "history" / "runs" / "index.db",
            "SELECT step_key FROM concurrency_slots WHERE run_id IS NOT NULL",
        )
        return any(r[0] in steps for r in rows)

    return held


def _kill_when(home: Path, args: tuple[str, ...], point: Callable[[Path], bool]) -> None:
    """Start ``twin ARGS`` and ``kill -9`` it as soon as ``point`` holds for the home."""
    env = {**os.environ, "TWIN_HOME": str(home)}
    proc = subprocess.Popen([TWIN, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STEP
    try:
        while not point(home):
            assert proc.poll() is None, f"{args[0]} ended before the kill point"
            assert time.monotonic() < deadline, "the kill point never came"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(30)


def _state(home: Path) -> dict:
    from sqlalchemy import select

    from twin_assets.db.models import Input, RecordRow
    from twin_assets.settings import TwinSettings
    from twin_assets.tiers import TIERS
    from twin_assets.twin import open_twin
    from twin_query.search import search

    twin = open_twin(TwinSettings(home=home))
    try:
        with twin.session() as s:
            records = s.execute(select(RecordRow.id, RecordRow.status)).all()
            inputs = sorted(s.scalars(select(Input.status)))
        state = {
            "records": sorted(r.id for r in records),
            "statuses": sorted({r.status for r in records}),
            "inputs": inputs,
            "documents": sum(twin.store(t).count() for t in TIERS),
            "entities": {t: sorted(twin.derived(t).ids("entity")) for t in TIERS},
        }
        # Hybrid search, filtered so that every candidate vector is scored exactly: Chroma's approximate index
        # may order near-ties differently in two homes built alike, interrupted or not.
        state["search"] = [h.id for h in search(twin, QUERY, k=20, since=datetime(1900, 1, 1, tzinfo=UTC))]
    finally:
        twin.close()
    return state


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> list[str]:
    from twin_assets.demo.generator import generate

    out = tmp_path_factory.mktemp("kill") / "demo"
    generate(out, seed=11, people=12, years=1)
    return [str(out / "calendar" / "calendar.ics"), str(out / "contacts" / "contacts.vcf")]


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    """One initialised home; each scenario copies it, so record and entity ids (keyed hashes) are comparable."""
    home = tmp_path_factory.mktemp("blank") / "home"
    done = _run(home, "init")
    assert done.returncode == 0, done.stderr[-2000:]
    return home


@pytest.fixture(scope="module")
def ingested(blank: Path, export: list[str], tmp_path_factory) -> Path:
    """The blank home after one uninterrupted ``twin ingest`` of the export (never opened again: copy it)."""
    home = tmp_path_factory.mktemp("ingested") / "home"
    shutil.copytree(blank, home)
    done = _run(home, "ingest", "--json", *export)
    assert done.returncode == 0, done.stderr[-2000:]
    return home


@pytest.fixture(scope="module")
def reference(ingested: Path, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("ref") / "home"
    shutil.copytree(ingested, home)
    state = _state(home)
    assert state["records"] and state["search"] and any(state["entities"].values())
    return state


def _fresh(blank: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(blank, home)
    return home


def _same(state: dict, reference: dict) -> None:
    assert state["statuses"] == ["stored"], "records left staged"
    assert set(state["inputs"]) == {"done"}, "inputs left pending"
    assert state["records"] == reference["records"]
    assert state["documents"] == len(state["records"]), "a record stored twice, or not at all"
    assert state["entities"] == reference["entities"]
    assert state["search"] == reference["search"], (state["search"], reference["search"])


@pytest.mark.parametrize(
    ("point", "resumed"),
    [
        pytest.param(input_pending, "inputs", id="input-registered-not-parsed"),
        pytest.param(slot_held_by("embeddings", "entities", "topics"), "runs", id="views-not-built"),
    ],
)
def test_a_killed_ingest_is_resumed_by_the_next_one(point, resumed, blank, export, reference, tmp_path):
    home = _fresh(blank, tmp_path)
    _kill_when(home, ("ingest", "--json", *export), point)
    again = _run(home, "ingest", "--json", *export)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["resumed"][resumed] >= 1, summary
    _same(_state(home), reference)
    _healthy(home)


def test_a_killed_materialize_is_finished_by_the_next_one(ingested, reference, tmp_path):
    home = _fresh(ingested, tmp_path)  # the reference's own ingest, not a second one (a minute saved)
    _kill_when(home, ("materialize",), slot_held_by("entities", "topics", "timeline", "insights"))
    again = _run(home, "materialize")
    assert again.returncode == 0, (again.stdout + again.stderr)[-2000:]
    _same(_state(home), reference)
    _healthy(home)


def _healthy(home: Path) -> None:
    """Nothing left for ``twin doctor`` to do: no stale run, no held slot, nothing to resume."""
    doctor = _run(home, "doctor", "--json", "--dry-run")
    assert doctor.returncode == 0, doctor.stdout[-2000:]
    assert json.loads(doctor.stdout)["healthy"]
