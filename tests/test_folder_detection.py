"""A folder holding one kind of export is claimed whole by its connector: one input, every file parsed. A folder of
only vCards was walked file by file (one input per contact file) because the contacts connector recognised files
only; folders of calendars, messages and notes were already claimed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin_assets.connectors.registry import detect, detect_each

VCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nEMAIL:p{i}@example.org\r\nEND:VCARD\r\n"
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:e{i}@x\r\n"
    "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T10{i:02d}00Z\r\nSUMMARY:meeting {i}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
EML = (
    "From: a{i}@example.org\r\nTo: b@example.org\r\nSubject: note {i}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <{i}@x>\r\n\r\nbody {i}\r\n"
)
MD = "# Note {i}\n\nsome text {i}\n"
KINDS = {"contacts": (VCF, ".vcf"), "calendar": (ICS, ".ics"), "email": (EML, ".eml"), "notes": (MD, ".md")}


def folder_of(root: Path, kind: str, n: int = 3) -> Path:
    text, ext = KINDS[kind]
    folder = root / kind
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"item{i}{ext}").write_text(text.format(i=i))
    return folder


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_folder_of_one_kind_is_one_input_of_that_kind(tmp_path, kind):
    folder = folder_of(tmp_path, kind)
    connector = detect(folder)
    assert connector is not None and connector.kind == kind
    assert [(p, c.kind if c else None) for p, c in detect_each(folder)] == [(folder, kind)]
    records = [r for r in connector.parse(folder) if not hasattr(r, "reason")]
    assert len(records) == 3


def test_a_vcard_folder_with_anything_else_in_it_is_walked(tmp_path):
    folder = folder_of(tmp_path, "contacts")
    (folder / "readme.txt").write_text("exported by a phone")
    assert detect(folder) is None  # the contacts parser would skip readme.txt unread
    found = {p.name: (c.kind if c else None) for p, c in detect_each(folder)}
    assert found == {"item0.vcf": "contacts", "item1.vcf": "contacts", "item2.vcf": "contacts", "readme.txt": None}
    (folder / "readme.txt").unlink()
    (folder / "old").mkdir()
    assert detect(folder) is None  # a sub-folder: walked, each part on its own
    (folder / "old").rmdir()
    (folder / ".hidden").write_text("skipped by the walk and the parser alike")
    assert detect(folder) is not None


def test_a_folder_of_vcf_names_that_are_not_vcards_is_not_claimed(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "a.vcf").write_text("not a vcard at all\n")
    assert detect(folder) is None


def test_ingest_dry_run_of_a_vcard_folder(home, tmp_path):
    from twin_query.cli import app

    folder = folder_of(tmp_path, "contacts", n=4)
    result = CliRunner().invoke(app, ["ingest", str(folder), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["by_source"] == {"contacts": 4} and not summary["quarantined"]


def test_a_calendar_folder_with_a_vcard_in_it_is_walked(tmp_path):
    """A calendar folder used to be claimed when half its files were calendars, and its parser skipped the rest
    unread: the vCard here was lost."""
    folder = folder_of(tmp_path, "calendar")
    (folder / "friend.vcf").write_text(VCF.format(i=9))
    assert detect(folder) is None
    found = {p.name: (c.kind if c else None) for p, c in detect_each(folder)}
    assert found == {f"item{i}.ics": "calendar" for i in range(3)} | {"friend.vcf": "contacts"}
