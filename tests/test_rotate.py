"""`twin keys rotate`: everything re-encrypted under a new key, resumable, old key retired.

The home holds one of every encrypted thing (HIGH rows, vectors and artifacts, SQLCipher files,
every ``*_enc`` column incl. a staged record, a webhook secret and body and API state, raw
archives, graph snapshots, the demo truth file). "Reads every item" is checked by comparing the
plaintext of every item before and after, read with a keyring holding only the new key.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.test_slice import ICS, MBOX
from twin_query.cli import app

runner = CliRunner()
EXTRA_MBOX = """From someone@example.org Thu Jan 18 09:00:00 2024
From: Someone <someone@example.org>
To: me@example.com
Subject: staged only
Date: Thu, 18 Jan 2024 09:00:00 +0000
Message-ID: <staged-1@example.org>

This one stays staged (synced, not yet classified).
"""


def make_home(twin, tmp: Path) -> None:
    """Ingest the slice fixtures, fake embeddings (no model), build every view, and add one of each extra."""
    from datetime import UTC, datetime

    from twin_assets.db.models import ApiState
    from twin_assets.pipeline import model
    from twin_assets.pipeline.checks import save_demo_truth
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.pipeline.sync import sync_source
    from twin_assets.pipeline.webhooks import accept, create_webhook_source

    (tmp / "m.mbox").write_text(MBOX)
    (tmp / "c.ics").write_text(ICS)
    (tmp / "x.mbox").write_text(EXTRA_MBOX)
    register_input(twin, tmp / "m.mbox", "email", "ingest")
    register_input(twin, tmp / "c.ics", "calendar", "ingest")
    sync_source(twin, "email")
    sync_source(twin, "calendar")
    build_documents(twin)
    rng = np.random.default_rng(0)
    for tier in ("HIGH", "MEDIUM", "LOW"):
        store = twin.store(tier)
        ids = store.ids()
        vecs = rng.normal(size=(len(ids), 384)).astype(np.float32)
        if tier == "HIGH":
            store.mark_embedded(ids, vecs)
        else:
            with twin.vectors() as vectors:
                vectors.upsert(tier, ids, vecs)
            store.mark_embedded(ids)
    for view in ("LOW", "MEDIUM", "HIGH"):
        for step in (
            "build_entities",
            "build_sentiment",
            "build_timeline",
            "build_topics",
            "build_graph",
            "build_graph_metrics",
        ):
            getattr(model, step)(twin, view)
    register_input(twin, tmp / "x.mbox", "email", "ingest")
    sync_source(twin, "email")  # a staged record: records.staged_enc
    save_demo_truth(twin, {"people": [], "note": "truth"})
    create_webhook_source(twin, "hooky")
    accept(twin, "hooky", b'{"text": "hello from a hook"}', "idem-1")
    with twin.session() as s:
        s.add(
            ApiState(
                name="someapi",
                cursor_enc=twin.keyring.encrypt(b"cursor-1"),
                token_enc=twin.keyring.encrypt(b'{"access_token": "t"}'),
                updated_at=datetime.now(UTC),
            )
        )


def plaintexts(twin) -> Counter:
    from twin_assets.lifecycle.rotate import iter_plaintext

    return Counter(
        (loc.split("#")[0] if loc.startswith("stores/raw") else loc, hashlib.sha256(data).hexdigest())
        for loc, data in iter_plaintext(twin)
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    base = tmp_path_factory.mktemp("rotate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(base / "home"))
        mp.delenv("DAGSTER_HOME", raising=False)
        settings = get_settings()
        init_home(settings)
        twin = open_twin(settings)
        make_home(twin, base)
        before = plaintexts(twin)
        twin.close()
    return base / "home", before


@pytest.fixture
def filled(template, settings):
    """A copy of the filled home (built once per module) and the plaintext digest of every item in it."""
    shutil.copytree(template[0], settings.home_path)
    return settings, template[1]


def locations(counter: Counter) -> set[str]:
    return {loc.rsplit("/", 1)[0] if loc.startswith("stores/raw/") else loc for loc, _ in counter}


def read_all_with_only(settings, key_id: str) -> Counter:
    from twin_assets.twin import Twin

    twin = Twin(settings)
    twin.keyring = twin.keyring.only(key_id)
    try:
        return plaintexts(twin)
    finally:
        twin.close()


def test_home_has_every_kind_of_encrypted_item(filled):
    _, before = filled
    locs = locations(before)
    for expected in (
        "stores/high.sqlcipher#docs.payload",
        "stores/high.sqlcipher#docs.vector",
        "stores/high.sqlcipher#artifacts.payload",
        "metadata#inputs.path_enc",
        "metadata#records.staged_enc",
        "metadata#sync_batches.cursor_enc",
        "metadata#webhook_sources.secret_enc",
        "metadata#webhook_events.body_enc",
        "metadata#api_state.cursor_enc",
        "metadata#api_state.token_enc",
        "stores/raw",
        "stores/demo_truth.fenc",
    ):
        assert expected in locs, expected
    assert any(loc.startswith("stores/graph/high/") for loc in locs)


def test_rotate_reencrypts_everything_and_retires_old_key(filled):
    from twin_assets.errors import KeyFileError
    from twin_assets.keys import load_keyring
    from twin_assets.lifecycle.rotate import key_ids_in_use, key_usage
    from twin_assets.twin import Twin, open_twin

    settings, before = filled
    old = load_keyring(settings)
    result = runner.invoke(app, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["key_id"] == "k2" and out["retired"] == ["k1"] and not out["resumed"]
    # The key file keeps k1 only as a retired id, without its secret.
    data = json.loads((settings.keys_dir / "master.json").read_text())
    k1 = next(k for k in data["keys"] if k["id"] == "k1")
    assert k1["retired"] and k1["secret"] is None and data["active"] == "k2"
    assert load_keyring(settings).key_ids == ["k2"]
    # Every item reads back, identical, with the new key alone.
    assert read_all_with_only(settings, "k2") == before
    twin = open_twin(settings)
    try:
        assert key_ids_in_use(key_usage(twin)) == {"k2"}
        assert twin.store_key_id("HIGH") == "k2" and twin.store_key_id("MEDIUM") == "k2"
    finally:
        twin.close()
    # The old key alone opens nothing any more.
    stale = Twin(settings)
    stale.keyring = old.only("k1")
    with pytest.raises(KeyFileError):
        stale.store("HIGH")
    with pytest.raises(KeyFileError):
        stale.store("MEDIUM")
    blob = (settings.stores_dir / "demo_truth.fenc").read_bytes()
    with pytest.raises(KeyFileError):
        old.only("k1").decrypt(blob)
    # And again: k2 -> k3.
    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 0
    assert load_keyring(settings).key_ids == ["k3"]
    assert read_all_with_only(settings, "k3") == before


class Interrupted(Exception):
    pass


@pytest.mark.parametrize(
    "phase,after",
    [("rekey:MEDIUM", 1), ("rekey:HIGH", 1), ("rows:docs", 2), ("rows:artifacts", 5), ("metadata:", 3), ("files", 2)],
)
def test_interrupted_rotation_resumes(filled, phase, after):
    from twin_assets.lifecycle.rotate import read_journal, rotate_keys
    from twin_assets.twin import open_twin

    settings, before = filled

    def hook(name: str, n: int) -> None:
        if name.startswith(phase) and n >= after:
            raise Interrupted(name)

    with pytest.raises(Interrupted):
        rotate_keys(settings, hook=hook)
    journal = read_journal(settings)
    assert journal is not None and journal["to"] == "k2"
    # Mid-rotation, nothing is lost: the twin (both keys) still reads every item.
    twin = open_twin(settings)
    try:
        assert plaintexts(twin) == before
    finally:
        twin.close()
    result = runner.invoke(app, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["resumed"] and out["key_id"] == "k2" and out["retired"] == ["k1"]
    assert read_journal(settings) is None
    assert read_all_with_only(settings, "k2") == before


def test_store_opens_even_if_sidecar_lags_behind_a_rekey(filled):
    """A crash between `PRAGMA rekey` and the sidecar update: the file still opens (with the other key)."""
    from twin_assets.keys import set_store_key_id, store_key_ids
    from twin_assets.lifecycle.rotate import rotate_keys
    from twin_assets.twin import open_twin

    settings, before = filled

    def hook(name: str, n: int) -> None:
        if name == "rekey:HIGH":
            raise Interrupted(name)

    with pytest.raises(Interrupted):
        rotate_keys(settings, hook=hook)
    assert store_key_ids(settings)["high.sqlcipher"] == "k2"
    set_store_key_id(settings, "high.sqlcipher", "k1")  # as if the crash came just before this write
    twin = open_twin(settings)
    try:
        assert twin.store("HIGH").count() == 2
        assert store_key_ids(settings)["high.sqlcipher"] == "k2"  # corrected
    finally:
        twin.close()
    rotate_keys(settings)
    assert read_all_with_only(settings, "k2") == before


def test_env_key_rotation_needs_a_new_key_from_the_user(tmp_path, monkeypatch):
    from twin_assets.keys import env_key_id, new_secret
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    first = new_secret()
    monkeypatch.setenv("TWIN_MASTER_KEY", first)
    settings = get_settings()
    init_home(settings)
    twin = open_twin(settings)
    make_home(twin, tmp_path)
    before = plaintexts(twin)
    twin.close()
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code != 0
    assert "TWIN_PREVIOUS_MASTER_KEY" in str(result.exception) and first not in str(result.exception)

    second = new_secret()
    monkeypatch.setenv("TWIN_MASTER_KEY", second)
    monkeypatch.setenv("TWIN_PREVIOUS_MASTER_KEY", first)
    result = runner.invoke(app, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    import base64

    new_id = env_key_id(base64.urlsafe_b64decode(second))
    assert json.loads(result.stdout)["key_id"] == new_id
    monkeypatch.delenv("TWIN_PREVIOUS_MASTER_KEY")
    settings = get_settings()
    twin = open_twin(settings)
    try:
        assert twin.keyring.key_ids == [new_id]
        assert plaintexts(twin) == before
    finally:
        twin.close()
    assert not (settings.keys_dir / "master.json").exists()  # no secret was written to disk


def test_keys_generate_prints_a_usable_secret(settings):
    from twin_assets.keys import _decode_secret

    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 0
    assert len(_decode_secret(result.stdout.strip(), "x")) == 32
