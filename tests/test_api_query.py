"""The query endpoints on a built home: entities, graph, timeline; plus the request guard and /metrics."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from tests.test_api_scopes import api_home, auth, client  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def _entity(client, api_home, name):  # noqa: F811
    got = client.get("/v1/entities", params={"q": name}, headers=auth(api_home, "high")).json()["entities"]
    return next(e for e in got if e["name"] == name)


def test_entity_search_profile_and_neighbors(client, api_home):  # noqa: F811
    high = auth(api_home, "high")
    wren = _entity(client, api_home, "Wren Featherstone")
    assert wren["kind"] == "person" and wren["records"] >= 2
    assert client.get("/v1/entities", params={"q": "featherst"}, headers=high).json()["entities"][0]["id"] == wren["id"]
    assert client.get("/v1/entities", params={"q": "wren@birdclub.example"}, headers=high).json()["entities"]
    assert client.get("/v1/entities", params={"q": "nobody-like-this"}, headers=high).json() == {"entities": []}
    people = client.get("/v1/entities", params={"kind": "person", "limit": 200}, headers=high).json()["entities"]
    assert people and all(e["kind"] == "person" for e in people)
    prof = client.get(f"/v1/entities/{wren['id']}", headers=high).json()
    assert prof["name"] == "Wren Featherstone" and "wren@birdclub.example" in prof["aliases"]["emails"]
    assert prof["counts"]["records"] >= 2 and prof["counts"]["by_source"] == {"email": prof["counts"]["records"]}
    assert prof["first_seen"].startswith("2024-02-05") and prof["last_seen"].startswith("2024-03-04")
    assert "Peregrine Lowmount" in [r["entity"]["name"] for r in prof["top_related"]]
    nb = client.get(f"/v1/entities/{wren['id']}/neighbors", params={"evidence": 5}, headers=high).json()
    pere = next(n for n in nb["neighbors"] if n["entity"]["name"] == "Peregrine Lowmount")
    assert pere["weight"] == 2 and len(pere["evidence"]) == 2
    ev = pere["evidence"][0]
    assert ev["id"].startswith("r") and ev["timestamp"] and "Featherstone" in ev["snippet"] + ev["title"]
    times = [e["timestamp"] for e in pere["evidence"]]
    assert times == sorted(times, reverse=True)
    one = client.get(f"/v1/entities/{wren['id']}/neighbors", params={"evidence": 1}, headers=high).json()
    assert next(n for n in one["neighbors"] if n["entity"]["name"] == "Peregrine Lowmount")["evidence"] == [ev]
    assert (
        client.get(f"/v1/entities/{wren['id']}/neighbors", params={"evidence": 0}, headers=high).json()["neighbors"][0][
            "evidence"
        ]
        == []
    )


def test_neighbours_open_only_the_records_they_show(client, api_home, monkeypatch):  # noqa: F811
    from twin_query import views

    opened: list[int] = []
    fetch = views.fetch_docs
    monkeypatch.setattr(
        views, "fetch_docs", lambda twin, tiers, ids: opened.append(len(ids)) or fetch(twin, tiers, ids)
    )
    high = auth(api_home, "high")
    wren = _entity(client, api_home, "Wren Featherstone")
    nb = client.get(f"/v1/entities/{wren['id']}/neighbors", params={"evidence": 1}, headers=high).json()
    assert nb["neighbors"] and opened == [len(nb["neighbors"])]
    assert all(len(n["evidence"]) == 1 for n in nb["neighbors"])


def test_graph_path_central_communities(client, api_home):  # noqa: F811
    high = auth(api_home, "high")
    r = client.get(
        "/v1/graph/path", params={"source": "Peregrine Lowmount", "target": "Wren Featherstone"}, headers=high
    ).json()
    assert (
        r["found"] and r["hops"] == 1 and [p["name"] for p in r["path"]] == ["Peregrine Lowmount", "Wren Featherstone"]
    )
    assert r["edges"][0]["evidence"] and all(e["timestamp"] for e in r["edges"][0]["evidence"])
    same = client.get(
        "/v1/graph/path", params={"source": "Wren Featherstone", "target": "wren@birdclub.example"}, headers=high
    ).json()
    assert same["hops"] == 0
    basil = _entity(client, api_home, "Basil Futureman")
    far = client.get(
        "/v1/graph/path", params={"source": basil["id"], "target": "Peregrine Lowmount"}, headers=high
    ).json()
    assert far["found"] is False or far["hops"] >= 1
    central = client.get("/v1/graph/central", params={"k": 3}, headers=high).json()
    assert central["metric"] == "pagerank" and len(central["entities"]) <= 3
    ranks = [e["pagerank"] for e in central["entities"]]
    assert ranks == sorted(ranks, reverse=True) and not any(e["is_self"] for e in central["entities"])
    by_degree = client.get("/v1/graph/central", params={"metric": "degree", "kind": "person"}, headers=high).json()
    assert all(e["kind"] == "person" for e in by_degree["entities"])
    comms = client.get("/v1/graph/communities", params={"members": 3}, headers=high).json()["communities"]
    assert comms and all(len(c["members"]) <= 3 and c["size"] >= 2 for c in comms)


def test_timeline_filters_and_pages(client, api_home):  # noqa: F811
    high = auth(api_home, "high")
    everything = client.get("/v1/timeline", params={"limit": 1000}, headers=high).json()
    times = [e["time"] for e in everything["events"]]
    assert times == sorted(times) and everything["total"] == len(times)
    jan = client.get("/v1/timeline", params={"since": "2024-01-01", "until": "2024-02-01"}, headers=high).json()
    assert jan["total"] and all(e["time"].startswith("2024-01") for e in jan["events"])
    basil = client.get("/v1/timeline", params={"entity": "Basil Futureman"}, headers=high).json()
    assert basil["entity"]["name"] == "Basil Futureman" and basil["total"] == 10  # the weekly series
    assert all(e["series_id"] == basil["events"][0]["series_id"] for e in basil["events"])
    page = client.get(
        "/v1/timeline", params={"entity": "Basil Futureman", "limit": 3, "offset": 3}, headers=high
    ).json()
    assert [e["id"] for e in page["events"]] == [e["id"] for e in basil["events"][3:6]]
    cal = client.get("/v1/timeline", params={"source": "calendar", "kind": "event"}, headers=high).json()
    assert cal["total"] == 11 and {e["source"] for e in cal["events"]} == {"calendar"}


def test_errors(client, api_home):  # noqa: F811
    high = auth(api_home, "high")
    assert client.get("/v1/entities").status_code == 401
    assert client.get("/v1/entities", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/entities/per_unknown", headers=high).status_code == 404
    assert client.get("/v1/graph/path", params={"source": "x"}, headers=high).status_code == 422
    assert client.get("/v1/graph/central", params={"k": 0}, headers=high).status_code == 422
    assert client.get("/v1/graph/central", params={"metric": "vibes"}, headers=high).status_code == 422
    assert client.get("/v1/timeline", params={"since": "yesterday-ish"}, headers=high).status_code == 422
    assert client.post("/v1/ask", json={"question": ""}, headers=high).status_code == 422
    assert (
        client.post("/v1/ask", content=b"{not json", headers={**high, "content-type": "application/json"}).status_code
        == 422
    )
    big = b'{"question": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    r = client.post("/v1/ask", content=big, headers={**high, "content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def _chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_oversize_body_is_413(client, api_home):  # noqa: F811
    big = b'{"question": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    r = client.post(
        "/v1/ask", content=_chunks(big), headers={**auth(api_home, "high"), "content-type": "application/json"}
    )
    assert r.status_code == 413


def test_rate_limit_per_token(api_home, monkeypatch, start_api):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    monkeypatch.setenv("TWIN_API_RATE", "0.5")
    monkeypatch.setenv("TWIN_API_BURST", "3")
    c = start_api(create_app(get_settings()))
    codes = [c.get("/v1/graph/central", headers=auth(api_home, "high")).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    r = c.get("/v1/graph/central", headers=auth(api_home, "high"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # Another token has its own bucket.
    assert c.get("/v1/graph/central", headers=auth(api_home, "low")).status_code == 200


def test_metrics_and_access_log_hold_no_content(api_home, caplog, monkeypatch, start_api):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    c = start_api(create_app(get_settings()))  # access log on (the default)
    logger = logging.getLogger("twin.access")
    logger.propagate = True  # let caplog see the lines
    high = auth(api_home, "high")
    wren = _entity(c, api_home, "Wren Featherstone")
    try:
        with caplog.at_level(logging.INFO, logger="twin.access"):
            c.get(f"/v1/entities/{wren['id']}", headers=high)
            c.get("/v1/search", params={"q": "secretwordsearched"}, headers=high)
            c.post("/v1/ask", json={"question": "secretwordasked?"}, headers=high)
    finally:
        logger.propagate = False
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "twin.access"]
    assert {line["route"] for line in lines} >= {"/v1/entities/{entity_id}", "/v1/search", "/v1/ask"}
    for line in lines:
        assert set(line) == {"ts", "type", "method", "route", "status", "duration_ms", "token"}
        assert line["token"] and len(line["token"]) == 16  # the token's id, not the token
    text = caplog.text
    assert "secretword" not in text and wren["id"] not in text and api_home["tokens"]["high"] not in text
    metrics = c.get("/metrics").text
    assert 'twin_http_requests_total{method="GET",route="/v1/entities/{entity_id}",status="200"}' in metrics
    assert "twin_http_request_duration_seconds_bucket" in metrics
    assert "secretword" not in metrics and wren["id"] not in metrics


def test_cors_only_when_configured(api_home, monkeypatch):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    pre = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    r = TestClient(create_app(get_settings())).options("/v1/entities", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    monkeypatch.setenv("TWIN_CORS_ORIGINS", "https://app.example")
    r = TestClient(create_app(get_settings())).options("/v1/entities", headers=pre)
    assert r.headers.get("access-control-allow-origin") == "https://app.example"
