"""The REST + WebSocket API (``twin serve``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import twin_assets
from twin_assets.errors import TwinError
from twin_assets.settings import TwinSettings, get_settings
from twin_query.api import docs_ui, middleware
from twin_query.api.metrics import Metrics
from twin_query.api.routers import ask, entities, graph, insights, records, search, timeline, webhooks, ws
from twin_query.api.schemas import Health
from twin_query.service import QueryService

log = logging.getLogger("twin.api")


def create_app(settings: TwinSettings | None = None, *, warm_up: bool = False) -> FastAPI:
    """The API for ``settings`` (the environment's by default). ``warm_up`` loads the served views in the
    background once it has started (``twin serve``; see :mod:`twin_query.warmup`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The one place the API keeps state between requests: caches, the HIGH index, each thread's handle.
        with QueryService(app.state.settings) as service:
            app.state.service = service
            if warm_up:
                from twin_query import warmup

                warmup.start(service)
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Digital Twin API",
        version=twin_assets.__version__,
        description="Query a private model of your life. Every answer is filtered by the token's scopes "
        "(low, medium, high).",
        docs_url=None,  # served from installed files below, not from a CDN
        redoc_url=None,
    )
    docs_ui.install(app)
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not decodable at all: still bad input, so 422 like the rest.
            return JSONResponse({"detail": "invalid request: the body is not valid JSON"}, status_code=422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input (a search query, a question): name the field and the rule
        # only, in the same {"detail": "..."} shape as every other error (the OpenAPI says so, see below).
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return JSONResponse({"detail": ("invalid request: " + "; ".join(problems))[:1000]}, status_code=422)

    # Request guard (size limit, per-token rate limit, access log, metrics); CORS outside it, only if configured.
    config = middleware.GuardConfig.from_env()
    app.state.metrics = Metrics()
    app.state.limiter = middleware.RateLimiter(config.rate, config.burst)
    if config.access_log:
        middleware.configure_access_log()
    app.add_middleware(
        middleware.RequestGuard,
        config=config,
        limiter=app.state.limiter,
        metrics=app.state.metrics,
        token_ids=middleware.TokenIds(_token_id_resolver(app)),
    )
    if origins := middleware.cors_origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["service"],
        summary="Prometheus metrics: request counts and latency per route template (no token needed)",
    )
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    app.include_router(search.router)
    app.include_router(records.router)
    app.include_router(webhooks.router)
    app.include_router(insights.router)
    app.include_router(ask.router)
    app.include_router(entities.router)
    app.include_router(graph.router)
    app.include_router(timeline.router)
    app.include_router(ws.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, with every 422 documented as the {"detail": "..."} the handler above sends."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        error = {"$ref": "#/components/schemas/ErrorOut"}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if isinstance(op, dict) and "422" in op.get("responses", {}):
                    op["responses"]["422"] = {
                        "description": "Invalid request: which field, which rule",
                        "content": {"application/json": {"schema": error}},
                    }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault(
            "ErrorOut",
            {
                "properties": {"detail": {"type": "string", "title": "Detail"}},
                "type": "object",
                "required": ["detail"],
                "title": "ErrorOut",
            },
        )
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _token_id_resolver(app: FastAPI) -> Callable[[str], str | None]:
    """sha256(token) → the token's id, for access-log lines (which never hold the token)."""

    def resolve(digest: str) -> str | None:
        from sqlalchemy import select

        from twin_assets.db.models import ApiToken

        service: QueryService = app.state.service
        with service.twin().session() as s:
            found: str | None = s.scalars(select(ApiToken.id).where(ApiToken.token_hash == digest)).first()
            return found

    return resolve
