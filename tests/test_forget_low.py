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


def test_an_unreachable_vector_store_stops_forget_before_anything_is_deleted(home, tmp_path, monkeypatch):
    from twin_assets.stores.vectors import ChromaVectors

    (tmp_path / "m.mbox").write_text(MBOX)
    assert runner.invoke(app, ["ingest", str(tmp_path / "m.mbox"), "--json"]).exit_code == 0
    target = json.loads(runner.invoke(app, ["search", "tomato blight", "--json"]).stdout)[0]

    def unreachable(self, tier):
        raise ConnectionError("connection refused")

    with monkeypatch.context() as mp:
        mp.setattr(ChromaVectors, "collection", unreachable)
        result = runner.invoke(app, ["forget", "--record", target["id"]])
    message = str(result.exception)
    assert result.exit_code != 0 and "\n" not in message
    assert "could not delete the vectors (ConnectionError)" in message and "not forgotten yet" in message
    hits = json.loads(runner.invoke(app, ["search", "tomato blight", "--json"]).stdout)
    assert target["id"] in {h["id"] for h in hits}  # nothing was deleted: running it again finds the record
    result = runner.invoke(app, ["forget", "--record", target["id"], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed"]["vectors"] == {"LOW": 1}
    assert not any(scan([home.home_path], [LOW_CANARY, "Tomato blight"]).values())
