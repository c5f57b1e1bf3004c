"""The connector: fetch a source's pages, turn items into records, move the cursor only after a full fetch.

Fetching is incremental: ``fetch(cursor)`` asks for items changed since
``cursor - lookback`` and afterwards leaves the newest item time in
``next_cursor``. The overlap re-fetches a few items on purpose so that edits
which land late (or come from a server with a skewed clock) are not missed;
downstream dedupes by content hash. The cursor only advances when every page
was fetched, because many APIs list newest first and a partial run would
otherwise skip the older remainder for good.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from twin_assets.connectors.rest_api.auth import TokenStore, authenticator_for
from twin_assets.connectors.rest_api.config import ApiSourceConfig, Incremental
from twin_assets.connectors.rest_api.items import API_ITEM, MISSING, get_path, item_to_record, parse_time
from twin_assets.connectors.rest_api.paginators import Page, PageRequest, PaginationError, paginator_for
from twin_assets.connectors.rest_api.ratelimit import TokenBucket
from twin_assets.connectors.rest_api.transport import Credentials, FetchStats, Stop, Transport
from twin_assets.records import ParseIssue, Record


def format_cursor(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form ``next_cursor`` takes."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def since_value(cursor_time: datetime, incremental: Incremental) -> str:
    """What to send as ``since_param``: the cursor minus the lookback, floored to the second."""
    since = (cursor_time - timedelta(seconds=incremental.lookback_seconds)).replace(microsecond=0)
    if incremental.since_format == "epoch":
        return str(int(since.timestamp()))
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        self._now = now
        self._rng = rng or random.Random()
        limit = config.rate_limit
        self._bucket = TokenBucket(limit.requests_per_second, limit.burst, sleep, clock) if limit else None
        # Kept across fetches: an OAuth2 token outlives one run's pages.
        self._auth = authenticator_for(config, token_store)
        # Built now so an unknown pagination type fails at construction, not mid-run.
        paginator_for(config)
        #: After a fetch: the newest item time (ISO 8601 UTC), or the cursor passed in.
        self.next_cursor: str | None = None
        #: After a fetch: True when every page was fetched (only then does the cursor move).
        self.complete = False
        self.stats = FetchStats()

    def __repr__(self) -> str:
        return f"RestApiConnector(source={self.config.name!r})"

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
        transport = Transport(client, config, self.stats, sleep=self._sleep, now=self._now, rng=self._rng)
        try:
            pages = self._pages(transport, since)
            while True:
                try:
                    page_no, items = next(pages)
                except StopIteration as stop:
                    finished = bool(stop.value)
                    break
                except Stop as stop:
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

    def _pages(self, transport: Transport, since: dict[str, str]) -> Generator[tuple[int, list[Any]], None, bool]:
        """(page number, items) per page; returns True when pagination ended normally, raises Stop if not."""
        config = self.config
        paginator = paginator_for(config)
        request = PageRequest(config.url, {**config.params, **since})
        paginator.init_request(request)
        page_no = 0
        while True:
            page_no += 1
            where = f"page {page_no}"
            if page_no > config.max_pages:
                raise Stop(ParseIssue(where, f"stopped at the max_pages cap of {config.max_pages}"))
            page = self._get_page(transport, request, where)
            self.stats.pages += 1
            items = get_path(page.body, config.items_path)
            if items is MISSING:
                raise Stop(ParseIssue(where, "items_path not found in the response"))
            if items is None:
                items = []
            if not isinstance(items, list):
                raise Stop(ParseIssue(where, "items_path does not lead to a list"))
            if paginator.repeats_previous(page):
                return True
            yield page_no, items
            try:
                paginator.update_state(page, items)
            except PaginationError as exc:
                raise Stop(ParseIssue(where, str(exc))) from None
            if not paginator.has_next_page:
                return True
            paginator.update_request(request)

    def _get_page(self, transport: Transport, request: PageRequest, where: str) -> Page:
        url, params = request.url, dict(request.params)
        client = transport.client

        def build(headers: dict[str, str], extra: dict[str, str]) -> httpx.Request:
            merged = {"Accept": "application/json", **self.config.headers, **headers}
            if not params and not extra:
                return client.build_request("GET", url, headers=merged, timeout=self.config.timeout_seconds)
            # Merge into the URL's own query so a Link URL keeps its parameters.
            request_url = httpx.URL(url).copy_merge_params({**params, **extra})
            return client.build_request("GET", request_url, headers=merged, timeout=self.config.timeout_seconds)

        def prepare() -> Credentials:
            if self._bucket:
                self._bucket.acquire()
            return self._auth.credentials(transport)

        response = transport.send(build, where, who="API", prepare=prepare, reauthenticate=self._auth.forget)
        try:
            body = json.loads(response.content)
        except RecursionError:
            raise Stop(ParseIssue(where, "JSON nested too deeply")) from None
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            raise Stop(ParseIssue(where, reason)) from None
        except ValueError as exc:  # bytes in no JSON encoding
            raise Stop(ParseIssue(where, f"not valid JSON: {type(exc).__name__}")) from None
        return Page(body, response.headers, hashlib.sha256(response.content).digest(), response.url)
