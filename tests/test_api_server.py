"""Across processes: a running `twin serve` sees records that `twin ingest` (another process) adds — over REST
search and over a WebSocket subscription — without a restart, each token only what its scopes allow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.servers import BIN, free_port, wait_for
from tests.test_slice import HIGH_CANARY, HIGH_NAME, MBOX

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWIN_")}
    env.update(
        TWIN_HOME=str(tmp_path / "home"),
        DAGSTER_HOME=str(tmp_path / "home" / "dagster"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    subprocess.run([BIN / "twin", "init"], env=env, check=True, capture_output=True, timeout=120)
    tokens = {
        scopes: subprocess.run(
            [BIN / "twin", "tokens", "create", "--scopes", scopes],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.strip()
        for scopes in ("low", "low,medium,high")
    }
    port = free_port()
    log = open(tmp_path / "api.out", "wb")  # noqa: SIM115  (closed below, after the process)
    proc = subprocess.Popen(
        [BIN / "twin", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{api}/v1/health").status_code == 200, 90, "the API")
        yield {"env": env, "api": api, "port": port, "tokens": tokens, "tmp": tmp_path}
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
        log.close()


def _subscribe(server, token):
    from websockets.sync.client import connect

    ws = connect(f"ws://127.0.0.1:{server['port']}/v1/ws?token={token}", open_timeout=30)
    assert json.loads(ws.recv(timeout=30))["type"] == "ready"
    ws.send(json.dumps({"type": "subscribe"}))
    assert json.loads(ws.recv(timeout=30))["type"] == "subscribed"
    return ws


def _records(ws, want: int, timeout: float) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        try:
            msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if msg["type"] == "record":
            got.append(msg)
    return got


def test_running_server_sees_new_records_without_restart(server):
    low_token, high_token = server["tokens"]["low"], server["tokens"]["low,medium,high"]

    def search(token, q):
        return httpx.get(
            f"{server['api']}/v1/search",
            params={"q": q},
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        ).json()["hits"]

    assert search(high_token, "tomato blight") == []
    low_ws, high_ws = _subscribe(server, low_token), _subscribe(server, high_token)
    try:
        time.sleep(1.5)  # the subscriptions take their baseline
        export = server["tmp"] / "mail.mbox"
        export.write_text(MBOX)
        done = subprocess.run(
            [BIN / "twin", "ingest", str(export), "--json"],
            env=server["env"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)["records"] == 3
        hits = wait_for(lambda: search(high_token, "tomato blight spring"), 60, "the new record in search")
        assert hits[0]["title"] == "Tomato blight prevention schedule for spring"
        assert [h["tier"] for h in search(low_token, "tomato blight wifi offsite")] == ["LOW"]
        high_records = _records(high_ws, 3, 30)
        low_records = _records(low_ws, 1, 10)
        assert sorted(r["tier"] for r in high_records) == ["HIGH", "HIGH", "LOW"]
        assert [r["tier"] for r in low_records] == ["LOW"] and low_records[0]["id"] == hits[0]["id"]
        assert set(low_records[0]) == {"type", "id", "source", "tier", "timestamp"}
        assert _records(low_ws, 1, 3) == []  # and nothing more: the HIGH mails are not pushed to LOW
        for r in high_records + low_records:
            assert HIGH_CANARY not in json.dumps(r) and HIGH_NAME not in json.dumps(r)
    finally:
        low_ws.close()
        high_ws.close()
    log = (server["tmp"] / "api.out").read_text(errors="replace")
    assert "Traceback" not in log and "tomato" not in log.lower() and low_token not in log
