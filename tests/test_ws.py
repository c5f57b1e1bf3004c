"""WS /v1/ws: authentication, message errors, and pushes of new records and re-materialized insights.

A fresh home without the model: records are written to the metadata DB the way a Dagster run in another
process would, and the subscription must notice them by polling.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def ws_app(home):
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    twin = open_twin(home)
    tokens = {"low": create_token(twin, ["low"]), "high": create_token(twin, ["low", "medium", "high"])}
    with TestClient(create_app(home)) as client:
        yield client, tokens, twin
    twin.close()


def _add_record(twin, rid: str, tier: str, source: str = "notes") -> None:
    from twin_assets.db.models import RecordRow

    with twin.session() as s:
        s.add(
            RecordRow(
                id=rid,
                source=source,
                kind="note",
                tier=tier,
                status="stored",
                external_id_hash=hashlib.sha256(rid.encode()).hexdigest(),
                content_hash=hashlib.sha256(b"c" + rid.encode()).hexdigest(),
                event_time=datetime(2024, 5, 1, tzinfo=UTC),
                storage_location=f"store:{tier.lower()}",
            )
        )


def _until_pong(ws) -> list[dict]:
    ws.send_json({"type": "ping"})
    got = []
    while (msg := ws.receive_json())["type"] != "pong":
        got.append(msg)
    return got


def test_auth_by_query_or_first_message(ws_app):
    client, tokens, _ = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['low']}") as ws:
        assert ws.receive_json() == {"type": "ready", "scopes": ["low"]}
    with client.websocket_connect("/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": tokens["high"]})
        assert ws.receive_json()["scopes"] == ["low", "medium", "high"]
        ws.send_json({"type": "auth", "token": tokens["high"]})
        assert ws.receive_json()["status"] == 400


@pytest.mark.parametrize("first", [{"type": "auth", "token": "twin_nope"}, {"type": "search", "q": "x"}, "junk"])
def test_bad_auth_is_401_then_closed(ws_app, first):
    from starlette.websockets import WebSocketDisconnect

    client, _, _ = ws_app
    with client.websocket_connect("/v1/ws") as ws:
        ws.send_json(first) if isinstance(first, dict) else ws.send_text(first)
        replies = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                replies.append(ws.receive_json())
        assert closed.value.code == 4401
        assert replies[-1]["status"] == 401 and "twin_nope" not in str(replies)


def test_message_errors_keep_the_connection(ws_app):
    client, tokens, _ = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['low']}") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert ws.receive_json()["status"] == 422
        ws.send_json(["a", "list"])
        assert ws.receive_json()["status"] == 422
        ws.send_json({"type": "teleport", "id": 7})
        assert ws.receive_json() == {
            "type": "error",
            "status": 422,
            "id": 7,
            "detail": "unknown message type; use search, ask, subscribe, unsubscribe or ping",
        }
        ws.send_text("x" * 70_000)
        assert ws.receive_json()["status"] == 413
        ws.send_json({"type": "ask", "question": ""})
        reply = ws.receive_json()
        assert reply["status"] == 422 and "question" in reply["detail"]
        ws.send_json({"type": "search", "q": "", "id": "s1"})
        assert ws.receive_json()["id"] == "s1"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_subscription_pushes_new_visible_records_and_insight_changes(ws_app):
    from twin_assets.stores.derived import Artifact

    client, tokens, twin = ws_app
    _add_record(twin, "rold", "LOW")  # existed before subscribing: never pushed
    with (
        client.websocket_connect(f"/v1/ws?token={tokens['low']}") as low,
        client.websocket_connect(f"/v1/ws?token={tokens['high']}") as high,
    ):
        for ws in (low, high):
            ws.receive_json()
            ws.send_json({"type": "subscribe"})
            assert ws.receive_json()["type"] == "subscribed"
        time.sleep(1.5)  # the baseline is taken
        _add_record(twin, "rnewlow", "LOW")
        _add_record(twin, "rnewhigh", "HIGH", source="email")
        time.sleep(2.5)
        low_got, high_got = _until_pong(low), _until_pong(high)
        assert low_got == [
            {
                "type": "record",
                "id": "rnewlow",
                "source": "notes",
                "tier": "LOW",
                "timestamp": "2024-05-01T00:00:00+00:00",
            }
        ]
        assert sorted(m["id"] for m in high_got) == ["rnewhigh", "rnewlow"]
        twin.derived("LOW").replace_kind("insight", [Artifact("insight", "i1", {"kind": "spending"}, [])])
        time.sleep(2.5)
        assert _until_pong(low) == [{"type": "insights_changed", "view": "LOW"}]
        assert _until_pong(high) == []  # the HIGH view's insights did not change
        low.send_json({"type": "unsubscribe"})
        assert low.receive_json()["type"] == "unsubscribed"
        _add_record(twin, "rlater", "LOW")
        time.sleep(2.0)
        assert _until_pong(low) == []
        assert [m["id"] for m in _until_pong(high)] == ["rlater"]


def _closed_with(ws) -> tuple[list[dict], int]:
    """Every message until the server closes the socket, and the close code."""
    from starlette.websockets import WebSocketDisconnect

    got = []
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            got.append(ws.receive_json())
    return got, closed.value.code


def test_a_revoked_token_is_refused_on_its_next_message(ws_app):
    """The token is checked on every message, not only at the handshake: after revocation a search gets a 401
    and the socket is closed with 4401; no search answer is ever sent."""
    from twin_query.tokens import revoke_token

    client, tokens, twin = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['high']}") as ws:
        ws.receive_json()
        ws.send_json({"type": "search", "q": "", "id": "before"})
        assert ws.receive_json()["id"] == "before"  # answered while the token stands
        assert revoke_token(twin, tokens["high"])
        ws.send_json({"type": "search", "q": "password", "id": "after"})
        got, code = _closed_with(ws)
    assert code == 4401
    assert [m["type"] for m in got] == ["error"] and got[0]["status"] == 401 and "revoked" in got[0]["detail"]
    assert tokens["high"] not in str(got)
    with client.websocket_connect(f"/v1/ws?token={tokens['high']}") as ws:  # and it cannot connect again
        got, code = _closed_with(ws)
    assert code == 4401 and got[-1]["status"] == 401


def test_a_revoked_tokens_subscription_stops_pushing(ws_app):
    from twin_query.tokens import revoke_token

    client, tokens, twin = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['high']}") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe"})
        assert ws.receive_json()["type"] == "subscribed"
        time.sleep(1.5)  # the baseline is taken
        revoke_token(twin, tokens["high"])
        _add_record(twin, "rafter", "HIGH", source="email")
        got, code = _closed_with(ws)
    assert code == 4401
    assert [m["type"] for m in got] == ["error"] and got[0]["status"] == 401  # no push of "rafter"


def test_narrowed_scopes_apply_to_an_open_socket(ws_app):
    """Scopes are read again too: a token cut down to LOW no longer gets HIGH pushes on its open socket."""
    from twin_assets.db.models import ApiToken
    from twin_query.tokens import token_hash

    client, tokens, twin = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['high']}") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe"})
        assert ws.receive_json()["type"] == "subscribed"
        time.sleep(1.5)
        with twin.session() as s:
            s.query(ApiToken).filter_by(token_hash=token_hash(tokens["high"])).one().scopes = "low"
        time.sleep(1.5)  # the next poll sees the new scopes and takes a new baseline
        _add_record(twin, "rhigh2", "HIGH", source="email")
        _add_record(twin, "rlow2", "LOW")
        time.sleep(2.5)
        assert [m["id"] for m in _until_pong(ws)] == ["rlow2"]


def test_twin_tokens_revoke_closes_an_open_socket(ws_app):
    from typer.testing import CliRunner

    from twin_query.cli import app

    client, tokens, _ = ws_app
    with client.websocket_connect(f"/v1/ws?token={tokens['low']}") as ws:
        ws.receive_json()
        done = CliRunner().invoke(app, ["tokens", "revoke"], input=tokens["low"] + "\n")
        assert done.exit_code == 0 and tokens["low"] not in done.output  # asked with the input hidden
        ws.send_json({"type": "ping"})
        got, code = _closed_with(ws)
    assert code == 4401 and got[0]["status"] == 401
    unknown = CliRunner().invoke(app, ["tokens", "revoke", "--token", "twin_nope"])
    assert unknown.exit_code != 0 and str(unknown.exception).startswith("no such token")
