"""How much one input may cost: records, calendar occurrences, seconds and memory, shared by every connector.

A small hostile file can ask for a lot of work (twenty minutely series in a 3 KB ``.ics`` are 100,000
events). Each limit is a setting (``TWIN_PARSE_MAX_*``); when one is hit the rest of the input is
quarantined with a reason that names the limit and the setting to raise — never anything of the content.

Counting between records is not enough: one record can be slow on its own (a giant line, a library's parser on a
crafted value: the regex fixes of issue 20 removed the super-linear patterns we found, not every way a single
record can take long or grow large). So while the sync waits for the connector's next item, a watchdog
(:meth:`Budget.watchdog`: ``SIGALRM`` every second, main thread only) checks the time and memory budgets and
interrupts the connector with :class:`BudgetInterrupt`, even inside one record: Python code, ``re`` matching and
I/O are interrupted; a single long call into C code that never returns to the interpreter is the limit. Off the
main thread (no signals there) the budgets are checked between records only.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

from twin_assets.settings import get_settings


def resident_mib() -> float:
    """This process's resident memory now (Linux: /proc, a few microseconds), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# Reading the process's memory costs microseconds; a budget looks at it once per this many counted items.
MEMORY_EVERY = 256


class BudgetExceeded(Exception):
    """Raised by :meth:`Budget.occurrence` and :meth:`Budget.tick`; ``str()`` is the quarantine reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BudgetInterrupt(BaseException):
    """Raised by the watchdog inside a connector that overran the time or memory budget; ``reason`` is the quarantine
    reason. A BaseException so a connector's ``except Exception`` (which turns its own failures into issues) cannot
    swallow it and carry on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# How often the watchdog looks at the clock and the process's memory while a connector runs.
WATCH_EVERY = 1.0


@dataclass
class Budget:
    """Counters of one input against its limits; make one per file (or per input) with :meth:`for_input`."""

    max_records: int
    max_occurrences: int
    max_seconds: float
    max_memory_mib: float = float("inf")
    records: int = 0
    occurrences: int = 0
    started: float = field(default_factory=time.monotonic)
    start_mib: float = field(default_factory=lambda: resident_mib())  # looked up when each budget starts
    _counted: int = 0

    @classmethod
    def for_input(cls) -> Budget:
        """A fresh budget with the configured limits."""
        parse = get_settings().parse
        return cls(parse.max_records, parse.max_occurrences, parse.max_seconds, parse.max_memory_mib)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def time_exceeded(self) -> str | None:
        """The reason if the time (or, checked every so often, the memory) budget is spent, else None."""
        if self.elapsed() > self.max_seconds:
            return (
                f"budget hit: parsing took more than {self.max_seconds:g} s (TWIN_PARSE_MAX_SECONDS); "
                "the rest of the input was skipped"
            )
        self._counted += 1
        if self._counted % MEMORY_EVERY == 0:
            return self.memory_exceeded()
        return None

    def memory_exceeded(self) -> str | None:
        """The reason if the process grew by more than the memory budget since the input began, else None."""
        if resident_mib() - self.start_mib > self.max_memory_mib:
            return (
                f"budget hit: parsing grew the process by more than {self.max_memory_mib:g} MiB "
                "(TWIN_PARSE_MAX_MEMORY_MIB); the rest of the input was skipped"
            )
        return None

    def record(self) -> str | None:
        """Count one record; the reason if this one is over the records budget (or time is up), else None."""
        self.records += 1
        if self.records > self.max_records:
            return (
                f"budget hit: more than {self.max_records} records in one input (TWIN_PARSE_MAX_RECORDS); "
                "the rest of the input was skipped"
            )
        return self.time_exceeded()

    def occurrence(self) -> None:
        """Count one expanded occurrence; raises :class:`BudgetExceeded` past the occurrences or time budget."""
        self.occurrences += 1
        if self.occurrences > self.max_occurrences:
            raise BudgetExceeded(
                f"budget hit: more than {self.max_occurrences} event occurrences in one file "
                "(TWIN_PARSE_MAX_OCCURRENCES); the rest of the file was skipped"
            )
        self.tick()

    def tick(self) -> None:
        """Raises :class:`BudgetExceeded` once the time budget is spent; call it inside long loops."""
        if reason := self.time_exceeded():
            raise BudgetExceeded(reason)

    def _spent(self) -> str | None:
        """The reason if the time or memory budget is spent (both looked at now), else None."""
        if self.elapsed() > self.max_seconds:
            return self.time_exceeded()
        return self.memory_exceeded()

    @contextlib.contextmanager
    def watchdog(self) -> Iterator[_Watch]:
        """Watch the time and memory budgets while a connector runs; wrap each wait for its next item in
        ``watch.parsing()``. Only there is the connector interrupted (never the caller's own writes, which finish
        and are caught by the next check). A timer already set (pytest-timeout's, say) still fires on time."""
        watch = _Watch(self)
        usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
        if not usable:
            yield watch
            return
        now = time.monotonic()
        old_handler = signal.getsignal(signal.SIGALRM)
        old_delay, _ = signal.getitimer(signal.ITIMER_REAL)
        old_deadline = now + old_delay if old_delay > 0 else None

        def fired(signum: int, frame: FrameType | None) -> None:
            if old_deadline is not None and time.monotonic() >= old_deadline and callable(old_handler):
                old_handler(signum, frame)  # the outer timer's turn
            elif watch.armed and (reason := self._spent()):
                watch.armed = False
                raise BudgetInterrupt(reason)

        signal.signal(signal.SIGALRM, fired)
        first = min(WATCH_EVERY, max(self.max_seconds - self.elapsed(), 0.001))
        if old_deadline is not None:
            first = min(first, max(old_deadline - now, 0.001))
        signal.setitimer(signal.ITIMER_REAL, first, WATCH_EVERY)
        try:
            yield watch
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_deadline is not None:  # give the outer timer back what it has left
                signal.setitimer(signal.ITIMER_REAL, max(old_deadline - time.monotonic(), 0.001))


@dataclass
class _Watch:
    """The watchdog's switch: armed only while the connector runs."""

    budget: Budget
    armed: bool = False

    @contextlib.contextmanager
    def parsing(self) -> Iterator[None]:
        budget = self.budget
        if budget.elapsed() > budget.max_seconds:  # spent while the caller was writing: stop before the next record
            raise BudgetInterrupt(budget.time_exceeded() or "")
        self.armed = True
        try:
            yield
        finally:
            self.armed = False
