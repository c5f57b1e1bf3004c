"""The first end-to-end slice: mbox + ics → documents → embeddings → `twin search` and /v1/search.

Also the first privacy guard: after the slice, no HIGH or MEDIUM canary is
anywhere under TWIN_HOME or DAGSTER_HOME, while the LOW canary is found (so
the scan is proven to see).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.privacy_scan import scan
from twin_query.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()

LOW_CANARY = "lowvisiblecanary7731"
HIGH_CANARY = "Hq7highcanaryZ91"
MEDIUM_CANARY = "medcanaryK22x"
HIGH_NAME = "Ottoline Quibblesworth"

MBOX = f"""From list@lists.example.org Mon Jan 15 09:00:00 2024
From: Gardening Weekly <list@lists.example.org>
To: me@example.com
Subject: Tomato blight prevention schedule for spring
Date: Mon, 15 Jan 2024 09:00:00 +0000
Message-ID: <list-1@lists.example.org>
List-Id: Gardening Weekly <garden.lists.example.org>
Precedence: list
Content-Type: text/plain; charset=utf-8

Spray copper fungicide every ten days once the nights are warm. {LOW_CANARY}

From friend@example.net Tue Jan 16 10:00:00 2024
From: {HIGH_NAME} <ottoline@example.net>
To: me@example.com
Subject: the wifi
Date: Tue, 16 Jan 2024 10:00:00 +0100
Message-ID: <private-1@example.net>
Content-Type: text/plain; charset=utf-8

Hi! the new wifi password is {HIGH_CANARY} - don't share it.

From colleague@work.example Wed Jan 17 11:00:00 2024
From: Colleague <colleague@work.example>
To: me@example.com
Subject: Quarterly planning offsite agenda
Date: Wed, 17 Jan 2024 11:00:00 +0000
Message-ID: <private-2@work.example>
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Agenda for the planning offsite: roadmap, hiring, budget.
--b1
Content-Type: text/html; charset=utf-8

<p>Agenda for the <b>planning offsite</b>: roadmap, hiring, budget.</p>
--b1--
"""

ICS = f"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:dentist-1@test\r
DTSTAMP:20240101T000000Z\r
DTSTART:20240120T140000Z\r
DTEND:20240120T150000Z\r
SUMMARY:Dentist appointment\r
DESCRIPTION:Bring the form {MEDIUM_CANARY}\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture(scope="module")
def slice_home(tmp_path_factory):
    base = tmp_path_factory.mktemp("slice")
    exports = base / "exports"
    exports.mkdir()
    (exports / "mail.mbox").write_text(MBOX)
    (exports / "cal.ics").write_text(ICS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(base / "home"))
        mp.delenv("DAGSTER_HOME", raising=False)
        assert runner.invoke(app, ["init"]).exit_code == 0
        result = runner.invoke(app, ["ingest", str(exports / "mail.mbox"), str(exports / "cal.ics"), "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
    return base, summary


@pytest.fixture
def in_slice(slice_home, monkeypatch):
    base, summary = slice_home
    monkeypatch.setenv("TWIN_HOME", str(base / "home"))
    return base, summary


def test_ingest_summary(in_slice):
    _, summary = in_slice
    assert summary["files"] == 2
    assert summary["by_source"] == {"calendar": 1, "email": 3}
    assert summary["records"] == 4
    assert summary["quarantined"] == []


def test_cli_search_finds_the_right_message(in_slice):
    result = runner.invoke(app, ["search", "tomato blight spring", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["title"] == "Tomato blight prevention schedule for spring"
    assert hits[0]["tier"] == "LOW"
    # The owner's CLI sees every tier: a semantic query finds the private planning mail.
    hits = json.loads(runner.invoke(app, ["search", "offsite agenda roadmap", "--json"]).stdout)
    assert hits[0]["title"] == "Quarterly planning offsite agenda" and hits[0]["tier"] == "HIGH"


def test_api_search_respects_scopes(in_slice, start_api):
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    settings = get_settings()
    twin = open_twin(settings)
    low = create_token(twin, ["low"])
    high = create_token(twin, ["low", "medium", "high"])
    client = start_api(create_app(settings))
    assert client.get("/v1/health").json()["status"] == "ok"
    assert client.get("/v1/search", params={"q": "tomato"}).status_code == 401
    r = client.get("/v1/search", params={"q": "wifi password tomato"}, headers={"Authorization": f"Bearer {low}"})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits and all(h["tier"] == "LOW" for h in hits)
    assert HIGH_CANARY not in r.text and HIGH_NAME not in r.text
    r = client.get("/v1/search", params={"q": "wifi password"}, headers={"Authorization": f"Bearer {high}"})
    assert r.json()["hits"][0]["title"] == "the wifi"
    private_id = r.json()["hits"][0]["id"]
    assert client.get(f"/v1/records/{private_id}", headers={"Authorization": f"Bearer {low}"}).status_code == 403
    assert client.get("/v1/records/rnope", headers={"Authorization": f"Bearer {low}"}).status_code == 403
    full = client.get(f"/v1/records/{private_id}", headers={"Authorization": f"Bearer {high}"})
    assert full.status_code == 200 and HIGH_CANARY in full.json()["body"]
    assert full.json()["lineage"]["storage_location"] == "store:high"


def test_reingest_is_idempotent(in_slice):
    base, _ = in_slice
    result = runner.invoke(app, ["ingest", str(base / "exports" / "mail.mbox"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 0  # identical content: nothing new


def test_nothing_sensitive_at_rest(in_slice):
    base, _ = in_slice
    home = base / "home"
    hits = scan([home], [HIGH_CANARY, MEDIUM_CANARY, HIGH_NAME, LOW_CANARY])
    assert hits[LOW_CANARY], "the scan must see LOW content, or it proves nothing"
    leaks = {k: v for k, v in hits.items() if v and k != LOW_CANARY}
    assert not leaks, leaks
