"""The REST + WebSocket API (``twin serve``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import twin_assets
from twin_assets.errors import TwinError
from twin_assets.settings import TwinSettings, get_settings
from twin_query.api.routers import records, search, webhooks
from twin_query.api.schemas import Health

log = logging.getLogger("twin.api")


def create_app(settings: TwinSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="Digital Twin API",
        version=twin_assets.__version__,
        description="Query a private model of your life. Every answer is filtered by the token's scopes "
        "(low, medium, high).",
    )
    app.state.settings = settings or get_settings()

    @app.get("/v1/health", response_model=Health, tags=["service"], summary="Liveness (no token needed)")
    def health() -> Health:
        return Health(status="ok", version=twin_assets.__version__)

    @app.exception_handler(TwinError)
    async def twin_error(_: Request, exc: TwinError) -> JSONResponse:
        # TwinError messages are written content-free; they say what to fix.
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__)  # type only: messages can quote content
        return JSONResponse({"detail": "internal error"}, status_code=500)

    app.include_router(search.router)
    app.include_router(records.router)
    app.include_router(webhooks.router)
    return app
