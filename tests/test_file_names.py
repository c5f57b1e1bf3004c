"""File names that are not valid UTF-8 (old archives, other systems) are data: ingested, stored encrypted as the
bytes they are, shown with replacement characters; in the inbox one bad entry never stops the others."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context
from typer.testing import CliRunner

from tests.test_slice import ICS, MBOX
from twin_assets.db.models import Input
from twin_assets.definitions import defs
from twin_assets.defs.sources.sensors import inbox_sensor
from twin_assets.pipeline import inbox as inbox_module
from twin_assets.pipeline.inputs import decrypt_path
from twin_assets.pipeline.sync import sync_source
from twin_query.cli import app

BAD_NAME = b"caf\xe9.ics"  # Latin-1 é: not UTF-8
ICS_2 = ICS.replace("UID:", "UID:second-").replace("SUMMARY:", "SUMMARY:second ")


def _bad(folder: Path) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), BAD_NAME)))
    path.write_text(ICS_2)
    return path


def _age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _tick() -> object:
    with DagsterInstance.ephemeral() as instance:
        return inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))


def test_inbox_takes_a_file_whose_name_is_not_utf8(twin):
    inbox = twin.settings.inbox_dir
    bad = _bad(inbox)
    (inbox / "a.mbox").write_text(MBOX)
    for p in (bad, inbox / "a.mbox"):
        _age(p)
    result = _tick()
    assert len(result.run_requests) == 1
    keys = {k.to_user_string() for k in result.run_requests[0].asset_selection}
    assert {"source_calendar", "source_email"} <= keys
    with twin.session() as s:
        stored = [decrypt_path(twin, i.path_enc) for i in s.query(Input) if i.source == "calendar"]
    assert [os.fsencode(p.name) for p in stored] == [BAD_NAME]  # kept as the bytes it is
    assert sync_source(twin, "calendar").records_new == 1
    assert sync_source(twin, "email").records_new == 3
    assert not bad.exists() and not (inbox / "a.mbox").exists()


def test_one_entry_that_fails_does_not_stop_the_inbox(twin, monkeypatch):
    inbox = twin.settings.inbox_dir
    (inbox / "a.mbox").write_text(MBOX)
    (inbox / "b.ics").write_text(ICS)
    for p in inbox.iterdir():
        _age(p)
    real = inbox_module.detect

    def detect(entry: Path):
        if entry.name == "a.mbox":
            raise PermissionError(13, "denied", str(entry))  # its message names the file: must not be kept
        return real(entry)

    monkeypatch.setattr(inbox_module, "detect", detect)
    result = _tick()
    assert len(result.run_requests) == 1
    assert {k.to_user_string() for k in result.run_requests[0].asset_selection} == {"source_calendar", "documents"}
    scan = inbox_module.scan_inbox(twin)
    assert scan.failed == ["PermissionError"]  # the type only
    skipped = _tick()
    assert "PermissionError" in skipped.skip_message and "a.mbox" not in skipped.skip_message


@pytest.mark.slow
def test_ingest_of_a_folder_with_a_name_that_is_not_utf8(home, tmp_path):
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "good.ics").write_text(ICS)
    _bad(folder)
    other = tmp_path / "mail.mbox"
    other.write_text(MBOX)
    result = CliRunner().invoke(app, ["ingest", str(folder), str(other), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["by_source"] == {"calendar": 2, "email": 3}, summary
    assert not summary["quarantined"]
