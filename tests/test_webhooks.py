"""POST /v1/webhooks/{source}: signed, fresh, durable before 202, idempotent; bad requests store nothing."""

from __future__ import annotations

import json
import time

import pytest
from dagster import DagsterInstance, build_sensor_context
from fastapi.testclient import TestClient

from twin_assets.db.models import WebhookEvent
from twin_assets.definitions import defs
from twin_assets.pipeline.webhooks import MAX_BODY_BYTES, create_webhook_source, process_webhooks, sign


@pytest.fixture
def client_and_secret(twin):
    from twin_query.api.app import create_app

    secret = create_webhook_source(twin, "zapier")
    with TestClient(create_app(twin.settings)) as client:
        yield client, secret


def _post(client, secret, body: bytes, *, ts=None, key=None, source="zapier", sig=None):
    ts = str(int(time.time())) if ts is None else ts
    headers = {
        "X-Twin-Timestamp": ts,
        "X-Twin-Signature": sig or sign(secret, ts, body),
        "Content-Type": "application/json",
    }
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/v1/webhooks/{source}", content=body, headers=headers)


def _events(twin) -> int:
    with twin.session() as s:
        return s.query(WebhookEvent).count()


def test_accepted_event_is_stored_encrypted_before_202(twin, client_and_secret):
    client, secret = client_and_secret
    body = json.dumps({"title": "Parcel delivered", "text": "webhookcanary991 at the door"}).encode()
    r = _post(client, secret, body)
    assert r.status_code == 202 and r.json()["id"]
    with twin.session() as s:
        ev = s.query(WebhookEvent).one()
        assert b"webhookcanary991" not in ev.body_enc
        assert twin.keyring.decrypt(ev.body_enc) == body


def test_same_idempotency_key_is_stored_once(twin, client_and_secret):
    client, secret = client_and_secret
    body = b'{"text": "hello"}'
    first = _post(client, secret, body, key="k-1").json()["id"]
    second = _post(client, secret, body, key="k-1").json()["id"]
    assert first == second and _events(twin) == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("bad_signature", 401),
        ("stale", 401),
        ("unknown_source", 401),
        ("no_headers", 401),
        ("malformed", 422),
        ("not_object", 422),
        ("oversize", 413),
    ],
)
def test_bad_requests_are_refused_and_not_stored(twin, client_and_secret, case, status):
    client, secret = client_and_secret
    body = b'{"text": "x"}'
    if case == "bad_signature":
        r = _post(client, secret, body, sig="sha256=" + "0" * 64)
    elif case == "stale":
        r = _post(client, secret, body, ts=str(int(time.time()) - 3600))
    elif case == "unknown_source":
        r = _post(client, secret, body, source="nosuch")
    elif case == "no_headers":
        r = client.post("/v1/webhooks/zapier", content=body)
    elif case == "malformed":
        r = _post(client, secret, b'{"text": ')
    elif case == "not_object":
        r = _post(client, secret, b"[1, 2]")
    else:
        r = _post(client, secret, b'{"text": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}')
    assert r.status_code == status, r.text
    assert _events(twin) == 0


def test_sensor_then_run_turn_events_into_records(twin, client_and_secret):
    from twin_assets.defs.sources.sensors import webhook_sensor
    from twin_assets.pipeline.documents import build_documents

    client, secret = client_and_secret
    _post(client, secret, json.dumps({"id": 7, "subject": "Build failed", "text": "pipeline red"}).encode())
    _post(client, secret, b'{"text": "second"}')
    with DagsterInstance.ephemeral() as instance:
        result = webhook_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert len(result.run_requests) == 1
    assert {k.to_user_string() for k in result.run_requests[0].asset_selection} >= {"source_webhooks", "documents"}
    res = process_webhooks(twin)
    assert res.records_new == 2 and res.quarantined == 0
    assert process_webhooks(twin).inputs == 0  # processed once
    build_documents(twin)
    assert [i for i, _ in twin.store("HIGH").keyword_search("pipeline red")]
