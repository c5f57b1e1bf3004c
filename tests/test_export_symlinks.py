"""A symbolic link that leaves an export is refused by every connector that walks a folder: nothing outside the
export is read, and the refusal is a ParseIssue (a quarantine reason) naming how many links, not where they point."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.connectors.common import split
from twin_assets.connectors.registry import detect, get_connector

CANARY = "outsidecanaryQ77"
MESSAGE = "From: a@example.com\nTo: b@example.com\nSubject: {subject}\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
MESSAGE += "Message-ID: <{subject}@example.com>\n\n{subject} body\n"
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:{subject}@x\r\n"
    "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:{subject}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
VCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{subject}\r\nEMAIL:{subject}@example.com\r\nEND:VCARD\r\n"
SLACK_DAY = '[{{"type": "message", "user": "U1", "ts": "1704193200.000001", "text": "{subject}"}}]'
NOTE = "# {subject}\n\n{subject} text\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def calendar(root: Path, outside: Path) -> None:
    _write(root / "a.ics", ICS.format(subject="inside"))
    _write(outside / "secret.ics", ICS.format(subject=CANARY))
    os.symlink(outside / "secret.ics", root / "linked.ics")
    os.symlink(outside, root / "more")


def contacts(root: Path, outside: Path) -> None:
    _write(root / "a.vcf", VCF.format(subject="inside"))
    _write(outside / "secret.vcf", VCF.format(subject=CANARY))
    os.symlink(outside / "secret.vcf", root / "linked.vcf")
    os.symlink(outside, root / "more")


def maildir(root: Path, outside: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    _write(root / "cur" / "1.host:2,S", MESSAGE.format(subject="inside"))
    _write(outside / "cur" / "1.host:2,S", MESSAGE.format(subject=CANARY))
    (outside / "new").mkdir()
    os.symlink(outside / "cur" / "1.host:2,S", root / "cur" / "2.host:2,S")
    os.symlink(outside, root / ".Secret")  # a Maildir++ subfolder that is a link out


def eml_folder(root: Path, outside: Path) -> None:
    _write(root / "a.eml", MESSAGE.format(subject="inside"))
    _write(outside / "secret.eml", MESSAGE.format(subject=CANARY))
    os.symlink(outside / "secret.eml", root / "b.eml")
    os.symlink(outside, root / "sub")


def slack(root: Path, outside: Path) -> None:
    _write(root / "users.json", json.dumps([{"id": "U1", "name": "ann", "real_name": "Ann"}]))
    _write(root / "channels.json", json.dumps([{"id": "C1", "name": "general"}, {"id": "C2", "name": "random"}]))
    _write(root / "general" / "2024-01-02.json", SLACK_DAY.format(subject="inside"))
    _write(outside / "2024-01-03.json", SLACK_DAY.format(subject=CANARY))
    os.symlink(outside / "2024-01-03.json", root / "general" / "2024-01-03.json")
    os.symlink(outside, root / "random")


def notes(root: Path, outside: Path) -> None:
    _write(root / "a.md", NOTE.format(subject="inside"))
    _write(outside / "secret.md", NOTE.format(subject=CANARY))
    os.symlink(outside / "secret.md", root / "b.md")
    os.symlink(outside, root / "sub")


BUILDERS: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "calendar": ("calendar", calendar),
    "contacts": ("contacts", contacts),
    "maildir": ("email", maildir),
    "eml_folder": ("email", eml_folder),
    "slack": ("slack", slack),
    "notes": ("notes", notes),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_links_leaving_a_folder_export_are_refused(tmp_path: Path, name: str) -> None:
    kind, build = BUILDERS[name]
    root, outside = tmp_path / "export", tmp_path / "elsewhere"
    root.mkdir()
    build(root, outside)
    if kind != "contacts":  # a folder of cards is read when named (--source contacts), not detected
        connector = detect(root)
        assert connector is not None and connector.kind == kind
    records, issues = split(get_connector(kind).parse(root))
    texts = [json.dumps(r.to_json(), default=str) for r in records]
    assert any("inside" in t for t in texts), issues  # the export itself is read
    assert not any(CANARY in t for t in texts)  # nothing outside it is
    refused = [i for i in issues if "symbolic link" in i.reason and "leaving" in i.reason]
    assert refused, issues
    assert all(str(outside) not in i.reason and CANARY not in i.reason for i in issues)
