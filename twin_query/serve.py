"""Run the API, holding the home's Chroma server up for as long as it runs.

The API is long-lived and decrypts records, so it talks to Chroma over HTTP:
``TWIN_CHROMA_URL``, or the home's own server (``chroma_server``), which the
held lease keeps from stopping while idle.
"""

from __future__ import annotations

from twin_assets.home import require_home
from twin_assets.settings import TwinSettings
from twin_assets.stores.chroma_client import hold_server


def serve_api(settings: TwinSettings, host: str, port: int) -> None:
    import uvicorn

    from twin_query.api.app import create_app

    require_home(settings)
    with hold_server(settings):
        # Access logs off: request lines carry query strings, which carry what people search for.
        uvicorn.run(create_app(settings, warm_up=True), host=host, port=port, access_log=False, log_level="warning")
