"""Paginated JSON REST APIs as a source: one ``api_item`` record per item.

A source is described by an :class:`ApiSourceConfig` (usually loaded from
``TWIN_HOME/api_sources.yaml`` by :func:`load_api_sources`): where the items sit
in the JSON body, which fields hold id, time, title and body, how pages follow
each other, and how to authenticate. The config never holds a secret, only the
names of the environment variables that do; OAuth2 tokens pass through a
caller-provided :class:`TokenStore`, which the pipeline keeps encrypted.

Fetching is incremental: ``fetch(cursor)`` asks for items changed since
``cursor - lookback`` and afterwards leaves the newest item time in
``next_cursor``. The overlap re-fetches a few items on purpose so that edits
which land late (or come from a server with a skewed clock) are not missed;
downstream dedupes by content hash. The cursor only advances when every page
was fetched, because many APIs list newest first and a partial run would
otherwise skip the older remainder for good.

Failures are data, not exceptions: an HTTP error, exhausted retries or a bad
item becomes a :class:`ParseIssue` holding only positions, status codes and our
own words, never a response body or a URL (both can carry personal data or keys).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Protocol, runtime_checkable
from urllib.parse import quote, urljoin, urlsplit

import httpx
import yaml
from dateutil import parser as dateutil_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin_assets.records import ParseIssue, Party, Record

API_ITEM = "api_item"

# Tokens are treated as expired this long before the server says, so a request
# never leaves with a token that dies in flight.
TOKEN_EXPIRY_SKEW_SECONDS = 30
# Epoch values above this are taken as milliseconds (1e11 s is the year 5138).
EPOCH_MILLIS_THRESHOLD = 1e11
MAX_TIME_TEXT = 64

_DOTTED = r"^[^.\s]+(\.[^.\s]+)*$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Words that mark a query parameter or header as a credential; those belong in
# ``auth`` (read from the environment), never in the config file.
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "access_key",
    "private_key",
    "authorization",
    "credential",
    "signature",
    "cookie",
    "session",
)


# --------------------------------------------------------------------------- configuration


class _Strict(BaseModel):
    # Unknown keys are errors so a misspelt option (or a pasted secret) never passes silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CursorPagination(_Strict):
    """The body names the next page's cursor; it goes back as a query parameter."""

    type: Literal["cursor"]
    cursor_param: str = "cursor"
    next_cursor_path: str = Field("meta.next", pattern=_DOTTED)


class PagePagination(_Strict):
    """Numbered pages; stops at an empty page or one shorter than an earlier page."""

    type: Literal["page"]
    page_param: str = "page"
    size_param: str | None = "per_page"
    size: int = Field(100, ge=1, le=10_000)
    start: int = Field(1, ge=0)


class LinkPagination(_Strict):
    """RFC 8288 ``Link: <...>; rel="next"`` headers (GitHub, GitLab, ...)."""

    type: Literal["link"]


class NoPagination(_Strict):
    type: Literal["none"]


Pagination = Annotated[CursorPagination | PagePagination | LinkPagination | NoPagination, Field(discriminator="type")]


class NoAuth(_Strict):
    type: Literal["none"]


class ApiKeyAuth(_Strict):
    """A static key sent in a header or a query parameter."""

    type: Literal["api_key"]
    header: str | None = None
    query_param: str | None = None
    key_env: str = Field(pattern=_ENV_NAME)

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query_param is None):
            raise ValueError("give exactly one of header or query_param")
        return self


class BearerAuth(_Strict):
    type: Literal["bearer"]
    token_env: str = Field(pattern=_ENV_NAME)


class OAuth2ClientCredentials(_Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id_env: str = Field(pattern=_ENV_NAME)
    client_secret_env: str = Field(pattern=_ENV_NAME)
    scope: str | None = None
    #: RFC 6749 2.3.1: HTTP Basic is the recommended way; some servers only take form fields.
    client_auth: Literal["basic", "post"] = "basic"


class OAuth2RefreshToken(_Strict):
    type: Literal["oauth2_refresh_token"]
    token_url: str
    client_id_env: str = Field(pattern=_ENV_NAME)
    client_secret_env: str | None = Field(None, pattern=_ENV_NAME)
    refresh_token_env: str = Field(pattern=_ENV_NAME)
    scope: str | None = None
    client_auth: Literal["basic", "post"] = "basic"


Auth = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | OAuth2ClientCredentials | OAuth2RefreshToken,
    Field(discriminator="type"),
]
OAuth2 = OAuth2ClientCredentials | OAuth2RefreshToken


class RateLimit(_Strict):
    requests_per_second: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class Incremental(_Strict):
    since_param: str
    lookback_seconds: int = Field(3600, ge=0)
    since_format: Literal["iso", "epoch"] = "iso"


class ApiSourceConfig(_Strict):
    """One API source. Secrets are referenced by environment-variable name only."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    base_url: str
    path: str = ""
    method: Literal["GET"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = Field("", pattern=r"^$|" + _DOTTED)
    id_field: str = Field(pattern=_DOTTED)
    time_field: str | None = Field(None, pattern=_DOTTED)
    title_field: str | None = Field(None, pattern=_DOTTED)
    body_field: str | None = Field(None, pattern=_DOTTED)
    author_name_field: str | None = Field(None, pattern=_DOTTED)
    author_email_field: str | None = Field(None, pattern=_DOTTED)
    author_handle_field: str | None = Field(None, pattern=_DOTTED)
    pagination: Pagination = NoPagination(type="none")
    incremental: Incremental | None = None
    auth: Auth = NoAuth(type="none")
    rate_limit: RateLimit | None = None
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    max_retries: int = Field(5, ge=0, le=20)
    max_pages: int = Field(10_000, ge=1)
    backoff_seconds: float = Field(0.5, gt=0)
    max_backoff_seconds: float = Field(60.0, gt=0)
    #: A Retry-After beyond this ends the run (with a ParseIssue) instead of sleeping for hours.
    max_retry_after_seconds: float = Field(900.0, ge=0)
    max_response_bytes: int = Field(64 * 1024**2, ge=1024)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        _check_url(value, "base_url")
        if urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError("base_url must not carry a query or fragment; use params")
        return value

    @field_validator("params", "headers")
    @classmethod
    def _no_credentials(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if _looks_secret(key):
                raise ValueError(
                    f"{key!r} looks like a credential; configure it under auth (read from an environment variable)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ApiSourceConfig:
        if self.incremental is not None and self.time_field is None:
            raise ValueError("incremental needs time_field")
        if isinstance(self.auth, OAuth2ClientCredentials | OAuth2RefreshToken):
            _check_url(self.auth.token_url, "auth.token_url")
            _require_tls(self.auth.token_url, "auth.token_url")
        if not isinstance(self.auth, NoAuth):
            _require_tls(self.base_url, "base_url")
        return self

    @property
    def url(self) -> str:
        """The first page's URL (without query)."""
        base = self.base_url.rstrip("/")
        return f"{base}/{self.path.lstrip('/')}" if self.path else base


def _check_url(value: str, field: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{field} must not contain credentials; configure them under auth")


def _require_tls(value: str, field: str) -> None:
    """Credentials travel over plain HTTP only to this machine."""
    parts = urlsplit(value)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"{field} must use https when credentials are sent")


def _looks_secret(key: str) -> bool:
    norm = key.lower().replace("-", "_")
    return norm in ("auth", "key", "sig") or any(word in norm for word in _SECRET_WORDS)


def load_api_sources(path: Path) -> list[ApiSourceConfig]:
    """Read ``api_sources.yaml``: a ``sources:`` list (or a bare list) of source configs.

    A missing file means no API sources. Any problem raises ValueError with a
    one-line message naming the source and field; values are never quoted.
    """
    if not path.exists():
        return []
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{label}: cannot be read ({type(exc).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"{label}: not valid YAML{at}") from None
    if data is None:
        return []
    if isinstance(data, dict):
        unknown = sorted(str(k) for k in data if k != "sources")
        if unknown:
            raise ValueError(f"{label}: unknown top-level key(s) {', '.join(unknown)}; expected 'sources'")
        data = data.get("sources") or []
    if not isinstance(data, list):
        raise ValueError(f"{label}: expected a list of sources under 'sources'")
    configs: list[ApiSourceConfig] = []
    for index, entry in enumerate(data, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"source {index}"
        if isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            where += f" ({name})"
        if not isinstance(entry, dict):
            raise ValueError(f"{label}: {where} is not a mapping")
        try:
            configs.append(ApiSourceConfig.model_validate(entry))
        except ValidationError as exc:
            raise ValueError(f"{label}: {where}: {describe_validation_error(exc)}") from None
    seen: set[str] = set()
    for config in configs:
        if config.name in seen:
            raise ValueError(f"{label}: duplicate source name {config.name}")
        seen.add(config.name)
    return configs


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and pydantic's messages on one line; the offending values are left out."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "source"
        msg = str(err["msg"]).removeprefix("Value error, ").replace("\n", " ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- token store


@runtime_checkable
class TokenStore(Protocol):
    """Where OAuth2 tokens persist between runs; the caller keeps it encrypted.

    The saved dict has ``access_token``, ``token_type``, ``expires_at`` (Unix
    seconds or None) and, for the refresh-token grant, ``refresh_token``.
    """

    def load(self) -> dict[str, Any] | None: ...

    def save(self, token: dict[str, Any]) -> None: ...


# --------------------------------------------------------------------------- plain helpers

_MISSING: Any = object()


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted path ("data.items", "labels.0.name"); ``_MISSING`` if absent."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            if part not in obj:
                return _MISSING
            obj = obj[part]
        elif isinstance(obj, list) and part.isascii() and part.isdigit():
            index = int(part)
            if index >= len(obj):
                return _MISSING
            obj = obj[index]
        else:
            return _MISSING
    return obj


def _without(obj: Any, path: str) -> Any:
    """A copy of ``obj`` without the key at ``path``; only the dicts along the path are copied."""
    head, _, rest = path.partition(".")
    if not isinstance(obj, dict) or head not in obj:
        return obj
    copy = dict(obj)
    if rest:
        copy[head] = _without(obj[head], rest)
    else:
        del copy[head]
    return copy


def _offset_string(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_time(value: Any) -> tuple[datetime, str | None] | None:
    """(UTC datetime, "+HH:MM" offset the source gave or None) from ISO 8601 or epoch seconds.

    Naive ISO times are taken as UTC, which is what APIs mean by them in practice;
    epoch values too large for seconds are read as milliseconds.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > MAX_TIME_TEXT:
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return _from_epoch(float(text))
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                dt = dateutil_parser.isoparse(text)
            except (ValueError, OverflowError):
                return None
        try:
            if dt.tzinfo is None or dt.utcoffset() is None:
                return dt.replace(tzinfo=UTC), None
            offset = dt.utcoffset()
            return dt.astimezone(UTC), _offset_string(offset) if offset is not None else None
        except (OverflowError, ValueError):
            return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    return None


def _from_epoch(seconds: float) -> tuple[datetime, None] | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) > EPOCH_MILLIS_THRESHOLD:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC), None
    except (OverflowError, OSError, ValueError):
        return None


def format_cursor(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form ``next_cursor`` takes."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def since_value(cursor_time: datetime, incremental: Incremental) -> str:
    """What to send as ``since_param``: the cursor minus the lookback, floored to the second."""
    since = (cursor_time - timedelta(seconds=incremental.lookback_seconds)).replace(microsecond=0)
    if incremental.since_format == "epoch":
        return str(int(since.timestamp()))
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _json_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return _compact_json(value)
    return str(value)


def _compact_json(value: Any) -> str:
    # Sorted keys keep the body, and so the content hash, stable across fetches.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def item_to_record(config: ApiSourceConfig, item: Any, where: str) -> Record | ParseIssue:
    """One JSON item as a Record, or a ParseIssue naming its position (never its content)."""
    if not isinstance(item, dict):
        return ParseIssue(where, "item is not a JSON object")
    raw_id = get_path(item, config.id_field)
    if raw_id is _MISSING or raw_id is None or raw_id == "":
        return ParseIssue(where, "id field missing or empty")
    if isinstance(raw_id, bool | dict | list) or (isinstance(raw_id, float) and not math.isfinite(raw_id)):
        return ParseIssue(where, "id field is not a string or number")
    event_time = original_tz = None
    if config.time_field:
        raw_time = get_path(item, config.time_field)
        if raw_time is not _MISSING and raw_time is not None and raw_time != "":
            parsed = parse_time(raw_time)
            if parsed is None:
                return ParseIssue(where, "time field unparseable")
            event_time, original_tz = parsed
    if config.body_field:
        body = _text(get_path(item, config.body_field))
    else:
        rest = item
        for path in (config.id_field, config.time_field):
            if path:
                rest = _without(rest, path)
        body = _compact_json(rest)
    # Title and body already carry those fields; repeating them in attributes would store the text twice.
    content_keys = {f for f in (config.title_field, config.body_field) if f and "." not in f}
    attributes = {k: v for k, v in item.items() if isinstance(k, str) and k not in content_keys and _json_scalar(v)}
    parties = []
    author = {
        role: _text(get_path(item, field)) or None
        for role, field in (
            ("name", config.author_name_field),
            ("email", config.author_email_field),
            ("handle", config.author_handle_field),
        )
        if field
    }
    if any(author.values()):
        parties.append(Party(role="author", **author))
    return Record(
        source=config.name,
        external_id=str(raw_id),
        kind=API_ITEM,
        title=_text(get_path(item, config.title_field)) if config.title_field else "",
        body=body,
        event_time=event_time,
        original_tz=original_tz,
        parties=parties,
        attributes=attributes,
    )


class TokenBucket:
    """Client-side rate limit: ``burst`` requests at once, refilled at ``rate`` per second.

    Time comes from the injected clock; after sleeping, the bucket books the wait
    as elapsed itself, so it stays correct with a fake clock that sleep does not move.
    """

    def __init__(self, rate: float, burst: int, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self._sleep = sleep
        self._clock = clock
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the time slept."""
        now = self._clock()
        if now > self._last:
            self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
            self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        wait = (1 - self.tokens) / self.rate
        self._sleep(wait)
        self.tokens = 0.0
        self._last += wait
        return wait


# --------------------------------------------------------------------------- connector


@dataclass
class FetchStats:
    """Counters for run metadata; no content."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    token_fetches: int = 0


class _Response(NamedTuple):
    status: int
    headers: httpx.Headers
    content: bytes
    url: str


class _Page(NamedTuple):
    body: Any
    headers: httpx.Headers
    digest: bytes
    url: str


class _Stop(Exception):
    """Ends a run with the ParseIssue it carries; internal control flow only."""

    def __init__(self, issue: ParseIssue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


class _TooLarge(Exception):
    pass


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    return (
        pa.scheme == pb.scheme
        and (pa.hostname or "").lower() == (pb.hostname or "").lower()
        and (pa.port or default.get(pa.scheme)) == (pb.port or default.get(pb.scheme))
    )


class RestApiConnector:
    """Fetches one configured API source as ``api_item`` records.

    ``sleep``, ``clock`` (monotonic), ``now`` (wall clock, tz-aware) and ``rng``
    (backoff jitter) are injectable so tests run fast and deterministically.
    """

    kind: ClassVar[str] = "rest_api"
    description: ClassVar[str] = "Paginated JSON REST APIs configured in api_sources.yaml"
    record_kinds: ClassVar[tuple[str, ...]] = (API_ITEM,)

    def __init__(
        self,
        config: ApiSourceConfig,
        token_store: TokenStore | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        *,
        now: Callable[[], datetime] = _utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.token_store = token_store
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._rng = rng or random.Random()
        self._bucket = (
            TokenBucket(config.rate_limit.requests_per_second, config.rate_limit.burst, sleep, clock)
            if config.rate_limit
            else None
        )
        self._token: dict[str, Any] | None = None
        self._token_loaded = False
        #: After a fetch: the newest item time (ISO 8601 UTC), or the cursor passed in.
        self.next_cursor: str | None = None
        #: After a fetch: True when every page was fetched (only then does the cursor move).
        self.complete = False
        self.stats = FetchStats()

    def __repr__(self) -> str:
        return f"RestApiConnector(source={self.config.name!r})"

    # ----------------------------------------------------------------- fetch

    def fetch(self, cursor: str | None) -> Iterator[Record | ParseIssue]:
        """Yield every item changed since ``cursor`` (minus the lookback), then set ``next_cursor``.

        Never raises for API trouble: a failure ends the run with a ParseIssue.
        """
        config = self.config
        self.next_cursor = cursor
        self.complete = False
        self.stats = FetchStats()
        started = self._now()
        parsed_cursor = parse_time(cursor) if cursor else None
        previous = parsed_cursor[0] if parsed_cursor else None
        if cursor and previous is None:
            self.next_cursor = None
            yield ParseIssue("cursor", "stored cursor is not a time; fetching everything")
        since: dict[str, str] = {}
        if config.incremental and previous is not None:
            since[config.incremental.since_param] = since_value(previous, config.incremental)

        newest: datetime | None = None
        finished = False
        client, owned = self._open_client()
        try:
            pages = self._pages(client, since)
            while True:
                try:
                    page_no, items = next(pages)
                except StopIteration as stop:
                    finished = bool(stop.value)
                    break
                except _Stop as stop:
                    yield stop.issue
                    break
                for n, item in enumerate(items, 1):
                    where = f"item {n} on page {page_no}"
                    try:
                        out = item_to_record(config, item, where)
                    except RecursionError:
                        out = ParseIssue(where, "item nested too deeply")
                    if isinstance(out, Record) and out.event_time and (newest is None or out.event_time > newest):
                        newest = out.event_time
                    yield out
        finally:
            if owned:
                client.close()
        self.complete = finished
        if finished and newest is not None:
            # A future-dated item must not push the cursor past now and freeze later fetches.
            newest = min(newest, started)
            if previous is None or newest > previous:
                self.next_cursor = format_cursor(newest)

    def _open_client(self) -> tuple[httpx.Client, bool]:
        if self._client is not None:
            return self._client, False
        # Redirects are not followed: a custom key header would go along to wherever they point.
        return httpx.Client(follow_redirects=False, headers={"User-Agent": "digital-twin"}), True

    def _pages(self, client: httpx.Client, since: dict[str, str]) -> Generator[tuple[int, list[Any]], None, bool]:
        """(page number, items) per page; returns True when pagination ended normally, raises _Stop if not."""
        config = self.config
        pagination = config.pagination
        url = config.url
        params: dict[str, Any] = {**config.params, **since}
        page_value = pagination.start if isinstance(pagination, PagePagination) else 0
        seen_cursors: set[str] = set()
        largest = 0
        last_digest = b""
        page_no = 0
        while True:
            page_no += 1
            where = f"page {page_no}"
            if page_no > config.max_pages:
                raise _Stop(ParseIssue(where, f"stopped at the max_pages cap of {config.max_pages}"))
            request_params = dict(params)
            if isinstance(pagination, PagePagination):
                request_params[pagination.page_param] = page_value
                if pagination.size_param:
                    request_params[pagination.size_param] = pagination.size
            page = self._get_page(client, url, request_params, where)
            self.stats.pages += 1
            items = get_path(page.body, config.items_path)
            if items is _MISSING:
                raise _Stop(ParseIssue(where, "items_path not found in the response"))
            if items is None:
                items = []
            if not isinstance(items, list):
                raise _Stop(ParseIssue(where, "items_path does not lead to a list"))
            if isinstance(pagination, PagePagination) and page.digest == last_digest:
                return True  # past the end some APIs repeat the last page instead of an empty one
            yield page_no, items

            if isinstance(pagination, CursorPagination):
                nxt = get_path(page.body, pagination.next_cursor_path)
                if nxt is _MISSING or nxt is None or nxt == "":
                    return True
                if isinstance(nxt, bool) or not isinstance(nxt, str | int):
                    raise _Stop(ParseIssue(where, "next cursor is not a string or number"))
                if str(nxt) in seen_cursors:
                    raise _Stop(ParseIssue(where, "API returned a cursor it had returned before; stopped"))
                seen_cursors.add(str(nxt))
                params[pagination.cursor_param] = str(nxt)
            elif isinstance(pagination, PagePagination):
                # A server may cap the page size below what we asked for, so only a page
                # shorter than an earlier one (or an empty one) proves the end.
                if not items or len(items) < largest:
                    return True
                largest = max(largest, len(items))
                last_digest = page.digest
                page_value += 1
            elif isinstance(pagination, LinkPagination):
                link = _next_link(page.headers)
                if not link:
                    return True
                nxt_url = urljoin(page.url, link)
                if not _same_origin(nxt_url, config.url):
                    raise _Stop(ParseIssue(where, "next-page link points to another host; not followed"))
                url, params = nxt_url, {}
            else:
                return True

    def _get_page(self, client: httpx.Client, url: str, params: dict[str, Any], where: str) -> _Page:
        def build(headers: dict[str, str], extra: dict[str, str]) -> httpx.Request:
            merged = {"Accept": "application/json", **self.config.headers, **headers}
            if not params and not extra:
                return client.build_request("GET", url, headers=merged, timeout=self.config.timeout_seconds)
            # Merge into the URL's own query so a Link URL keeps its parameters.
            request_url = httpx.URL(url).copy_merge_params({**params, **extra})
            return client.build_request("GET", request_url, headers=merged, timeout=self.config.timeout_seconds)

        response = self._send(client, build, where, api=True)
        try:
            body = json.loads(response.content)
        except RecursionError:
            raise _Stop(ParseIssue(where, "JSON nested too deeply")) from None
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            raise _Stop(ParseIssue(where, reason)) from None
        except ValueError as exc:  # bytes in no JSON encoding
            raise _Stop(ParseIssue(where, f"not valid JSON: {type(exc).__name__}")) from None
        return _Page(body, response.headers, hashlib.sha256(response.content).digest(), response.url)

    # ----------------------------------------------------------------- HTTP with retries

    def _send(
        self,
        client: httpx.Client,
        build: Callable[[dict[str, str], dict[str, str]], httpx.Request],
        where: str,
        *,
        api: bool,
    ) -> _Response:
        """One successful response, after rate limiting, retries and at most one re-authentication.

        ``api`` is False for the token endpoint: no rate limit, no credentials, no re-auth.
        """
        config = self.config
        who = "API" if api else "token endpoint"
        attempt = 0
        reauthenticated = False
        while True:
            headers: dict[str, str] = {}
            extra: dict[str, str] = {}
            if api:
                if self._bucket:
                    self._bucket.acquire()
                headers, extra = self._credentials(client)
            try:
                request = build(headers, extra)
            except (httpx.InvalidURL, ValueError, TypeError):
                raise _Stop(ParseIssue(where, "could not build the request URL")) from None
            self.stats.requests += 1
            delay: float | None = None
            try:
                response = self._read(client, request)
            except _TooLarge:
                raise _Stop(
                    ParseIssue(where, f"response larger than max_response_bytes ({config.max_response_bytes})")
                ) from None
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                raise _Stop(ParseIssue(where, f"request could not be sent: {type(exc).__name__}")) from None
            except httpx.RequestError as exc:  # timeouts, refused or dropped connections: worth retrying
                problem = type(exc).__name__
            else:
                status = response.status
                if 200 <= status < 300:
                    return response
                if status == 401 and api and isinstance(config.auth, OAuth2) and not reauthenticated:
                    reauthenticated = True
                    self._discard_access_token()
                    continue
                if status != 429 and status < 500:
                    note = "; redirects are not followed" if 300 <= status < 400 else ""
                    raise _Stop(ParseIssue(where, f"HTTP {status} from {who}{note}"))
                problem = f"HTTP {status}"
                delay = parse_retry_after(response.headers.get("Retry-After"), self._now())
            if attempt >= config.max_retries:
                raise _Stop(ParseIssue(where, f"{who} failed {attempt + 1} times; last: {problem}"))
            if delay is None:
                delay = self._backoff(attempt)
            elif delay > config.max_retry_after_seconds:
                raise _Stop(
                    ParseIssue(where, f"{problem}: asked to wait {delay:.0f} s, beyond max_retry_after_seconds")
                )
            self.stats.retries += 1
            self._sleep(delay)
            attempt += 1

    def _read(self, client: httpx.Client, request: httpx.Request) -> _Response:
        """Send and read the body up to the size cap; error bodies are not read at all."""
        response = client.send(request, stream=True)
        try:
            content = b""
            if 200 <= response.status_code < 300:
                cap = self.config.max_response_bytes
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise _TooLarge
                chunks: list[bytes] = []
                total = 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > cap:
                        raise _TooLarge
                    chunks.append(chunk)
                content = b"".join(chunks)
            return _Response(response.status_code, response.headers, content, str(response.url))
        finally:
            response.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.config.max_backoff_seconds, self.config.backoff_seconds * 2**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    # ----------------------------------------------------------------- credentials

    def _credentials(self, client: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query params) that authenticate one API request."""
        auth = self.config.auth
        if isinstance(auth, ApiKeyAuth):
            key = _env(auth.key_env, "auth.key_env")
            return ({auth.header: key}, {}) if auth.header else ({}, {auth.query_param or "": key})
        if isinstance(auth, BearerAuth):
            return {"Authorization": f"Bearer {_env(auth.token_env, 'auth.token_env')}"}, {}
        if isinstance(auth, OAuth2):
            return {"Authorization": f"Bearer {self._access_token(client)}"}, {}
        return {}, {}

    def _access_token(self, client: httpx.Client) -> str:
        if not self._token_loaded:
            self._token_loaded = True
            if self.token_store is not None:
                stored = self.token_store.load()
                self._token = dict(stored) if isinstance(stored, dict) else None
        token = self._token or {}
        access = token.get("access_token")
        if isinstance(access, str) and access and not self._expired(token):
            return access
        return self._obtain_token(client)

    def _expired(self, token: dict[str, Any]) -> bool:
        expires_at = token.get("expires_at")
        if expires_at is None:
            return False
        try:
            return self._now().timestamp() >= float(expires_at) - TOKEN_EXPIRY_SKEW_SECONDS
        except (TypeError, ValueError):
            return True

    def _discard_access_token(self) -> None:
        """Forget the access token after a 401 but keep the refresh token for the next grant."""
        refresh = (self._token or {}).get("refresh_token")
        self._token = {"refresh_token": refresh} if refresh else None

    def _obtain_token(self, client: httpx.Client) -> str:
        auth = self.config.auth
        assert isinstance(auth, OAuth2)
        if isinstance(auth, OAuth2ClientCredentials):
            return self._grant(client, auth, {"grant_type": "client_credentials"})
        stored = (self._token or {}).get("refresh_token")
        if isinstance(stored, str) and stored:
            # The stored token is the newest rotation. The environment's is the fallback
            # for when the user re-consented and put a fresh one there.
            try:
                return self._grant(client, auth, {"grant_type": "refresh_token", "refresh_token": stored})
            except _Stop as stop:
                rejected = stop.issue.reason.startswith(("HTTP 400", "HTTP 401"))
                if not rejected or os.environ.get(auth.refresh_token_env, "") in ("", stored):
                    raise
        from_env = _env(auth.refresh_token_env, "auth.refresh_token_env")
        return self._grant(client, auth, {"grant_type": "refresh_token", "refresh_token": from_env})

    def _grant(self, client: httpx.Client, auth: OAuth2, data: dict[str, str]) -> str:
        client_id = _env(auth.client_id_env, "auth.client_id_env")
        secret = _env(auth.client_secret_env, "auth.client_secret_env") if auth.client_secret_env else None
        if auth.scope:
            data = {**data, "scope": auth.scope}
        headers = {"Accept": "application/json"}
        if auth.client_auth == "basic":
            # RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
            pair = f"{quote(client_id, safe='')}:{quote(secret or '', safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            data = {**data, "client_id": client_id, **({"client_secret": secret} if secret else {})}

        def build(_headers: dict[str, str], _extra: dict[str, str]) -> httpx.Request:
            return client.build_request(
                "POST", auth.token_url, data=data, headers=headers, timeout=self.config.timeout_seconds
            )

        response = self._send(client, build, "auth", api=False)
        self.stats.token_fetches += 1
        try:
            payload = json.loads(response.content)
        except (ValueError, RecursionError):
            raise _Stop(ParseIssue("auth", "token endpoint did not answer with JSON")) from None
        access = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(access, str) or not access:
            raise _Stop(ParseIssue("auth", "token endpoint answer has no access_token"))
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise _Stop(ParseIssue("auth", "token endpoint returned a token type other than Bearer"))
        expires_at = None
        lifetime = _number(payload.get("expires_in"))
        if lifetime is not None:
            expires_at = self._now().timestamp() + lifetime
        refresh = payload.get("refresh_token")
        if not (isinstance(refresh, str) and refresh):
            refresh = data.get("refresh_token")  # not rotated: keep using the one we sent
        token: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_at": expires_at}
        if refresh:
            token["refresh_token"] = refresh
        self._token = token
        if self.token_store is not None:
            self.token_store.save(dict(token))
        return access


def _env(name: str, field: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        # The field, not the variable, is named: a secret pasted where a name belongs must not leak.
        raise _Stop(ParseIssue("auth", f"the environment variable named by {field} is not set"))
    return value


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string (some servers quote expires_in)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _next_link(headers: httpx.Headers) -> str | None:
    """The rel="next" target of the Link headers, if any."""
    for value in headers.get_list("link"):
        for part in _split_links(value):
            match = re.match(r"\s*<([^>]*)>(.*)$", part, re.S)
            if not match:
                continue
            rels = re.findall(r';\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))', match.group(2), re.I)
            if any("next" in (quoted or bare).lower().split() for quoted, bare in rels):
                return match.group(1).strip()
    return None


def _split_links(value: str) -> list[str]:
    """Split a Link header on the commas between entries (URLs may contain commas)."""
    parts: list[str] = []
    current: list[str] = []
    in_url = quoted = False
    for char in value:
        if char == "<" and not quoted:
            in_url = True
        elif char == ">" and not quoted:
            in_url = False
        elif char == '"' and not in_url:
            quoted = not quoted
        if char == "," and not in_url and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
