"""The home's own Chroma server: the only process that writes Chroma's files, shared, and gone when idle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from twin_assets.stores import LOW, MEDIUM
from twin_assets.stores.chroma_client import hold_server, registered_server


def _wait(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_vectors_are_written_by_another_process_never_by_embedded_chroma(twin, monkeypatch):
    import chromadb

    def refuse(*a, **k):
        raise AssertionError("a process that holds plaintext opened embedded Chroma")

    monkeypatch.setattr(chromadb, "PersistentClient", refuse)
    with twin.vectors() as v:
        v.upsert(LOW, ["a", "b"], np.eye(2, 384, dtype=np.float32), [{"source": "x"}, {"source": "y"}])
        v.upsert(MEDIUM, ["c"], np.eye(1, 384, dtype=np.float32))
        assert (v.count(LOW), v.count(MEDIUM)) == (2, 1)
    info = json.loads((twin.settings.run_dir / "chroma.json").read_text())
    assert info["pid"] != os.getpid()
    assert info["url"].startswith("http://127.0.0.1:")
    assert any(twin.settings.chroma_dir.iterdir())


def test_the_server_stops_when_idle_and_the_next_use_starts_one_with_the_data(twin, monkeypatch):
    monkeypatch.setenv("TWIN_CHROMA_IDLE_SECONDS", "0.5")
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin

    t = open_twin(get_settings())
    with t.vectors() as v:
        v.upsert(LOW, ["a"], np.eye(1, 384, dtype=np.float32), [{"source": "x"}])
    pid = json.loads((t.settings.run_dir / "chroma.json").read_text())["pid"]
    assert _wait(lambda: not _alive(pid)), "an idle server must stop"
    assert not (t.settings.run_dir / "chroma.json").exists()
    with t.vectors() as v:
        assert v.query(LOW, np.eye(1, 384, dtype=np.float32)[0], 1)[0][0] == "a"
    t.close()


def test_a_held_server_outlives_its_idle_time(home, monkeypatch):
    monkeypatch.setenv("TWIN_CHROMA_IDLE_SECONDS", "0.3")
    from twin_assets.settings import get_settings

    settings = get_settings()
    with hold_server(settings) as url:
        time.sleep(1.5)
        assert registered_server(settings) == url
    pid = json.loads(url and (settings.run_dir / "chroma.json").read_text())["pid"]
    assert _wait(lambda: not _alive(pid))


def test_a_killed_server_is_replaced_and_nothing_written_is_lost(twin):
    with twin.vectors() as v:
        v.upsert(
            LOW,
            [f"id{i}" for i in range(300)],
            np.random.default_rng(0).random((300, 384), np.float32),
            [{"source": "x"}] * 300,
        )
    pid = json.loads((twin.settings.run_dir / "chroma.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: not _alive(pid))
    with twin.vectors() as v:
        assert v.count(LOW) == 300
    assert json.loads((twin.settings.run_dir / "chroma.json").read_text())["pid"] != pid


_OPEN_AND_PRINT = """
import json, sys
from twin_assets.settings import get_settings
from twin_assets.twin import open_twin
from twin_assets.stores.chroma_client import registered_server
t = open_twin(get_settings())
with t.vectors() as v:
    v.count("LOW")
    print(registered_server(t.settings))
"""


def test_processes_started_together_share_one_server(home):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AND_PRINT],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TWIN_CHROMA_IDLE_SECONDS": "5"},
        )
        for _ in range(3)
    ]
    urls = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(urls) == 1 and next(iter(urls)).startswith("http://")


def test_a_server_that_cannot_start_is_a_clear_error(home, monkeypatch):
    from twin_assets.errors import ConfigError
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin

    # A file where the Chroma directory must go: the server exits at once, and the caller says so.
    settings = get_settings()
    settings.stores_dir.mkdir(parents=True, exist_ok=True)
    settings.chroma_dir.write_text("not a directory")
    with pytest.raises(ConfigError, match="did not start"), open_twin(settings).vectors() as v:
        v.count(LOW)


def test_a_copied_home_does_not_take_the_original_server_for_its_own(home, tmp_path, monkeypatch):
    import shutil

    from twin_assets.settings import get_settings

    with hold_server(home) as url:
        shutil.copytree(home.home_path, tmp_path / "copy")
        monkeypatch.setenv("TWIN_HOME", str(tmp_path / "copy"))
        copy = get_settings()
        assert registered_server(home) == url
        assert registered_server(copy) is None  # the copied run/chroma.json names the original's directory
        for settings, expected in ((home, url), (copy, None)):  # registered before servers named their directory
            path = settings.run_dir / "chroma.json"
            info = json.loads(path.read_text())
            info.pop("dir")
            path.write_text(json.dumps(info))
            assert registered_server(settings) == expected  # ours only when our directory's lock is held
