"""`twin init`: folders, keys with mode 0600, hardened dagster.yaml, idempotent, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from twin_query.cli import app

runner = CliRunner()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_init_creates_layout_keys_and_token(settings):
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    home = settings.home_path
    for sub in ("inbox", "stores", "keys", "dagster"):
        assert (home / sub).is_dir()
    for key_file in ("master.json", "index.key"):
        mode = stat.S_IMODE((home / "keys" / key_file).stat().st_mode)
        assert mode == 0o600, oct(mode)
    assert "API token" in result.output and "twin_" in result.output
    cfg = yaml.safe_load((home / "dagster" / "dagster.yaml").read_text())
    assert cfg["telemetry"]["enabled"] is False
    assert cfg["compute_logs"]["class"] == "NoOpComputeLogManager"
    assert cfg["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    assert cfg["concurrency"]["pools"]["default_limit"] == 1


def test_init_twice_changes_nothing(settings):
    assert runner.invoke(app, ["init"]).exit_code == 0
    keys_before = (settings.keys_dir / "master.json").read_text()
    files_before = _tree_digest(settings.home_path / "keys") | _tree_digest(settings.home_path / "dagster")
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert "API token" not in second.output  # the first token was printed once, not again
    assert (settings.keys_dir / "master.json").read_text() == keys_before
    assert _tree_digest(settings.home_path / "keys") | _tree_digest(settings.home_path / "dagster") == files_before


def test_home_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "afile"
    bad.write_text("x")
    monkeypatch.setenv("TWIN_HOME", str(bad))
    result = runner.invoke(app, ["init"])
    assert result.exit_code != 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_home_is_a_clear_error(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    monkeypatch.setenv("TWIN_HOME", str(ro / "home"))
    result = runner.invoke(app, ["init"])
    assert result.exit_code != 0


def test_corrupt_key_file_is_one_line_error(home, tmp_path):
    import subprocess
    import sys

    (home.keys_dir / "master.json").write_text("{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "twin_query.cli", "search", "anything"],
        capture_output=True,
        text=True,
        env={**os.environ, "TWIN_HOME": str(home.home_path)},
        timeout=120,
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "corrupt" in lines[0] and "master.json" in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_home_tells_to_init(settings):
    result = runner.invoke(app, ["search", "x"])
    assert result.exit_code != 0


def test_wrong_key_does_not_open_encrypted_store(home, twin):
    from twin_assets.errors import KeyFileError
    from twin_assets.keys import KeyEntry, save_master_file

    twin.store("HIGH").count()
    twin.close()
    data = json.loads((home.keys_dir / "master.json").read_text())
    # Replace the secret with another valid one: the store must refuse, not return garbage.
    save_master_file(home.keys_dir / "master.json", [KeyEntry("k1", os.urandom(32), data["keys"][0]["created"])], "k1")
    from twin_assets.twin import open_twin

    with pytest.raises(KeyFileError):
        open_twin(home).store("HIGH")


def test_unreachable_database_url_writes_nothing(settings, monkeypatch):
    monkeypatch.setenv("TWIN_DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    result = runner.invoke(app, ["init"])
    assert result.exit_code != 0
    assert "does not answer" in str(result.exception)
    assert not settings.home_path.exists()
