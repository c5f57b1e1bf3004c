"""A process-wide progress hook, so the CLI can draw a bar for work done inside an
in-process Dagster run without passing callables through run config."""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int], None]  # (stage, items done since last call)
_reporter: Reporter | None = None


def set_reporter(fn: Reporter | None) -> None:
    global _reporter
    _reporter = fn


def reporter(stage: str) -> Callable[[int], None] | None:
    fn = _reporter
    if fn is None:
        return None
    return lambda n: fn(stage, n)
