"""Shared fixtures: every test gets its own twin home and Dagster home under tmp_path."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = (REPO / ".." / "shared" / "samples").resolve()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's real home, keys or Dagster instance."""
    for name in list(os.environ):
        if name.startswith("TWIN_") and name != "TWIN_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("TWIN_HOME", str(tmp_path / "home"))
    # Each test home gets its own Chroma server process; short idleness keeps few of them alive at once.
    monkeypatch.setenv("TWIN_CHROMA_IDLE_SECONDS", "3")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def settings():
    from twin_assets.settings import get_settings

    return get_settings()


@pytest.fixture
def home(settings):
    """An initialised twin home; yields its settings."""
    from twin_query.setup import init_home

    init_home(settings)
    return settings


@pytest.fixture
def twin(home):
    from twin_assets.twin import open_twin

    t = open_twin(home)
    yield t
    t.close()


@pytest.fixture
def start_api():
    """Starts an app as a server does, running its lifespan (which creates the query service the routes read
    through); each is stopped when the test ends."""
    from fastapi.testclient import TestClient

    with contextlib.ExitStack() as stack:

        def start(app, **kwargs) -> TestClient:
            return stack.enter_context(TestClient(app, **kwargs))

        yield start
