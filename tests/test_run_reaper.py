"""A run whose process is gone gives back the writer slot: found by its pid tag, marked failed, its slot freed;
a live holder is waited for aloud and with a bound; ``twin doctor`` reports (dry run) and repairs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from twin_assets.errors import TwinError
from twin_assets.run import use_dagster_home
from twin_assets.run_reaper import (
    PID_TAG,
    REAPED_TAG,
    WaitWatch,
    find_stale,
    process_alive,
    process_tags,
    reap,
    slot_holders,
    wait_for_writer,
)

# A run that claims the writer slot and sleeps in it, tagged as run.materialize tags its runs.
HOLDER = textwrap.dedent(
    """
    import time
    from dagster import AssetKey, DagsterInstance, Definitions, asset
    from twin_assets.run_reaper import process_tags

    @asset(pool="twin_writer")
    def sleeper() -> None:
        time.sleep(120)

    job = Definitions(assets=[sleeper]).resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        job.execute_in_process(instance=instance, asset_selection=[AssetKey("sleeper")], tags=TAGS)
    """
)


@pytest.fixture
def instance(home):
    use_dagster_home(home)
    from dagster import DagsterInstance

    with DagsterInstance.get() as inst:
        yield inst


@pytest.fixture
def holder(home, instance, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A process running a Dagster run that holds the writer slot (killed at the end if still alive)."""
    yield from _holder(home, instance, tmp_path, "process_tags()")


@pytest.fixture
def untagged_holder(home, instance, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """The same, as a version that recorded no pid started it."""
    yield from _holder(home, instance, tmp_path, "{}")


def _holder(home, instance, tmp_path: Path, tags: str) -> Iterator[subprocess.Popen]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER.replace("TAGS", tags))
    env = {**os.environ, "DAGSTER_HOME": str(home.dagster_home)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.monotonic() + 120
    while not any(h.claimed for h in slot_holders(instance)):
        assert proc.poll() is None, "the holder exited before claiming the slot"
        assert time.monotonic() < deadline, "the holder never claimed the slot"
        time.sleep(0.2)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_process_tags_name_a_live_process_and_a_dead_one_is_dead():
    assert process_alive(process_tags()) is True
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert process_alive({**process_tags(), PID_TAG: str(gone.pid)}) is False
    assert process_alive({}) is None  # not ours to judge
    assert process_alive({**process_tags(), "twin/host": "another-host"}) is None


def test_a_reused_pid_is_not_taken_for_the_run_process():
    tags = process_tags()
    if "twin/pid_start" not in tags:
        pytest.skip("no /proc start times here")
    assert process_alive({**tags, "twin/pid_start": "1"}) is False


def test_a_killed_run_is_marked_failed_and_gives_its_slot_back(instance, holder):
    run_id = next(h.run_id for h in slot_holders(instance) if h.claimed)
    assert find_stale(instance) == []  # alive: not touched
    _kill(holder)
    stale = find_stale(instance)
    assert [(s.run_id, s.holds_slot, s.pid) for s in stale] == [(run_id, True, str(holder.pid))]
    assert stale[0].assets == ["sleeper"]
    reap(instance)
    run = instance.get_run_by_id(run_id)
    assert run.status.value == "FAILURE"
    assert run.tags[REAPED_TAG] == "1"
    assert slot_holders(instance) == []
    assert find_stale(instance) == []


def test_waiting_after_a_kill_does_not_hang(instance, holder):
    _kill(holder)
    said: list[str] = []
    started = time.monotonic()
    wait_for_writer(instance, 5, said.append)  # before reaping existed, Dagster waited here forever
    assert time.monotonic() - started < 5
    assert said == []


def test_a_live_holder_is_named_while_waiting_and_the_wait_is_bounded(instance, holder):
    said: list[str] = []
    with pytest.raises(TwinError) as err:
        wait_for_writer(instance, 1.5, said.append, poll=0.1)
    assert f"(pid {holder.pid})" in said[0] and said[0].startswith("waiting for the writer slot held by run")
    assert "twin doctor" in str(err.value) and f"pid {holder.pid}" in str(err.value)
    assert holder.poll() is None  # a live run is never reaped


@pytest.mark.timeout(180)
def test_a_wait_inside_a_run_is_said_and_bounded(instance, holder):
    """The slot taken by another writer when a step asks for it: Dagster's own wait, silent and endless before."""
    from dagster import AssetKey, Definitions, asset

    @asset(pool="twin_writer")
    def writer() -> None:
        pass

    job = Definitions(assets=[writer]).resolve_implicit_global_asset_job_def()
    said: list[str] = []
    with WaitWatch(1.0, said.append, poll=0.1) as watch:
        result = job.execute_in_process(
            instance=instance, asset_selection=[AssetKey("writer")], raise_on_error=False, tags=process_tags()
        )
    assert not result.success and watch.reason == "timeout"
    assert said and f"(pid {holder.pid})" in said[0]
    with pytest.raises(TwinError, match="twin doctor"):
        watch.raise_for_reason()
    assert result.run_id not in {h.run_id for h in slot_holders(instance)}  # its claim is withdrawn
    assert holder.poll() is None


WAITER = textwrap.dedent(
    """
    import sys
    from dagster import AssetKey, DagsterInstance, Definitions, asset
    from twin_assets.run_reaper import WaitWatch, process_tags

    @asset(pool="twin_writer")
    def writer() -> None:
        pass

    job = Definitions(assets=[writer]).resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance, WaitWatch(600, lambda line: print(line, file=sys.stderr, flush=True)) as w:
        job.execute_in_process(
            instance=instance, asset_selection=[AssetKey("writer")], raise_on_error=False, tags=process_tags()
        )
    w.raise_for_reason()
    """
)


def _wait_for_line(proc: subprocess.Popen) -> str:
    assert proc.stderr is not None
    line = ""
    while "waiting" not in line:
        line = proc.stderr.readline()
        assert line, "it ended without saying what it waits for"
    return line


@pytest.mark.timeout(240)
def test_sigterm_ends_a_wait_inside_a_run(home, holder, tmp_path):
    script = tmp_path / "waiter.py"
    script.write_text(WAITER)
    env = {**os.environ, "DAGSTER_HOME": str(home.dagster_home)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert f"(pid {holder.pid})" in _wait_for_line(proc)
        proc.terminate()  # Dagster holds SIGTERM back while a step waits for its slot: it spun on before
        assert proc.wait(30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(240)
def test_sigterm_stops_a_waiting_materialize(home, instance, holder):
    """`twin materialize` waiting behind a live run prints who holds the slot and stops on SIGTERM."""
    env = {**os.environ, "TWIN_HOME": str(home.home_path)}
    twin_cli = str(Path(sys.executable).parent / "twin")
    proc = subprocess.Popen(
        [twin_cli, "materialize", "--select", "key:documents"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        line = _wait_for_line(proc)
        assert "waiting for the writer slot held by run" in line and f"pid {holder.pid}" in line
        proc.terminate()
        assert proc.wait(20) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert holder.poll() is None


def test_doctor_dry_run_reports_and_repair_fixes(home, twin, instance, holder, tmp_path, monkeypatch):
    from twin_assets.lifecycle import doctor as doctor_module
    from twin_assets.pipeline.inputs import register_input

    _kill(holder)
    export = tmp_path / "contacts.vcf"
    export.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Ada Example\nEMAIL:ada@example.org\nEND:VCARD\n")
    pending = register_input(twin, export, "contacts", "ingest").input_id
    (home.raw_dir / "leftover.tmp").write_bytes(b"x")

    report = doctor_module.doctor(twin, dry_run=True)
    found = {f.check: f for f in report.findings if f.status == "found"}
    assert not report.healthy
    assert set(found) == {"runs", "pending", "orphans"}
    assert "holding the writer slot" in found["runs"].detail
    assert f"1 input(s) pending ({pending[:8]})" in found["pending"].detail
    assert str(export) not in "\n".join(f.line() for f in report.findings)  # paths are private
    assert slot_holders(instance) != []  # a dry run changes nothing
    assert (home.raw_dir / "leftover.tmp").exists()

    # Resuming is a real materialize (the kill test runs it); here only what doctor asks for is checked.
    asked: list[str] = []

    class Done:
        success, run_ids, failures = True, ["r"], []

    monkeypatch.setattr(doctor_module, "materialize", lambda _settings, sel: asked.append(sel) or Done())
    report = doctor_module.doctor(twin)
    assert report.healthy, [f.line() for f in report.findings]
    assert asked == ["(key:source_contacts)+"]  # the killed run's asset is not one of the twin's
    assert slot_holders(instance) == []
    assert not (home.raw_dir / "leftover.tmp").exists()
    statuses = {f.check: f.status for f in report.findings}
    assert statuses["runs"] == statuses["pending"] == statuses["orphans"] == "repaired"
    assert statuses["store"] == statuses["metadata"] == "ok"


def test_doctor_reports_a_damaged_store(home, twin):
    from twin_assets.lifecycle.doctor import doctor
    from twin_assets.tiers import LOW

    store = twin.store(LOW)
    path = twin.store_path(LOW)
    twin.close()
    del store
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # every b-tree page but the first gets an impossible type
        data[page * 4096] = 0xFF
    path.write_bytes(bytes(data))
    report = doctor(twin, dry_run=True)
    bad = [f for f in report.findings if f.check == "store" and f.status == "found"]
    assert bad and "low.sqlite" in bad[0].detail
    assert not report.healthy


def test_doctor_releases_a_slot_of_an_untagged_run_only_on_request(home, twin, instance, untagged_holder):
    from twin_assets.lifecycle.doctor import doctor

    run_id = next(h.run_id for h in slot_holders(instance) if h.claimed)
    _kill(untagged_holder)
    report = doctor(twin)  # no pid recorded: not judged dead, only pointed at
    note = next(f for f in report.findings if f.check == "slots")
    assert note.status == "note" and f"--release {run_id[:8]}" in note.detail
    assert [h.run_id for h in slot_holders(instance)] == [run_id]
    with pytest.raises(TwinError):
        doctor(twin, release=["no-such-run"])
    report = doctor(twin, release=[run_id[:8]])
    assert report.healthy
    assert any(f.status == "repaired" and "released on request" in f.detail for f in report.findings)
    assert slot_holders(instance) == []
    assert instance.get_run_by_id(run_id).status.value == "FAILURE"
