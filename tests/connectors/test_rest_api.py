"""RestApiConnector against a real local HTTP server: pagination, retries, rate limits, OAuth2, increments."""

from __future__ import annotations

import json
import random
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.connectors.fake_api_server import PRIVATE_TEXT, ApiState, FakeTime, serve
from twin_assets.connectors.rest_api import (
    API_ITEM,
    ApiSourceConfig,
    RestApiConnector,
    TokenBucket,
    TokenStore,
    load_api_sources,
    parse_retry_after,
    parse_time,
)
from twin_assets.records import ParseIssue, Party, Record

SAMPLES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "samples").resolve()
SECRET = "sk-live-9f8e7d6c5b4a"

# Seven items; 6 and 7 are half an hour apart so a one-hour lookback overlaps both.
TIMES = [
    "2024-05-01T10:00:00Z",
    "2024-05-02T10:00:00Z",
    "2024-05-03T10:00:00+02:00",
    "2024-05-04T10:00:00Z",
    "2024-05-05T10:00:00Z",
    "2024-05-07T09:30:00Z",
    "2024-05-07T10:00:00Z",
]
LAST_TIME = "2024-05-07T10:00:00Z"

STYLES: dict[str, dict[str, Any]] = {
    "cursor": {
        "path": "/cursor/items",
        "items_path": "data.items",
        "params": {"limit": 2},
        "pagination": {"type": "cursor", "cursor_param": "cursor", "next_cursor_path": "meta.next"},
    },
    "page": {
        "path": "/page/items",
        "items_path": "",
        "pagination": {"type": "page", "page_param": "page", "size_param": "per_page", "size": 3, "start": 1},
    },
    "link": {"path": "/link/items", "items_path": "results", "params": {"limit": 2}, "pagination": {"type": "link"}},
    "none": {"path": "/none/items", "items_path": "items", "pagination": {"type": "none"}},
}
# Requests each style needs for the seven items.
PAGES = {"cursor": 4, "page": 3, "link": 4, "none": 1}


def make_items() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "updated_at": t,
            "title": f"Issue {i}",
            "body": f"Text of issue {i}",
            "author": {"name": f"Person {i}", "email": f"p{i}@example.org"},
            "state": "open",
            "comments": i * 2,
            "score": 0.5,
            "labels": ["x"],
        }
        for i, t in enumerate(TIMES, 1)
    ]


class MemoryStore:
    def __init__(self, token: dict[str, Any] | None = None) -> None:
        self.token = token
        self.saved: list[dict[str, Any]] = []

    def load(self) -> dict[str, Any] | None:
        return self.token

    def save(self, token: dict[str, Any]) -> None:
        self.saved.append(token)
        self.token = token


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(clock: FakeTime):
    state = ApiState(items=make_items(), clock=clock)
    with serve(state):
        yield state


def config_for(api: ApiState, style: str = "cursor", **overrides: Any) -> ApiSourceConfig:
    data: dict[str, Any] = {
        "name": "tracker",
        "base_url": api.base_url,
        "id_field": "id",
        "time_field": "updated_at",
        "title_field": "title",
        "body_field": "body",
        "author_name_field": "author.name",
        "author_email_field": "author.email",
        "timeout_seconds": 2,
        "incremental": {"since_param": "updated_since", "lookback_seconds": 3600},
        **STYLES[style],
    }
    data.update(overrides)
    return ApiSourceConfig.model_validate(data)


@pytest.fixture(scope="module", autouse=True)
def shared_client():
    """One client for most tests: building one loads the CA bundle, which costs more than a test."""
    global _CLIENT
    _CLIENT = httpx.Client(follow_redirects=False)
    yield
    _CLIENT.close()


_CLIENT: httpx.Client | None = None


def connector(config: ApiSourceConfig, clock: FakeTime, own_client: bool = False, **kwargs: Any) -> RestApiConnector:
    if not own_client:
        kwargs.setdefault("client", _CLIENT)
    return RestApiConnector(
        config, sleep=clock.sleep, clock=clock.monotonic, now=clock.now, rng=random.Random(7), **kwargs
    )


def run(conn: RestApiConnector, cursor: str | None = None) -> tuple[list[Record], list[ParseIssue]]:
    out = list(conn.fetch(cursor))
    assert all(isinstance(o, Record | ParseIssue) for o in out)
    return [o for o in out if isinstance(o, Record)], [o for o in out if isinstance(o, ParseIssue)]


def ids(records: list[Record]) -> list[str]:
    return sorted(r.external_id for r in records)


ALL_IDS = [str(i) for i in range(1, 8)]


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize("style", list(STYLES))
def test_each_style_fetches_every_item_exactly_once(api: ApiState, clock: FakeTime, style: str) -> None:
    conn = connector(config_for(api, style), clock, own_client=True)
    records, issues = run(conn)
    assert issues == []
    assert ids(records) == ALL_IDS  # sorted list, so a duplicate would show
    assert len(api.api_requests(STYLES[style]["path"])) == PAGES[style]
    assert conn.complete and conn.next_cursor == LAST_TIME
    assert clock.sleeps == []


def test_record_fields(api: ApiState, clock: FakeTime) -> None:
    records, _ = run(connector(config_for(api, "none"), clock))
    third = next(r for r in records if r.external_id == "3")
    assert third.source == "tracker" and third.kind == API_ITEM
    assert third.title == "Issue 3" and third.body == "Text of issue 3"
    assert third.event_time == datetime(2024, 5, 3, 8, tzinfo=UTC)
    assert third.original_tz == "+02:00"
    assert third.parties == [Party(role="author", name="Person 3", email="p3@example.org")]
    # Scalars only (no nested author, no list of labels), and not the text already in title/body.
    assert third.attributes == {"id": 3, "updated_at": TIMES[2], "state": "open", "comments": 6, "score": 0.5}
    json.dumps(third.attributes)


def test_body_falls_back_to_compact_json_without_id_and_time(api: ApiState, clock: FakeTime) -> None:
    config = config_for(api, "none", body_field=None, title_field=None, author_name_field=None)
    records, _ = run(connector(config, clock))
    first = next(r for r in records if r.external_id == "1")
    assert first.title == ""
    body = json.loads(first.body)
    assert "id" not in body and "updated_at" not in body
    assert body["title"] == "Issue 1" and body["author"]["name"] == "Person 1"
    assert " " not in first.body.replace("Issue 1", "").replace("Text of issue 1", "").replace("Person 1", "")
    assert "title" in first.attributes  # not mapped, so kept as an attribute


def test_page_size_capped_by_server_still_gets_everything(api: ApiState, clock: FakeTime) -> None:
    api.page_cap = 2  # we ask for 100, the server gives 2 per page
    config = config_for(api, "page", pagination={"type": "page", "size": 100})
    records, issues = run(connector(config, clock))
    assert issues == [] and ids(records) == ALL_IDS
    assert [r.query["per_page"] for r in api.api_requests("/page/items")] == ["100"] * 4


def test_page_style_stops_when_server_repeats_last_page(api: ApiState, clock: FakeTime) -> None:
    api.items = make_items()[:6]  # exactly two full pages of 3
    api.repeat_last_page = True
    records, issues = run(connector(config_for(api, "page"), clock))
    assert issues == [] and ids(records) == ALL_IDS[:6]


def test_link_to_another_host_is_not_followed(api: ApiState, clock: FakeTime) -> None:
    config = config_for(api, "link", path="/elsewhere/items")
    conn = connector(config, clock)
    records, issues = run(conn)
    assert len(records) == 1
    assert issues == [ParseIssue("page 1", "next-page link points to another host; not followed")]
    assert not conn.complete and conn.next_cursor is None


# --------------------------------------------------------------------------- failures and retries


def test_transient_503s_are_retried_with_backoff(api: ApiState, clock: FakeTime) -> None:
    api.fail_plan["/cursor/items"] = ["pass", 503, 503]
    conn = connector(config_for(api, "cursor"), clock)
    records, issues = run(conn)
    assert issues == [] and ids(records) == ALL_IDS
    assert api.statuses.count(503) == 2 and conn.stats.retries == 2
    # Equal jitter around 0.5 s doubling: [0.25, 0.5], then [0.5, 1.0].
    assert len(clock.sleeps) == 2
    assert 0.25 <= clock.sleeps[0] <= 0.5 and 0.5 <= clock.sleeps[1] <= 1.0


def test_retries_exhausted_end_the_run_with_an_issue(api: ApiState, clock: FakeTime) -> None:
    api.fail_plan["/cursor/items"] = ["pass", *[503] * 10]
    conn = connector(config_for(api, "cursor", max_retries=2), clock)
    records, issues = run(conn, "2024-05-01T00:00:00Z")
    assert ids(records) == ["1", "2"]
    assert issues == [ParseIssue("page 2", "API failed 3 times; last: HTTP 503")]
    # Page 2 onwards was never seen: the cursor must not move past it.
    assert not conn.complete and conn.next_cursor == "2024-05-01T00:00:00Z"


def test_request_that_hangs_past_the_timeout_is_retried(api: ApiState, clock: FakeTime) -> None:
    api.fail_plan["/none/items"] = ["hang"]
    conn = connector(config_for(api, "none", timeout_seconds=0.3), clock)
    records, issues = run(conn)
    assert issues == [] and ids(records) == ALL_IDS
    assert conn.stats.retries == 1 and len(api.api_requests("/none/items")) == 2


def test_connection_refused_gives_up_with_an_issue(api: ApiState, clock: FakeTime) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = config_for(api, "none", base_url=f"http://127.0.0.1:{port}", max_retries=1)
    records, issues = run(connector(config, clock))
    assert records == []
    assert issues == [ParseIssue("page 1", "API failed 2 times; last: ConnectError")]
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(("retry_after", "expected"), [("3", 3.0), ("date:5", 5.0)])
def test_retry_after_is_honoured(api: ApiState, clock: FakeTime, retry_after: str, expected: float) -> None:
    api.min_interval = 1.0
    api.retry_after = retry_after
    records, issues = run(connector(config_for(api, "cursor"), clock))
    assert issues == [] and ids(records) == ALL_IDS
    assert api.statuses.count(429) == PAGES["cursor"] - 1
    # An HTTP-date has whole seconds (up to 1 s lost to truncation) and is read a moment after the server wrote
    # it against the running clock; on a loaded machine that moment can pass half a second.
    tolerance = 2.0 if retry_after.startswith("date:") else 1.0
    assert clock.sleeps == pytest.approx([expected] * (PAGES["cursor"] - 1), abs=tolerance)


def test_ignoring_retry_after_would_fail(api: ApiState, clock: FakeTime) -> None:
    """Without Retry-After the connector backs off less than the server wants, and says so when it gives up."""
    api.min_interval = 100.0
    api.retry_after = None
    records, issues = run(connector(config_for(api, "cursor", max_retries=2), clock))
    assert ids(records) == ["1", "2"]
    assert issues == [ParseIssue("page 2", "API failed 3 times; last: HTTP 429")]


def test_retry_after_beyond_the_cap_stops_instead_of_sleeping(api: ApiState, clock: FakeTime) -> None:
    api.min_interval = 1.0
    api.retry_after = "86400"
    records, issues = run(connector(config_for(api, "cursor"), clock))
    assert ids(records) == ["1", "2"]
    assert issues == [ParseIssue("page 2", "HTTP 429: asked to wait 86400 s, beyond max_retry_after_seconds")]
    assert clock.sleeps == []


def test_client_side_rate_limit_avoids_429(api: ApiState, clock: FakeTime) -> None:
    api.min_interval = 1.0
    config = config_for(api, "cursor", rate_limit={"requests_per_second": 1, "burst": 1})
    records, issues = run(connector(config, clock))
    assert issues == [] and ids(records) == ALL_IDS
    assert 429 not in api.statuses
    assert clock.sleeps == pytest.approx([1.0] * (PAGES["cursor"] - 1))


def test_token_bucket_allows_a_burst_then_paces() -> None:
    clock = FakeTime()
    bucket = TokenBucket(rate=2.0, burst=3, sleep=clock.sleep, clock=clock.monotonic)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0, 0.5, 0.5])
    clock.elapsed += 10  # idle time refills up to the burst, not beyond
    assert [bucket.acquire() for _ in range(4)] == pytest.approx([0, 0, 0, 0.5])


def test_404_yields_an_issue_without_the_body(api: ApiState, clock: FakeTime) -> None:
    conn = connector(config_for(api, "none", path="/missing"), clock)
    records, issues = run(conn)
    assert records == [] and issues == [ParseIssue("page 1", "HTTP 404 from API")]
    assert len(api.requests) == 1 and clock.sleeps == []  # a 404 is not retried


def test_404_on_a_later_page_keeps_earlier_records_and_the_cursor(api: ApiState, clock: FakeTime) -> None:
    api.fail_plan["/cursor/items"] = ["pass", 404]
    conn = connector(config_for(api, "cursor"), clock)
    records, issues = run(conn)
    assert ids(records) == ["1", "2"]
    assert issues == [ParseIssue("page 2", "HTTP 404 from API")]
    assert conn.next_cursor is None and not conn.complete


def test_bad_items_yield_issues_and_the_rest_continue(api: ApiState, clock: FakeTime) -> None:
    api.items = [
        *make_items()[:2],
        {"title": "no id at all", "updated_at": "2024-05-03T00:00:00Z"},
        {"id": 9, "updated_at": "the day after Alice's birthday"},
        {"id": {"nested": "Bob"}, "updated_at": "2024-05-03T00:00:00Z"},
        "junk",
        *make_items()[4:],
    ]
    records, issues = run(connector(config_for(api, "none"), clock))
    assert ids(records) == ["1", "2", "5", "6", "7"]
    # The server sorts by id (non-dicts first), so positions are deterministic.
    assert sorted(issues, key=lambda i: i.where) == [
        ParseIssue("item 1 on page 1", "item is not a JSON object"),
        ParseIssue("item 7 on page 1", "time field unparseable"),
        ParseIssue("item 8 on page 1", "id field missing or empty"),
        ParseIssue("item 9 on page 1", "id field is not a string or number"),
    ]
    text = repr(issues)
    assert "Alice" not in text and "Bob" not in text and "no id" not in text


def test_epoch_times_and_epoch_since(api: ApiState, clock: FakeTime) -> None:
    api.items = [{"id": "a", "updated_at": 1714557600}, {"id": "b", "updated_at": "1714644000000"}]
    config = config_for(api, "none", incremental={"since_param": "ts", "lookback_seconds": 60, "since_format": "epoch"})
    conn = connector(config, clock)
    records, _ = run(conn)
    assert [r.event_time for r in records] == [
        datetime(2024, 5, 1, 10, tzinfo=UTC),
        datetime(2024, 5, 2, 10, tzinfo=UTC),  # seconds, then milliseconds
    ]
    run(conn, conn.next_cursor)
    assert api.requests[-1].query["ts"] == str(1714644000 - 60)


# --------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("style", list(STYLES))
def test_incremental_fetch_asks_for_cursor_minus_lookback(api: ApiState, clock: FakeTime, style: str) -> None:
    config = config_for(api, style)
    first = connector(config, clock)
    records, _ = run(first)
    assert ids(records) == ALL_IDS and first.next_cursor == LAST_TIME
    assert all("updated_since" not in r.query for r in api.requests)

    api.items[2] = {**api.items[2], "body": "edited", "updated_at": "2024-05-20T08:00:00Z"}
    api.items.append({**make_items()[0], "id": 8, "updated_at": "2024-05-21T12:00:00.250000Z"})
    api.requests.clear()
    second = connector(config, clock)
    records, issues = run(second, first.next_cursor)
    assert issues == []
    assert {r.query.get("updated_since") for r in api.requests} == {"2024-05-07T09:00:00Z"}
    # The edit, the new item, and the two in the lookback window; nothing older.
    assert ids(records) == ["3", "6", "7", "8"]
    assert next(r for r in records if r.external_id == "3").body == "edited"
    assert second.next_cursor == "2024-05-21T12:00:00.250000Z"

    third = connector(config, clock)
    records, _ = run(third, second.next_cursor)
    assert ids(records) == ["8"]  # only the overlap
    assert third.next_cursor == second.next_cursor  # nothing newer: the cursor stays


def test_cursor_never_moves_past_now_or_backwards(api: ApiState, clock: FakeTime) -> None:
    api.items = [{"id": 1, "updated_at": "2099-01-01T00:00:00Z"}]
    conn = connector(config_for(api, "none"), clock)
    run(conn)
    assert conn.next_cursor == "2024-06-01T00:00:00Z"  # the fake now
    api.items = [{"id": 1, "updated_at": "2024-01-01T00:00:00Z"}]
    run(conn, "2024-05-01T00:00:00Z")
    assert conn.next_cursor == "2024-05-01T00:00:00Z"


def test_unreadable_cursor_means_a_full_fetch(api: ApiState, clock: FakeTime) -> None:
    conn = connector(config_for(api, "none"), clock)
    records, issues = run(conn, "not-a-time")
    assert issues == [ParseIssue("cursor", "stored cursor is not a time; fetching everything")]
    assert ids(records) == ALL_IDS and conn.next_cursor == LAST_TIME
    assert "updated_since" not in api.requests[0].query


def test_abandoned_fetch_does_not_move_the_cursor(api: ApiState, clock: FakeTime) -> None:
    conn = connector(config_for(api, "cursor"), clock)
    stream = conn.fetch("2024-01-01T00:00:00Z")
    next(stream)
    stream.close()
    assert conn.next_cursor == "2024-01-01T00:00:00Z" and not conn.complete


# --------------------------------------------------------------------------- OAuth2


@pytest.fixture
def oauth_env(api: ApiState, monkeypatch: pytest.MonkeyPatch) -> None:
    api.auth = "oauth"
    api.client_secret = SECRET
    api.token_uses = 2
    monkeypatch.setenv("TRACKER_CLIENT_ID", api.client_id)
    monkeypatch.setenv("TRACKER_CLIENT_SECRET", SECRET)


def oauth_config(api: ApiState, grant: str = "client_credentials", **auth: Any) -> ApiSourceConfig:
    spec: dict[str, Any] = {
        "type": f"oauth2_{grant}",
        "token_url": f"{api.base_url}/oauth/token",
        "client_id_env": "TRACKER_CLIENT_ID",
        "client_secret_env": "TRACKER_CLIENT_SECRET",
        **auth,
    }
    if grant == "refresh_token":
        spec["refresh_token_env"] = "TRACKER_REFRESH"
    else:
        spec["scope"] = "read:items"
    return config_for(api, "cursor", auth=spec)


@pytest.mark.parametrize("client_auth", ["basic", "post"])
@pytest.mark.usefixtures("oauth_env")
def test_client_credentials_token_refreshed_on_401_and_saved(api: ApiState, clock: FakeTime, client_auth: str) -> None:
    store = MemoryStore()
    assert isinstance(store, TokenStore)
    conn = connector(oauth_config(api, client_auth=client_auth), clock, token_store=store)
    records, issues = run(conn)
    assert issues == [] and ids(records) == ALL_IDS
    # Token good for two requests: pages 1-2 on the first, a 401 on page 3, then a fresh one.
    assert [g["grant_type"] for g in api.grants] == ["client_credentials"] * 2
    assert {g["scope"] for g in api.grants} == {"read:items"}
    assert api.statuses.count(401) == 1 and conn.stats.token_fetches == 2
    assert [t["access_token"] for t in store.saved] == ["at-1", "at-2"]
    assert store.saved[-1]["expires_at"] == pytest.approx(clock.now().timestamp() + 3600)
    basic = [r for r in api.requests if r.path == "/oauth/token" and "Authorization" in r.headers]
    assert len(basic) == (2 if client_auth == "basic" else 0)


@pytest.mark.usefixtures("oauth_env")
def test_stored_token_used_until_it_nears_expiry(api: ApiState, clock: FakeTime) -> None:
    api.token_uses = 1_000
    api.token_lifetime = 60
    store = MemoryStore()
    run(connector(oauth_config(api), clock, token_store=store))
    assert len(api.grants) == 1
    run(connector(oauth_config(api), clock, token_store=store))  # a new run reuses the saved token
    assert len(api.grants) == 1
    clock.elapsed += 45  # 15 s left: inside the 30 s skew, so fetch a new one before sending
    records, issues = run(connector(oauth_config(api), clock, token_store=store))
    assert issues == [] and ids(records) == ALL_IDS
    assert len(api.grants) == 2 and 401 not in api.statuses


@pytest.mark.usefixtures("oauth_env")
def test_expired_stored_token_is_never_sent(api: ApiState, clock: FakeTime) -> None:
    api.access_tokens["at-stale"] = [100, 1e12]  # the server would still take it
    store = MemoryStore({"access_token": "at-stale", "expires_at": clock.now().timestamp() - 5})
    records, issues = run(connector(oauth_config(api), clock, token_store=store))
    assert issues == [] and ids(records) == ALL_IDS
    assert not any("at-stale" in r.headers.get("Authorization", "") for r in api.requests)


@pytest.mark.usefixtures("oauth_env")
def test_refresh_token_grant_rotates_and_saves(api: ApiState, clock: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    api.refresh_tokens.add("rt-initial")
    monkeypatch.setenv("TRACKER_REFRESH", "rt-initial")
    store = MemoryStore()
    conn = connector(oauth_config(api, "refresh_token"), clock, token_store=store)
    records, issues = run(conn)
    assert issues == [] and ids(records) == ALL_IDS
    sent = [g["refresh_token"] for g in api.grants]
    assert sent[0] == "rt-initial" and len(sent) == 2
    assert sent[1] == store.saved[0]["refresh_token"]  # the rotated token was used for the next grant
    assert store.saved[-1]["refresh_token"] in api.refresh_tokens
    assert "rt-initial" not in api.refresh_tokens

    # A later run: the environment still names the revoked token; the saved one is used.
    api.grants.clear()
    records, issues = run(connector(oauth_config(api, "refresh_token"), clock, token_store=store))
    assert issues == [] and ids(records) == ALL_IDS
    assert "rt-initial" not in [g["refresh_token"] for g in api.grants]


@pytest.mark.usefixtures("oauth_env")
def test_revoked_stored_refresh_token_falls_back_to_the_environment(
    api: ApiState, clock: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.refresh_tokens.add("rt-reconsented")
    monkeypatch.setenv("TRACKER_REFRESH", "rt-reconsented")
    store = MemoryStore({"refresh_token": "rt-revoked"})
    records, issues = run(connector(oauth_config(api, "refresh_token"), clock, token_store=store))
    assert issues == [] and ids(records) == ALL_IDS
    assert [g["refresh_token"] for g in api.grants][:2] == ["rt-revoked", "rt-reconsented"]


@pytest.mark.usefixtures("oauth_env")
def test_saved_refresh_token_needs_no_environment_variable(api: ApiState, clock: FakeTime) -> None:
    api.refresh_tokens.add("rt-saved")
    store = MemoryStore({"refresh_token": "rt-saved"})
    records, issues = run(connector(oauth_config(api, "refresh_token"), clock, token_store=store))
    assert issues == [] and ids(records) == ALL_IDS
    store.token = {"refresh_token": "rt-gone"}
    records, issues = run(connector(oauth_config(api, "refresh_token"), clock, token_store=store))
    assert records == [] and issues == [ParseIssue("auth", "HTTP 400 from token endpoint")]


@pytest.mark.usefixtures("oauth_env")
def test_rejected_client_secret_is_an_issue_without_the_secret(
    api: ApiState, clock: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_CLIENT_SECRET", SECRET + "-wrong")
    store = MemoryStore()
    records, issues = run(connector(oauth_config(api), clock, token_store=store))
    assert records == [] and store.saved == []
    assert issues == [ParseIssue("auth", "HTTP 401 from token endpoint")]


# --------------------------------------------------------------------------- static credentials and secrets


@pytest.mark.parametrize(
    "auth",
    [
        {"type": "api_key", "header": "X-API-Key", "key_env": "TRACKER_KEY"},
        {"type": "api_key", "query_param": "api_key", "key_env": "TRACKER_KEY"},
    ],
)
def test_api_key_auth_and_secrets_never_leak(
    api: ApiState, clock: FakeTime, monkeypatch: pytest.MonkeyPatch, auth: dict[str, str]
) -> None:
    api.auth = "api_key"
    api.api_key = SECRET
    monkeypatch.setenv("TRACKER_KEY", SECRET)
    config = config_for(api, "link", auth=auth)
    assert SECRET not in repr(config) and SECRET not in config.model_dump_json()
    conn = connector(config, clock)
    records, issues = run(conn)
    assert issues == [] and ids(records) == ALL_IDS
    assert SECRET not in repr(conn)

    monkeypatch.setenv("TRACKER_KEY", SECRET + "-old")
    records, issues = run(connector(config, clock))
    assert issues == [ParseIssue("page 1", "HTTP 401 from API")]
    assert SECRET not in repr(issues) and PRIVATE_TEXT not in repr(issues)


def test_missing_env_var_is_an_issue_naming_the_field(api: ApiState, clock: FakeTime) -> None:
    config = config_for(api, "none", auth={"type": "bearer", "token_env": "TRACKER_TOKEN_UNSET"})
    records, issues = run(connector(config, clock))
    assert records == [] and api.requests == []
    assert issues == [ParseIssue("auth", "the environment variable named by auth.token_env is not set")]


def test_bearer_token_is_sent(api: ApiState, clock: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    api.auth = "oauth"
    api.access_tokens[SECRET] = [100, 1e12]
    monkeypatch.setenv("TRACKER_TOKEN", SECRET)
    config = config_for(api, "none", auth={"type": "bearer", "token_env": "TRACKER_TOKEN"})
    records, issues = run(connector(config, clock))
    assert issues == [] and ids(records) == ALL_IDS


# --------------------------------------------------------------------------- odd servers (in-memory transport)


def mock_connector(handler: Any, clock: FakeTime, **overrides: Any) -> RestApiConnector:
    data = {
        "name": "odd",
        "base_url": "https://api.example.test",
        "path": "/items",
        "items_path": "items",
        "id_field": "id",
        "max_retries": 1,
        **overrides,
    }
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return connector(ApiSourceConfig.model_validate(data), clock, client=client)


def _deep(depth: int) -> bytes:
    return b'{"items": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("response", "overrides", "reason"),
    [
        (
            httpx.Response(200, content=b"<html>" + PRIVATE_TEXT.encode()),
            {},
            "not valid JSON: Expecting value at line 1 column 1",
        ),
        (httpx.Response(200, json={"data": []}), {}, "items_path not found in the response"),
        (httpx.Response(200, json={"items": {"a": 1}}), {}, "items_path does not lead to a list"),
        (httpx.Response(200, content=_deep(100_000)), {}, "JSON nested too deeply"),
        (
            httpx.Response(200, content=b'{"items": []}' + b" " * 2048),
            {"max_response_bytes": 1024},
            "response larger than max_response_bytes (1024)",
        ),
        (
            httpx.Response(301, headers={"Location": "https://evil.example/"}),
            {},
            "HTTP 301 from API; redirects are not followed",
        ),
        (
            httpx.Response(200, json={"items": [{"id": 1}], "next": "same"}),
            {"pagination": {"type": "cursor", "next_cursor_path": "next"}},
            "API returned a cursor it had returned before; stopped",
        ),
        (
            httpx.Response(200, json={"items": [{"id": 1}], "next": {"x": 1}}),
            {"pagination": {"type": "cursor", "next_cursor_path": "next"}},
            "next cursor is not a string or number",
        ),
        (
            lambda request: httpx.Response(200, json={"items": [{"id": request.url.params["page"]}]}),
            {"pagination": {"type": "page", "size": 1}, "max_pages": 3},
            "stopped at the max_pages cap of 3",
        ),
    ],
)
def test_odd_responses_become_issues(clock: FakeTime, response: Any, overrides: dict, reason: str) -> None:
    handler = response if callable(response) else (lambda request: response)
    conn = mock_connector(handler, clock, **overrides)
    _, issues = run(conn)
    assert len(issues) == 1 and issues[0].reason == reason, issues
    assert not conn.complete


def test_samples_served_as_api_bodies_never_raise(clock: FakeTime) -> None:
    if not SAMPLES.exists():
        pytest.skip("samples folder absent")
    files = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".json", ".jcal") and p.stat().st_size < 2**20)
    counts = {"records": 0, "issues": 0}
    for path in files:
        payload = path.read_bytes()
        for items_path in ("", "messages"):
            conn = mock_connector(
                lambda request, p=payload: httpx.Response(200, content=p),
                clock,
                items_path=items_path,
                time_field="date",
                title_field="text",
            )
            records, issues = run(conn)
            counts["records"] += len(records)
            counts["issues"] += len(issues)
            assert records or issues or conn.complete
    print(f"{len(files)} sample JSON files: {counts}")


# --------------------------------------------------------------------------- plain functions


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", (datetime(2024, 5, 1, 10, tzinfo=UTC), "+00:00")),
        ("2024-05-01T10:00:00.5-05:30", (datetime(2024, 5, 1, 15, 30, 0, 500000, tzinfo=UTC), "-05:30")),
        ("2024-05-01", (datetime(2024, 5, 1, tzinfo=UTC), None)),
        ("20240501T100000Z", (datetime(2024, 5, 1, 10, tzinfo=UTC), "+00:00")),
        (1714557600, (datetime(2024, 5, 1, 10, tzinfo=UTC), None)),
        (1714557600.5, (datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC), None)),
        ("yesterday", None),
        ("", None),
        (True, None),
        (None, None),
        ([1], None),
        (float("nan"), None),
        ("9" * 400, None),
        (1e300, None),
    ],
)
def test_parse_time(value: Any, expected: Any) -> None:
    assert parse_time(value) == expected


NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("1.5", 1.5),
        (None, None),
        ("soon", None),
        ("inf", None),
        ("Sat, 01 Jun 2024 00:00:30 GMT", 30.0),
        ("Fri, 31 May 2024 00:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


# --------------------------------------------------------------------------- api_sources.yaml

GOOD_YAML = """
sources:
  - name: github_issues
    base_url: https://api.github.com
    path: /repos/me/project/issues
    params: {state: all, per_page: 100}
    headers: {Accept: application/vnd.github+json}
    id_field: id
    time_field: updated_at
    title_field: title
    body_field: body
    author_name_field: user.login
    pagination: {type: link}
    incremental: {since_param: since, lookback_seconds: 600}
    auth: {type: bearer, token_env: GITHUB_TOKEN}
    rate_limit: {requests_per_second: 1.5, burst: 5}
  - name: crm_notes
    base_url: https://crm.example.com/api
    items_path: data.items
    id_field: id
    pagination: {type: cursor, cursor_param: after, next_cursor_path: meta.next}
    auth:
      type: oauth2_refresh_token
      token_url: https://crm.example.com/oauth/token
      client_id_env: CRM_ID
      client_secret_env: CRM_SECRET
      refresh_token_env: CRM_REFRESH
"""


def test_load_api_sources(tmp_path: Path) -> None:
    path = tmp_path / "api_sources.yaml"
    path.write_text(GOOD_YAML)
    github, crm = load_api_sources(path)
    assert github.name == "github_issues" and github.pagination.type == "link"
    assert github.url == "https://api.github.com/repos/me/project/issues"
    assert github.incremental is not None and github.incremental.lookback_seconds == 600
    assert github.rate_limit is not None and github.rate_limit.burst == 5
    assert github.max_retries == 5 and github.max_pages == 10_000
    assert crm.auth.type == "oauth2_refresh_token" and crm.url == "https://crm.example.com/api"
    assert load_api_sources(tmp_path / "absent.yaml") == []


BASE = "name: s\n    base_url: https://api.example.com\n    id_field: id\n"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("  - base_url: https://a.example\n    id_field: id\n", "source 1: name: Field required"),
        (f"  - {BASE}    pagination: {{type: scroll}}\n", "source 1 (s): pagination: Input tag 'scroll'"),
        (
            f"  - {BASE}    pagination: {{type: cursor, next_cursor_path: ''}}\n",
            "source 1 (s): pagination.cursor.next_cursor_path: String should match pattern",
        ),
        (
            f"  - {BASE}    auth: {{type: bearer, token_env: T, token: {SECRET}}}\n",
            "auth.bearer.token: Extra inputs are not permitted",
        ),
        (
            f"  - {BASE}    params: {{access_token: {SECRET}}}\n",
            "params: 'access_token' looks like a credential; configure it under auth",
        ),
        (f"  - {BASE}    headers: {{Authorization: Bearer {SECRET}}}\n", "'Authorization' looks like a credential"),
        (f"  - {BASE}    auth: {{type: api_key, key_env: K}}\n", "give exactly one of header or query_param"),
        (f"  - {BASE}    incremental: {{since_param: since}}\n", "incremental needs time_field"),
        (
            "  - name: s\n    base_url: http://remote.example\n    id_field: id\n"
            "    auth: {type: bearer, token_env: T}\n",
            "base_url must use https when credentials are sent",
        ),
        (
            f"  - name: s\n    base_url: https://me:{SECRET}@api.example\n    id_field: id\n",
            "base_url: base_url must not contain credentials",
        ),
        (f"  - {BASE}    max_retries: lots\n", "max_retries: Input should be a valid integer"),
        (f"  - {BASE}  - {BASE}", "duplicate source name s"),
        ("  - [not, a, mapping]\n", "source 1 is not a mapping"),
        ("  - {name: s\n", "not valid YAML at line"),
    ],
)
def test_load_api_sources_errors_name_the_field(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "api_sources.yaml"
    path.write_text("sources:\n" + body)
    with pytest.raises(ValueError) as err:
        load_api_sources(path)
    message = str(err.value)
    assert fragment in message, message
    assert "\n" not in message and SECRET not in message
    assert message.startswith("api_sources.yaml: ")


def test_load_api_sources_rejects_unknown_top_level_keys(tmp_path: Path) -> None:
    path = tmp_path / "api_sources.yaml"
    path.write_text("source:\n  - {}\n")
    with pytest.raises(ValueError, match="unknown top-level key"):
        load_api_sources(path)


def test_record_times_are_utc(api: ApiState, clock: FakeTime) -> None:
    records, _ = run(connector(config_for(api, "none"), clock))
    assert all(r.event_time is not None and r.event_time.utcoffset() == timedelta(0) for r in records)
