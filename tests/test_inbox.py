"""The inbox sensor: new drops start a run for their source, duplicates and junk never stay in the clear."""

from __future__ import annotations

import os
import time

from dagster import DagsterInstance, build_sensor_context

from tests.test_slice import ICS, MBOX
from twin_assets.definitions import defs
from twin_assets.defs.sources.sensors import inbox_sensor
from twin_assets.pipeline.sync import sync_source


def _age(path, seconds=60):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_sensor_registers_new_drops_and_requests_their_sources(twin):
    inbox = twin.settings.inbox_dir
    (inbox / "a.mbox").write_text(MBOX)
    (inbox / "b.ics").write_text(ICS)
    for p in inbox.iterdir():
        _age(p)
    with DagsterInstance.ephemeral() as instance:
        result = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert len(result.run_requests) == 1
    req = result.run_requests[0]
    keys = {k.to_user_string() for k in req.asset_selection}
    # Tier-partitioned assets (embeddings) follow through the automation sensor.
    assert keys == {"source_email", "source_calendar", "documents"}
    assert "mbox" not in req.run_key and "mbox" not in result.cursor  # opaque
    # The run's source step ingests and removes the plaintext drop.
    assert sync_source(twin, "email").records_new == 3
    assert not (inbox / "a.mbox").exists()


def test_duplicate_drop_is_removed_without_a_run(twin):
    inbox = twin.settings.inbox_dir
    (inbox / "a.mbox").write_text(MBOX)
    _age(inbox / "a.mbox")
    with DagsterInstance.ephemeral() as instance:
        inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        sync_source(twin, "email")
        (inbox / "again.mbox").write_text(MBOX)
        _age(inbox / "again.mbox")
        result = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert not result.run_requests
    assert not (inbox / "again.mbox").exists()


def test_unrecognised_drop_is_quarantined_encrypted_and_removed(twin):
    from twin_assets.db.models import Input, Quarantine

    inbox = twin.settings.inbox_dir
    junk = inbox / "mystery.bin"
    junk.write_bytes(b"\x00\x01secretjunkcanary\x02" * 10)
    _age(junk)
    with DagsterInstance.ephemeral() as instance:
        inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert not junk.exists()
    with twin.session() as s:
        q = s.query(Quarantine).one()
        assert "unrecognised" in q.reason
        inp = s.get(Input, q.input_id)
        raw = twin.settings.home_path / inp.raw_location
    assert raw.exists() and b"secretjunkcanary" not in raw.read_bytes()


def test_files_still_being_written_wait(twin):
    inbox = twin.settings.inbox_dir
    (inbox / "fresh.mbox").write_text(MBOX)  # mtime now: not settled
    with DagsterInstance.ephemeral() as instance:
        result = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert not result.run_requests and "being written: 1" in result.skip_message
    assert (inbox / "fresh.mbox").exists()


def test_a_pending_drop_is_never_deleted_as_a_duplicate(twin):
    """If the run for a drop has not processed it yet (or failed), later ticks must leave the file alone."""
    inbox = twin.settings.inbox_dir
    (inbox / "a.mbox").write_text(MBOX)
    _age(inbox / "a.mbox")
    with DagsterInstance.ephemeral() as instance:
        first = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert len(first.run_requests) == 1
        again = inbox_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert not again.run_requests
    assert (inbox / "a.mbox").exists()  # still pending: the file is the only copy being ingested
    assert sync_source(twin, "email").records_new == 3
    assert not (inbox / "a.mbox").exists()
