"""A small JSON API on 127.0.0.1 for the REST connector tests.

It paginates in three styles, filters by ``updated_since``, rate-limits, fails
on demand (status codes, or a request that hangs past the client's timeout) and
issues OAuth2 tokens that stop working after a few requests or seconds.

Everything time-based reads a :class:`FakeTime` shared with the connector under
test, whose injected ``sleep`` only advances that clock: the server sees
exactly the waiting the client did, and no test sleeps for real.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

PRIVATE_TEXT = "Alice Example's private diagnosis"  # error bodies carry this; it must never surface


class FakeTime:
    """Monotonic and wall clock that move only when ``sleep`` is called."""

    def __init__(self, start: datetime = datetime(2024, 6, 1, tzinfo=UTC)) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.elapsed += seconds

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class ApiState:
    items: list[dict[str, Any]]
    clock: FakeTime
    base_url: str = ""
    # Per path, what to answer before behaving normally: a status code, "hang" or "pass".
    fail_plan: dict[str, list[int | str]] = field(default_factory=dict)
    min_interval: float | None = None  # fake seconds required between requests, else 429
    retry_after: str | None = "3"  # "date:N" = an HTTP date N seconds ahead
    page_cap: int | None = None  # the most items a page may hold whatever the client asks
    repeat_last_page: bool = False  # past the end, answer the last page again instead of []
    # Authentication: None, "api_key" (header X-API-Key or query api_key) or "oauth".
    auth: str | None = None
    api_key: str = ""
    client_id: str = "twin-client"
    client_secret: str = ""
    token_uses: int = 1_000  # requests an access token is good for
    token_lifetime: int = 3600  # seconds, reported as expires_in and enforced on the fake clock
    rotate_refresh: bool = True
    access_tokens: dict[str, list[float]] = field(default_factory=dict)  # token -> [uses left, expires at]
    refresh_tokens: set[str] = field(default_factory=set)
    # What happened, for assertions.
    requests: list[Seen] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)
    hang_release: threading.Event = field(default_factory=threading.Event)
    _last_admitted: float | None = None
    _counter: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def api_requests(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def issue_access_token(self) -> str:
        token = f"at-{next(self._counter)}"
        self.access_tokens[token] = [self.token_uses, self.clock.monotonic() + self.token_lifetime]
        return token

    def issue_refresh_token(self) -> str:
        token = f"rt-{next(self._counter)}"
        self.refresh_tokens.add(token)
        return token


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _updated(item: Any) -> datetime | None:
    """An item's updated_at, or None when it has none the server can read (such items always match)."""
    try:
        return _iso(item["updated_at"])
    except (TypeError, KeyError, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # ------------------------------------------------------------------ plumbing

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        with self.server.state.lock:
            self.server.state.statuses.append(status)

    def _record(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        state = self.server.state
        with state.lock:
            state.requests.append(Seen(self.command, parts.path, query, dict(self.headers.items())))
        return parts.path, query

    def do_POST(self) -> None:
        path, _ = self._record()
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != "/oauth/token":
            self._send(404, {"error": PRIVATE_TEXT})
            return
        self._token(form)

    def do_GET(self) -> None:
        path, query = self._record()
        state = self.server.state
        with state.lock:
            plan = state.fail_plan.get(path)
            step = plan.pop(0) if plan else "pass"
        if step == "hang":
            state.hang_release.wait(5)
            self._send(503)
            return
        if step != "pass":
            self._send(int(step), {"error": PRIVATE_TEXT})
            return
        if not self._rate_ok() or not self._authorised(query):
            return
        routes = {
            "/cursor/items": self._cursor,
            "/page/items": self._page,
            "/link/items": self._link,
            "/none/items": self._none,
            "/elsewhere/items": self._elsewhere,
        }
        route = routes.get(path)
        if route is None:
            self._send(404, {"error": "no such thing", "detail": PRIVATE_TEXT})
            return
        route(query)

    # ------------------------------------------------------------------ policies

    def _rate_ok(self) -> bool:
        state = self.server.state
        if state.min_interval is None:
            return True
        now = state.clock.monotonic()
        with state.lock:
            if state._last_admitted is None or now - state._last_admitted >= state.min_interval - 1e-9:
                state._last_admitted = now
                return True
        headers = {}
        if state.retry_after and state.retry_after.startswith("date:"):
            when = state.clock.now() + timedelta(seconds=int(state.retry_after[5:]))
            headers["Retry-After"] = format_datetime(when, usegmt=True)
        elif state.retry_after:
            headers["Retry-After"] = state.retry_after
        self._send(429, {"error": PRIVATE_TEXT}, headers)
        return False

    def _authorised(self, query: dict[str, str]) -> bool:
        state = self.server.state
        if state.auth is None:
            return True
        if state.auth == "api_key":
            given = self.headers.get("X-API-Key") or query.get("api_key")
            if given == state.api_key:
                return True
        else:
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ")
            with state.lock:
                entry = state.access_tokens.get(token)
                if entry and entry[0] > 0 and state.clock.monotonic() < entry[1]:
                    entry[0] -= 1
                    return True
        self._send(401, {"error": "unauthorised", "detail": PRIVATE_TEXT})
        return False

    def _token(self, form: dict[str, str]) -> None:
        state = self.server.state
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            client_id, _, secret = (unquote(p) for p in pair.partition(":"))
        with state.lock:
            state.grants.append(dict(form, client_id=client_id or ""))
            if client_id != state.client_id or secret != state.client_secret:
                self._send(401, {"error": "invalid_client", "detail": PRIVATE_TEXT})
                return
            body: dict[str, Any] = {"token_type": "bearer", "expires_in": state.token_lifetime}
            grant = form.get("grant_type")
            if grant == "client_credentials":
                body["access_token"] = state.issue_access_token()
            elif grant == "refresh_token" and form.get("refresh_token") in state.refresh_tokens:
                body["access_token"] = state.issue_access_token()
                if state.rotate_refresh:
                    state.refresh_tokens.discard(form["refresh_token"])
                    body["refresh_token"] = state.issue_refresh_token()
            else:
                self._send(400, {"error": "invalid_grant", "detail": PRIVATE_TEXT})
                return
        self._send(200, body)

    # ------------------------------------------------------------------ data

    def _filtered(self, query: dict[str, str]) -> list[dict[str, Any]]:
        items = sorted(self.server.state.items, key=lambda i: str(i.get("id")) if isinstance(i, dict) else "")
        since = query.get("updated_since")
        if since:
            cutoff = _iso(since)
            items = [i for i in items if (_updated(i) or cutoff) >= cutoff]
        return items

    def _size(self, asked: str | None, default: int) -> int:
        size = int(asked) if asked else default
        cap = self.server.state.page_cap
        return min(size, cap) if cap else size

    def _cursor(self, query: dict[str, str]) -> None:
        items = self._filtered(query)
        limit = self._size(query.get("limit"), 2)
        offset = int(query.get("cursor", "c0")[1:])
        chunk = items[offset : offset + limit]
        more = offset + limit < len(items)
        self._send(200, {"data": {"items": chunk}, "meta": {"next": f"c{offset + limit}" if more else None}})

    def _page(self, query: dict[str, str]) -> None:
        items = self._filtered(query)
        size = self._size(query.get("per_page"), 10)
        page = int(query.get("page", "1"))
        last = max(1, -(-len(items) // size))
        if self.server.state.repeat_last_page:
            page = min(page, last)
        self._send(200, items[(page - 1) * size : page * size])

    def _link(self, query: dict[str, str]) -> None:
        items = self._filtered(query)
        limit = self._size(query.get("limit"), 2)
        page = int(query.get("page", "1"))
        headers = {}
        if page * limit < len(items):
            nxt = urlencode({**query, "page": page + 1})
            # A comma inside a URL and a second entry check that the header is split properly.
            base = self.server.state.base_url
            headers["Link"] = f'<{base}/link/items?a=1,2>; rel="last", <{base}/link/items?{nxt}>; rel="next"'
        self._send(200, {"results": items[(page - 1) * limit : page * limit]}, headers)

    def _none(self, query: dict[str, str]) -> None:
        self._send(200, {"items": self._filtered(query)})

    def _elsewhere(self, query: dict[str, str]) -> None:
        self._send(200, {"results": self._filtered(query)[:1]}, {"Link": '<https://other.example/steal>; rel="next"'})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ApiState

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out leaves a broken pipe behind; that is expected here


@contextmanager
def serve(state: ApiState) -> Iterator[str]:
    """Run the fake API on an ephemeral port; yields its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state.base_url
    finally:
        state.hang_release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
