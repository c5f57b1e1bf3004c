"""Each paginator on its own, the type → paginator/authenticator mappings, and the token bucket's non-blocking use."""

from __future__ import annotations

import hashlib
import json
from typing import Any, get_args

import httpx
import pytest

from tests.connectors.fake_api_server import FakeTime
from twin_assets.connectors.rest_api import (
    AUTHENTICATORS,
    PAGINATORS,
    ApiSourceConfig,
    Auth,
    NoAuth,
    NoPagination,
    Pagination,
    RestApiConnector,
    TokenBucket,
    paginator_for,
)
from twin_assets.connectors.rest_api.paginators import (
    CursorPaginator,
    HeaderLinkPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    PaginationError,
    SinglePagePaginator,
)
from twin_assets.errors import ConfigError

URL = "https://api.example.test/items"


def page(body: Any, headers: dict[str, str] | None = None, url: str = URL) -> Page:
    raw = json.dumps(body).encode()
    return Page(body, httpx.Headers(headers or {}), hashlib.sha256(raw).digest(), url)


def source(**pagination: Any) -> ApiSourceConfig:
    return ApiSourceConfig.model_validate(
        {"name": "s", "base_url": "https://api.example.test", "path": "/items", "id_field": "id", **pagination}
    )


def tags(union: Any) -> set[str]:
    """The ``type`` literals of a discriminated union of config models."""
    models = get_args(get_args(union)[0])
    return {tag for model in models for tag in get_args(model.model_fields["type"].annotation)}


def test_every_config_type_has_exactly_one_paginator_and_authenticator() -> None:
    assert tags(Pagination) == set(PAGINATORS)
    assert tags(Auth) == set(AUTHENTICATORS)


@pytest.mark.parametrize(
    ("pagination", "cls"),
    [
        ({"type": "none"}, SinglePagePaginator),
        ({"type": "cursor"}, CursorPaginator),
        ({"type": "page"}, PageNumberPaginator),
        ({"type": "link"}, HeaderLinkPaginator),
    ],
)
def test_paginator_chosen_by_type(pagination: dict[str, Any], cls: type) -> None:
    assert type(paginator_for(source(pagination=pagination))) is cls


def test_unknown_pagination_type_is_a_config_error_naming_source_and_field() -> None:
    config = source().model_copy(update={"pagination": NoPagination.model_construct(type="scroll")})
    with pytest.raises(ConfigError) as err:
        paginator_for(config)
    assert str(err.value).startswith("API source s: pagination.type must be one of cursor, page, link, none")
    with pytest.raises(ConfigError):
        RestApiConnector(config)  # at construction, before any request


def test_unknown_auth_type_is_a_config_error_naming_source_and_field() -> None:
    config = source().model_copy(update={"auth": NoAuth.model_construct(type="kerberos")})
    with pytest.raises(ConfigError, match=r"^API source s: auth\.type must be one of none, api_key, bearer, oauth2_"):
        RestApiConnector(config)


def test_single_page_stops_after_the_first() -> None:
    paginator = SinglePagePaginator()
    request = PageRequest(URL, {"q": 1})
    paginator.init_request(request)
    assert paginator.has_next_page
    paginator.update_state(page({"items": [1]}), [1])
    assert not paginator.has_next_page and request.params == {"q": 1}


def test_cursor_follows_the_body_until_it_names_none() -> None:
    paginator = CursorPaginator("after", "meta.next")
    request = PageRequest(URL, {"limit": 2})
    paginator.init_request(request)
    assert request.params == {"limit": 2}  # the first page has no cursor
    paginator.update_state(page({"meta": {"next": "c1"}}), [1, 2])
    paginator.update_request(request)
    assert paginator.has_next_page and request.params == {"limit": 2, "after": "c1"}
    paginator.update_state(page({"meta": {"next": 7}}), [3])
    paginator.update_request(request)
    assert request.params["after"] == "7"
    paginator.update_state(page({"meta": {"next": None}}), [4])
    assert not paginator.has_next_page


@pytest.mark.parametrize(
    ("bodies", "reason"),
    [
        ([{"n": "a"}, {"n": "a"}], "API returned a cursor it had returned before; stopped"),
        ([{"n": ["a"]}], "next cursor is not a string or number"),
        ([{"n": True}], "next cursor is not a string or number"),
    ],
)
def test_cursor_that_cannot_be_followed(bodies: list[dict[str, Any]], reason: str) -> None:
    paginator = CursorPaginator("cursor", "n")
    with pytest.raises(PaginationError, match=reason):
        for body in bodies:
            paginator.update_state(page(body), [1])


def test_page_numbers_count_up_and_stop_at_a_short_page() -> None:
    paginator = PageNumberPaginator("p", "size", 3, start=0)
    request = PageRequest(URL, {})
    paginator.init_request(request)
    assert request.params == {"p": 0, "size": 3}
    paginator.update_state(page([1, 2, 3]), [1, 2, 3])
    paginator.update_request(request)
    assert paginator.has_next_page and request.params == {"p": 1, "size": 3}
    paginator.update_state(page([4]), [4])
    assert not paginator.has_next_page


def test_page_numbers_go_on_past_a_server_cap_and_stop_at_a_repeat_or_empty_page() -> None:
    paginator = PageNumberPaginator("page", None, 100, start=1)
    request = PageRequest(URL, {})
    paginator.init_request(request)
    assert request.params == {"page": 1}  # no size parameter configured
    first = page([1, 2])
    assert not paginator.repeats_previous(first)
    paginator.update_state(first, [1, 2])  # 2 of 100 asked: capped by the server, not the end
    assert paginator.has_next_page
    assert paginator.repeats_previous(page([1, 2]))
    paginator.update_state(page([]), [])
    assert not paginator.has_next_page


def test_link_header_is_followed_on_the_same_origin_only() -> None:
    paginator = HeaderLinkPaginator(URL)
    request = PageRequest(URL, {"limit": 2, "since": "x"})
    link = '<https://api.example.test/other>; rel="prev", </items?page=2&a=b,c>; rel="next last"'
    paginator.update_state(page([1], {"Link": link}), [1])
    paginator.update_request(request)
    assert paginator.has_next_page
    assert request == PageRequest("https://api.example.test/items?page=2&a=b,c", {})  # the link's own query
    paginator.update_state(page([2], {"Link": "<https://api.example.test:443/items?page=3>; rel=next"}), [2])
    paginator.update_state(page([3]), [3])
    assert not paginator.has_next_page
    with pytest.raises(PaginationError, match="another host"):
        HeaderLinkPaginator(URL).update_state(page([1], {"Link": '<https://evil.example/items>; rel="next"'}), [1])


def test_token_bucket_take_never_sleeps_and_takes_nothing_when_short() -> None:
    clock = FakeTime()
    bucket = TokenBucket(rate=1.0, burst=2, sleep=clock.sleep, clock=clock.monotonic)
    assert [bucket.take() for _ in range(3)] == pytest.approx([0, 0, 1.0])
    clock.elapsed += 0.5
    assert bucket.take() == pytest.approx(0.5)  # half a token back; a refused take costs nothing
    clock.elapsed += 0.5
    assert bucket.take() == 0.0
    assert clock.sleeps == []
