"""Paginated JSON REST APIs as a source: one ``api_item`` record per item.

A source is described by an :class:`ApiSourceConfig` (usually loaded from
``TWIN_HOME/api_sources.yaml`` by :func:`load_api_sources`). The whole
connector lives in this package, one job per module:

- ``config``: the pydantic models of ``api_sources.yaml`` and their loader;
- ``items``: one JSON item as a ``Record`` (field paths, times, text);
- ``auth``: credentials per ``auth.type``; secrets from the environment variables the config names;
- ``paginators``: one class per ``pagination.type``, looked up in ``PAGINATORS``;
- ``ratelimit``: the token bucket;
- ``transport``: HTTP with retries, backoff, ``Retry-After`` and a size cap;
- ``client``: :class:`RestApiConnector`, the incremental fetch with its cursor and look-back window.

Failures are data, not exceptions: an HTTP error, exhausted retries or a bad
item becomes a :class:`ParseIssue` holding only positions, status codes and our
own words, never a response body or a URL (both can carry personal data or keys).
"""

from twin_assets.connectors.rest_api.auth import AUTHENTICATORS, TOKEN_EXPIRY_SKEW_SECONDS, TokenStore
from twin_assets.connectors.rest_api.client import RestApiConnector, format_cursor, since_value
from twin_assets.connectors.rest_api.config import (
    ApiKeyAuth,
    ApiSourceConfig,
    Auth,
    BearerAuth,
    CursorPagination,
    Incremental,
    LinkPagination,
    NoAuth,
    NoPagination,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    PagePagination,
    Pagination,
    RateLimit,
    describe_validation_error,
    load_api_sources,
)
from twin_assets.connectors.rest_api.items import API_ITEM, get_path, item_to_record, parse_time
from twin_assets.connectors.rest_api.paginators import PAGINATORS, BasePaginator, paginator_for
from twin_assets.connectors.rest_api.ratelimit import TokenBucket
from twin_assets.connectors.rest_api.transport import FetchStats, parse_retry_after

__all__ = [
    "API_ITEM",
    "AUTHENTICATORS",
    "PAGINATORS",
    "TOKEN_EXPIRY_SKEW_SECONDS",
    "ApiKeyAuth",
    "ApiSourceConfig",
    "Auth",
    "BasePaginator",
    "BearerAuth",
    "CursorPagination",
    "FetchStats",
    "Incremental",
    "LinkPagination",
    "NoAuth",
    "NoPagination",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "PagePagination",
    "Pagination",
    "RateLimit",
    "RestApiConnector",
    "TokenBucket",
    "TokenStore",
    "describe_validation_error",
    "format_cursor",
    "get_path",
    "item_to_record",
    "load_api_sources",
    "paginator_for",
    "parse_retry_after",
    "parse_time",
    "since_value",
]
