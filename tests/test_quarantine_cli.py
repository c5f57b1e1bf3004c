"""``twin quarantine``: a bad file is listed with its reason (its name shown to the owner, U+FFFD for bytes that
are not UTF-8), and once the cause is fixed ``--retry`` puts its kept encrypted export back through ingest, even
when the plaintext is gone. The Dagster run is the source step alone (the steps below it change nothing here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_parse_budget import minutely_series
from twin_query.cli import app

runner = CliRunner()


@pytest.fixture
def source_step_only(monkeypatch):
    from twin_assets import run
    from twin_assets.pipeline.sync import sync_source
    from twin_assets.twin import open_twin

    def materialize(settings, selection=None, **_):
        keys = [k for k in str(selection).split("'") if k.startswith("source_")] or ["source_calendar"]
        with open_twin(settings) as twin:
            for key in keys:
                sync_source(twin, key.removeprefix("source_"))
        return run.RunOutcome(True, ["run"], keys, [])

    monkeypatch.setattr(run, "materialize", materialize)


def _list() -> list[dict]:
    result = runner.invoke(app, ["quarantine", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_file_over_its_budget_is_listed_and_retried_once_the_budget_is_raised(
    home, tmp_path, monkeypatch, source_step_only
):
    monkeypatch.setenv("TWIN_PARSE_MAX_RECORDS", "150")
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9 busy.ics"))  # a name that is not UTF-8
    path.write_bytes(minutely_series(2, occurrences=100))
    first = runner.invoke(app, ["ingest", str(path), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["records"] == 150

    (item,) = _list()
    assert item["source"] == "calendar" and item["what"] == "file" and item["retryable"]
    assert "TWIN_PARSE_MAX_RECORDS" in item["reason"]
    assert item["file"].endswith("caf\ufffd busy.ics") and item["when"]
    shown = runner.invoke(app, ["quarantine"])
    assert shown.exit_code == 0 and "caf\ufffd busy.ics" in shown.stdout and "TWIN_PARSE_MAX_RECORDS" in shown.stdout

    path.unlink()  # as an inbox drop is: only the encrypted copy is left
    monkeypatch.delenv("TWIN_PARSE_MAX_RECORDS")
    retried = runner.invoke(app, ["quarantine", "--retry", str(item["id"]), "--json"])
    assert retried.exit_code == 0, retried.output
    (outcome,) = json.loads(retried.stdout)
    assert outcome == {"input": item["input"], "source": "calendar", "status": "done", "records": 200, "reasons": []}
    assert _list() == []

    from twin_assets.db.models import Input
    from twin_assets.pipeline.inputs import decrypt_path
    from twin_assets.twin import open_twin

    with open_twin(home) as twin, twin.session() as s:
        inp = s.get_one(Input, item["input"])
        assert decrypt_path(twin, inp.path_enc) == path  # its own name again, not the restored copy's
        assert inp.raw_location and (home.home_path / inp.raw_location).is_file()  # TWIN_KEEP_RAW is on
    assert not list(home.run_dir.glob("retry-*"))  # the decrypted copies are gone


def test_an_unrecognised_drop_keeps_a_fresh_reason_when_retried_in_vain(home, twin, tmp_path, source_step_only):
    from twin_assets.pipeline.inbox import quarantine_unrecognised

    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    quarantine_unrecognised(twin, junk)
    (item,) = _list()
    assert item["source"] == "unknown" and "unrecognised" in item["reason"] and item["file"].endswith("junk.bin")

    again = runner.invoke(app, ["quarantine", "--retry", "--all"])
    assert again.exit_code == 1 and "still no connector claims it" in again.stdout
    (kept,) = _list()
    assert kept["when"] > item["when"] and kept["input"] == item["input"] and "unrecognised" in kept["reason"]


def test_retry_needs_a_known_item_or_all(home):
    for args, message in ((["--retry"], "needs one item id or --all"), (["--retry", "7"], "no quarantine item 7")):
        result = runner.invoke(app, ["quarantine", *args])
        assert result.exit_code != 0 and message in str(result.exception), (args, result.exception)
    assert runner.invoke(app, ["quarantine"]).stdout.strip() == "nothing is quarantined"


def test_a_quarantined_folder_comes_back_as_the_folder_it_was(home, twin, tmp_path):
    """A folder is archived as a tar stream of its files: a retry restores the folder, verified by its hash."""
    from twin_assets.db.models import Input
    from twin_assets.pipeline.inbox import quarantine_unrecognised
    from twin_assets.pipeline.quarantine import _restore, workspace

    drop = tmp_path / "export"
    (drop / "sub").mkdir(parents=True)
    (drop / "a.dat").write_bytes(b"\x00\x01 first")
    (drop / "sub" / "b.dat").write_bytes(b"\x02 second" * 1000)
    quarantine_unrecognised(twin, drop)
    assert not drop.exists()  # the inbox's plaintext is gone; only the encrypted archive is left
    (item,) = _list()
    with twin.session() as s, workspace(twin) as folder:
        restored = _restore(twin, s.get_one(Input, item["input"]), folder)
        assert restored.is_dir() and restored.name == "export"
        assert (restored / "a.dat").read_bytes() == b"\x00\x01 first"
        assert (restored / "sub" / "b.dat").read_bytes() == b"\x02 second" * 1000
    assert not folder.exists()
