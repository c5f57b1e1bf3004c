"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from files installed on this machine.

FastAPI's own pages load their scripts, styles and a favicon from a CDN (and ReDoc's from Google Fonts): offline
they are blank, and online every visit tells a third party that this machine runs the twin. The same assets ship
in the ``fastapi-offline`` package (swagger-ui-dist and ReDoc's standalone bundle, pinned with it), so the pages
here are FastAPI's "self-hosting JavaScript and CSS for docs" recipe pointed at them. Like FastAPI's defaults they
need no token: they describe the API, they hold no data (``/openapi.json`` is public too).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
SWAGGER_JS = f"{ASSETS}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS}/swagger-ui.css"
REDOC_JS = f"{ASSETS}/redoc.standalone.js"
FAVICON = f"{ASSETS}/favicon.png"


def assets_dir() -> Path:
    """The installed package's folder of Swagger UI / ReDoc files."""
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve the docs pages on ``app``, which must be created with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
            # The validator badge would send the spec's URL to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
