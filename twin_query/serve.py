"""Run the API, with a Chroma server for this home if none is configured.

The API is long-lived, so it never opens embedded Chroma (stale reads, no
process safety): it uses ``TWIN_CHROMA_URL`` or starts ``chroma run`` on
loopback and registers it, so Dagster runs started meanwhile use it too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from twin_assets.home import require_home
from twin_assets.settings import TwinSettings
from twin_assets.stores.chroma_client import ManagedChromaServer, registered_server


@contextlib.contextmanager
def chroma_for(settings: TwinSettings) -> Iterator[str]:
    """The Chroma URL to use; starts (and later stops) a managed server when needed."""
    if settings.chroma_url:
        yield settings.chroma_url
        return
    url = registered_server(settings)
    if url:
        yield url
        return
    server = ManagedChromaServer(settings)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def serve_api(settings: TwinSettings, host: str, port: int) -> None:
    import uvicorn

    from twin_query.api.app import create_app

    require_home(settings)
    with chroma_for(settings):
        # Access logs off: request lines carry query strings, which carry what people search for.
        uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_level="warning")
