"""Request validation agrees with the OpenAPI schema for every instant a request carries (search and timeline
``since``/``until``, insights ``as_of``, ask ``as_of``): the schema says an ISO 8601 date or date-time string, so
such a string is accepted and a number (``0``, ``"0"``, seconds since 1970) is a 422, not 1970.

Schemathesis with every check (tests/test_api_schema.py) found these on a built home; this is the fast,
direct version of the same four disagreements.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

INSTANT = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}


@pytest.fixture
def api(home):
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    twin = open_twin(home)
    token = create_token(twin, ["low", "medium", "high"])
    twin.close()
    with TestClient(create_app(home)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


REQUESTS = [
    ("get", "/v1/search", "params", {"q": "anything"}, "since"),
    ("get", "/v1/search", "params", {"q": "anything"}, "until"),
    ("get", "/v1/timeline", "params", {}, "since"),
    ("get", "/v1/timeline", "params", {}, "until"),
    ("get", "/v1/insights", "params", {}, "as_of"),
    ("post", "/v1/ask", "json", {"question": "what happened last week?"}, "as_of"),
]


@pytest.mark.parametrize(("method", "path", "where", "base", "name"), REQUESTS)
@pytest.mark.parametrize("value", ["2024-05-01", "2024-05-01T09:30:00Z", "2024-05-01T09:30:00.5+02:00"])
def test_an_iso_date_or_date_time_is_accepted(api, method, path, where, base, name, value):
    client, auth = api
    r = getattr(client, method)(path, **{where: {**base, name: value}}, headers=auth)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("method", "path", "where", "base", "name"), REQUESTS)
@pytest.mark.parametrize("value", [0, "0", "1700000000", "0.1.0", "yesterday", "2024-05-01T"])
def test_a_number_or_other_text_is_a_422_not_1970(api, method, path, where, base, name, value):
    client, auth = api
    if where == "params" and not isinstance(value, str):
        value = str(value)
    r = getattr(client, method)(path, **{where: {**base, name: value}}, headers=auth)
    assert r.status_code == 422, r.text
    assert name in r.json()["detail"] and "ISO 8601" in r.json()["detail"]


@pytest.mark.parametrize(("method", "path", "where", "base", "name"), REQUESTS)
@pytest.mark.parametrize("value", ["0001-01-01", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_the_calendars_edges_are_valid_instants_too(api, method, path, where, base, name, value):
    """Year 1 or 9999 with an offset leaves datetime's range in UTC; the schema allows it, so it is the earliest or
    latest instant (an as_of, a "now" dates are counted from, is kept a century inside), never a 500."""
    client, auth = api
    r = getattr(client, method)(path, **{where: {**base, name: value}}, headers=auth)
    assert r.status_code == 200, r.text


def test_insight_kinds_are_an_enum_in_the_schema(api):
    from twin_assets.insights.base import KINDS

    client, auth = api
    (param,) = [
        p
        for p in client.get("/openapi.json").json()["paths"]["/v1/insights"]["get"]["parameters"]
        if p["name"] == "kind"
    ]
    assert param["schema"]["anyOf"][0] == {"type": "string", "enum": list(KINDS)}
    assert client.get("/v1/insights", params={"kind": KINDS[0]}, headers=auth).status_code == 200
    assert client.get("/v1/insights", params={"kind": "0.1.0"}, headers=auth).status_code == 422


def test_the_schema_says_what_is_accepted(api):
    client, _ = api
    schema = client.get("/openapi.json").json()
    for _, path, where, _, name in REQUESTS:
        if where == "params":
            op = schema["paths"][path]["get"]
            (param,) = [p for p in op["parameters"] if p["name"] == name]
            declared = param["schema"]["anyOf"]
        else:
            declared = schema["components"]["schemas"]["AskRequest"]["properties"][name]["anyOf"]
        assert declared[:2] == INSTANT["anyOf"], (path, name)


@pytest.mark.parametrize(
    ("value", "answer"),
    [(0, "error"), ("0", "error"), ("2024-05-01", "search"), ("0001-01-01T00:00:00+23:59", "search")],
)
def test_the_websocket_reads_instants_the_same_way(api, value, answer):
    client, auth = api
    token = auth["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_json({"type": "search", "q": "anything", "since": value})
        reply = ws.receive_json()
    assert reply["type"] == answer, reply
    if answer == "error":
        assert reply["status"] == 422 and "ISO 8601" in reply["detail"]
