"""The README's "write your own connector" example, installed with pip and run, exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _example_files() -> dict[str, str]:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"<!-- example-connector: (\S+) -->\n```\w*\n(.*?)```", readme, re.S)
    return dict(blocks)


def test_readme_example_installs_and_ingests(tmp_path):
    files = _example_files()
    assert set(files) == {"pyproject.toml", "twin_journal.py"}
    pkg = tmp_path / "twin-connector-journal"
    pkg.mkdir()
    for name, text in files.items():
        (pkg / name).write_text(text)
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(pkg),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    journal = tmp_path / "my-journal.jsonl"
    journal.write_text(
        '{"date": "2024-03-01T08:00:00+01:00", "text": "Started the pottery class. Hands covered in clay."}\n'
        "this line is broken\n"
        '{"date": "2024-03-08", "text": "Second pottery class, made a bowl."}\n'
    )
    env = {**os.environ, "PYTHONPATH": str(site), "TWIN_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    subprocess.run([BIN / "twin", "init"], env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run(
        [BIN / "twin", "ingest", str(journal), "--json"], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["by_source"] == {"journal": 2}
    assert [q["error"] for q in summary["quarantined"]] == ["line 2: not a journal entry (JSONDecodeError)"]
    hits = json.loads(
        subprocess.run(
            [BIN / "twin", "search", "pottery bowl", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
    )
    # The plugin declares its own default tier (MEDIUM, like notes); without it the records would be HIGH.
    assert hits[0]["source"] == "journal" and hits[0]["tier"] == "MEDIUM"
