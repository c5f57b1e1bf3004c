"""How the CLI shows progress: bars with totals in a terminal, plain periodic lines when output is a file or pipe.

A piped ``make demo`` or ``twin ingest`` used to be silent for minutes (rich draws nothing off a terminal). Off a
terminal each stage prints a line when it starts, then at most every ``every`` seconds or each further 10 % of
its total, and once when the block ends, so a log shows where a long run is without a line per batch; a step
that reports nothing for ``quiet`` seconds gets a "still running" line from a ticker thread. Lines go to stderr:
stdout stays the command's result (``--json``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from twin_assets.progress import STEPS


@dataclass
class _Stage:
    started: float
    done: int = 0
    total: int | None = None
    note: str = ""
    shown_at: float = 0.0
    shown_tenth: int = -1
    shown_done: int = -1
    final_shown: bool = False


class ProgressView:
    """A :class:`twin_assets.progress.Sink` for the CLI; a context manager around the work it shows."""

    def __init__(
        self,
        enabled: bool = True,
        *,
        stream: TextIO | None = None,
        terminal: bool | None = None,
        every: float = 5.0,
        quiet: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        ticker: bool = True,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.every = every
        self.quiet = quiet
        self.clock = clock
        self.stages: dict[str, _Stage] = {}
        self.current: str | None = None  # the stage reported to last
        self.last_line = clock()
        self.lock = threading.RLock()  # the ticker thread writes too
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        if enabled and not self.terminal and ticker:
            self.thread = threading.Thread(target=self._tick_loop, name="twin-progress", daemon=True)
        self.bar: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        if enabled and self.terminal:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )

    def __enter__(self) -> ProgressView:
        if self.bar is not None:
            self.bar.start()
        if self.thread is not None:
            self.thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
        if self.bar is not None:
            self.bar.stop()
        elif self.enabled:
            with self.lock:
                for name, stage in self.stages.items():
                    if stage.shown_done != stage.done or not stage.final_shown:
                        self._line(name, stage, final=True)

    # -- the Sink protocol -------------------------------------------------------------------------------------
    def advance(self, stage: str, n: int) -> None:
        with self.lock:
            self._advance(stage, n)

    def _advance(self, stage: str, n: int) -> None:
        s = self._stage(stage)
        s.done += n
        if self.bar is not None:
            self.bar.update(self.tasks[stage], completed=s.done)
        elif stage != STEPS:  # a finished step is shown by the next one's line (or the last line)
            self._maybe_line(stage, s)

    def expect(self, stage: str, total: int) -> None:
        with self.lock:
            self._expect(stage, total)

    def _expect(self, stage: str, total: int) -> None:
        s = self._stage(stage)
        s.total = (s.total or 0) + total
        if self.bar is not None:
            self.bar.update(self.tasks[stage], total=s.total)

    def note(self, stage: str, text: str) -> None:
        with self.lock:
            self._note(stage, text)

    def _note(self, stage: str, text: str) -> None:
        s = self._stage(stage)
        s.note = text
        if self.bar is not None:
            self.bar.update(self.tasks[stage], note=text)
        else:
            self._maybe_line(stage, s, force=True)

    def tick(self) -> None:
        """Lines for stages that moved and were last shown ``every`` seconds ago, and a "still running" line for
        the current stage when nothing was printed for ``quiet`` seconds (the ticker thread calls this)."""
        if not self.enabled or self.bar is not None:
            return
        with self.lock:
            now = self.clock()
            for name, s in self.stages.items():
                if s.done > max(s.shown_done, 0) and now - s.shown_at >= self.every:  # it moved since shown
                    self._line(name, s)
            if self.current is not None and now - self.last_line >= self.quiet:
                self._line(self.current, self.stages[self.current])

    def _tick_loop(self) -> None:
        while not self.stop.wait(1.0):
            self.tick()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _stage(self, name: str) -> _Stage:
        self.current = name
        if name not in self.stages:
            self.stages[name] = _Stage(started=self.clock())
            if self.bar is not None:
                self.tasks[name] = self.bar.add_task(name, total=None, note="")
        return self.stages[name]

    def _maybe_line(self, name: str, s: _Stage, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        tenth = s.done * 10 // s.total if s.total else -1
        first = s.shown_done < 0
        if force or first or now - s.shown_at >= self.every or tenth > s.shown_tenth:
            self._line(name, s)

    def _line(self, name: str, s: _Stage, final: bool = False) -> None:
        now = self.clock()
        count = f"{s.done}/{s.total}" if s.total is not None else f"{s.done}"
        unit = "" if name == STEPS else " items" if s.total is None else ""
        share = f" ({s.done * 100 // s.total}%)" if s.total else ""
        note = f", {s.note}" if s.note and not final else ""
        end = " done" if final else ""
        self.stream.write(f"{name}: {count}{unit}{share}{note}, {now - s.started:.0f} s{end}\n")
        self.stream.flush()
        s.shown_at, s.shown_done, s.final_shown = now, s.done, final
        self.last_line = now
        s.shown_tenth = s.done * 10 // s.total if s.total else -1

    def summary(self) -> dict[str, Any]:
        """Each stage's items done and total (for tests and ``--json`` callers that want it)."""
        return {name: {"done": s.done, "total": s.total} for name, s in self.stages.items()}
