"""What the query side keeps between questions, owned by one object per process.

The API creates one :class:`QueryService` in its lifespan (``app.state.service``) and its routers, WebSocket
handlers and warm-up all read through it; a CLI command (``twin search``, ``twin ask``, ``twin insights``) creates
one for its run. It holds:

- each thread's :class:`Twin`: SQLite connections are per thread and the API answers in a thread pool, so every
  thread gets one handle (one connection set), used by the token lookup and the view reads alike;
- the views' derived data and graphs (:class:`~twin_query.views.ViewCache`), shared by all threads;
- the HIGH vector index (decrypted vectors, in memory only), rebuilt when the store changes;
- the Chroma HTTP clients every handle searches LOW and MEDIUM vectors through;
- the metadata database's engine (one connection pool for all threads' handles);
- the home's :class:`~twin_assets.keys.Keyring`, loaded by the first handle and shared by the rest (a passphrase's
  key takes argon2id ~0.5 s to derive, once per service rather than once per thread);
- the embedding model a search embeds its query with (loaded once per process, on the first vector search).

Nothing here outlives the service: :meth:`close` closes every handle it opened.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from datetime import datetime

import networkx as nx

from twin_assets.db.engine import Engines
from twin_assets.embedding import EmbeddingModels
from twin_assets.keys import Keyring
from twin_assets.settings import TwinSettings
from twin_assets.stores import TIERS
from twin_assets.stores.chroma_client import ChromaClients
from twin_assets.stores.vectors import HighVectorIndex
from twin_assets.twin import Twin, open_twin
from twin_query.search import Hit, search
from twin_query.views import RecordLinks, ViewCache, ViewData


class QueryService:
    def __init__(self, settings: TwinSettings) -> None:
        self.settings = settings
        self.views = ViewCache()
        self.high_index = HighVectorIndex()
        self.chroma = ChromaClients()
        self.models = EmbeddingModels()
        self.engines = Engines()
        self.keyring: Keyring | None = None
        self._local = threading.local()
        # Weak: a worker thread the pool retires takes its handle with it, as before; close() gets the rest.
        self._opened: weakref.WeakSet[Twin] = weakref.WeakSet()
        self._lock = threading.Lock()

    def twin(self) -> Twin:
        """This thread's handle on the home (opened on the thread's first call)."""
        twin = getattr(self._local, "twin", None)
        if twin is None:
            twin = open_twin(
                self.settings, chroma=self.chroma, models=self.models, engines=self.engines, keyring=self.keyring
            )
            self._local.twin = twin
            with self._lock:
                self._opened.add(twin)
                if self.keyring is None:
                    self.keyring = twin.keyring
        return twin

    def release(self) -> None:
        """Close this thread's handle now (a short-lived thread, such as the warm-up, calls it when done)."""
        twin = getattr(self._local, "twin", None)
        if twin is not None:
            del self._local.twin
            with self._lock:
                self._opened.discard(twin)
            twin.close()

    def view_data(self, view: str) -> ViewData:
        return self.views.data(self.twin(), view)

    def view_graph(self, view: str) -> tuple[int, RecordLinks, nx.Graph] | None:
        return self.views.graph(self.twin(), view)

    def search(
        self,
        query: str,
        *,
        tiers: Iterable[str] = TIERS,
        k: int = 10,
        mode: str = "hybrid",
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> list[Hit]:
        return search(
            self.twin(),
            query,
            tiers=tiers,
            k=k,
            mode=mode,
            since=since,
            until=until,
            source=source,
            high_index=self.high_index,
        )

    def close(self) -> None:
        with self._lock:
            opened = list(self._opened)
            self._opened.clear()
        for twin in opened:
            twin.close()
        self.engines.dispose()

    def __enter__(self) -> QueryService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
