"""Request guard: body size limit, per-token rate limit, access log and metrics, no tracebacks.

One pure ASGI middleware, so it sees WebSocket handshakes too and can catch
any exception before Starlette's error middleware prints a traceback (whose
message could quote content). Access-log lines are JSON with the method, the
route *template* (never the raw path or query string: those carry what people
search for), the status, the duration and the token's id (never the token).

Settings (``settings.api``): ``TWIN_API_MAX_BODY_BYTES`` (default 1 MiB),
``TWIN_API_RATE`` requests per second per token (default 20; 0 turns the limit
off) with bursts of ``TWIN_API_BURST`` (default 60), ``TWIN_CORS_ORIGINS``
(comma-separated; CORS stays off when unset), ``TWIN_ACCESS_LOG`` (``off`` to
silence the access log).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException

from twin_assets.connectors.toolkit.ratelimit import TokenBucket
from twin_assets.errors import storage_error
from twin_assets.settings import get_settings
from twin_query.api.metrics import Metrics

log = logging.getLogger("twin.api")
access = logging.getLogger("twin.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY = 1024 * 1024
UNMATCHED = "<unmatched>"


@dataclass(frozen=True)
class GuardConfig:
    max_body: int = DEFAULT_MAX_BODY
    rate: float = 20.0  # tokens per second; 0 = unlimited
    burst: float = 60.0
    access_log: bool = True

    @classmethod
    def from_env(cls) -> GuardConfig:
        """The ``TWIN_API_*`` settings as they are now (validated: rate >= 0, burst >= 1)."""
        api = get_settings().api
        return cls(max_body=api.max_body_bytes, rate=api.rate, burst=api.burst, access_log=api.access_log)


def cors_origins() -> list[str]:
    return get_settings().api.cors_origins


class RateLimiter:
    """A token bucket per key (the connectors' ``TokenBucket``), in memory (one server process)."""

    MAX_KEYS = 10_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """0.0 if allowed, else the seconds to wait before retrying."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, self.burst)
            wait = bucket.take(cost)
            self._buckets[key] = bucket  # most recently used last: the oldest key is dropped first
            while len(self._buckets) > self.MAX_KEYS:
                self._buckets.popitem(last=False)
            return wait


def token_from(scope: Scope) -> str | None:
    """The bearer token of a request, or ``?token=`` on a WebSocket handshake."""
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            header: str = value.decode("latin-1")
            parts = header.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1].strip()
    if scope.get("type") == "websocket":
        qs: dict[str, list[str]] = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        if qs.get("token"):
            return qs["token"][0]
    return None


def rate_key(token: str | None, scope: Scope) -> str:
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    client = scope.get("client") or ("?", 0)
    return f"ip:{client[0]}"


class TokenIds:
    """Token → its id in the metadata DB, for the access log (cached; the token itself is never logged)."""

    def __init__(self, resolve: Callable[[str], str | None]) -> None:
        self._resolve = resolve
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str | None) -> str | None:
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            if digest in self._cache:
                return self._cache[digest]
        try:
            found = self._resolve(digest)
        except Exception:  # the log line is not worth failing a request for
            found = None
        with self._lock:
            self._cache[digest] = found
            while len(self._cache) > 1000:
                self._cache.popitem(last=False)
        return found


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it and the app answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


async def _json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(
        self, app: ASGIApp, config: GuardConfig, limiter: RateLimiter, metrics: Metrics, token_ids: TokenIds
    ) -> None:
        self.app, self.config, self.limiter, self.metrics, self.token_ids = app, config, limiter, metrics, token_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        token = token_from(scope)
        state = {"status": 0, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            elif message["type"] == "websocket.accept":
                state["status"], state["started"] = 101, True
            elif message["type"] == "websocket.close" and not state["started"]:
                state["status"], state["started"] = 403, True
            await send(message)

        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send_wrapper, token, state)
            else:
                wait = self.limiter.take(rate_key(token, scope))
                if wait > 0:
                    await send_wrapper({"type": "websocket.close", "code": 1013})
                    state["status"] = 429
                    return
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # never a traceback, never an exception message (it could quote content)
            # A full disk, an unwritable home or a locked database is a 503 naming it and the fix (content-free).
            storage = storage_error(exc)
            log.error("%s on %s", storage or f"unhandled {type(exc).__name__}", route_template(scope))
            status = 500 if storage is None else 503
            if scope["type"] == "http" and not state["started"]:
                await _json(send, status, "internal error" if storage is None else str(storage))
            state["status"] = state["status"] or status
        finally:
            self._record(scope, state["status"] or 500, time.perf_counter() - start, token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, token: str | None, state: dict[str, Any]) -> None:
        limit = self.config.max_body
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                declared = value.decode("latin-1").strip()
                if not declared.isdigit() or int(declared) > limit:
                    await _json(send, 413, f"request body larger than {limit} bytes")
                    return
        wait = self.limiter.take(rate_key(token, scope))
        if wait > 0:
            await _json(send, 429, "rate limit exceeded; retry later", {"Retry-After": str(max(1, math.ceil(wait)))})
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            if not state["started"]:
                await _json(send, 413, f"request body larger than {limit} bytes")

    def _record(self, scope: Scope, status: int, seconds: float, token: str | None) -> None:
        route = route_template(scope)
        method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
        self.metrics.observe(method, route, status, seconds)
        if not self.config.access_log or not access.isEnabledFor(logging.INFO):
            return
        access.info(
            json.dumps(
                {
                    "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "type": scope["type"],
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "token": self.token_ids.get(token),
                }
            )
        )


def configure_access_log() -> None:
    """JSON lines on stderr, unless the host application configured the logger itself."""
    if access.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
