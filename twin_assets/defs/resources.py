"""Resources shared by every area: the twin handle and an IO manager that stores nothing.

Dagster pickles every returned asset value into DAGSTER_HOME in the clear
(docs/privacy.md), so assets write through :class:`TwinResource` and return
``MaterializeResult`` with counts only; :class:`RefuseValuesIOManager` turns any
accidental return value into a failure instead of a plaintext pickle.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from dagster import (
    AssetCheckExecutionContext,
    ConfigurableIOManager,
    ConfigurableResource,
    Failure,
    InitResourceContext,
    InputContext,
    OutputContext,
)
from pydantic import PrivateAttr

from twin_assets import progress
from twin_assets.classify import Classifier
from twin_assets.db.engine import Engines
from twin_assets.embedding import EmbeddingModels
from twin_assets.errors import TwinError, storage_error
from twin_assets.keys import Keyring
from twin_assets.pipeline.run_cache import RunCache
from twin_assets.stores.chroma_client import ChromaClients
from twin_assets.twin import Twin, open_twin

F = TypeVar("F", bound=Callable[..., Any])

# The embedding models that the in-process runs of one command share, for the span of a ``with`` block
# (:func:`sharing_models`): ``twin sync`` is one run per tier partition, and each would load the model again.
_shared_models: ContextVar[EmbeddingModels | None] = ContextVar("twin_shared_models", default=None)


@contextlib.contextmanager
def sharing_models(models: EmbeddingModels) -> Iterator[None]:
    """Runs executed in process inside the block embed with ``models`` instead of loading their own; what their
    view caches froze stays frozen until the block ends (see ``RunCache.release``)."""
    token = _shared_models.set(models)
    try:
        yield
    finally:
        _shared_models.reset(token)
        gc.unfreeze()  # what the runs' caches froze (see RunCache.release)


class TwinResource(ConfigurableResource):
    """Opens the twin home named by the environment (TWIN_HOME and friends), with the run's view cache, Chroma
    clients, keyring (loaded by the run's first handle), classifier (rules and Presidio engine, built once per run)
    and embedding models (loaded once per run, by the first step that embeds, unless the command that executes its
    runs in process shares one set: :func:`sharing_models`).

    Dagster calls ``setup_for_execution`` once per run per process, so every run has the cache however it was
    launched; with the multiprocess executor it spans one step (see :mod:`twin_assets.pipeline.run_cache`)."""

    _cache: RunCache | None = PrivateAttr(default=None)
    _chroma: ChromaClients | None = PrivateAttr(default=None)
    _models: EmbeddingModels | None = PrivateAttr(default=None)
    _engines: Engines | None = PrivateAttr(default=None)
    _classifier: Classifier | None = PrivateAttr(default=None)
    _keyring: Keyring | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._cache, self._chroma = RunCache(), ChromaClients()
        self._models = _shared_models.get() or EmbeddingModels()
        self._engines = Engines()
        # Its Presidio engine is built by the first record that needs it, its classification.yaml read then too.
        self._classifier = Classifier()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._cache is not None:
            # Inside a command's ``sharing_models`` block the block's end unfreezes, once for all its runs.
            self._cache.release(unfreeze=_shared_models.get() is None)
        if self._engines is not None:
            self._engines.dispose()
        self._cache = self._chroma = self._models = self._engines = None
        self._classifier = self._keyring = None

    def open(self) -> Twin:
        twin = open_twin(
            run_cache=self._cache,
            chroma=self._chroma,
            models=self._models,
            engines=self._engines,
            classifier=self._classifier,
            keyring=self._keyring,
        )
        if self._cache is not None:  # set up for a run: its later handles share this one's keyring
            self._keyring = self._keyring or twin.keyring
        return twin


class RefuseValuesIOManager(ConfigurableIOManager):
    """Refuses to persist asset values: they would land unencrypted in DAGSTER_HOME."""

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is not None:
            raise Failure(
                description=f"asset returned a {type(obj).__name__}; twin assets must return "
                "MaterializeResult and write through TwinResource (values would be stored in plaintext)"
            )

    def load_input(self, context: InputContext) -> None:
        return None


def _step_name(fn: Callable[..., Any]) -> str:
    """The running asset's key (and partition): asset functions built by a factory share one ``__name__``."""
    try:
        from dagster import AssetExecutionContext

        context = AssetExecutionContext.get()
        name = context.asset_key.to_user_string()
        return f"{name}[{context.partition_key}]" if context.has_partition_key else name
    except Exception:  # outside a run, or a step with several assets
        return fn.__name__


def content_safe(fn: F) -> F:
    """Re-raise any error as its type name only: exception text can quote a record and
    Dagster stores failure messages and tracebacks in its event log."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if args and isinstance(args[0], AssetCheckExecutionContext):  # a check: not one of the plan's steps
                return fn(*args, **kwargs)
            with progress.step(_step_name(fn)):  # the CLI shows which step runs and how many are done
                return fn(*args, **kwargs)
        except Failure:
            raise
        except TwinError as exc:  # our own messages are written content-free
            raise Failure(description=str(exc)) from None
        except Exception as exc:
            if (storage := storage_error(exc)) is not None:  # disk full, not writable, locked: say which, and the fix
                raise Failure(description=str(storage)) from None
            raise Failure(description=f"{fn.__name__} failed with {type(exc).__name__}") from None

    return wrapper  # type: ignore[return-value]
