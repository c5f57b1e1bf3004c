"""How pages follow each other: one paginator class per ``pagination.type``, chosen from :data:`PAGINATORS`.

Modelled on dlt's ``rest_client.paginators``: a paginator sets up the first
request (:meth:`~BasePaginator.init_request`), reads each page
(:meth:`~BasePaginator.update_state`), says whether there is another
(:attr:`~BasePaginator.has_next_page`) and points the request at it
(:meth:`~BasePaginator.update_request`). A new style is a class and one entry
in the mapping (plus its settings model in ``config``); the client never asks
which style it has.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from twin_assets.connectors.rest_api.config import (
    ApiSourceConfig,
    CursorPagination,
    LinkPagination,
    PagePagination,
)
from twin_assets.connectors.rest_api.items import MISSING, get_path
from twin_assets.errors import ConfigError


@dataclass
class PageRequest:
    """The next page's URL and query parameters (credentials are added per attempt, not here)."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """A fetched page: the parsed JSON body, the headers, a digest of the raw bytes and the final URL."""

    body: Any
    headers: httpx.Headers
    digest: bytes
    url: str


class PaginationError(Exception):
    """The API's paging cannot be followed; the reason is our own words, never page content."""


class BasePaginator(ABC):
    """The interface the client drives; one subclass per pagination style."""

    def __init__(self) -> None:
        self._has_next_page = True

    @property
    def has_next_page(self) -> bool:
        return self._has_next_page

    def init_request(self, request: PageRequest) -> None:  # noqa: B027 - an optional hook, empty by design
        """Adjust the first request (e.g. the first page number)."""

    def repeats_previous(self, page: Page) -> bool:
        """True if ``page`` only repeats the one before: the end, for APIs that do that instead of an empty page."""
        return False

    @abstractmethod
    def update_state(self, page: Page, items: list[Any]) -> None:
        """Read what the page says about the next one; raise PaginationError if it cannot be followed."""

    @abstractmethod
    def update_request(self, request: PageRequest) -> None:
        """Point ``request`` at the next page (only called while ``has_next_page``)."""


class SinglePagePaginator(BasePaginator):
    """One request and no more (``type: none``)."""

    def update_state(self, page: Page, items: list[Any]) -> None:
        self._has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        pass


class CursorPaginator(BasePaginator):
    """The body names the next page's cursor; it goes back as a query parameter."""

    def __init__(self, cursor_param: str, next_cursor_path: str) -> None:
        super().__init__()
        self.cursor_param = cursor_param
        self.next_cursor_path = next_cursor_path
        self._cursor: str | None = None
        self._seen: set[str] = set()

    @classmethod
    def from_config(cls, settings: CursorPagination, source: ApiSourceConfig) -> CursorPaginator:
        return cls(settings.cursor_param, settings.next_cursor_path)

    def update_state(self, page: Page, items: list[Any]) -> None:
        nxt = get_path(page.body, self.next_cursor_path)
        if nxt is MISSING or nxt is None or nxt == "":
            self._has_next_page = False
            return
        if isinstance(nxt, bool) or not isinstance(nxt, str | int):
            raise PaginationError("next cursor is not a string or number")
        if str(nxt) in self._seen:
            raise PaginationError("API returned a cursor it had returned before; stopped")
        self._seen.add(str(nxt))
        self._cursor = str(nxt)

    def update_request(self, request: PageRequest) -> None:
        if self._cursor is not None:
            request.params[self.cursor_param] = self._cursor


class PageNumberPaginator(BasePaginator):
    """Numbered pages; stops at an empty page, one shorter than an earlier page, or a repeat of the last."""

    def __init__(self, page_param: str, size_param: str | None, size: int, start: int) -> None:
        super().__init__()
        self.page_param = page_param
        self.size_param = size_param
        self.size = size
        self._page = start
        self._largest = 0
        self._last_digest = b""

    @classmethod
    def from_config(cls, settings: PagePagination, source: ApiSourceConfig) -> PageNumberPaginator:
        return cls(settings.page_param, settings.size_param, settings.size, settings.start)

    def init_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self._page
        if self.size_param:
            request.params[self.size_param] = self.size

    def repeats_previous(self, page: Page) -> bool:
        return page.digest == self._last_digest

    def update_state(self, page: Page, items: list[Any]) -> None:
        # A server may cap the page size below what we asked for, so only a page
        # shorter than an earlier one (or an empty one) proves the end.
        if not items or len(items) < self._largest:
            self._has_next_page = False
            return
        self._largest = max(self._largest, len(items))
        self._last_digest = page.digest
        self._page += 1

    def update_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self._page


class HeaderLinkPaginator(BasePaginator):
    """RFC 8288 ``Link: <...>; rel="next"`` headers (GitHub, GitLab, ...), followed on the first page's origin only."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self._next_url: str | None = None

    @classmethod
    def from_config(cls, settings: LinkPagination, source: ApiSourceConfig) -> HeaderLinkPaginator:
        return cls(source.url)

    def update_state(self, page: Page, items: list[Any]) -> None:
        link = next_link(page.headers)
        if not link:
            self._has_next_page = False
            return
        nxt_url = urljoin(page.url, link)
        if not same_origin(nxt_url, self.origin):
            raise PaginationError("next-page link points to another host; not followed")
        self._next_url = nxt_url

    def update_request(self, request: PageRequest) -> None:
        if self._next_url is not None:
            # The link carries its own query; ours (and the since parameter) would be sent twice.
            request.url, request.params = self._next_url, {}


#: ``pagination.type`` → how to build its paginator from (its settings, the source); ``config`` has one model per key.
PAGINATORS: dict[str, Callable[[Any, ApiSourceConfig], BasePaginator]] = {
    "cursor": CursorPaginator.from_config,
    "page": PageNumberPaginator.from_config,
    "link": HeaderLinkPaginator.from_config,
    "none": lambda _settings, _source: SinglePagePaginator(),
}


def paginator_for(config: ApiSourceConfig) -> BasePaginator:
    """A fresh paginator for one fetch of ``config``; a config error naming source and field if the type is unknown."""
    kind = getattr(config.pagination, "type", None)
    factory = PAGINATORS.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise ConfigError(
            f"API source {config.name}: pagination.type must be one of {', '.join(PAGINATORS)}",
            hint="fix api_sources.yaml; see README, 'REST APIs'",
        )
    return factory(config.pagination, config)


def next_link(headers: httpx.Headers) -> str | None:
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


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    return (
        pa.scheme == pb.scheme
        and (pa.hostname or "").lower() == (pb.hostname or "").lower()
        and (pa.port or default.get(pa.scheme)) == (pb.port or default.get(pb.scheme))
    )
