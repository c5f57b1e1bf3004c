"""The code location loads, has no import side effects, and refuses to pickle values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dh")}
    (tmp_path / "dh").mkdir()
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_has_no_side_effects(settings):
    import importlib

    import twin_assets.definitions as d

    importlib.reload(d)
    assert not settings.home_path.exists()
    keys = {k.to_user_string() for k in d.defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"source_email", "source_calendar", "documents", "embeddings"} <= keys


def test_io_manager_refuses_values():
    from dagster import Failure, build_output_context

    from twin_assets.defs.resources import RefuseValuesIOManager

    mgr = RefuseValuesIOManager()
    mgr.handle_output(build_output_context(), None)
    with pytest.raises(Failure, match="plaintext"):
        mgr.handle_output(build_output_context(), {"subject": "secret"})


def test_content_safe_hides_exception_text():
    from dagster import Failure

    from twin_assets.defs.resources import content_safe

    @content_safe
    def boom() -> None:
        raise KeyError("Alice Secretname")

    with pytest.raises(Failure) as info:
        boom()
    assert "Alice" not in str(info.value) and "KeyError" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_sensors_start_running_and_tiers_are_partitions():
    from dagster import DefaultSensorStatus

    from twin_assets.definitions import defs

    sensors = {s.name: s for s in defs.sensors}
    assert {"inbox_sensor", "webhook_sensor", "twin_automation"} <= set(sensors)
    assert all(s.default_status == DefaultSensorStatus.RUNNING for s in sensors.values())
    emb = defs.resolve_assets_def("embeddings")
    assert emb.partitions_def.get_partition_keys() == ["HIGH", "MEDIUM", "LOW"]
    assert next(iter(emb.specs)).automation_condition is not None
