"""Derived artifacts: a rebuild rewrites only what changed, and evidence always matches the content."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import numpy as np
import pytest

from twin_assets.stores import HIGH, LOW
from twin_assets.stores.derived import Artifact, DerivedStore
from twin_assets.stores.documents import dumps, loads


def _payloads(derived: DerivedStore, kind: str) -> dict[str, bytes]:
    return dict(derived.conn.execute("SELECT id, payload FROM artifacts WHERE kind = ?", (kind,)).fetchall())


def _evidence(derived: DerivedStore, kind: str) -> set[tuple[str, str]]:
    return set(derived.conn.execute("SELECT id, doc_id FROM artifact_docs WHERE kind = ?", (kind,)).fetchall())


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_a_rebuild_rewrites_only_the_artifacts_that_changed(twin, tier):
    derived = twin.derived(tier)
    first = [Artifact("event", f"e{i}", {"n": i}, [f"d{i}"]) for i in range(2500)]
    assert derived.replace_kind("event", first) == 2500
    before = _payloads(derived, "event")

    second = [Artifact("event", f"e{i}", {"n": i}, [f"d{i}"]) for i in range(1, 2500)]  # e0 gone
    second[0] = Artifact("event", "e1", {"n": 1, "changed": True}, ["d1"])  # new content
    second[1] = Artifact("event", "e2", {"n": 2}, ["d2", "d9999"])  # new evidence only
    second.append(Artifact("event", "e_new", {"n": -1}, ["d_new"]))
    assert derived.replace_kind("event", second) == 2500
    after = _payloads(derived, "event")

    assert "e0" not in after and ("e0", "d0") not in _evidence(derived, "event")
    rewritten = {i for i in after if before.get(i) != after[i]}
    if tier == HIGH:  # Ciphertexts differ on every write, so an unchanged payload was not rewritten
        assert rewritten == {"e1", "e2", "e_new"}
    assert derived.get("event", "e1") == {"n": 1, "changed": True}
    assert {("e2", "d2"), ("e2", "d9999"), ("e_new", "d_new")} <= _evidence(derived, "event")
    assert derived.derived_from(["d0"]) == set() and derived.derived_from(["d9999"]) == {("event", "e2")}
    assert len(_evidence(derived, "event")) == 2501


def test_digests_are_keyed(twin):
    derived = twin.derived(HIGH)
    derived.replace_kind("score", [Artifact("score", "s", {"v": 0.5}, [])])
    (stored,) = derived.conn.execute("SELECT digest FROM artifacts WHERE kind = 'score'").fetchone()
    body = dumps({"v": 0.5})
    plain = hashlib.blake2b(body, digest_size=16)
    plain.update(b"\0")
    assert stored and stored != plain.digest(), "an unkeyed digest of a small value is reversed by guessing"


def test_a_store_made_before_digests_is_migrated_and_rewritten_once(twin):
    derived = twin.derived(LOW)
    with derived.conn:
        derived.conn.execute("DROP TABLE artifacts")
        derived.conn.execute(
            "CREATE TABLE artifacts (kind TEXT NOT NULL, id TEXT NOT NULL, key_id TEXT, "
            "payload BLOB NOT NULL, PRIMARY KEY (kind, id))"
        )
        derived.conn.execute("INSERT INTO artifacts VALUES ('event', 'e1', NULL, ?)", (b'{"n": 1}',))
    again = DerivedStore(derived.store)
    assert derived.get("event", "e1") == {"n": 1}
    assert again.replace_kind("event", [Artifact("event", "e1", {"n": 1}, ["d1"])]) == 1
    assert again.derived_from(["d1"]) == {("event", "e1")}
    assert again.conn.execute("SELECT digest FROM artifacts WHERE id = 'e1'").fetchone()[0] is not None


def test_the_generation_moves_on_model_writes_only(twin):
    from twin_assets.stores import HIGH
    from twin_assets.stores.derived import Artifact
    from twin_assets.twin import open_twin

    derived = twin.derived(HIGH)
    start = derived.generation()
    derived.replace_kind("event", [Artifact("event", "e1", {"n": 1}, ["d1"])])
    moved = derived.generation()
    assert moved > start
    derived.replace_kind("event", [Artifact("event", "e1", {"n": 1}, ["d1"])])  # nothing changed
    derived.put("built", "events", {"inputs": "x"})  # bookkeeping
    assert derived.generation() == moved
    with open_twin(twin.settings) as other:
        assert other.derived(HIGH).generation() == moved, "every connection reads the same"
    derived.delete([("event", "e1")])
    assert derived.generation() > moved


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime(2024, 3, 1, 9, 30, tzinfo=UTC), "day": date(2024, 3, 1), "n": 3, "x": 0.1, "none": None},
        {1: "int key", "nested": [{"a": [1, 2]}, (3, 4)], "word": "Grüße ✓"},
        {"lone surrogate": "caf\udce9", "big": 2**70},  # what orjson refuses: the standard library writes it
        {"slope": np.float64(0.25), "count": np.int64(3), "flag": np.bool_(True)},  # numpy scalars, as json had them
    ],
)
def test_artifacts_are_written_as_json_dumps_would_read_them(value):
    got, want = loads(dumps(value)), json.loads(json.dumps(value, default=str))
    assert got == want and [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_an_artifact_with_a_lone_surrogate_is_stored_and_read_back(twin):
    derived = twin.derived(HIGH)
    derived.replace_kind("entity", [Artifact("entity", "e", {"name": "Ren\udce9"}, ["d"])])
    assert derived.get("entity", "e") == {"name": "Ren\udce9"}
