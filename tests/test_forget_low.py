"""Forgetting a LOW record leaves nothing behind either, Chroma's write-ahead log included."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.privacy_scan import scan
from tests.test_slice import LOW_CANARY, MBOX
from twin_query.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_forgotten_low_record_is_gone_from_every_byte(home, tmp_path):
    (tmp_path / "m.mbox").write_text(MBOX)
    assert runner.invoke(app, ["ingest", str(tmp_path / "m.mbox"), "--json"]).exit_code == 0
    hits = json.loads(runner.invoke(app, ["search", "tomato blight", "--json"]).stdout)
    target = hits[0]
    assert target["tier"] == "LOW"
    before = scan([home.home_path], [LOW_CANARY])
    assert before[LOW_CANARY], "the LOW text is stored before forgetting (or the scan proves nothing)"
    result = runner.invoke(app, ["forget", "--record", target["id"], "--json"])
    assert result.exit_code == 0, result.output
    after = scan([home.home_path], [LOW_CANARY, "Tomato blight"])
    assert not any(after.values()), after
    remaining = json.loads(runner.invoke(app, ["search", "offsite agenda roadmap", "--json"]).stdout)
    assert remaining and all(h["id"] != target["id"] for h in remaining)
