"""The privacy promise, end to end on the demo persona.

The demo plants canaries (passwords, API keys, card numbers, IBANs, medical and
salary notes, ...) and names a person who appears only in HIGH records. After
materializing everything and querying every API endpoint with a full-scope
token, every byte under TWIN_HOME (which holds DAGSTER_HOME) is scanned — raw
files, every value of every SQLite table, gzip members: no HIGH or MEDIUM canary
and no HIGH-only name may appear. The LOW canaries must be found, or the scan
proves nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.privacy_scan import scan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    base = tmp_path_factory.mktemp("canary")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(base / "home"))
        mp.delenv("DAGSTER_HOME", raising=False)
        from twin_assets.settings import get_settings
        from twin_query.demo_cmd import generate_and_ingest

        settings = get_settings()
        generate_and_ingest(settings, seed=7, people=12, years=1, out_dir=base / "exports")
        truth = json.loads((base / "exports" / "ground_truth.json").read_text())
        yield settings, truth


def _query_everything(start_api, settings, truth) -> int:
    """Every endpoint, with a full-scope token, including the ones that read HIGH records by id."""
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    twin = open_twin(settings)
    token = create_token(twin, ["low", "medium", "high"])
    client = start_api(create_app(settings))
    h = {"Authorization": f"Bearer {token}"}
    calls = 0

    def get(path, **params):
        nonlocal calls
        r = client.get(path, params=params, headers=h)
        calls += 1
        assert r.status_code < 500, (path, r.status_code)
        return r

    get("/v1/health")
    get("/metrics")
    hits = []
    for item in truth["sensitive"]:
        hits += get("/v1/search", q=item["canary"], k=3).json()["hits"]
    for q in ("rent", "doctor appointment", "password", "project update"):
        hits += get("/v1/search", q=q, k=5).json()["hits"]
    for hit in hits:
        get(f"/v1/records/{hit['id']}")
    entities = get("/v1/entities", q="a").json()
    ids = [e["id"] for e in (entities.get("entities") or entities.get("items") or [])][:6]
    for name in truth["high_only_entities"]:
        ids += [e["id"] for e in (get("/v1/entities", q=name.split()[-1]).json().get("entities") or [])]
    for entity_id in ids:
        get(f"/v1/entities/{entity_id}")
        get(f"/v1/entities/{entity_id}/neighbors")
        get("/v1/timeline", entity=entity_id)
    if len(ids) >= 2:
        get("/v1/graph/path", source=ids[0], target=ids[1])
    get("/v1/graph/central", k=10)
    get("/v1/graph/communities")
    get("/v1/timeline")
    get("/v1/insights")
    for question in (
        "how much did I spend on rent last year",
        "who will I meet next week",
        f"how do I know {truth['high_only_entities'][0]}",
        "what happened in March 2026",
    ):
        r = client.post("/v1/ask", json={"question": question}, headers=h)
        calls += 1
        assert r.status_code < 500
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:
        ws.send_json({"type": "search", "q": "password"})
        ws.receive_json()
        ws.send_json({"type": "ask", "question": "who will I meet next week"})
        ws.receive_json()
        calls += 2
    twin.close()
    return calls


def test_no_sensitive_byte_at_rest_after_everything(demo_home, monkeypatch, start_api):
    settings, truth = demo_home
    monkeypatch.setenv("TWIN_API_RATE", "0")  # this test is one fast client on purpose
    monkeypatch.setenv("TWIN_ACCESS_LOG", "off")
    assert _query_everything(start_api, settings, truth) > 30
    secret_needles = [s["canary"] for s in truth["sensitive"] if s["tier"] in ("HIGH", "MEDIUM")]
    assert len(secret_needles) >= 10
    names = list(truth["high_only_entities"])
    low_needles = [c["canary"] for c in truth["low_canaries"]]
    hits = scan([settings.home_path, settings.dagster_home], secret_needles + names + low_needles)
    missing_low = [n for n in low_needles if not hits[n]]
    assert not missing_low, "the scan must find LOW canaries, or it proves nothing"
    leaks = {n: hits[n] for n in secret_needles + names if hits[n]}
    assert not leaks, leaks


def test_every_high_canary_is_stored_high(demo_home):
    """Classifier recall for HIGH on the demo, through the real pipeline: every planted HIGH item is HIGH."""
    settings, truth = demo_home
    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    texts = {
        tier: [d.text() for d in twin.store(tier).get_many(twin.store(tier).ids()).values()]
        for tier in ("HIGH", "MEDIUM", "LOW")
    }
    twin.close()
    for item in truth["sensitive"]:
        if item["tier"] == "HIGH":
            found = {tier for tier, docs in texts.items() if any(item["canary"] in t for t in docs)}
            assert found == {"HIGH"}, (item["category"], item["source"], found)
    for item in truth["low_canaries"]:
        assert any(item["canary"] in t for t in texts["LOW"]), item["source"]
