"""Key material: record encryption, store keys and keyed hashes.

One master secret per key id lives in ``keys/master.json`` (mode 0600) or comes
from ``TWIN_MASTER_KEY``. Everything else is derived with HKDF so a single
secret unlocks the twin:

* record ciphers — AES-256-GCM with a random 96-bit nonce, tagged with the key
  id (``k1:\x01<nonce><ciphertext+tag>``) so :meth:`Keyring.decrypt` picks the
  right key and rotation can find what still uses an old one. Items written
  before it are Fernet tokens (AES-128-CBC + HMAC-SHA256, ``k1:gAAAA...``);
  they are still read, and rotation rewrites them;
* SQLCipher keys for the encrypted tier stores (AES-256);
* keyed hashes (HMAC-SHA256) for content hashes and blind indexes, from a
  separate index secret (``keys/index.key``) that rotation leaves alone, so
  the indexes stay valid without re-hashing everything.

Key sources (where the master secrets come from):

* ``file`` (default): ``keys/master.json`` holds the secrets, mode 0600;
* ``env``: ``TWIN_MASTER_KEY`` (and, while rotating, ``TWIN_PREVIOUS_MASTER_KEY``);
* ``passphrase``: ``keys/master.json`` holds the secrets (and the index secret)
  wrapped under a key derived from a passphrase with argon2id (salt and a
  verifier in ``keys/kdf.json``); the passphrase comes from ``TWIN_PASSPHRASE``
  or a prompt;
* ``keyring``: the same wrapping, with the wrapping key kept in the OS keyring
  (service ``digital-twin``, user: the home's path).

A SQLCipher store's key follows the key id it was last (re)keyed under; a small
plaintext sidecar, ``stores/store_keys.json``, names that id (not secret), so
rotation can re-key one file at a time and resume.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import hashlib
import hmac
import io
import json
import os
import secrets
import struct
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from twin_assets.errors import KeyFileError
from twin_assets.settings import KeySettings, TwinSettings, get_settings

MASTER_FILE = "master.json"
INDEX_FILE = "index.key"
KDF_FILE = "kdf.json"
STORE_KEYS_FILE = "store_keys.json"
KEYRING_SERVICE = "digital-twin"
KEY_SOURCES = ("file", "env", "passphrase", "keyring")
WRONG_PASSPHRASE = "passphrase does not open this twin"
_SEP = b":"
# The first byte after the key id's separator says which cipher sealed an item: a Fernet token is base64 and
# starts with "g", so this byte never begins one. AES-GCM opens a small item in ~1 us where Fernet took ~12 us
# (two primitives, base64 and padding in Python): at a million records, reading a view's documents and the
# model's artifacts spent most of its time there.
_GCM = b"\x01"
_NONCE = 12
# argon2id cost: ~0.1-0.3 s on a laptop core, 64 MiB.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1


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
    secret: bytes | None  # None: retired and dropped (nothing may still need it)
    created: str
    retired: str | None = None


class Keyring:
    """All keys of one twin home; the active key encrypts, any known key decrypts."""

    def __init__(self, entries: list[KeyEntry], active_id: str, index_secret: bytes) -> None:
        self._entries = {e.key_id: e for e in entries if e.secret is not None}
        if active_id not in self._entries:
            raise KeyFileError(f"active key {active_id!r} is not in the key file", hint="restore it from backup")
        self.active_id = active_id
        self._index_secret = index_secret
        self._fernets: dict[str, Fernet] = {}
        self._aeads: dict[str, AESGCM] = {}
        self._index_keys: dict[str, bytes] = {}

    # ---- record encryption -------------------------------------------------
    def _record_key(self, key_id: str, info: str) -> bytes:
        entry = self._entries.get(key_id)
        if entry is None:
            raise KeyFileError(f"data is encrypted under unknown key id {key_id!r}", hint="restore the key")
        assert entry.secret is not None
        return _hkdf(entry.secret, info)

    def _fernet(self, key_id: str) -> Fernet:
        f = self._fernets.get(key_id)
        if f is None:
            key = self._record_key(key_id, "twin/fernet/v1")
            f = self._fernets[key_id] = Fernet(base64.urlsafe_b64encode(key))
        return f

    def _aead(self, key_id: str) -> AESGCM:
        a = self._aeads.get(key_id)
        if a is None:
            a = self._aeads[key_id] = AESGCM(self._record_key(key_id, "twin/record-aes-gcm/v1"))
        return a

    def encrypt(self, data: bytes) -> bytes:
        """``key_id:`` + AES-256-GCM, so the key that opens it is known without trying them all. The key id is
        authenticated too: an item moved under another id does not open. Random nonces are safe for about
        2**32 items per key; rotation starts a new key long before a personal twin writes that many."""
        key_id = self.active_id.encode()
        nonce = os.urandom(_NONCE)
        return key_id + _SEP + _GCM + nonce + self._aead(self.active_id).encrypt(nonce, data, key_id)

    def decrypt(self, blob: bytes) -> bytes:
        key_id, _, token = blob.partition(_SEP)
        try:
            if token[:1] == _GCM:
                return self._aead(key_id.decode()).decrypt(token[1 : 1 + _NONCE], token[1 + _NONCE :], key_id)
            return self._fernet(key_id.decode()).decrypt(token)
        except (InvalidToken, InvalidTag, ValueError):
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
        entry = self._entries.get(key_id or self.active_id)
        if entry is None or entry.secret is None:
            raise KeyFileError(f"a store is keyed under unknown key id {key_id!r}", hint="restore the key")
        return _hkdf(entry.secret, f"twin/sqlcipher/{store}/v1").hex()

    # ---- keyed hashes --------------------------------------------------------
    def _index_key(self, purpose: str) -> bytes:
        # Derived once per purpose: HKDF took 7 of the 9 us of a keyed hash, and a sync hashes every record
        # several times.
        key = self._index_keys.get(purpose)
        if key is None:
            key = self._index_keys[purpose] = _hkdf(self._index_secret, f"twin/index/{purpose}/v1")
        return key

    def hasher(self, purpose: str) -> hmac.HMAC:
        """An HMAC-SHA256 under a per-purpose key, for hashing streams."""
        return hmac.new(self._index_key(purpose), digestmod=hashlib.sha256)

    def keyed_hash(self, purpose: str, data: bytes, length: int = 32) -> str:
        """HMAC-SHA256 under a per-purpose key; a plain hash of a name is reversed by guessing."""
        return hmac.digest(self._index_key(purpose), data, "sha256").hex()[:length]

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

    def only(self, key_id: str) -> Keyring:
        """A keyring holding just ``key_id`` (and the index secret): proves nothing needs the others."""
        return Keyring([self._entries[key_id]], key_id, self._index_secret)


# ---- chunked stream encryption for large raw exports -------------------------
CHUNK = 1 << 20


def encrypt_stream(keyring: Keyring, src: BinaryIO, dst: BinaryIO) -> int:
    """Encrypt ``src`` in 1 MiB frames (length-prefixed tokens) so memory stays bounded."""
    total = 0
    while chunk := src.read(CHUNK):
        _write_frame(keyring, dst, chunk)
        total += len(chunk)
    return total


def _write_frame(keyring: Keyring, dst: BinaryIO, chunk: bytes) -> None:
    blob = keyring.encrypt(chunk)
    dst.write(struct.pack(">I", len(blob)))
    dst.write(blob)


def decrypt_stream(keyring: Keyring, src: BinaryIO) -> Iterator[bytes]:
    while header := src.read(4):
        if len(header) != 4:
            raise KeyFileError("encrypted file is truncated", hint="restore it from backup")
        (size,) = struct.unpack(">I", header)
        yield keyring.decrypt(src.read(size))


class EncryptingWriter(io.RawIOBase):
    """A write-only file object that encrypts what it is given in 1 MiB frames (the ``encrypt_stream`` format),
    so a large plaintext (a tar of a folder, a graph snapshot) is never whole in memory nor on disk."""

    def __init__(self, keyring: Keyring, out: BinaryIO) -> None:
        self._keyring, self._out, self._buf = keyring, out, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self._buf += b
        while len(self._buf) >= CHUNK:
            _write_frame(self._keyring, self._out, bytes(self._buf[:CHUNK]))
            del self._buf[:CHUNK]
        return len(b)

    def close(self) -> None:
        if not self.closed and self._buf:
            _write_frame(self._keyring, self._out, bytes(self._buf))
            self._buf.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only file object over a framed stream, decrypting one frame at a time."""

    def __init__(self, keyring: Keyring, src: BinaryIO) -> None:
        self._frames = decrypt_stream(keyring, src)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            frame = next(self._frames, None)
            if frame is None:
                return 0
            self._buf = frame
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


# ---- key sources -------------------------------------------------------------
# The passphrase a command was given in-process, for the span of its ``with`` block (:func:`using_passphrase`).
_passphrase_override: ContextVar[str | None] = ContextVar("twin_passphrase", default=None)


@contextlib.contextmanager
def using_passphrase(passphrase: str) -> Iterator[None]:
    """Keys created or opened inside the block use ``passphrase`` (``twin init --passphrase`` asks for it); it is
    forgotten when the block ends."""
    token = _passphrase_override.set(passphrase)
    try:
        yield
    finally:
        _passphrase_override.reset(token)


def _keys_now() -> KeySettings:
    """The key settings of the environment as it is now: a passphrase or the previous key may be given after the
    settings object was read (a prompt, a rotation)."""
    return get_settings().keys


def _text(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def configured_source(settings: TwinSettings) -> str:
    """The key source a new home is created with (``TWIN_KEY_SOURCE``; default ``file``)."""
    if settings.keys.master_key is not None:
        return "env"
    # The model allows only file, passphrase and keyring.
    return _keys_now().source or ("passphrase" if _passphrase_override.get() else "file")


def key_source(settings: TwinSettings) -> str:
    """Where this home's master secrets come from: file, env, passphrase or keyring."""
    if settings.keys.master_key is not None:
        return "env"
    master = settings.keys_dir / MASTER_FILE
    if master.exists():
        try:
            return json.loads(master.read_text()).get("wrap") or "file"
        except (OSError, ValueError, AttributeError):
            return "file"  # loading reports the corrupt file
    return configured_source(settings)


def _read_passphrase(settings: TwinSettings) -> str:
    value = _passphrase_override.get() or _text(_keys_now().passphrase)
    if value is None and sys.stdin is not None and sys.stdin.isatty():
        value = getpass.getpass("twin passphrase: ")
    if not value:
        raise KeyFileError(
            "this twin is protected by a passphrase and none was given",
            hint="set TWIN_PASSPHRASE, or run the command in a terminal to be asked",
        )
    return value


def _argon2id(passphrase: str, salt: bytes, time_cost: int, memory_kib: int, parallelism: int) -> bytes:
    """The key-encryption key (~0.3-0.7 s and 64 MiB). Not memoised: a process that opens many handles loads the
    :class:`Keyring` once and hands it to them (the query service, a run's ``TwinResource``), so no derived key
    outlives the keyring that holds it."""
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        passphrase.encode(),
        salt,
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _verifier(kek: bytes) -> str:
    """Proves a derived key is the right one without it opening anything (a wrong one gives no garbage)."""
    return hmac.new(kek, b"twin/kek-verifier/v1", hashlib.sha256).hexdigest()


def _create_kdf(settings: TwinSettings, passphrase: str) -> bytes:
    salt = secrets.token_bytes(16)
    kek = _argon2id(passphrase, salt, ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM)
    payload = {
        "version": 1,
        "kdf": "argon2id",
        "salt": base64.b64encode(salt).decode(),
        "time_cost": ARGON2_TIME_COST,
        "memory_kib": ARGON2_MEMORY_KIB,
        "parallelism": ARGON2_PARALLELISM,
        "verifier": _verifier(kek),
    }
    _write_private(settings.keys_dir / KDF_FILE, json.dumps(payload, indent=2))
    return kek


def _passphrase_kek(settings: TwinSettings) -> bytes:
    path = settings.keys_dir / KDF_FILE
    try:
        data = json.loads(path.read_text())
        salt = base64.b64decode(data["salt"])
        params = (int(data["time_cost"]), int(data["memory_kib"]), int(data["parallelism"]))
        expected = str(data["verifier"])
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        raise KeyFileError(f"{path} is missing or corrupt", hint="restore keys/ from backup") from None
    kek = _argon2id(_read_passphrase(settings), salt, *params)
    if not hmac.compare_digest(_verifier(kek), expected):
        raise KeyFileError(WRONG_PASSPHRASE, hint="check TWIN_PASSPHRASE")
    return kek


def _os_keyring_kek(settings: TwinSettings, create: bool = False) -> bytes:
    import keyring
    from keyring.errors import KeyringError

    user = str(settings.home_path)
    try:
        value = keyring.get_password(KEYRING_SERVICE, user)
        if value is None and create:
            value = new_secret()
            keyring.set_password(KEYRING_SERVICE, user, value)
    except KeyringError as exc:
        raise KeyFileError(
            f"the OS keyring is not usable ({type(exc).__name__})",
            hint="unlock or install a keyring backend, or unset TWIN_KEY_SOURCE",
        ) from None
    if value is None:
        raise KeyFileError(
            "the OS keyring holds no key for this twin",
            hint=f"restore it (service {KEYRING_SERVICE!r}, user: the home's path) or keys/ from backup",
        )
    return _decode_secret(value, "the OS keyring's twin key")


def _kek(settings: TwinSettings, wrap: str, create: bool = False) -> bytes:
    if wrap == "passphrase":
        return _passphrase_kek(settings)
    if wrap == "keyring":
        return _os_keyring_kek(settings, create)
    raise KeyFileError(f"the key file is wrapped by an unknown method {wrap!r}", hint="restore keys/ from backup")


# ---- the key file ------------------------------------------------------------
@dataclass
class MasterFile:
    entries: list[KeyEntry]
    active: str
    wrap: str | None = None  # None: secrets in the clear (mode 0600); passphrase / keyring: wrapped
    kek: bytes | None = None
    index_secret: bytes | None = None  # kept inside the file when it is wrapped


def read_master(settings: TwinSettings, path: Path | None = None) -> MasterFile:
    path = path or settings.keys_dir / MASTER_FILE
    try:
        data = json.loads(path.read_text())
        wrap = data.get("wrap")
    except (OSError, ValueError, AttributeError):
        raise KeyFileError(f"key file {path} is corrupt or unreadable", hint="restore it from backup") from None
    kek = _kek(settings, wrap) if wrap else None
    fernet = Fernet(base64.urlsafe_b64encode(kek)) if kek else None
    try:
        entries = []
        for k in data["keys"]:
            if fernet is not None:
                secret = fernet.decrypt(k["wrapped"].encode()) if k.get("wrapped") else None
            else:
                secret = _decode_secret(k["secret"], f"key {k['id']!r} in {path}") if k.get("secret") else None
            if secret is not None and len(secret) != 32:
                raise ValueError("bad key length")
            entries.append(KeyEntry(k["id"], secret, k["created"], k.get("retired")))
        index = fernet.decrypt(data["index"].encode()) if fernet is not None and data.get("index") else None
        return MasterFile(entries, data["active"], wrap, kek, index)
    except InvalidToken:
        if wrap == "passphrase":
            raise KeyFileError(WRONG_PASSPHRASE, hint="check TWIN_PASSPHRASE") from None
        raise KeyFileError("the OS keyring's key does not open this twin", hint="restore keys/ from backup") from None
    except KeyFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError(f"key file {path} is corrupt or unreadable", hint="restore it from backup") from None


def save_master_file(
    path: Path,
    entries: Iterable[KeyEntry],
    active_id: str,
    *,
    wrap: str | None = None,
    kek: bytes | None = None,
    index_secret: bytes | None = None,
) -> None:
    fernet = Fernet(base64.urlsafe_b64encode(kek)) if wrap and kek else None
    if wrap and (fernet is None or index_secret is None):
        raise ValueError("a wrapped key file needs its wrapping key and the index secret")
    keys = []
    for e in entries:
        item: dict[str, str | None] = {"id": e.key_id, "created": e.created, "retired": e.retired}
        if fernet is not None:
            item["wrapped"] = fernet.encrypt(e.secret).decode() if e.secret else None
        else:
            item["secret"] = base64.urlsafe_b64encode(e.secret).decode() if e.secret else None
        keys.append(item)
    payload: dict[str, object] = {"version": 2 if fernet else 1, "active": active_id, "keys": keys}
    if fernet is not None and index_secret is not None:
        payload["wrap"] = wrap
        payload["index"] = fernet.encrypt(index_secret).decode()
    _write_private(path, json.dumps(payload, indent=2))


def write_master(settings: TwinSettings, mf: MasterFile) -> None:
    save_master_file(
        settings.keys_dir / MASTER_FILE, mf.entries, mf.active, wrap=mf.wrap, kek=mf.kek, index_secret=mf.index_secret
    )


def new_key_id(existing: Iterable[str]) -> str:
    taken = set(existing)
    n = len(taken) + 1
    while f"k{n}" in taken:
        n += 1
    return f"k{n}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_keys(settings: TwinSettings) -> list[str]:
    """Create missing key files; never overwrite one. Returns the files created."""
    created: list[str] = []
    keys_dir = settings.keys_dir
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    master = keys_dir / MASTER_FILE
    source = key_source(settings)
    if settings.keys.master_key is None and not master.exists():
        entry = KeyEntry("k1", secrets.token_bytes(32), _now())
        if source == "file":
            save_master_file(master, [entry], "k1")
        else:
            if source == "passphrase":
                kek = _create_kdf(settings, _read_passphrase(settings))
                created.append(str(keys_dir / KDF_FILE))
            else:
                kek = _os_keyring_kek(settings, create=True)
            save_master_file(master, [entry], "k1", wrap=source, kek=kek, index_secret=secrets.token_bytes(32))
        created.append(str(master))
    index = keys_dir / INDEX_FILE
    if source in ("file", "env") and not index.exists():
        _write_private(index, new_secret())
        created.append(str(index))
    return created


def env_key_id(secret: bytes) -> str:
    return "env-" + hashlib.sha256(b"twin/key-id" + secret).hexdigest()[:8]


def _env_entry(text: str, what: str) -> KeyEntry:
    secret = _decode_secret(text, what)
    return KeyEntry(env_key_id(secret), secret, "env")


def load_keyring(settings: TwinSettings) -> Keyring:
    keys_dir = settings.keys_dir
    index_path = keys_dir / INDEX_FILE
    master = keys_dir / MASTER_FILE
    index_secret: bytes | None = None
    if settings.keys.master_key is not None:
        active = _env_entry(settings.keys.master_key.get_secret_value(), "TWIN_MASTER_KEY")
        entries = [active]
        previous_text = _text(_keys_now().previous_master_key)
        previous = _env_entry(previous_text, "TWIN_PREVIOUS_MASTER_KEY") if previous_text else None
        if previous is not None and previous.key_id != active.key_id:
            entries.append(previous)  # while rotating: the old key still decrypts what it wrote
        if master.exists():  # older keys still decrypt what they wrote
            mf = read_master(settings)
            entries += [e for e in mf.entries if e.key_id not in {x.key_id for x in entries}]
            index_secret = mf.index_secret
        if index_secret is None:
            index_secret = (
                _decode_secret(index_path.read_text(), str(index_path))
                if index_path.exists()
                else _hkdf((previous or active).secret or b"", "twin/index-secret/v1")
            )
        return Keyring(entries, active.key_id, index_secret)
    if not master.exists():
        raise KeyFileError(f"no key file at {master}", hint="run `twin init` or set TWIN_MASTER_KEY")
    mf = read_master(settings)
    index_secret = mf.index_secret
    if index_secret is None:
        if not index_path.exists():
            raise KeyFileError(f"no index key at {index_path}", hint="restore it from backup")
        try:
            index_secret = _decode_secret(index_path.read_text(), str(index_path))
        except OSError:
            raise KeyFileError(f"index key {index_path} is unreadable", hint="check its permissions") from None
    return Keyring(mf.entries, mf.active, index_secret)


# ---- rotation support ----------------------------------------------------------
def add_key(settings: TwinSettings) -> str:
    """A new active key in ``keys/master.json``; the old ones stay until rotation retires them."""
    mf = read_master(settings)
    new_id = new_key_id(e.key_id for e in mf.entries)
    mf.entries.append(KeyEntry(new_id, secrets.token_bytes(32), _now()))
    mf.active = new_id
    write_master(settings, mf)
    return new_id


def retire_keys(settings: TwinSettings, keep: str) -> list[str]:
    """Mark every key but ``keep`` retired (with a time) and drop its secret; returns their ids."""
    master = settings.keys_dir / MASTER_FILE
    if not master.exists():
        return []
    mf = read_master(settings)
    retired: list[str] = []
    entries: list[KeyEntry] = []
    for e in mf.entries:
        if e.key_id != keep and e.secret is not None:
            e = KeyEntry(e.key_id, None, e.created, e.retired or _now())
            retired.append(e.key_id)
        entries.append(e)
    if retired:
        mf.entries = entries
        write_master(settings, mf)
    return retired


def persist_index_secret(settings: TwinSettings, keyring: Keyring) -> bool:
    """Keep the index secret in ``keys/index.key`` if it was only derived (env key): rotation must not change it."""
    index = settings.keys_dir / INDEX_FILE
    if key_source(settings) not in ("file", "env") or index.exists():
        return False
    settings.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(index, base64.urlsafe_b64encode(keyring._index_secret).decode())
    return True


def describe_keys(settings: TwinSettings) -> dict[str, object]:
    """Key ids, creation and retirement times, and where the secrets come from — never a secret."""
    source = key_source(settings)
    out: dict[str, object] = {"source": source, "active": None, "keys": []}
    keys: list[dict[str, object]] = []
    master = settings.keys_dir / MASTER_FILE
    if master.exists():
        try:
            data = json.loads(master.read_text())
            out["active"] = data.get("active")
            for k in data.get("keys", []):
                keys.append(
                    {
                        "id": k.get("id"),
                        "created": k.get("created"),
                        "retired": k.get("retired"),
                        "secret_kept": bool(k.get("secret") or k.get("wrapped")),
                    }
                )
        except (OSError, ValueError, AttributeError):
            out["error"] = "key file unreadable"
    if settings.keys.master_key is not None:
        with_env: list[dict[str, object]] = []
        previous = _keys_now().previous_master_key
        for secret, what in ((settings.keys.master_key, "TWIN_MASTER_KEY"), (previous, "TWIN_PREVIOUS_MASTER_KEY")):
            text = _text(secret)
            if text:
                entry = _env_entry(text, what)
                with_env.append(
                    {"id": entry.key_id, "created": "env", "retired": None, "secret_kept": True, "from": what}
                )
        out["active"] = with_env[0]["id"]
        keys = with_env + [k for k in keys if k["id"] not in {e["id"] for e in with_env}]
    out["keys"] = keys
    return out


# ---- which key id each SQLCipher store file is keyed under (not secret) --------------
def store_key_ids(settings: TwinSettings) -> dict[str, str]:
    try:
        data = json.loads((settings.stores_dir / STORE_KEYS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def set_store_key_id(settings: TwinSettings, filename: str, key_id: str) -> None:
    ids = store_key_ids(settings)
    if ids.get(filename) == key_id:
        return
    ids[filename] = key_id
    settings.stores_dir.mkdir(parents=True, exist_ok=True)
    _write_private(settings.stores_dir / STORE_KEYS_FILE, json.dumps(ids, indent=2, sort_keys=True))
