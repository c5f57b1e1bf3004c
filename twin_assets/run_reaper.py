"""Runs whose process is gone: find them, mark them failed and give back the writer slot they held.

Dagster frees a pool slot when the step that claimed it ends; a run killed with ``kill -9`` (or by a timeout, or a
power cut) never ends, so its ``twin_writer`` slot stays claimed and every later writer waits for it forever. Runs
that :mod:`twin_assets.run` starts in-process carry their process id in their tags (a pid, its start time and the
host name: nothing private), which is how a later command tells a live run from a dead one. Runs the Dagster daemon
launches are watched by Dagster's own run monitoring instead; a run without our tags is never judged here.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from twin_assets.errors import TwinError

if TYPE_CHECKING:
    from dagster import DagsterInstance
    from dagster._core.storage.dagster_run import DagsterRun

POOL = "twin_writer"
PID_TAG = "twin/pid"
START_TAG = "twin/pid_start"  # the process's start time, so a reused pid is not taken for the run's process
HOST_TAG = "twin/host"
REAPED_TAG = "twin/reaped"  # set on a run this module marked failed; cleared of meaning once resumed
RESUMED_TAG = "twin/resumed"  # the run id whose success covered a reaped run's assets
SAY_EVERY = 10.0  # seconds between "waiting for the writer slot" lines


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
    if fields and fields[0] == "Z":  # a zombie: killed, only waiting for its parent to read its status
        return "zombie"
    return fields[19] if len(fields) > 19 else None


def process_tags() -> dict[str, str]:
    """Tags naming this process, for a run it executes in-process."""
    pid = os.getpid()
    tags = {PID_TAG: str(pid), HOST_TAG: socket.gethostname()}
    start = _start_time(pid)
    if start:
        tags[START_TAG] = start
    return tags


def process_alive(tags: dict[str, str]) -> bool | None:
    """Whether the process named by a run's tags still runs; None when the tags name none, or another host."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return None
    try:
        pid = int(tags[PID_TAG])
    except ValueError:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process holds the pid: not ours any more
        return False
    start = _start_time(pid)
    if start == "zombie":
        return False
    # A start time that differs: the pid was reused by a later process.
    return start is None or START_TAG not in tags or start == tags[START_TAG]


@dataclass
class Holder:
    """A run holding (``claimed``) or waiting for a writer slot."""

    run_id: str
    claimed: bool
    pid: str | None
    alive: bool | None  # None: not ours to judge (no pid tag, or another host)
    finished: bool


@dataclass
class StaleRun:
    """A run to reap: its process is gone while Dagster thinks it runs, or it finished and still holds a slot."""

    run_id: str
    pid: str | None
    status: str  # the Dagster status it had when found
    holds_slot: bool
    assets: list[str]  # the asset keys it was to materialize (what a resume covers)


def _run(instance: DagsterInstance, run_id: str) -> DagsterRun | None:
    return instance.get_run_by_id(run_id)


def _holders(instance: DagsterInstance) -> list[Holder]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or POOL not in storage.get_concurrency_keys():
        return []
    info = storage.get_concurrency_info(POOL)
    claimed = {s.run_id for s in info.claimed_slots}
    waiting = {p.run_id for p in info.pending_steps} - claimed
    holders = []
    for run_id in sorted(claimed) + sorted(waiting):
        run = _run(instance, run_id)
        tags = dict(run.tags) if run else {}
        holders.append(
            Holder(
                run_id=run_id,
                claimed=run_id in claimed,
                pid=tags.get(PID_TAG),
                alive=process_alive(tags) if run else False,
                finished=run is None or run.is_finished,
            )
        )
    return holders


def slot_holders(instance: DagsterInstance) -> list[Holder]:
    """Runs that hold or wait for a ``twin_writer`` slot."""
    return _holders(instance)


def find_stale(instance: DagsterInstance) -> list[StaleRun]:
    """Unfinished runs of ours whose process is gone, and finished (or deleted) runs still holding a slot."""
    from dagster import DagsterRunStatus, RunsFilter

    stale: dict[str, StaleRun] = {}
    holding = {h.run_id for h in _holders(instance)}
    unfinished = [
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    for run in instance.get_runs(RunsFilter(statuses=unfinished)):
        if process_alive(dict(run.tags)) is False:
            stale[run.run_id] = StaleRun(
                run.run_id, run.tags.get(PID_TAG), run.status.value, run.run_id in holding, _assets(run)
            )
    for run_id in holding - set(stale):
        holder = _run(instance, run_id)
        if holder is None or holder.is_finished:
            stale[run_id] = StaleRun(
                run_id,
                holder.tags.get(PID_TAG) if holder else None,
                holder.status.value if holder else "DELETED",
                True,
                [],
            )
    return sorted(stale.values(), key=lambda s: s.run_id)


def _assets(run: DagsterRun) -> list[str]:
    keys = run.asset_selection or set()
    return sorted(k.to_user_string() for k in keys)


def reap(instance: DagsterInstance, stale: list[StaleRun] | None = None) -> list[StaleRun]:
    """Mark each stale run failed (tagged ``twin/reaped``) and free its slots; returns what was reaped."""
    found = find_stale(instance) if stale is None else stale
    for s in found:
        run = _run(instance, s.run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(
                run, message=f"The process running this run (pid {s.pid}) is gone; marked failed by twin."
            )
            instance.add_run_tags(s.run_id, {REAPED_TAG: "1"})
        instance.event_log_storage.free_concurrency_slots_for_run(s.run_id)
    return found


def unresumed(instance: DagsterInstance) -> list[DagsterRun]:
    """Reaped runs whose assets no later run has materialized yet."""
    from dagster import RunsFilter

    return [
        r for r in instance.get_runs(RunsFilter(tags={REAPED_TAG: "1"})) if RESUMED_TAG not in r.tags and _assets(r)
    ]


def mark_resumed(instance: DagsterInstance, runs: list[DagsterRun], by_run_id: str) -> None:
    for r in runs:
        instance.add_run_tags(r.run_id, {RESUMED_TAG: by_run_id})


def wait_for_writer(
    instance: DagsterInstance,
    timeout: float,
    say: Callable[[str], None],
    *,
    poll: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once a ``twin_writer`` slot is free, reaping dead runs meanwhile; say who holds it while waiting.

    Dagster's own wait for a slot spins without a word and swallows SIGTERM; this one sleeps in plain Python, so
    Ctrl-C and SIGTERM stop it, and it gives up after ``timeout`` seconds with an error naming ``twin doctor``.
    """
    started = clock()
    said_at: float | None = None
    while True:
        reap(instance)
        busy = [h for h in _holders(instance) if h.claimed and h.alive is not False and not h.finished]
        limit = _limit(instance)
        if limit is None or len(busy) < limit:
            return
        now = clock()
        holder = busy[0]
        who = f"run {holder.run_id[:8]}" + (f" (pid {holder.pid})" if holder.pid else " (started elsewhere)")
        if now - started >= timeout:
            raise TwinError(
                f"gave up after {timeout:g}s waiting for the writer slot held by {who}",
                hint="run `twin doctor` to see and release slots of runs that are gone, or stop that run",
            )
        if said_at is None or now - said_at >= SAY_EVERY:
            say(f"waiting for the writer slot held by {who}…")
            said_at = now
        time.sleep(poll)


def _limit(instance: DagsterInstance) -> int | None:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None
    if POOL in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(POOL)
        return info.limit if info.limit is not None else info.slot_count
    return instance.global_op_concurrency_default_limit


def _who(holders: list[Holder]) -> str:
    busy = [h for h in holders if h.claimed]
    if not busy:
        return "another run"
    h = busy[0]
    return f"run {h.run_id[:8]}" + (f" (pid {h.pid})" if h.pid else " (started elsewhere)")


class WaitWatch:
    """Watches a run this process executes while Dagster makes one of its steps wait for the writer slot.

    Dagster's wait (another run took the slot between :func:`wait_for_writer` and the step, or between two of this
    run's steps) prints nothing, spins, and holds SIGTERM and Ctrl-C back until a step starts. This thread says who
    holds the slot, reaps holders that died, and ends the wait by interrupting the main thread on SIGTERM or
    Ctrl-C, or after ``timeout`` seconds: Dagster then marks the run failed and frees its pending claim.
    ``reason`` says why it interrupted ("interrupt" or "timeout"), None if it did not.
    """

    def __init__(self, timeout: float, say: Callable[[str], None], poll: float = 0.5) -> None:
        self.timeout = timeout
        self.say = say
        self.poll = poll
        self.reason: str | None = None
        self.holder = ""
        self._stop = threading.Event()
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, name="twin-slot-watch", daemon=True)

    def __enter__(self) -> WaitWatch:
        if threading.current_thread() is threading.main_thread():  # only the main thread can be interrupted so
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        from dagster import DagsterInstance
        from dagster._utils.interrupts import check_captured_interrupt  # Dagster's record of a held-back signal

        me = str(os.getpid())
        waiting_since: float | None = None
        said_at: float | None = None
        with DagsterInstance.get() as instance:  # its own: the main thread's is busy running
            while not self._stop.wait(self.poll):
                holders = _holders(instance)
                others = [h for h in holders if h.claimed and h.pid != me]
                # Waiting means another run holds the slot: a pending row alone is Dagster between asking and getting.
                if not others or not any(h.pid == me and not h.claimed for h in holders):
                    waiting_since = said_at = None
                    continue
                if any(h.alive is False for h in holders if h.pid != me):
                    reap(instance)
                    continue
                now = time.monotonic()
                waiting_since = waiting_since or now
                self.holder = _who(others)
                if said_at is None or now - said_at >= SAY_EVERY:
                    self.say(f"waiting for the writer slot held by {self.holder}…")
                    said_at = now
                if check_captured_interrupt():
                    self.reason = "interrupt"
                elif now - waiting_since >= self.timeout:
                    self.reason = "timeout"
                if self.reason and self._main is not None and not self._stop.is_set():
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self._main), ctypes.py_object(KeyboardInterrupt)
                    )
                    return

    def raise_for_reason(self) -> None:
        """After the run: the error the interruption stands for, if this watch interrupted it."""
        if self.reason == "timeout":
            raise TwinError(
                f"gave up after {self.timeout:g}s waiting for the writer slot held by {self.holder}",
                hint="run `twin doctor` to see and release slots of runs that are gone, or stop that run",
            )
        if self.reason == "interrupt":
            raise KeyboardInterrupt
