"""Key material: record encryption, store keys and keyed hashes.

One master secret per key id lives in ``keys/master.json`` (mode 0600) or comes
from ``TWIN_MASTER_KEY``. Everything else is derived with HKDF so a single
secret unlocks the twin:

* record ciphers — Fernet (AES-128-CBC + HMAC-SHA256; 256-bit key material),
  tagged with the key id so :meth:`Keyring.decrypt` picks the right key and
  rotation can find what still uses an old one;
* SQLCipher keys for the encrypted tier stores (AES-256);
* keyed hashes (HMAC-SHA256) for content hashes and blind indexes, from a
  separate index secret (``keys/index.key``) that rotation leaves alone, so
  the indexes stay valid without re-hashing everything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twin_assets.errors import KeyFileError
from twin_assets.settings import TwinSettings

MASTER_FILE = "master.json"
INDEX_FILE = "index.key"
_SEP = b":"


def _hkdf(secret: bytes, info: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(secret)


def _decode_secret(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{what} is not valid base64", hint="restore it from your backup") from None
    if len(raw) != 32:
        raise KeyFileError(f"{what} must decode to 32 bytes, got {len(raw)}", hint="restore it from backup")
    return raw


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _write_private(path: Path, data: str) -> None:
    """Write a key file atomically with mode 0600 from the first byte."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    secret: bytes
    created: str
    retired: str | None = None


class Keyring:
    """All keys of one twin home; the active key encrypts, any known key decrypts."""

    def __init__(self, entries: list[KeyEntry], active_id: str, index_secret: bytes) -> None:
        self._entries = {e.key_id: e for e in entries}
        if active_id not in self._entries:
            raise KeyFileError(f"active key {active_id!r} is not in the key file", hint="restore it from backup")
        self.active_id = active_id
        self._index_secret = index_secret
        self._fernets: dict[str, Fernet] = {}

    # ---- record encryption -------------------------------------------------
    def _fernet(self, key_id: str) -> Fernet:
        f = self._fernets.get(key_id)
        if f is None:
            entry = self._entries.get(key_id)
            if entry is None:
                raise KeyFileError(f"data is encrypted under unknown key id {key_id!r}", hint="restore the key")
            f = Fernet(base64.urlsafe_b64encode(_hkdf(entry.secret, "twin/fernet/v1")))
            self._fernets[key_id] = f
        return f

    def encrypt(self, data: bytes) -> bytes:
        """``key_id:token`` so the key that opens it is known without trying them all."""
        return self.active_id.encode() + _SEP + self._fernet(self.active_id).encrypt(data)

    def decrypt(self, blob: bytes) -> bytes:
        key_id, _, token = blob.partition(_SEP)
        try:
            return self._fernet(key_id.decode()).decrypt(token)
        except InvalidToken:
            raise KeyFileError(
                "a stored item does not decrypt with its key", hint="the key file does not match the stores"
            ) from None

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return blob.partition(_SEP)[0].decode()

    def encrypt_str(self, text: str) -> bytes:
        return self.encrypt(text.encode())

    def decrypt_str(self, blob: bytes) -> str:
        return self.decrypt(blob).decode()

    # ---- stores ------------------------------------------------------------
    def store_key(self, store: str, key_id: str | None = None) -> str:
        """Raw hex SQLCipher key for a tier store under ``key_id`` (default: active)."""
        entry = self._entries[key_id or self.active_id]
        return _hkdf(entry.secret, f"twin/sqlcipher/{store}/v1").hex()

    # ---- keyed hashes --------------------------------------------------------
    def hasher(self, purpose: str) -> hmac.HMAC:
        """An HMAC-SHA256 under a per-purpose key, for hashing streams."""
        return hmac.new(_hkdf(self._index_secret, f"twin/index/{purpose}/v1"), digestmod=hashlib.sha256)

    def keyed_hash(self, purpose: str, data: bytes, length: int = 32) -> str:
        """HMAC-SHA256 under a per-purpose key; a plain hash of a name is reversed by guessing."""
        mac = self.hasher(purpose)
        mac.update(data)
        return mac.hexdigest()[:length]

    def blind_index(self, field_name: str, value: str) -> str:
        """Equality-lookup token for a field value, normalised so case and spacing don't matter."""
        norm = unicodedata.normalize("NFKC", value).casefold().strip()
        norm = " ".join(norm.split())
        return self.keyed_hash(f"field/{field_name}", norm.encode(), length=24)

    # ---- introspection -------------------------------------------------------
    @property
    def key_ids(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> Iterable[KeyEntry]:
        return self._entries.values()


# ---- chunked stream encryption for large raw exports -------------------------
CHUNK = 1 << 20


def encrypt_stream(keyring: Keyring, src: BinaryIO, dst: BinaryIO) -> int:
    """Encrypt ``src`` in 1 MiB frames (length-prefixed tokens) so memory stays bounded."""
    total = 0
    while chunk := src.read(CHUNK):
        blob = keyring.encrypt(chunk)
        dst.write(struct.pack(">I", len(blob)))
        dst.write(blob)
        total += len(chunk)
    return total


def decrypt_stream(keyring: Keyring, src: BinaryIO) -> Iterator[bytes]:
    while header := src.read(4):
        if len(header) != 4:
            raise KeyFileError("encrypted file is truncated", hint="restore it from backup")
        (size,) = struct.unpack(">I", header)
        yield keyring.decrypt(src.read(size))


# ---- loading and creating ----------------------------------------------------
def _load_master_file(path: Path) -> tuple[list[KeyEntry], str]:
    try:
        data = json.loads(path.read_text())
        entries = [
            KeyEntry(k["id"], _decode_secret(k["secret"], f"key {k['id']!r} in {path}"), k["created"],
                     k.get("retired"))
            for k in data["keys"]
        ]
        return entries, data["active"]
    except KeyFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError):
        raise KeyFileError(f"key file {path} is corrupt or unreadable", hint="restore it from backup") from None


def save_master_file(path: Path, entries: Iterable[KeyEntry], active_id: str) -> None:
    payload = {
        "version": 1,
        "active": active_id,
        "keys": [
            {
                "id": e.key_id,
                "secret": base64.urlsafe_b64encode(e.secret).decode(),
                "created": e.created,
                "retired": e.retired,
            }
            for e in entries
        ],
    }
    _write_private(path, json.dumps(payload, indent=2))


def new_key_id(existing: Iterable[str]) -> str:
    taken = set(existing)
    n = len(taken) + 1
    while f"k{n}" in taken:
        n += 1
    return f"k{n}"


def create_keys(settings: TwinSettings) -> list[str]:
    """Create missing key files; never overwrite one. Returns the files created."""
    created: list[str] = []
    keys_dir = settings.keys_dir
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    master = keys_dir / MASTER_FILE
    if settings.master_key is None and not master.exists():
        now = datetime.now(UTC).isoformat(timespec="seconds")
        save_master_file(master, [KeyEntry("k1", base64.urlsafe_b64decode(new_secret()), now)], "k1")
        created.append(str(master))
    index = keys_dir / INDEX_FILE
    if not index.exists():
        _write_private(index, new_secret())
        created.append(str(index))
    return created


def load_keyring(settings: TwinSettings) -> Keyring:
    keys_dir = settings.keys_dir
    index_path = keys_dir / INDEX_FILE
    if settings.master_key is not None:
        secret = _decode_secret(settings.master_key.get_secret_value(), "TWIN_MASTER_KEY")
        key_id = "env-" + hashlib.sha256(b"twin/key-id" + secret).hexdigest()[:8]
        entries = [KeyEntry(key_id, secret, "env")]
        active = key_id
        if (keys_dir / MASTER_FILE).exists():  # older keys still decrypt what they wrote
            file_entries, _ = _load_master_file(keys_dir / MASTER_FILE)
            entries += [e for e in file_entries if e.key_id != key_id]
        index_secret = (
            _decode_secret(index_path.read_text(), str(index_path))
            if index_path.exists()
            else _hkdf(secret, "twin/index-secret/v1")
        )
        return Keyring(entries, active, index_secret)
    master = keys_dir / MASTER_FILE
    if not master.exists():
        raise KeyFileError(f"no key file at {master}", hint="run `twin init` or set TWIN_MASTER_KEY")
    if not index_path.exists():
        raise KeyFileError(f"no index key at {index_path}", hint="restore it from backup")
    entries, active = _load_master_file(master)
    try:
        index_secret = _decode_secret(index_path.read_text(), str(index_path))
    except OSError:
        raise KeyFileError(f"index key {index_path} is unreadable", hint="check its permissions") from None
    return Keyring(entries, active, index_secret)
