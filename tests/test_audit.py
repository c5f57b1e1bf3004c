"""`twin audit`: where everything is, at which tier, under which key, and why — with no content.

Also the HIGH read log (reads by id through the API) and the MEDIUM blind indexes.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.test_rotate import make_home
from tests.test_slice import HIGH_CANARY, HIGH_NAME, LOW_CANARY, MEDIUM_CANARY
from twin_query.cli import app

runner = CliRunner()
CONTENT = [
    HIGH_CANARY,
    MEDIUM_CANARY,
    LOW_CANARY,
    HIGH_NAME,
    "Ottoline",
    "ottoline@example.net",
    "the wifi",
    "Dentist",
    "Tomato blight",
    "Quarterly planning",
    "colleague@work.example",
    "hello from a hook",
    "staged only",
]


@pytest.fixture
def filled(home, tmp_path):
    from twin_assets.twin import open_twin

    twin = open_twin(home)
    make_home(twin, tmp_path)
    twin.close()
    return home


def _secrets(settings) -> list[str]:
    master = json.loads((settings.keys_dir / "master.json").read_text())
    return [k["secret"] for k in master["keys"] if k.get("secret")] + [(settings.keys_dir / "index.key").read_text()]


def test_audit_json_shape_and_no_content(filled):
    result = runner.invoke(app, ["audit", "--json"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for needle in CONTENT + _secrets(filled):
        assert needle not in text, needle
    data = json.loads(text)
    assert set(data) >= {
        "keys",
        "stores",
        "records",
        "vectors",
        "derived",
        "graphs",
        "raw_archives",
        "quarantine",
        "blind_index",
        "high_reads",
        "inputs",
        "lineage",
    }
    keys = data["keys"]
    assert keys["source"] == "file" and keys["active"] == "k1"
    assert keys["keys"] == [{"id": "k1", "created": keys["keys"][0]["created"], "retired": None, "secret_kept": True}]
    assert keys["rotation_in_progress"] is None
    stores = {s["path"]: s for s in data["stores"]}
    assert stores["stores/high.sqlcipher"]["encryption"] == "SQLCipher+AES-GCM"
    assert stores["stores/high.sqlcipher"]["store_key_id"] == "k1"
    assert stores["stores/high.sqlcipher"]["documents"] == 2
    assert stores["stores/high.sqlcipher"]["key_ids"]["docs.payload"] == {"k1": 2}
    assert stores["stores/medium.sqlcipher"]["encryption"] == "SQLCipher"
    assert stores["stores/low.sqlite"]["encryption"] == "plain"
    assert stores["stores/metadata.sqlite"]["key_ids"]["records.staged_enc"] == {"k1": 1}
    assert stores["stores/raw/*.fenc"]["files"] == 3 and stores["stores/raw/*.fenc"]["key_ids"] == {"k1": 3}
    assert stores["stores/graph/high/*.fenc"]["tier"] == "HIGH"
    by_source = data["records"]["by_source"]
    assert by_source["email"]["HIGH"]["count"] == 2
    assert by_source["email"]["HIGH"]["reasons"]["source:email"] == 2
    assert by_source["email"]["HIGH"]["reasons"]["detector:password"] == 1  # span offsets dropped
    assert by_source["email"]["LOW"]["reasons"] == {"published:mailing-list": 1}
    assert by_source["email"]["staged"]["count"] == 1
    assert by_source["calendar"]["MEDIUM"]["count"] == 1
    assert data["vectors"] == {"twin_low": 1, "twin_medium": 1, "high (encrypted in stores/high.sqlcipher)": 2}
    assert data["derived"]["HIGH"]["entity"] >= 1 and data["graphs"]["HIGH"]["versions"] == [1]
    assert data["raw_archives"]["files"] == 3
    assert data["high_reads"] == {"count": 0, "last": []}


def test_audit_after_rotation_shows_retired_key(filled):
    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 0
    data = json.loads(runner.invoke(app, ["audit", "--json"]).stdout)
    ids = {k["id"]: k for k in data["keys"]["keys"]}
    assert ids["k1"]["retired"] and not ids["k1"]["secret_kept"] and ids["k2"]["retired"] is None
    assert data["keys"]["rotations"][-1]["to"] == "k2"
    for store in data["stores"]:
        for counts in (store.get("key_ids") or {}).values():
            counts = counts if isinstance(counts, dict) else {}
            assert set(counts) <= {"k2", "none"}, store["path"]


def test_audit_text_and_record_lineage(filled):
    from twin_assets.twin import open_twin

    result = runner.invoke(app, ["audit"])
    assert result.exit_code == 0, result.output
    assert "stores/high.sqlcipher" in result.stdout and "SQLCipher+AES-GCM" in result.stdout
    for needle in CONTENT:
        assert needle not in result.stdout, needle
    twin = open_twin(filled)
    store = twin.store("HIGH")
    (rid,) = [d.id for d in store.get_many(store.ids()).values() if HIGH_CANARY in d.body]
    twin.close()
    result = runner.invoke(app, ["audit", "--record", rid])
    assert result.exit_code == 0, result.output
    for needle in CONTENT:
        assert needle not in result.stdout, needle
    data = json.loads(result.stdout)
    assert data["tier"] == "HIGH" and data["classifier_reasons"] == ["source:email", "detector:password"]
    assert data["stored"]["vector"] == "in row, encrypted" and data["stored"]["store_key_id"] == "k1"
    assert {lin["kind"] for lin in data["lineage"]} >= {"document", "keyword"}
    assert data["input"]["raw_archive"].startswith("stores/raw/")
    assert data["derived"]["HIGH"]["event"] == 1 and data["graphs"]["HIGH"]["in_graph"]
    assert runner.invoke(app, ["audit", "--record", "rnope"]).exit_code != 0


def test_high_reads_by_id_are_logged_without_content(filled, start_api):
    from twin_assets.db.models import ApiToken, HighRead
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    twin = open_twin(filled)
    high = create_token(twin, ["low", "medium", "high"])
    low = create_token(twin, ["low"])
    store = twin.store("HIGH")
    (rid,) = [d.id for d in store.get_many(store.ids()).values() if HIGH_CANARY in d.body]
    (low_id,) = twin.store("LOW").ids()
    client = start_api(create_app(filled))
    assert client.get(f"/v1/records/{rid}", headers={"Authorization": f"Bearer {high}"}).status_code == 200
    assert client.get(f"/v1/records/{rid}", headers={"Authorization": f"Bearer {low}"}).status_code == 403
    assert client.get(f"/v1/records/{low_id}", headers={"Authorization": f"Bearer {high}"}).status_code == 200
    with twin.session() as s:
        rows = s.query(HighRead).all()
        token_ids = {t.id for t in s.query(ApiToken).all() if t.scopes == "low,medium,high"}
        assert [r.record_id for r in rows] == [rid]  # the refused read and the LOW read are not logged
        assert rows[0].token_id in token_ids
    twin.close()
    data = json.loads(runner.invoke(app, ["audit", "--json", "--last", "5"]).stdout)
    assert data["high_reads"]["count"] == 1
    assert data["high_reads"]["last"][0]["record_id"] == rid and data["high_reads"]["last"][0]["token_id"]
    assert high not in json.dumps(data)


def _high_reads(twin) -> list[tuple[str, str | None]]:
    from twin_assets.db.models import HighRead

    with twin.session() as s:
        return [(r.record_id, r.token_id) for r in s.query(HighRead).order_by(HighRead.id)]


def test_high_items_shown_by_search_ask_and_the_websocket_are_audited_reads(filled, start_api):
    """Search hits, ask evidence and WebSocket answers that show a HIGH record are each logged by record id and
    token id, the same as a read by id; a LOW token's (which sees no HIGH) are not, and no content is logged."""
    from twin_assets.db.models import ApiToken
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token, token_hash

    twin = open_twin(filled)
    high, low = create_token(twin, ["low", "medium", "high"]), create_token(twin, ["low"])
    store = twin.store("HIGH")
    (rid,) = [d.id for d in store.get_many(store.ids()).values() if HIGH_CANARY in d.body]
    with twin.session() as s:
        (high_id,) = [t.id for t in s.query(ApiToken) if t.token_hash == token_hash(high)]
    client = start_api(create_app(filled))
    as_high, as_low = {"Authorization": f"Bearer {high}"}, {"Authorization": f"Bearer {low}"}

    hits = client.get("/v1/search", params={"q": "wifi password"}, headers=as_high).json()["hits"]
    shown_high = [h["id"] for h in hits if h["tier"] == "HIGH"]
    assert rid in shown_high
    assert _high_reads(twin) == [(i, high_id) for i in shown_high]

    before = len(_high_reads(twin))
    answer = client.post("/v1/ask", json={"question": "what is the wifi password?"}, headers=as_high).json()
    cited_high = [e["id"] for e in answer["evidence"] if e["tier"] == "HIGH"]
    assert rid in cited_high
    assert _high_reads(twin)[before:] == [(i, high_id) for i in cited_high]

    before = len(_high_reads(twin))
    with client.websocket_connect(f"/v1/ws?token={high}") as ws:
        ws.receive_json()
        ws.send_json({"type": "search", "q": "wifi password"})
        ws_hits = ws.receive_json()["hits"]
        ws.send_json({"type": "ask", "question": "what is the wifi password?"})
        ws_evidence = ws.receive_json()["evidence"]
    ws_shown = [h["id"] for h in ws_hits if h["tier"] == "HIGH"] + [e["id"] for e in ws_evidence if e["tier"] == "HIGH"]
    assert rid in ws_shown
    assert _high_reads(twin)[before:] == [(i, high_id) for i in ws_shown]

    before = len(_high_reads(twin))
    events = client.get("/v1/timeline", params={"limit": 1000}, headers=as_high).json()["events"]
    logged = [i for i, _ in _high_reads(twin)[before:]]
    assert logged and set(logged) <= {e["id"] for e in events}  # events show titles; their tier is looked up

    before = len(_high_reads(twin))
    assert client.get("/v1/search", params={"q": "wifi password"}, headers=as_low).status_code == 200
    assert client.post("/v1/ask", json={"question": "what is the wifi password?"}, headers=as_low).status_code == 200
    assert len(_high_reads(twin)) == before  # nothing HIGH was shown to the LOW token
    twin.close()
    data = json.loads(runner.invoke(app, ["audit", "--json"]).stdout)
    assert data["high_reads"]["count"] == before >= 3
    for needle in [*CONTENT, high, low]:
        assert needle not in json.dumps(data), needle


# ---- blind indexes -------------------------------------------------------------------------
ICS_ATTENDEES = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:meet-1@test\r
DTSTAMP:20240101T000000Z\r
DTSTART:20240122T100000Z\r
DTEND:20240122T110000Z\r
SUMMARY:Design review\r
ORGANIZER;CN=Orla Organiser:mailto:orla@corp.example\r
ATTENDEE;CN=Bob Attendee:mailto:Bob.Attendee@corp.example\r
ATTENDEE;CN=Cleo:mailto:cleo@corp.example\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:meet-2@test\r
DTSTAMP:20240101T000000Z\r
DTSTART:20240123T100000Z\r
DTEND:20240123T110000Z\r
SUMMARY:Lunch\r
ATTENDEE;CN=Bob Attendee:mailto:bob.attendee@corp.example\r
END:VEVENT\r
END:VCALENDAR\r
"""
VCF = """BEGIN:VCARD\r
VERSION:3.0\r
UID:card-1\r
FN:Dana Contact\r
N:Contact;Dana;;;\r
EMAIL;TYPE=work:dana@contact.example\r
TEL;TYPE=CELL:+49 (171) 555-0101\r
END:VCARD\r
"""


def test_blind_index_lookups_hold_no_plaintext(twin, tmp_path):
    from twin_assets.pipeline import blind_index
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.pipeline.sync import sync_source

    (tmp_path / "cal.ics").write_text(ICS_ATTENDEES)
    (tmp_path / "card.vcf").write_text(VCF)
    register_input(twin, tmp_path / "cal.ics", "calendar", "ingest")
    register_input(twin, tmp_path / "card.vcf", "contacts", "ingest")
    sync_source(twin, "calendar")
    sync_source(twin, "contacts")
    build_documents(twin)  # the MEDIUM hook fills the index
    store = twin.store("MEDIUM")
    docs = store.get_many(store.ids())
    by_title = {d.title: d.id for d in docs.values()}
    assert len(by_title) == 3
    both = blind_index.lookup(twin, "attendee_email", "  BOB.attendee@Corp.Example ")
    assert sorted(both) == sorted([by_title["Design review"], by_title["Lunch"]])
    assert blind_index.lookup(twin, "organizer_email", "orla@corp.example") == [by_title["Design review"]]
    assert blind_index.lookup(twin, "attendee_email", "orla@corp.example") == []
    assert blind_index.lookup(twin, "contact_email", "DANA@contact.example") == [by_title["Dana Contact"]]
    assert blind_index.lookup(twin, "contact_phone", "+49 171 5550101") == [by_title["Dana Contact"]]
    assert blind_index.lookup(twin, "attendee_email", "nobody@corp.example") == []
    with pytest.raises(ValueError):
        blind_index.lookup(twin, "subject", "x")
    rows = store.conn.execute("SELECT field, token, doc_id FROM blind_index").fetchall()
    assert len(rows) >= 6
    dump = "\n".join("|".join(r) for r in rows).lower()
    for plain in ("bob.attendee", "corp.example", "orla", "cleo", "dana", "contact.example", "4917155", "5550101"):
        assert plain not in dump, plain
    assert blind_index.counts(twin)["attendee_email"] == 3
    # Reindexing is idempotent, and forgetting a document removes its entries.
    assert blind_index.reindex(twin) == len(rows)
    assert blind_index.remove(twin, [by_title["Lunch"]]) == 1
    assert blind_index.lookup(twin, "attendee_email", "bob.attendee@corp.example") == [by_title["Design review"]]
