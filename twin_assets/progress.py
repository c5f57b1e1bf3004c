"""A progress hook scoped to a ``with`` block, so the CLI can draw a bar for work done inside the Dagster runs it
executes in process without passing callables through run config (Dagster builds the runs' resources itself,
from config, and keeps no object handed to it).

Work reports items done per *stage* ("importing mail", "classifying", "embedding LOW"), announces a stage's total
when it knows it before starting, and every asset step announces itself on the ``steps`` stage (the total comes
from the run plan), so the CLI can show where a long materialization is. Stage names and step names are fixed
words, never content.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

STEPS = "steps"  # the stage each asset step reports to: its total is the plan's step count

Reporter = Callable[[str, int], None]  # (stage, items done since last call)


@runtime_checkable
class Sink(Protocol):
    def advance(self, stage: str, n: int) -> None:
        """``n`` more items of ``stage`` are done."""

    def expect(self, stage: str, total: int) -> None:
        """``stage`` will have ``total`` items (more calls add: each run of a plan announces its own)."""

    def note(self, stage: str, text: str) -> None:
        """What ``stage`` is at now (the running step's name)."""


class _Plain:
    """A bare ``(stage, n)`` callable as a sink: totals and notes are not shown."""

    def __init__(self, fn: Reporter) -> None:
        self.fn = fn

    def advance(self, stage: str, n: int) -> None:
        self.fn(stage, n)

    def expect(self, stage: str, total: int) -> None:
        pass

    def note(self, stage: str, text: str) -> None:
        pass


_reporter: ContextVar[Sink | None] = ContextVar("twin_progress_reporter", default=None)


@contextlib.contextmanager
def reporting(sink: Sink | Reporter) -> Iterator[None]:
    """Work done inside the block (in this thread, or in the in-process runs it executes) reports to ``sink``."""
    token = _reporter.set(sink if isinstance(sink, Sink) else _Plain(sink))
    try:
        yield
    finally:
        _reporter.reset(token)


def reporter(stage: str, total: int | None = None) -> Callable[[int], None] | None:
    """A counter for ``stage`` (None outside a reporting block); ``total``, when known, is announced first."""
    sink = _reporter.get()
    if sink is None:
        return None
    if total is not None:
        sink.expect(stage, total)
    return lambda n: sink.advance(stage, n)


def expect(stage: str, total: int) -> None:
    if (sink := _reporter.get()) is not None:
        sink.expect(stage, total)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """One asset step: named on the ``steps`` stage while it runs, counted when it ends (failed or not)."""
    sink = _reporter.get()
    if sink is None:
        yield
        return
    sink.note(STEPS, name)
    try:
        yield
    finally:
        sink.advance(STEPS, 1)
