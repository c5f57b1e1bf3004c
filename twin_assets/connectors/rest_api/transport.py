"""HTTP for one fetch: retries with backoff, ``Retry-After``, a response size cap, failures as issues.

Every failure ends the fetch with a :class:`Stop` carrying a ``ParseIssue`` of
positions, status codes and our own words, never a response body or a URL
(both can carry personal data or keys). Error bodies are not even read.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import httpx

from twin_assets.connectors.rest_api.config import ApiSourceConfig
from twin_assets.records import ParseIssue

#: Builds one attempt's request from the credentials of that attempt: (headers, query params).
RequestBuilder = Callable[[dict[str, str], dict[str, str]], httpx.Request]
Credentials = tuple[dict[str, str], dict[str, str]]


@dataclass
class FetchStats:
    """Counters for run metadata; no content."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    token_fetches: int = 0


class Response(NamedTuple):
    status: int
    headers: httpx.Headers
    content: bytes
    url: str


class Stop(Exception):
    """Ends a fetch with the ParseIssue it carries; control flow inside the package only."""

    def __init__(self, issue: ParseIssue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


class _TooLarge(Exception):
    pass


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


class Transport:
    """Sends requests for one source over one ``httpx.Client``, counting into ``stats``."""

    def __init__(
        self,
        client: httpx.Client,
        config: ApiSourceConfig,
        stats: FetchStats,
        *,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self.client = client
        self.config = config
        self.stats = stats
        self._sleep = sleep
        self.now = now
        self._rng = rng

    def send(
        self,
        build: RequestBuilder,
        where: str,
        *,
        who: str,
        prepare: Callable[[], Credentials] | None = None,
        reauthenticate: Callable[[], bool] | None = None,
    ) -> Response:
        """One successful response, after retries and at most one re-authentication.

        ``prepare`` runs before every attempt (rate limit, then credentials);
        ``reauthenticate`` is asked once after a 401 and says whether a retry can help.
        """
        config = self.config
        attempt = 0
        reauthenticated = False
        while True:
            headers, extra = prepare() if prepare else ({}, {})
            try:
                request = build(headers, extra)
            except (httpx.InvalidURL, ValueError, TypeError):
                raise Stop(ParseIssue(where, "could not build the request URL")) from None
            self.stats.requests += 1
            delay: float | None = None
            try:
                response = self._read(request)
            except _TooLarge:
                raise Stop(
                    ParseIssue(where, f"response larger than max_response_bytes ({config.max_response_bytes})")
                ) from None
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                raise Stop(ParseIssue(where, f"request could not be sent: {type(exc).__name__}")) from None
            except httpx.RequestError as exc:  # timeouts, refused or dropped connections: worth retrying
                problem = type(exc).__name__
            else:
                status = response.status
                if 200 <= status < 300:
                    return response
                if status == 401 and reauthenticate is not None and not reauthenticated:
                    reauthenticated = True
                    if reauthenticate():
                        continue
                if status != 429 and status < 500:
                    note = "; redirects are not followed" if 300 <= status < 400 else ""
                    raise Stop(ParseIssue(where, f"HTTP {status} from {who}{note}"))
                problem = f"HTTP {status}"
                delay = parse_retry_after(response.headers.get("Retry-After"), self.now())
            if attempt >= config.max_retries:
                raise Stop(ParseIssue(where, f"{who} failed {attempt + 1} times; last: {problem}"))
            if delay is None:
                delay = self._backoff(attempt)
            elif delay > config.max_retry_after_seconds:
                raise Stop(ParseIssue(where, f"{problem}: asked to wait {delay:.0f} s, beyond max_retry_after_seconds"))
            self.stats.retries += 1
            self._sleep(delay)
            attempt += 1

    def _read(self, request: httpx.Request) -> Response:
        """Send and read the body up to the size cap; error bodies are not read at all."""
        response = self.client.send(request, stream=True)
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
            return Response(response.status_code, response.headers, content, str(response.url))
        finally:
            response.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.config.max_backoff_seconds, self.config.backoff_seconds * 2.0**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)
