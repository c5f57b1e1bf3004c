"""A folder of mixed exports (a Takeout-style download) that no connector claims whole is walked: each export in
it is detected and ingested with its own kind, whether given to `twin ingest` or dropped in the inbox."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.connectors.test_bank_csv import GERMAN
from tests.test_slice import ICS, MBOX
from twin_assets.connectors.registry import detect, detect_each
from twin_assets.db.models import Input
from twin_assets.pipeline.inbox import scan_inbox
from twin_assets.pipeline.sync import sync_source
from twin_query.cli import app

VCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Example\r\nEMAIL:ann@example.com\r\nEND:VCARD\r\n"
WHATSAPP = "12/31/23, 9:41 PM - Alice: Hi\n1/2/24, 8:05 AM - Bob: Yo\n"
SLACK_DAY = [{"type": "message", "user": "U1", "ts": "1704193200.000001", "text": "hello slack"}]
# Where each export lands, and its kind: a file, or a folder a connector claims whole.
EXPECTED = {
    "Calendar": "calendar",
    "Contacts": "contacts",  # a folder of nothing but vCards
    "Chats/WhatsApp Chat with Alice.txt": "whatsapp",
    "Chats/slack": "slack",
    "Mail": "email",  # a folder of mailboxes
    "Statements/umsatz.csv": "bank_csv",
}
RECORDS = {"calendar": 2, "contacts": 1, "whatsapp": 2, "slack": 1, "email": 3, "bank_csv": 2}


def takeout(root: Path) -> Path:
    files = {
        "Calendar/work.ics": ICS,
        "Calendar/home.ics": ICS.replace("UID:", "UID:home-"),
        "Contacts/all.vcf": VCF,
        "Chats/WhatsApp Chat with Alice.txt": WHATSAPP,
        "Chats/slack/users.json": json.dumps([{"id": "U1", "name": "ann", "real_name": "Ann"}]),
        "Chats/slack/channels.json": json.dumps([{"id": "C1", "name": "general"}]),
        "Chats/slack/general/2024-01-02.json": json.dumps(SLACK_DAY),
        "Mail/inbox.mbox": MBOX,
        "Statements/umsatz.csv": GERMAN,
        "Statements/notes.bin": "\x00\x01\x02 nothing anyone reads",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_each_export_in_a_mixed_folder_is_detected_on_its_own(tmp_path):
    root = takeout(tmp_path / "Takeout")
    assert detect(root) is None  # nobody claims the download as a whole
    found = {p.relative_to(root).as_posix(): (c.kind if c else None) for p, c in detect_each(root)}
    assert found == {**EXPECTED, "Statements/notes.bin": None}


def test_a_mixed_folder_dropped_in_the_inbox_is_ingested_kind_by_kind(twin):
    root = takeout(twin.settings.inbox_dir / "Takeout")
    past = time.time() - 60
    for p in [root, *root.rglob("*")]:
        os.utime(p, (past, past))
    scan = scan_inbox(twin)
    assert scan.kinds == set(RECORDS) and len(scan.registered) == len(EXPECTED)
    assert scan.quarantined == 1 and not scan.failed  # the unreadable file alone, encrypted and removed
    assert {kind: sync_source(twin, kind).records_new for kind in sorted(RECORDS)} == RECORDS
    with twin.session() as s:
        assert sorted(i.source for i in s.query(Input)) == sorted([*EXPECTED.values(), "unknown"])
    assert not any(p.is_file() for p in root.rglob("*"))  # nothing left in the clear
    os.utime(root, (past, past))  # settled again
    assert scan_inbox(twin).quarantined == 0  # the emptied folder goes too, without a quarantine row
    assert not root.exists()


@pytest.mark.slow
def test_ingest_of_a_mixed_folder(home, tmp_path):
    root = takeout(tmp_path / "Takeout")
    result = CliRunner().invoke(app, ["ingest", str(root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["by_source"] == RECORDS, summary
    assert [q["path"].rsplit("/", 1)[-1] for q in summary["quarantined"]] == ["notes.bin"]
