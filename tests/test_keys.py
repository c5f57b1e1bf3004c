from __future__ import annotations

import io

import pytest

from twin_assets.keys import decrypt_stream, encrypt_stream


def test_encrypt_roundtrip_and_key_id(twin):
    blob = twin.keyring.encrypt(b"secret message")
    assert b"secret" not in blob
    assert twin.keyring.key_id_of(blob) == twin.keyring.active_id
    assert twin.keyring.decrypt(blob) == b"secret message"


def test_tampered_token_is_rejected(twin):
    from twin_assets.errors import KeyFileError

    blob = bytearray(twin.keyring.encrypt(b"x" * 40))
    blob[-5] ^= 1
    with pytest.raises(KeyFileError):
        twin.keyring.decrypt(bytes(blob))


def test_blind_index_normalises_and_is_keyed(twin):
    a = twin.keyring.blind_index("email", "  Bob@Example.COM ")
    b = twin.keyring.blind_index("email", "bob@example.com")
    assert a == b
    assert twin.keyring.blind_index("name", "bob@example.com") != a  # per-field keys
    import hashlib

    assert a not in hashlib.sha256(b"bob@example.com").hexdigest()


def test_stream_encryption_bounded_frames(twin):
    data = bytes(range(256)) * 9000  # > 2 frames
    out = io.BytesIO()
    assert encrypt_stream(twin.keyring, io.BytesIO(data), out) == len(data)
    out.seek(0)
    assert b"".join(decrypt_stream(twin.keyring, out)) == data


def test_master_key_from_environment(tmp_path, monkeypatch):
    from twin_assets.keys import new_secret
    from twin_assets.settings import get_settings
    from twin_query.setup import init_home

    monkeypatch.setenv("TWIN_MASTER_KEY", new_secret())
    settings = get_settings()
    init_home(settings)
    assert not (settings.keys_dir / "master.json").exists()
    from twin_assets.twin import open_twin

    t = open_twin(settings)
    assert t.keyring.active_id.startswith("env-")
    assert t.keyring.decrypt(t.keyring.encrypt(b"a")) == b"a"
