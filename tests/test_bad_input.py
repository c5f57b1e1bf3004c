"""Hostile and broken inputs through `twin ingest`: each quarantined with a reason, the rest lands."""

from __future__ import annotations

import json
import zipfile

import pytest
from typer.testing import CliRunner

from tests.test_slice import MBOX
from twin_assets.db.models import Quarantine
from twin_query.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def _deep_mime(depth: int) -> str:
    parts = [f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)]
    closing = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    return (
        "From: a@example.com\nTo: b@example.com\nSubject: nest\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
        "Message-ID: <deep@example.com>\nMIME-Version: 1.0\n"
        + "".join(parts)
        + "Content-Type: text/plain\n\nbottom"
        + closing
    )


def test_bad_files_are_quarantined_and_the_rest_lands(home, tmp_path):
    good = tmp_path / "good.mbox"
    good.write_text(MBOX)
    deep = tmp_path / "deep.eml"
    deep.write_text(_deep_mime(80))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 100)
    bomb = tmp_path / "slack.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("users.json", "[]")
        z.writestr("channels.json", '[{"id": "C1", "name": "general"}]')
        z.writestr("general/2024-01-01.json", "[" + " " * 50_000_000 + "]")
    missing = tmp_path / "nope.mbox"
    result = runner.invoke(app, ["ingest", str(good), str(deep), str(junk), str(bomb), str(missing), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    errors = {q["path"].rsplit("/", 1)[-1]: q["error"] for q in summary["quarantined"]}
    assert set(errors) == {"deep.eml", "junk.bin", "slack.zip", "nope.mbox"}, errors
    assert "nesting" in errors["deep.eml"].lower() or "deep" in errors["deep.eml"].lower()
    assert "unrecognised" in errors["junk.bin"]
    assert "no such file" in errors["nope.mbox"]
    assert summary["by_source"]["email"] >= 3  # the good mailbox landed
    from twin_assets.twin import open_twin

    with open_twin(home).session() as s:
        reasons = [q.reason for q in s.query(Quarantine)]
    assert len(reasons) >= 2 and all(reasons)  # the parsed-but-bad ones are in the metadata DB too
