"""The real thing, across processes: Dagster daemon + webserver, the API server with its Chroma server.

A file dropped into the inbox becomes searchable through the already-running
API with no manual run; dropping it again processes nothing new.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.privacy_scan import scan
from tests.servers import BIN, free_port, wait_for
from tests.test_slice import HIGH_CANARY, MBOX

pytestmark = pytest.mark.slow




@pytest.fixture
def stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWIN_") or k == "TWIN_TEST_DATABASE_URL"}
    env.pop("TWIN_TEST_DATABASE_URL", None)
    env.update(TWIN_HOME=str(tmp_path / "home"), DAGSTER_HOME=str(tmp_path / "home" / "dagster"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    subprocess.run([BIN / "twin", "init"], env=env, check=True, capture_output=True, timeout=120)
    token = subprocess.run([BIN / "twin", "tokens", "create", "--scopes", "low,medium,high"], env=env, check=True,
                           capture_output=True, text=True, timeout=120).stdout.strip()
    api_port, ui_port = free_port(), free_port()
    procs = []
    logs = tmp_path / "logs"
    logs.mkdir()
    with open(logs / "api.out", "wb") as api_log, open(logs / "dagster.out", "wb") as dagster_log:
        yield from _run_stack(env, token, api_port, ui_port, procs, api_log, dagster_log, tmp_path, logs)


def _run_stack(env, token, api_port, ui_port, procs, api_log, dagster_log, tmp_path, logs):
    try:
        procs.append(subprocess.Popen([BIN / "twin", "serve", "--port", str(api_port)], env=env,
                                      stdout=api_log, stderr=subprocess.STDOUT, start_new_session=True))
        api = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{api}/v1/health").status_code == 200, 90, "API")
        procs.append(subprocess.Popen(
            [BIN / "dagster", "dev", "-m", "twin_assets.definitions", "-h", "127.0.0.1", "-p", str(ui_port)],
            env=env, stdout=dagster_log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{ui_port}/server_info").status_code == 200, 180, "Dagster UI")
        yield {"env": env, "api": api, "token": token, "home": tmp_path / "home", "logs": logs}
    finally:
        for p in reversed(procs):
            with_group = os.getpgid(p.pid) if p.poll() is None else None
            if with_group:
                os.killpg(with_group, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(p.pid), signal.SIGKILL)


def _search(stack, q: str) -> list[dict]:
    r = httpx.get(f"{stack['api']}/v1/search", params={"q": q},
                  headers={"Authorization": f"Bearer {stack['token']}"}, timeout=30)
    r.raise_for_status()
    return r.json()["hits"]


def _record_count(stack) -> int:
    import sqlite3

    db = stack["home"] / "stores" / "metadata.sqlite"
    with sqlite3.connect(db) as c:
        return c.execute("select count(*) from records").fetchone()[0]


def test_inbox_drop_becomes_searchable_without_a_manual_run(stack):
    inbox = stack["home"] / "inbox"
    drop = inbox / "export.mbox"
    drop.write_text(MBOX)
    past = time.time() - 60
    os.utime(drop, (past, past))
    hits = wait_for(lambda: [h for h in _search(stack, "tomato blight") if h["title"].startswith("Tomato")],
                     300, "the dropped message to be searchable", interval=3)
    assert hits[0]["tier"] == "LOW"
    assert not drop.exists(), "an ingested drop must not stay in the inbox in plaintext"
    # Vectors arrive through the automation sensor's per-tier runs: a semantic query finds the HIGH message.
    wait_for(lambda: any(h["title"] == "the wifi" for h in _search(stack, "wireless network credentials")), 300,
              "HIGH embeddings")
    before = _record_count(stack)
    again = inbox / "again.mbox"
    again.write_text(MBOX)
    os.utime(again, (past, past))
    wait_for(lambda: not again.exists(), 120, "the duplicate drop to be removed")
    time.sleep(5)
    assert _record_count(stack) == before
    leaks = scan([stack["home"]], [HIGH_CANARY])
    assert not leaks[HIGH_CANARY], leaks
