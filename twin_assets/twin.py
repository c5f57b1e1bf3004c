"""One handle on a twin home: settings, keys, metadata DB and tier stores.

CLI commands, Dagster resources and the API all open the twin through
:func:`open_twin`, so checks (home exists, keys open, schema current) happen in
one place and fail with one clear line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from twin_assets.db.engine import Engines, session_scope
from twin_assets.embedding import EmbeddingModels
from twin_assets.errors import KeyFileError
from twin_assets.home import require_home
from twin_assets.keys import Keyring, load_keyring, set_store_key_id, store_key_ids
from twin_assets.settings import TwinSettings, get_settings
from twin_assets.stores import HIGH, LOW, MEDIUM, TIERS
from twin_assets.stores.chroma_client import ChromaClients, open_chroma
from twin_assets.stores.derived import DerivedStore
from twin_assets.stores.documents import DocumentStore
from twin_assets.stores.graph import GraphSnapshots
from twin_assets.stores.vectors import ChromaVectors

if TYPE_CHECKING:  # a handle only carries the run's cache; the pipeline, which fills it, sits above the handle
    from sqlalchemy.orm import Session

    from twin_assets.classify import Classifier
    from twin_assets.pipeline.run_cache import RunCache

STORE_FILES: dict[str, str] = {HIGH: "high.sqlcipher", MEDIUM: "medium.sqlcipher", LOW: "low.sqlite"}


class Twin:
    def __init__(
        self,
        settings: TwinSettings,
        run_cache: RunCache | None = None,
        chroma: ChromaClients | None = None,
        models: EmbeddingModels | None = None,
        engines: Engines | None = None,
        classifier: Classifier | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        require_home(settings)
        self.settings = settings
        # The Dagster run's cache, when a run's resource opened this handle (see twin_assets.pipeline.run_cache).
        self.run_cache = run_cache
        # Chroma clients, shared with the other handles of whoever opened this one (the query service, a run).
        self.chroma = chroma if chroma is not None else ChromaClients()
        # Embedding models, likewise shared (the query service's or the run's); a lone handle loads its own once.
        self.embedding_models = models if models is not None else EmbeddingModels()
        # The opener's keyring (loaded once for all its handles: a passphrase's key takes argon2id ~0.5 s to derive),
        # or this handle's own.
        self.keyring: Keyring = keyring if keyring is not None else load_keyring(settings)
        # The metadata DB's engine: the opener's (shared by its handles), or this handle's own, disposed on close.
        self._own_engines = engines is None
        self._engines = engines if engines is not None else Engines()
        self.engine: Engine = self._engines.get(settings.metadata_url)
        self._stores: dict[str, DocumentStore] = {}
        # The run's classifier (its rules, Presidio engine and classification.yaml), or this handle's own.
        self._classifier = classifier

    @property
    def classifier(self) -> Classifier:
        """What classifies this home's records: the opener's (a run's, one per run), else one made on first use."""
        if self._classifier is None:
            from twin_assets.classify import Classifier  # classification sits above the handle, as the pipeline does

            self._classifier = Classifier(home=self.settings.home_path)
        return self._classifier

    def session(self) -> contextlib.AbstractContextManager[Session]:
        return session_scope(self.engine)

    def store_path(self, tier: str) -> Path:
        return self.settings.stores_dir / STORE_FILES[tier]

    def store(self, tier: str) -> DocumentStore:
        store = self._stores.get(tier)
        if store is None:
            store = self._open_store(tier)
            self._stores[tier] = store
        return store

    def _open_store(self, tier: str) -> DocumentStore:
        path = self.store_path(tier)
        if tier == LOW:
            return DocumentStore(path, tier, self.keyring, None)
        # A SQLCipher file is keyed under the key id it was last (re)keyed with: the sidecar names
        # it (it differs from the active key during a rotation); any other known key is tried
        # next, so an interrupted rotation never leaves a store that no key opens.
        named = store_key_ids(self.settings).get(path.name)
        first = named if named in self.keyring.key_ids else self.keyring.active_id
        candidates = [first] + [k for k in self.keyring.key_ids if k != first and path.exists()]
        for i, key_id in enumerate(candidates):
            try:
                store = DocumentStore(path, tier, self.keyring, self.keyring.store_key(tier.lower(), key_id))
            except KeyFileError:
                if i == len(candidates) - 1:
                    raise
                continue
            if named != key_id:
                set_store_key_id(self.settings, path.name, key_id)
            return store
        raise AssertionError("unreachable")

    def store_key_id(self, tier: str) -> str | None:
        """The key id the tier's SQLCipher file is keyed under (None for the plain LOW store)."""
        if tier == LOW:
            return None
        self.store(tier)
        return store_key_ids(self.settings).get(STORE_FILES[tier], self.keyring.active_id)

    def stores(self) -> Iterator[DocumentStore]:
        for tier in TIERS:
            yield self.store(tier)

    def derived(self, tier: str) -> DerivedStore:
        return DerivedStore(self.store(tier))

    def graphs(self, tier: str) -> GraphSnapshots:
        return GraphSnapshots(self.settings.stores_dir / "graph", tier, self.keyring)

    @contextlib.contextmanager
    def vectors(self) -> Iterator[ChromaVectors]:
        with open_chroma(self.settings, clients=self.chroma) as client:
            yield self.chroma.vectors(client)

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        if self._own_engines:
            self._engines.dispose()


def open_twin(
    settings: TwinSettings | None = None,
    *,
    run_cache: RunCache | None = None,
    chroma: ChromaClients | None = None,
    models: EmbeddingModels | None = None,
    engines: Engines | None = None,
    classifier: Classifier | None = None,
    keyring: Keyring | None = None,
) -> Twin:
    return Twin(settings or get_settings(), run_cache, chroma, models, engines, classifier, keyring)
