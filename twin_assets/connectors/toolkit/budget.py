"""How much one input may cost: records, calendar occurrences, seconds and memory, shared by every connector.

A small hostile file can ask for a lot of work (twenty minutely series in a 3 KB ``.ics`` are 100,000
events). Each limit is a setting (``TWIN_PARSE_MAX_*``); when one is hit the rest of the input is
quarantined with a reason that names the limit and the setting to raise — never anything of the content.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field

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
