"""Per-batch budget: a sync past TWIN_SYNC_MAX_BATCH_SECONDS / _RECORDS takes no new input; the rest stay pending
(deferred, not quarantined: nothing is lost), are counted, and the next ingest, inbox sensor tick or doctor resumes
them."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import DagsterInstance, build_sensor_context
from sqlalchemy import select
from typer.testing import CliRunner

from twin_assets.db.models import Input, Quarantine
from twin_assets.lifecycle.recover import leftovers
from twin_assets.pipeline.inputs import register_input
from twin_assets.pipeline.sync import deferred_inputs, sync_source


def vcards(folder: Path, n: int, per_file: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        cards = "".join(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}-{j}\r\nEMAIL:p{i}-{j}@example.org\r\nEND:VCARD\r\n"
            for j in range(per_file)
        )
        path = folder / f"c{i}.vcf"
        path.write_text(cards)
        paths.append(path)
    return paths


def _register(twin, paths: list[Path]) -> list[str]:
    ids = [register_input(twin, p, "contacts", "ingest").input_id for p in paths]
    assert all(ids)
    return [i for i in ids if i]


def _statuses(twin) -> dict[str, str]:
    with twin.session() as s:
        return dict(s.execute(select(Input.id, Input.status)).all())


def test_a_sync_past_its_record_budget_defers_the_rest_and_the_next_resumes_them(twin, tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_SYNC_MAX_BATCH_RECORDS", "3")
    ids = _register(twin, vcards(tmp_path / "x", 4))  # 2 records each: the budget is spent after 2 inputs
    first = sync_source(twin, "contacts")
    assert (first.inputs, first.records_new, first.deferred) == (2, 4, 2)
    assert first.counts()["deferred"] == 2  # the Dagster metadata of the source asset
    assert "TWIN_SYNC_MAX_BATCH_RECORDS" in (first.deferred_reason or "")
    status = _statuses(twin)
    assert [status[i] for i in ids] == ["done", "done", "pending", "pending"]  # order of registration
    with twin.session() as s:
        assert not list(s.scalars(select(Quarantine)))  # deferred is not quarantined
    assert deferred_inputs(twin) == {"contacts": sorted(ids[2:])}
    assert leftovers(twin).keys() == ["documents", "source_contacts"]  # what ingest and doctor resume

    second = sync_source(twin, "contacts")
    assert (second.inputs, second.records_new, second.deferred) == (2, 4, 0)
    assert set(_statuses(twin).values()) == {"done"} and deferred_inputs(twin) == {}


def test_a_sync_past_its_time_budget_defers_the_rest_but_always_takes_one(twin, tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_SYNC_MAX_BATCH_SECONDS", "0.000001")
    _register(twin, vcards(tmp_path / "x", 3))
    done = []
    while (result := sync_source(twin, "contacts")).inputs:
        assert result.inputs == 1
        assert not result.deferred or "TWIN_SYNC_MAX_BATCH_SECONDS" in (result.deferred_reason or "")
        done.append(result.deferred)
    assert done == [2, 1, 0]  # every sync made progress; nothing was lost


def test_the_inbox_sensor_resumes_deferred_inputs_once(twin, tmp_path, monkeypatch):
    from twin_assets.definitions import defs
    from twin_assets.defs.sources.sensors import inbox_sensor

    monkeypatch.setenv("TWIN_SYNC_MAX_BATCH_RECORDS", "1")
    _register(twin, vcards(tmp_path / "x", 3))
    with DagsterInstance.ephemeral() as instance:
        idle = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert not idle.run_requests  # pending but not deferred: the run that registered them will parse them
        assert sync_source(twin, "contacts").deferred == 2
        first = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        again = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert len(first.run_requests) == 1
        keys = {k.to_user_string() for k in first.run_requests[0].asset_selection}
        assert keys == {"source_contacts", "documents"}
        assert again.run_requests[0].run_key == first.run_requests[0].run_key  # Dagster runs one of them
        assert sync_source(twin, "contacts").deferred == 1
        later = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert later.run_requests[0].run_key != first.run_requests[0].run_key  # a new, smaller set
        sync_source(twin, "contacts")
        done = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert not done.run_requests


def test_ingest_reports_deferred_inputs_and_the_next_ingest_resumes_them(home, tmp_path, monkeypatch):
    """``twin ingest --json`` counts what the run deferred; the next ingest resumes it. The Dagster run is the
    source step alone (the documents step and below change nothing here and take a minute)."""
    from twin_assets import run
    from twin_assets.twin import open_twin
    from twin_query.cli import app

    selections: list[str] = []

    def source_step_only(settings, selection=None, **_):
        selections.append(str(selection))
        with open_twin(settings) as twin:
            sync_source(twin, "contacts")
        return run.RunOutcome(True, ["run"], ["source_contacts"], [])

    monkeypatch.setattr(run, "materialize", source_step_only)
    monkeypatch.setenv("TWIN_SYNC_MAX_BATCH_RECORDS", "2")
    files = [str(p) for p in vcards(tmp_path / "contacts", 3)]
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", *files, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["deferred"] == {"inputs": 2} and summary["records"] == 2 and not summary["quarantined"]
    text = runner.invoke(app, ["ingest", files[0]])  # the human summary says it too (nothing new to parse)
    assert "deferred 1 input(s)" in text.stdout and "TWIN_SYNC_MAX_BATCH_RECORDS" in text.stdout, text.stdout

    monkeypatch.delenv("TWIN_SYNC_MAX_BATCH_RECORDS")
    again = runner.invoke(app, ["ingest", files[0], "--json"])
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)
    assert "key:source_contacts" in selections[-1]
    assert resumed["deferred"] == {"inputs": 0} and resumed["resumed"]["inputs"] == 1
    assert resumed["records"] == 2, resumed  # the resumed input's records; the given file was done before
