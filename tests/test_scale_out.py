"""The scale-out configuration: a Chroma server (TWIN_CHROMA_URL) and PostgreSQL for metadata and Dagster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.test_slice import MBOX
from twin_assets.db.engine import make_engine
from twin_query.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()
PG_URL = os.environ.get("TWIN_TEST_DATABASE_URL")


@pytest.fixture
def chroma_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "chroma server did not start"
        time.sleep(0.3)
    yield url, tmp_path / "chroma-server"
    proc.terminate()
    proc.wait(20)


def test_chroma_server_is_used_when_configured(tmp_path, monkeypatch, chroma_server):
    url, server_dir = chroma_server
    monkeypatch.setenv("TWIN_CHROMA_URL", url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    (tmp_path / "m.mbox").write_text(MBOX)
    result = runner.invoke(app, ["ingest", str(tmp_path / "m.mbox"), "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(runner.invoke(app, ["search", "tomato blight", "--json"]).stdout)
    assert hits[0]["title"].startswith("Tomato")
    home = Path(os.environ["TWIN_HOME"])
    assert not (home / "stores" / "chroma").exists(), "embedded Chroma must not be touched"
    assert any(server_dir.iterdir())


def test_unreachable_chroma_server_is_a_clear_error(home, monkeypatch):
    from twin_assets.errors import ConfigError
    from twin_assets.twin import open_twin

    monkeypatch.setenv("TWIN_CHROMA_URL", "http://127.0.0.1:1")
    from twin_assets.settings import get_settings

    with pytest.raises(ConfigError, match="does not answer"), open_twin(get_settings()).vectors() as v:
        v.count("LOW")


@pytest.fixture
def pg_database():
    if not PG_URL:
        pytest.skip("TWIN_TEST_DATABASE_URL not set")
    name = f"twin_e2e_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_postgresql_for_metadata_and_dagster_storage(tmp_path, monkeypatch, pg_database):
    monkeypatch.setenv("TWIN_DATABASE_URL", pg_database)
    assert runner.invoke(app, ["init"]).exit_code == 0
    home = Path(os.environ["TWIN_HOME"])
    assert "postgres" in (home / "dagster" / "dagster.yaml").read_text()
    (tmp_path / "m.mbox").write_text(MBOX)
    result = runner.invoke(app, ["ingest", str(tmp_path / "m.mbox"), "--json"])
    assert result.exit_code == 0, result.output
    assert not (home / "stores" / "metadata.sqlite").exists()
    engine = make_engine(pg_database)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM records")).scalar() == 3
        tables = {r[0] for r in c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))}
    engine.dispose()
    assert {"runs", "event_logs"} <= tables, "Dagster's run and event storage should be in PostgreSQL"
