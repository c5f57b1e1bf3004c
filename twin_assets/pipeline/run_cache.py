"""What one Dagster run keeps between its steps: one view's documents, normalisations and resolution.

Eight model steps and checks read the same view in a row (0.8 s each at 10k records, ~10x that at 100k), so a
run reads it once. The cache belongs to the run's :class:`~twin_assets.defs.resources.TwinResource`, which
creates it in ``setup_for_execution`` and releases it in ``teardown_after_execution``, and hands it to every
:class:`~twin_assets.twin.Twin` it opens; :mod:`twin_assets.pipeline.model` reads it through that handle. So
every run has it, however it was launched (``twin materialize``, the daemon's sensors, the Dagster UI).

Dagster sets a resource up once per run *per process*: with the in-process executor (``twin_assets.run``) the
cache spans all steps of the run; with the multiprocess executor (the daemon's and the UI's default) each step
runs in its own process and the cache spans that step only. A handle opened without one (the API, the CLI's
own reads, tests) caches nothing, so a long-lived process never keeps a view's documents in memory.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin_assets.twin import Twin

# The steps that read each of a view's large cached values. Once all of them have run in this run, the value is
# dropped: at a million records the normalisations alone are ~400 MB, and graph metrics and insights, which
# peaked highest, run after every step that reads them.
READERS = {
    "norms": frozenset({"build_entities", "build_sentiment", "build_topics"}),
    "topic_texts": frozenset({"build_topics", "build_insights"}),
    "doc_scores": frozenset({"build_insights"}),
}


class RunCache:
    """Values computed for one view (``key``: home, view and the fingerprint of what it reads); a different key
    drops everything held for the previous one."""

    def __init__(self) -> None:
        self._key: Hashable = None
        self._values: dict[str, Any] = {}
        self._done: set[str] = set()

    def _switch(self, key: Hashable) -> None:
        if key != self._key:
            self._key, self._values, self._done = key, {}, set()

    def cached(self, key: Hashable, what: str, compute: Callable[[], Any]) -> Any:
        self._switch(key)
        if what not in self._values:
            self._values[what] = compute()
            _settle()
        return self._values[what]

    def peek(self, key: Hashable, what: str) -> Any:
        """What the run already holds for this view, or None; never computes."""
        return self._values.get(what) if key == self._key else None

    def keep(self, key: Hashable, what: str, value: Any) -> None:
        """Hand ``value`` to a later step of this run (see :meth:`peek`)."""
        if key == self._key:
            self._values[what] = value

    def drop(self, what: str) -> None:
        self._values.pop(what, None)

    def step_done(self, key: Hashable, step: str) -> None:
        """Record that ``step`` has built (or skipped) the view, and release what no later step reads."""
        if key != self._key:
            return
        self._done.add(step)
        for what, readers in READERS.items():
            if readers <= self._done:
                self._values.pop(what, None)

    def holds(self) -> bool:
        return bool(self._values)

    def release(self, *, unfreeze: bool = True) -> None:
        """Drop everything (the run ends) and, with ``unfreeze``, hand the frozen objects back to the collector.

        A command that executes several runs in process (``run.materialize``: a run per tier view) unfreezes once,
        after its last run (``defs.resources.sharing_models``): unfrozen after each run, everything the process
        holds (the libraries' objects too, which ``_settle`` froze with the view) was walked again by the next
        run's collections: a 1% incremental model build at 10k records took 7% more CPU, its HIGH entities step
        twice as long."""
        self._key, self._values, self._done = None, {}, set()
        if unfreeze:
            gc.unfreeze()


@contextlib.contextmanager
def caching(twin: Twin) -> Iterator[RunCache]:
    """Give ``twin`` a run cache for the block and release it after, as a run's resource does (for tests and
    benchmarks that call the model's steps directly)."""
    cache = twin.run_cache = RunCache()
    try:
        yield cache
    finally:
        twin.run_cache = None
        cache.release()


def _settle() -> None:
    """Move everything alive now (a view's documents, normalisations, resolution: tens of millions of objects
    at a million records) out of the collector's sight. Each full collection walked all of them again, ~15% of
    a model build; they are freed by reference counting when the cache drops them."""
    gc.collect()
    gc.freeze()
