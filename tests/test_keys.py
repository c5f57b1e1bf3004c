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


@pytest.mark.parametrize("cut", [1, 13, 29])
def test_truncated_token_is_rejected(twin, cut):
    from twin_assets.errors import KeyFileError

    blob = twin.keyring.encrypt(b"some record")
    sep = blob.index(b":") + 1
    with pytest.raises(KeyFileError, match="does not decrypt"):
        twin.keyring.decrypt(blob[: sep + cut])


def test_key_id_is_authenticated(twin):
    """An item relabelled with another key id does not open, even where that key holds the same secret."""
    from twin_assets.errors import KeyFileError
    from twin_assets.keys import KeyEntry, Keyring

    kr = twin.keyring
    entry = next(e for e in kr.entries() if e.key_id == kr.active_id)
    both = Keyring([entry, KeyEntry("k9", entry.secret, entry.created)], kr.active_id, kr._index_secret)
    blob = both.encrypt(b"payload")
    assert both.decrypt(blob) == b"payload"
    with pytest.raises(KeyFileError):
        both.decrypt(b"k9" + blob[blob.index(b":") :])


def test_items_written_with_fernet_still_open(twin):
    """Homes written before the AES-GCM record cipher hold Fernet tokens (``k1:gAAAA...``)."""
    import base64

    from cryptography.fernet import Fernet

    from twin_assets.keys import _hkdf

    kr = twin.keyring
    entry = next(e for e in kr.entries() if e.key_id == kr.active_id)
    old = Fernet(base64.urlsafe_b64encode(_hkdf(entry.secret, "twin/fernet/v1")))
    blob = kr.active_id.encode() + b":" + old.encrypt(b"written last year")
    assert kr.decrypt(blob) == b"written last year"
    assert kr.key_id_of(blob) == kr.active_id
    new = kr.encrypt(b"written today")
    assert new[len(kr.active_id) + 1 :][:1] == b"\x01" and kr.decrypt(new) == b"written today"


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
