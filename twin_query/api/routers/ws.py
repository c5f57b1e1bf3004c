"""WS /v1/ws: search and ask over a socket, and pushes as materializations land.

Authenticate with ``?token=`` or a first message ``{"type": "auth", "token": ...}``.
Then send ``{"type": "search", "q": ...}`` or ``{"type": "ask", "question": ...}``
(an optional ``"id"`` is echoed back), or ``{"type": "subscribe"}`` to receive
``{"type": "record", "id", "source", "tier", "timestamp"}`` for each new record
the token may read and ``{"type": "insights_changed"}`` when the insights of its
view are re-materialized.

Pushes come from polling the metadata DB (and the view's store) about once a
second: Dagster runs are other processes, so this works without restarts and
across processes. Errors are ``{"type": "error", "status", "detail"}`` with the
same codes as REST, and never quote content.

The token is checked again before every message is answered and before every push: once it is revoked, expired (or
unknown) the socket gets ``{"type": "error", "status": 401, ...}`` and is closed with code 4401, and nothing
more is sent on it; when its scopes change, what it reads changes with them. HIGH records shown in answers
are audited reads (``twin_query.api.shown``), as over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from twin_assets.db.models import RecordRow
from twin_assets.errors import TwinError, storage_error
from twin_assets.tiers import view_for
from twin_query import views
from twin_query.api.deps import Caller
from twin_query.api.middleware import rate_key
from twin_query.api.schemas import AskRequest, AskResponse, Instant, SearchHit, SearchResponse
from twin_query.api.shown import audit_shown
from twin_query.service import QueryService
from twin_query.tokens import TokenCheck, check_token, token_hash

router = APIRouter(tags=["websocket"])
log = logging.getLogger("twin.api")

POLL_SECONDS = 1.0
AUTH_TIMEOUT = 10.0
REVOKED = 4401  # the close code for a missing, invalid, revoked or expired token (as the handshake uses)
MAX_MESSAGE = 64 * 1024
LAG = timedelta(hours=1)  # records are timestamped when staged and become visible when classified
MAX_PUSH = 500  # per poll; the rest follow on the next
_INSTANT: TypeAdapter[datetime | None] = TypeAdapter(Instant | None)


@dataclass
class Watch:
    tiers: tuple[str, ...]
    view: str | None
    seen: dict[str, datetime] = field(default_factory=dict)
    high: datetime = field(default_factory=lambda: datetime.now(UTC))
    store_sig: tuple[int, ...] = ()
    insight_sig: str = ""


def _visible_since(service: QueryService, tiers: tuple[str, ...], cutoff: datetime) -> list[tuple[Any, ...]]:
    twin = service.twin()
    with twin.session() as s:
        return list(
            s.execute(
                select(RecordRow.id, RecordRow.source, RecordRow.tier, RecordRow.event_time, RecordRow.ingest_time)
                .where(RecordRow.status == "stored", RecordRow.tier.in_(tiers), RecordRow.ingest_time >= cutoff)
                .order_by(RecordRow.ingest_time)
            ).all()
        )


def start_watch(service: QueryService, tiers: tuple[str, ...]) -> Watch:
    """What exists now is the baseline; only what appears after it is pushed."""
    w = Watch(tiers=tiers, view=view_for(tiers))
    for row in _visible_since(service, tiers, w.high - LAG):
        w.seen[row[0]] = row[4]
    if w.view:
        twin = service.twin()
        w.store_sig = views.store_signature(twin, w.view)
        w.insight_sig = views.insight_signature(twin, w.view)
    return w


def poll_watch(service: QueryService, w: Watch) -> tuple[list[dict[str, Any]], bool]:
    now = datetime.now(UTC)
    cutoff = min(w.high, now) - LAG
    new: list[dict[str, Any]] = []
    for rid, source, tier, event_time, ingest_time in _visible_since(service, w.tiers, cutoff):
        if rid in w.seen:
            continue
        if len(new) >= MAX_PUSH:
            break
        w.seen[rid] = ingest_time
        new.append(
            {
                "type": "record",
                "id": rid,
                "source": source,
                "tier": tier,
                "timestamp": event_time.isoformat() if event_time else None,
            }
        )
    w.high = now
    w.seen = {k: v for k, v in w.seen.items() if v is None or v >= cutoff}
    changed = False
    if w.view:
        twin = service.twin()
        sig = views.store_signature(twin, w.view)
        if sig != w.store_sig:
            w.store_sig = sig
            isig = views.insight_signature(twin, w.view)
            changed, w.insight_sig = isig != w.insight_sig, isig
    return new, changed


def _check(service: QueryService, token: str) -> TokenCheck:
    return check_token(service.twin(), token)


def _search(service: QueryService, caller: Caller, msg: dict[str, Any]) -> dict[str, Any]:
    q = msg.get("q")
    k = msg.get("k", 10)
    if not isinstance(q, str) or not q.strip() or len(q) > 1000:
        return {"type": "error", "status": 422, "detail": "q must be a non-empty string of at most 1000 characters"}
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        return {"type": "error", "status": 422, "detail": "k must be an integer from 1 to 100"}
    try:  # the same rule as REST: an ISO 8601 date or date-time, never a number taken for 1970
        since, until = (_INSTANT.validate_python(msg.get(name)) for name in ("since", "until"))
    except ValidationError:
        return {"type": "error", "status": 422, "detail": "since/until must be ISO 8601 dates or date-times"}
    hits = service.search(q, tiers=caller.tiers, k=k, since=since, until=until)
    out = SearchResponse(query=q, hits=[SearchHit(**h.__dict__) for h in hits])
    audit_shown(service.twin(), caller, out)
    return {"type": "search", **json.loads(out.model_dump_json())}


def _ask(service: QueryService, caller: Caller, msg: dict[str, Any]) -> dict[str, Any]:
    from twin_query.ask import ask

    try:
        req = AskRequest.model_validate({k: v for k, v in msg.items() if k in ("question", "as_of", "k")})
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return {"type": "error", "status": 422, "detail": "invalid ask message: check " + ", ".join(fields)}
    result = ask(service, req.question, tiers=caller.tiers, as_of=req.as_of, k=req.k)
    audit_shown(service.twin(), caller, AskResponse(**result))
    return {"type": "answer", **json.loads(json.dumps(result, default=str))}


class Connection:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.service: QueryService = ws.app.state.service
        self.metrics = getattr(ws.app.state, "metrics", None)
        self.limiter = getattr(ws.app.state, "limiter", None)
        self.lock = asyncio.Lock()
        self.poller: asyncio.Task[None] | None = None
        self.caller: Caller | None = None
        self.token = ""
        self.key = ""
        self.closed = False

    async def send(self, msg: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_text(json.dumps(msg, default=str))
        if self.metrics:
            self.metrics.ws_message("out", str(msg.get("type")))

    async def error(self, status: int, detail: str, ref: Any = None) -> None:
        msg: dict[str, Any] = {"type": "error", "status": status, "detail": detail}
        if isinstance(ref, str | int) and not isinstance(ref, bool):
            msg["id"] = ref
        await self.send(msg)

    async def receive_json(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message as a dict; None (after an error reply) when it is not one."""
        message = await asyncio.wait_for(self.ws.receive(), timeout)
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None and message.get("bytes") is not None:
            text = message["bytes"].decode("utf-8", errors="replace")
        if text is None or len(text) > MAX_MESSAGE:
            await self.error(413, f"messages are limited to {MAX_MESSAGE} characters")
            return None
        try:
            data = json.loads(text)
        except ValueError:
            await self.error(422, "messages must be JSON objects")
            return None
        if not isinstance(data, dict):
            await self.error(422, "messages must be JSON objects")
            return None
        if self.metrics:
            self.metrics.ws_message("in", str(data.get("type")))
        return data

    async def authenticate(self) -> bool:
        token = self.ws.query_params.get("token")
        if not token:
            try:
                first = await self.receive_json(AUTH_TIMEOUT)
            except TimeoutError:
                first = None
            if first is not None and first.get("type") == "auth" and isinstance(first.get("token"), str):
                token = first["token"]
        check = await run_in_threadpool(_check, self.service, token) if token and len(token) < 512 else None
        scopes = check.scopes if check else None
        if scopes is None or not token:  # no token has no scopes; the second test only tells mypy so
            reason = check.reason() if check and check.problem != "unknown" else "missing, invalid or revoked token"
            await self.error(401, reason)
            await self.ws.close(code=4401)
            return False
        self.caller = Caller(tuple(scopes), token_hash(token))
        self.token = token
        self.key = rate_key(token, {})
        await self.send({"type": "ready", "scopes": list(self.caller.scopes)})
        return True

    async def recheck(self) -> bool:
        """Whether the token still stands; if not, say so and close. Its current scopes become the caller's."""
        if self.closed:
            return False
        check = await run_in_threadpool(_check, self.service, self.token)
        scopes = check.scopes
        if scopes is None:
            self.closed = True
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.error(401, check.reason())
                await self.ws.close(code=REVOKED)
            return False
        if self.caller is None or tuple(scopes) != self.caller.scopes:
            self.caller = Caller(tuple(scopes), token_hash(self.token))
        return True

    async def poll(self) -> None:
        assert self.caller is not None
        watch = await run_in_threadpool(start_watch, self.service, self.caller.tiers)
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                new, changed = await run_in_threadpool(poll_watch, self.service, watch)
            except Exception as exc:  # a busy DB: try again next tick (type only: messages can quote SQL)
                log.warning("subscription poll failed: %s", type(exc).__name__)
                continue
            if not await self.recheck():
                return
            if self.caller.tiers != watch.tiers:  # the token's scopes changed: watch what it reads now
                watch = await run_in_threadpool(start_watch, self.service, self.caller.tiers)
                continue
            for msg in new:
                await self.send(msg)
            if changed:
                await self.send({"type": "insights_changed", "view": watch.view})

    async def handle(self, msg: dict[str, Any]) -> None:
        if not await self.recheck():
            return
        assert self.caller is not None
        kind, ref = msg.get("type"), msg.get("id")
        if self.limiter is not None and (wait := self.limiter.take(self.key)) > 0:
            await self.send(
                {
                    "type": "error",
                    "status": 429,
                    "detail": "rate limit exceeded",
                    "retry_after": max(1, round(wait + 0.5)),
                }
            )
            return
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "subscribe":
            if self.poller is None:
                self.poller = asyncio.create_task(self.poll())
            await self.send({"type": "subscribed", "poll_seconds": POLL_SECONDS})
        elif kind == "unsubscribe":
            await self.stop()
            await self.send({"type": "unsubscribed"})
        elif kind in ("search", "ask"):
            work = _search if kind == "search" else _ask
            try:
                reply = await run_in_threadpool(work, self.service, self.caller, msg)
            except TwinError as exc:  # written content-free, says what to fix
                reply = {"type": "error", "status": 503, "detail": str(exc)}
            except Exception as exc:
                if (storage := storage_error(exc)) is not None:  # as REST: one content-free line with the fix
                    reply = {"type": "error", "status": 503, "detail": str(storage)}
                else:
                    log.error("unhandled %s on /v1/ws", type(exc).__name__)
                    reply = {"type": "error", "status": 500, "detail": "internal error"}
            if isinstance(ref, str | int) and not isinstance(ref, bool):
                reply["id"] = ref
            if await self.recheck():  # revoked while the answer was being made: it is not sent
                await self.send(reply)
        elif kind == "auth":
            await self.error(400, "already authenticated", ref)
        else:
            await self.error(422, "unknown message type; use search, ask, subscribe, unsubscribe or ping", ref)

    async def stop(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.poller
            self.poller = None


@router.websocket("/v1/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    conn = Connection(websocket)
    await websocket.accept()
    if conn.metrics:
        conn.metrics.ws_connections(1)
    try:
        if not await conn.authenticate():
            return
        while True:
            msg = await conn.receive_json()
            if msg is not None:
                await conn.handle(msg)
            if conn.closed:
                return
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await conn.stop()
        if conn.metrics:
            conn.metrics.ws_connections(-1)
