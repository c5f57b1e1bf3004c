"""A progress hook scoped to a ``with`` block, so the CLI can draw a bar for work done inside the Dagster runs it
executes in process without passing callables through run config (Dagster builds the runs' resources itself,
from config, and keeps no object handed to it)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

Reporter = Callable[[str, int], None]  # (stage, items done since last call)
_reporter: ContextVar[Reporter | None] = ContextVar("twin_progress_reporter", default=None)


@contextlib.contextmanager
def reporting(fn: Reporter) -> Iterator[None]:
    """Work done inside the block (in this thread, or in the in-process runs it executes) reports to ``fn``."""
    token = _reporter.set(fn)
    try:
        yield
    finally:
        _reporter.reset(token)


def reporter(stage: str) -> Callable[[int], None] | None:
    fn = _reporter.get()
    if fn is None:
        return None
    return lambda n: fn(stage, n)
