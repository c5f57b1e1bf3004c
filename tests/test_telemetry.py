"""Telemetry of every library the twin loads is off: a small ingest, search and ask, run with HOME and
XDG_CACHE_HOME pointed at empty folders, create no file outside TWIN_HOME.

Before the switch, ONNX Runtime wrote ``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime/{deviceid,
onnxruntime.db}`` (device id, executable path, OS, CPU) on the first embedding. The embedding cache
(``TWIN_EMBEDDING_CACHE``, by default under the cache folder) is the one documented file outside the home; it is
pointed at the existing cache here, so the model is not exported again, and the scan expects nothing at all.
Each command runs in a fresh process: the switch must act before the library is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_slice import MBOX

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def test_no_library_writes_outside_the_home(tmp_path, settings):
    user_home, cache, twin_home = tmp_path / "user", tmp_path / "user-cache", tmp_path / "twin"
    user_home.mkdir()
    cache.mkdir()
    env = {
        **os.environ,
        "HOME": str(user_home),
        "XDG_CACHE_HOME": str(cache),
        "TWIN_HOME": str(twin_home),
        "TWIN_EMBEDDING_CACHE": str(settings.embedding.cache),  # the documented one; not re-exported here
    }
    for name in ("ORT_DISABLE_TELEMETRY", "ANONYMIZED_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY"):
        env.pop(name, None)  # the twin must switch them off itself
    export = tmp_path / "mail.mbox"
    export.write_text(MBOX)

    def twin(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "twin_query.cli", *args], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    twin("init")
    assert json.loads(twin("ingest", str(export), "--json"))["records"] > 0
    assert json.loads(twin("search", "tomato blight", "--json"))
    assert json.loads(twin("ask", "what did I read about tomato blight?", "--json"))["answer"]
    outside = {"HOME": _files(user_home), "XDG_CACHE_HOME": _files(cache)}
    assert outside == {"HOME": [], "XDG_CACHE_HOME": []}
    assert _files(twin_home)  # the commands really wrote their home
