"""API tokens may expire (`twin tokens create --expires 30d|2027-01-01`): an expired token is refused on every REST
request and on the next WebSocket message (close 4401, a reason that says "expired"); `twin tokens list` shows each
token's id, scopes, created, expires and revoked, never the token."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from twin_assets.errors import TwinError
from twin_query.tokens import check_token, create_token, list_tokens, parse_expiry

pytestmark = pytest.mark.timeout(120)
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
LIFE = 2.0  # seconds a short-lived test token stands


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("2w", NOW + timedelta(weeks=2)),
        (" 7D ", NOW + timedelta(days=7)),
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01T10:00:00+02:00", datetime(2027, 1, 1, 8, tzinfo=UTC)),
        ("2027-01-01T10:00", datetime(2027, 1, 1, 10, tzinfo=UTC)),
    ],
)
def test_expiry_spans_and_dates(text, moment):
    assert parse_expiry(text, now=NOW) == moment


@pytest.mark.parametrize("text", ["soon", "30", "-3d", "2026-12-01", "0d", "2027-13-01"])
def test_a_bad_or_past_expiry_is_one_line(text):
    with pytest.raises(TwinError) as bad:
        parse_expiry(text, now=NOW)
    assert "--expires" in bad.value.message and "\n" not in bad.value.message


def test_check_token_tells_expired_from_revoked_and_unknown(twin):
    soon = create_token(twin, ["low"], NOW + timedelta(days=1))
    forever = create_token(twin, ["low", "medium"])
    assert check_token(twin, soon, now=NOW).scopes == ["low"]
    assert check_token(twin, soon, now=NOW + timedelta(days=1)).problem == "expired"
    assert check_token(twin, forever, now=NOW + timedelta(days=10_000)).scopes == ["low", "medium"]
    assert check_token(twin, "twin_nope").problem == "unknown"


@pytest.fixture
def api(home):
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app

    twin = open_twin(home)
    token = create_token(twin, ["low", "medium", "high"], datetime.now(UTC) + timedelta(seconds=LIFE))
    with TestClient(create_app(home)) as client:
        yield client, token, twin
    twin.close()


def _wait_past_expiry(twin, token: str) -> None:
    while check_token(twin, token).scopes is not None:
        time.sleep(0.1)


def test_rest_refuses_an_expired_token(api):
    client, token, twin = api
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/timeline", headers=headers).status_code == 200
    _wait_past_expiry(twin, token)
    refused = client.get("/v1/timeline", headers=headers)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert token not in refused.text


def test_an_open_websocket_is_closed_when_its_token_expires(api):
    from starlette.websockets import WebSocketDisconnect

    client, token, twin = api
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # answered while the token stands
        _wait_past_expiry(twin, token)
        ws.send_json({"type": "search", "q": "password", "id": "after"})
        got = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                got.append(ws.receive_json())
    assert closed.value.code == 4401
    assert [m["type"] for m in got] == ["error"] and got[0]["status"] == 401 and "expired" in got[0]["detail"]
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:  # nor can it connect again
        got = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                got.append(ws.receive_json())
    assert closed.value.code == 4401 and "expired" in got[-1]["detail"]


def test_tokens_create_with_expiry_and_list(home):
    from twin_assets.twin import open_twin
    from twin_query.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["tokens", "create", "--scopes", "low,medium", "--expires", "30d"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("twin_")
    assert runner.invoke(app, ["tokens", "create", "--expires", "yesterday"]).exit_code != 0
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    mine = [r for r in rows if r["expires"]]
    assert len(mine) == 1 and mine[0]["scopes"] == ["low", "medium"] and mine[0]["revoked"] is False
    left = datetime.fromisoformat(mine[0]["expires"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    assert set(mine[0]) == {"id", "scopes", "created", "expires", "revoked"}
    with open_twin(home) as twin:
        from twin_query.tokens import revoke_token

        assert revoke_token(twin, token)
        assert [t.revoked for t in list_tokens(twin) if t.id == mine[0]["id"]] == [True]
    text = runner.invoke(app, ["tokens", "list"])
    assert text.exit_code == 0 and mine[0]["id"] in text.stdout and "revoked" in text.stdout
    assert token not in listed.stdout + text.stdout  # never the secret
