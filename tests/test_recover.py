"""What an interrupted run leaves is found again: pending inputs, staged records; and the selection that finishes it."""

from __future__ import annotations

from pathlib import Path

from twin_assets.lifecycle.recover import leftovers, selection
from twin_assets.pipeline.inputs import register_input
from twin_assets.pipeline.sync import sync_source

VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada Example\nEMAIL:ada@example.org\nEND:VCARD\n"


def test_a_pending_input_then_staged_records_are_left_to_resume(twin, tmp_path: Path):
    export = tmp_path / "contacts.vcf"
    export.write_text(VCARD)
    first = register_input(twin, export, "contacts", "ingest")
    again = register_input(twin, export, "contacts", "ingest")  # a re-run of the killed ingest
    assert again.duplicate and not again.already_done and again.pending_id == first.input_id

    left = leftovers(twin)  # killed before parsing
    assert left.pending_ids == [first.input_id] and left.keys() == ["source_contacts"]
    assert selection(left.keys()) == "(key:source_contacts)+"

    sync_source(twin, "contacts")  # parsed and staged, killed before classifying
    left = leftovers(twin)
    assert left.pending_ids == [] and left.staged_records == 1
    assert left.keys() == ["documents"]
    assert register_input(twin, export, "contacts", "ingest").already_done


def test_nothing_left_selects_nothing(twin):
    left = leftovers(twin)
    assert not left and left.keys() == [] and selection(left.keys()) is None
