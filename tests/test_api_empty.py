"""A fresh home (nothing ingested, nothing materialized): every query endpoint answers empty, never 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def empty(home):
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    twin = open_twin(home)
    tokens = {"low": create_token(twin, ["low"]), "high": create_token(twin, ["low", "medium", "high"])}
    twin.close()
    with TestClient(create_app(home)) as client:
        yield client, tokens


@pytest.mark.parametrize("scope", ["low", "high"])
def test_empty_home_answers_empty(empty, scope):
    client, tokens = empty
    h = {"Authorization": f"Bearer {tokens[scope]}"}
    assert client.get("/v1/entities", headers=h).json() == {"entities": []}
    assert client.get("/v1/graph/central", headers=h).json() == {"metric": "pagerank", "entities": []}
    assert client.get("/v1/graph/communities", headers=h).json() == {"communities": []}
    assert client.get("/v1/timeline", headers=h).json()["total"] == 0
    missing = 404 if scope == "high" else 403
    assert client.get("/v1/entities/per_x", headers=h).status_code == missing
    assert client.get("/v1/entities/per_x/neighbors", headers=h).status_code == missing
    assert client.get("/v1/graph/path", params={"source": "a", "target": "b"}, headers=h).status_code == missing
    assert client.get("/v1/timeline", params={"entity": "Anna"}, headers=h).status_code == missing
    for q in (
        "what happened in March 2023?",
        "how much did I spend on travel last year?",
        "who will I meet next week?",
        "what topics do I talk about?",
        "what are my communities?",
    ):
        r = client.post("/v1/ask", json={"question": q}, headers=h)
        assert r.status_code == 200 and r.json()["evidence"] == [], q
    assert "twin_http_requests_total" in client.get("/metrics").text
