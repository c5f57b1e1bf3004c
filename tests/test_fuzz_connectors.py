"""Fuzz every connector: random bytes and mutated small valid files never raise out of parse() (only ParseIssues),
never exceed the parse budget and never write outside the case's own folder. About a minute in all; the longer
run is ``python -m benchmarks.fuzz_connectors``."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_connectors import FUZZ_ENV, SEEDS, mutate, outside_writes, run_case
from twin_assets.connectors.registry import connectors

ALL_SEEDS = [data for seeds in SEEDS.values() for _, data in seeds]
FUZZ = settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The case folder's parent, also HOME and TMPDIR: anything a connector writes lands where it is seen."""
    for name, value in FUZZ_ENV.items():
        monkeypatch.setenv(name, value)
    for sub in ("home", "tmp"):
        (tmp_path / sub).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def test_every_connector_has_seeds() -> None:
    assert set(SEEDS) == set(connectors())


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(pick=st.integers(min_value=0), rng_seed=st.integers(min_value=0, max_value=2**32))
def test_mutated_valid_files(scratch: Path, kind: str, pick: int, rng_seed: int) -> None:
    name, seed = SEEDS[kind][pick % len(SEEDS[kind])]
    data = mutate(random.Random(rng_seed), seed, ALL_SEEDS)
    assert run_case(connectors()[kind], name, data, scratch) is None
    assert outside_writes(scratch) == []


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(FUZZ, max_examples=40)
@given(data=st.binary(max_size=4096))
def test_random_bytes(scratch: Path, kind: str, data: bytes) -> None:
    name = SEEDS[kind][0][0]  # the name a real export has, so name-based shortcuts are taken too
    assert run_case(connectors()[kind], name, data, scratch) is None
    assert outside_writes(scratch) == []
