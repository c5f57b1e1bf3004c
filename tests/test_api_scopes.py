"""Scopes on every query endpoint: a LOW token never sees HIGH or MEDIUM text, HIGH-only names or counts that
reveal them — REST, WebSocket and error answers alike.

The home is built like tests/test_model.py's fixture (every tier view), from the slice's mail and calendar
(with HIGH, MEDIUM and LOW canaries and a HIGH-only person) plus a few LOW newsletter mails, so the LOW view
has people and edges of its own. A HIGH token sees the private name, which proves the checks can fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.test_slice import HIGH_CANARY, HIGH_NAME, ICS, LOW_CANARY, MBOX, MEDIUM_CANARY

pytestmark = pytest.mark.slow

LOW_MBOX = """From news@lists.birdclub.example Mon Feb 05 09:00:00 2024
From: Peregrine Lowmount <peregrine@birdclub.example>
To: Bird Club <birds@lists.birdclub.example>
Cc: Wren Featherstone <wren@birdclub.example>
Subject: Spring migration walk with Peregrine Lowmount
Date: Mon, 05 Feb 2024 09:00:00 +0000
Message-ID: <bird-1@lists.birdclub.example>
List-Id: Bird Club <birds.lists.birdclub.example>
Precedence: list
Content-Type: text/plain; charset=utf-8

Join Peregrine Lowmount and Wren Featherstone for the spring migration walk along the river.

From news@lists.birdclub.example Mon Mar 04 09:00:00 2024
From: Wren Featherstone <wren@birdclub.example>
To: Bird Club <birds@lists.birdclub.example>
Cc: Peregrine Lowmount <peregrine@birdclub.example>
Subject: Owl night report by Wren Featherstone
Date: Mon, 04 Mar 2024 09:00:00 +0000
Message-ID: <bird-2@lists.birdclub.example>
List-Id: Bird Club <birds.lists.birdclub.example>
Precedence: list
Content-Type: text/plain; charset=utf-8

Wren Featherstone counted eleven owls; Peregrine Lowmount brought the thermos.
"""

BANK_CSV = """Date,Payee,Description,Amount,Currency
2024-01-03,SkyWay Air,Flight BER-LIS,-320.50,EUR
2024-01-05,Hotel Miramar,Hotel Lisbon 3 nights,-410.00,EUR
2024-01-09,REWE Markt,Groceries,-54.20,EUR
2024-02-02,REWE Markt,Groceries,-33.10,EUR
2024-01-27,Acme GmbH,Salary January,3000.00,EUR
2023-06-02,SkyWay Air,Flight BER-OSL,-199.00,EUR
"""

WEEKLY_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:weekly-basil@test\r
DTSTAMP:20240101T000000Z\r
DTSTART:20240108T100000Z\r
DTEND:20240108T103000Z\r
RRULE:FREQ=WEEKLY;COUNT=10\r
SUMMARY:1:1 with Basil\r
ORGANIZER;CN=Me:mailto:me@example.com\r
ATTENDEE;CN=Basil Futureman:mailto:basil@example.org\r
END:VEVENT\r
END:VCALENDAR\r
"""

# Words only HIGH or MEDIUM records contain; a LOW token must never see any of them.
SECRETS = [
    HIGH_CANARY,
    MEDIUM_CANARY,
    HIGH_NAME,
    "Ottoline",
    "Quibblesworth",
    "Quarterly planning offsite",
    "Dentist appointment",
    "the new wifi password",
    "colleague@work.example",
    "ottoline@example.net",
]
_BUILT: dict[str, object] = {}


def build_home(base: Path) -> Path:
    """An initialised home with the slice data and every view built; returns TWIN_HOME."""
    from twin_assets.insights.store import build_insights
    from twin_assets.pipeline import model
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.embeddings import embed_pending
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.pipeline.sync import sync_source
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    home = base / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(home))
        mp.delenv("DAGSTER_HOME", raising=False)
        settings = get_settings()
        init_home(settings)
        twin = open_twin(settings)
        inputs = (
            ("m.mbox", MBOX, "email"),
            ("low.mbox", LOW_MBOX, "email"),
            ("c.ics", ICS, "calendar"),
            ("weekly.ics", WEEKLY_ICS, "calendar"),
            ("bank.csv", BANK_CSV, "bank_csv"),
        )
        for name, text, source in inputs:
            (base / name).write_text(text, newline="")
            register_input(twin, base / name, source, "ingest")
        for source in ("email", "calendar", "bank_csv"):
            sync_source(twin, source)
        build_documents(twin)
        embed_pending(twin)
        for view in ("LOW", "MEDIUM", "HIGH"):
            for step in (
                model.build_entities,
                model.build_sentiment,
                model.build_timeline,
                model.build_relations,
                model.build_topics,
                model.build_graph,
                model.build_graph_metrics,
                build_insights,
            ):
                step(twin, view)
        twin.close()
    return home


@pytest.fixture(scope="session")
def api_home(tmp_path_factory) -> dict[str, object]:
    """Built once per test session and shared by the API test modules (read-only use)."""
    if not _BUILT:
        from twin_assets.settings import get_settings
        from twin_assets.twin import open_twin
        from twin_query.tokens import create_token

        home = build_home(tmp_path_factory.mktemp("api_home"))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TWIN_HOME", str(home))
            twin = open_twin(get_settings())
            _BUILT.update(
                home=home,
                tokens={
                    s: create_token(twin, scopes)
                    for s, scopes in (("low", ["low"]), ("medium", ["medium"]), ("high", ["low", "medium", "high"]))
                },
            )
            twin.close()
    return _BUILT


@pytest.fixture
def client(api_home, monkeypatch) -> TestClient:
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    monkeypatch.setenv("TWIN_API_RATE", "0")
    monkeypatch.setenv("TWIN_ACCESS_LOG", "off")
    with TestClient(create_app(get_settings())) as started:
        yield started


def auth(api_home, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_home['tokens'][scope]}"}


def leaks(text: str, extra: list[str] = ()) -> list[str]:
    low = text.lower()
    return [s for s in [*SECRETS, *extra] if s.lower() in low]


def _high_only_entity(client, api_home) -> dict:
    got = client.get("/v1/entities", params={"q": "Ottoline"}, headers=auth(api_home, "high")).json()
    [ent] = [e for e in got["entities"] if e["name"] == HIGH_NAME]
    return ent


def test_high_token_sees_the_private_name(client, api_home):
    """The positive control: the same requests with a HIGH token do show what LOW must not."""
    ent = _high_only_entity(client, api_home)
    r = client.get(f"/v1/entities/{ent['id']}", headers=auth(api_home, "high"))
    assert r.status_code == 200 and r.json()["name"] == HIGH_NAME
    r = client.get("/v1/timeline", headers=auth(api_home, "high"))
    assert leaks(r.text), "the HIGH view must contain what the LOW checks look for"


def test_low_token_sees_nothing_above_low_on_any_endpoint(client, api_home):
    low, high = auth(api_home, "low"), auth(api_home, "high")
    secret = _high_only_entity(client, api_home)
    low_entities = client.get("/v1/entities", params={"limit": 200}, headers=low).json()["entities"]
    assert low_entities, "the LOW view has entities of its own"
    some = low_entities[0]["id"]
    names = [e["name"] for e in low_entities]
    assert "Peregrine Lowmount" in names or "Wren Featherstone" in names
    requests = [
        ("GET", "/v1/search", {"q": "wifi password planning offsite dentist"}),
        ("GET", "/v1/search", {"q": "tomato blight"}),
        ("GET", "/v1/entities", {}),
        ("GET", "/v1/entities", {"q": "otto"}),
        ("GET", "/v1/entities", {"q": "colleague"}),
        ("GET", f"/v1/entities/{some}", {}),
        ("GET", f"/v1/entities/{some}/neighbors", {"evidence": 20}),
        ("GET", f"/v1/entities/{secret['id']}", {}),
        ("GET", f"/v1/entities/{secret['id']}/neighbors", {}),
        ("GET", "/v1/graph/path", {"source": some, "target": secret["id"]}),
        ("GET", "/v1/graph/path", {"source": some, "target": low_entities[-1]["id"]}),
        ("GET", "/v1/graph/central", {"k": 200, "include_self": True}),
        ("GET", "/v1/graph/communities", {"members": 200, "min_size": 1}),
        ("GET", "/v1/timeline", {"limit": 1000}),
        ("GET", "/v1/timeline", {"entity": secret["id"]}),
        ("GET", "/v1/timeline", {"since": "2024-01-01", "until": "2024-02-01"}),
        ("GET", "/v1/insights", {}),
        ("GET", "/v1/records/rnope", {}),
        ("GET", "/v1/timeline", {"since": "not-a-date"}),
        ("GET", "/metrics", {}),
    ]
    for method, path, params in requests:
        r = client.request(method, path, params=params, headers=low)
        assert r.status_code < 500, (path, r.status_code)
        assert not leaks(r.text), (path, params, leaks(r.text))
    questions = [
        "what happened in January 2024?",
        "who will I meet next week?",
        "what topics do I talk about?",
        "what are my communities?",
        "how much did I spend last year?",
        "wifi password",
        "how many emails did I get in January 2024?",
        "planning offsite agenda",
    ]
    for q in questions:
        r = client.post("/v1/ask", json={"question": q, "as_of": "2024-01-10T00:00:00Z"}, headers=low)
        assert r.status_code == 200, (q, r.text)
        assert not leaks(r.text), (q, leaks(r.text))
        assert all(e["tier"] == "LOW" for e in r.json()["evidence"])
    # A HIGH-only entity by id or by name is answered exactly like one that does not exist.
    for path, params in (
        (f"/v1/entities/{secret['id']}", {}),
        ("/v1/graph/path", {"source": some, "target": HIGH_NAME}),
    ):
        hidden = client.get(path, params=params, headers=low)
        fake = client.get(
            path.replace(secret["id"], "per_00000000000000000000"),
            params={k: ("Zebediah Fumbleworth" if v == HIGH_NAME else v) for k, v in params.items()},
            headers=low,
        )
        assert hidden.status_code == fake.status_code == 403 and hidden.json() == fake.json()
    assert client.get(f"/v1/entities/{secret['id']}", headers=high).status_code == 200
    assert client.get("/v1/entities/per_00000000000000000000", headers=high).status_code == 404


def test_ask_about_a_hidden_person_reveals_nothing(client, api_home):
    low = auth(api_home, "low")
    answers = {}
    for name in (HIGH_NAME, "Zebediah Fumbleworth"):
        for q in (f"who is {name}?", f"how do I know {name}?", f"what happened with {name} in January 2024?"):
            r = client.post("/v1/ask", json={"question": q}, headers=low)
            assert r.status_code == 200
            body = r.json()
            assert not body["slots"]["entities"]
            # The caller's own words come back only as keywords; nothing else names the person.
            body["slots"]["keywords"] = []
            assert not leaks(json.dumps(body, ensure_ascii=False)), (q, leaks(json.dumps(body)))
            answers.setdefault(q.replace(name, "X"), []).append(body["intent"])
    assert all(len(set(v)) == 1 for v in answers.values())  # same intent, whether the name exists above or not


def test_low_counts_are_computed_within_the_low_view(client, api_home):
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin

    twin = open_twin(get_settings())
    low_ids = {i for i, _ in twin.derived("LOW").iter("entity")}
    degrees = {i: d["degree"] for i, d in twin.derived("LOW").iter("centrality")}
    twin.close()
    low = auth(api_home, "low")
    central = client.get("/v1/graph/central", params={"k": 200, "include_self": True}, headers=low).json()
    assert central["entities"] and all(
        e["id"] in low_ids and e["degree"] == degrees[e["id"]] for e in central["entities"]
    )
    comms = client.get("/v1/graph/communities", params={"members": 200, "min_size": 1}, headers=low).json()
    for c in comms["communities"]:
        assert {m["id"] for m in c["members"]} <= low_ids
        assert c["size"] == len(c["members"])
    for e in central["entities"]:
        prof = client.get(f"/v1/entities/{e['id']}", headers=low).json()
        assert prof["counts"]["related"] == e["degree"]
        nb = client.get(f"/v1/entities/{e['id']}/neighbors", params={"limit": 200}, headers=low).json()
        assert len(nb["neighbors"]) == e["degree"]
        assert all(ev["tier"] == "LOW" for n in nb["neighbors"] for ev in n["evidence"])


def test_medium_token_sees_medium_but_not_high(client, api_home):
    med = auth(api_home, "medium")
    r = client.get("/v1/timeline", params={"limit": 1000}, headers=med)
    assert "Dentist appointment" in r.text
    assert HIGH_CANARY not in r.text and HIGH_NAME not in r.text and "Quarterly planning" not in r.text
    r = client.post("/v1/ask", json={"question": "what happened in January 2024?"}, headers=med)
    assert HIGH_NAME not in r.text and {e["tier"] for e in r.json()["evidence"]} <= {"LOW", "MEDIUM"}


def test_websocket_low_token_sees_nothing_above_low(client, api_home):
    token = api_home["tokens"]["low"]
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        replies = []
        for msg in (
            {"type": "search", "q": "wifi password offsite dentist", "id": 1},
            {"type": "ask", "question": "what happened in January 2024?", "id": 2},
            {"type": "ask", "question": f"who is {HIGH_NAME}?", "id": 3},
            {"type": "bogus"},
            {"type": "search"},
        ):
            ws.send_json(msg)
            replies.append(ws.receive_json())
        ws.send_text("not json")
        replies.append(ws.receive_json())
    assert [r["type"] for r in replies] == ["search", "answer", "answer", "error", "error", "error"]
    assert all(h["tier"] == "LOW" for h in replies[0]["hits"])
    replies[2]["slots"]["keywords"] = []
    for r in replies:
        assert not leaks(json.dumps(r, ensure_ascii=False)), r


def test_errors_carry_no_content(client, api_home):
    low = auth(api_home, "low")
    question = f"{HIGH_CANARY} " * 700  # too long: 422, and the question is not echoed
    r = client.post("/v1/ask", json={"question": question}, headers=low)
    assert r.status_code == 422 and HIGH_CANARY not in r.text
    r = client.get("/v1/search", params={"q": HIGH_CANARY * 100}, headers=low)
    assert r.status_code == 422 and HIGH_CANARY not in r.text
    r = client.get("/v1/timeline", params={"since": HIGH_CANARY}, headers=low)
    assert r.status_code == 422 and HIGH_CANARY not in r.text
    r = client.get("/v1/graph/path", params={"source": HIGH_NAME, "target": HIGH_NAME}, headers=low)
    assert r.status_code == 403 and not leaks(r.text)
    r = client.get("/v1/entities", params={"q": "x"})
    assert r.status_code == 401
    assert re.fullmatch(r'\{"detail":"[^"]+"\}', r.text)


def test_low_token_does_see_low_content(client, api_home):
    r = client.get("/v1/search", params={"q": "tomato blight copper"}, headers=auth(api_home, "low"))
    assert LOW_CANARY in r.text  # the scans above would pass vacuously if LOW answers were empty
