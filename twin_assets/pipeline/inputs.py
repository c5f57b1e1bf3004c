"""Registering inputs: a file or folder handed to the twin, deduplicated by content."""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from twin_assets.db.models import Input
from twin_assets.keys import EncryptingWriter, encrypt_stream
from twin_assets.twin import Twin

_BUF = 1 << 20


def encrypt_path(twin: Twin, path: Path) -> bytes:
    """A path encrypted as the file system's own bytes: a name that is not UTF-8 is kept as it is."""
    return twin.keyring.encrypt(os.fsencode(path))


def decrypt_path(twin: Twin, blob: bytes) -> Path:
    """The path :func:`encrypt_path` stored (or a UTF-8 one stored as text), openable again."""
    return Path(os.fsdecode(twin.keyring.decrypt(blob)))


def _iter_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = []
    for root, dirs, names in os.walk(path, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            p = Path(root) / name
            if p.is_file() and not p.is_symlink():
                files.append(p)
    return files


def content_hash(twin: Twin, path: Path) -> tuple[str, int]:
    """Keyed hash of a file's bytes (or a folder's relative paths and bytes), and its size."""
    mac = twin.keyring.hasher("input")
    size = 0
    base = path if path.is_dir() else path.parent
    for f in _iter_files(path):
        if path.is_dir():
            mac.update(os.fsencode(f.relative_to(base).as_posix()) + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(_BUF):
                mac.update(chunk)
                size += len(chunk)
        mac.update(b"\0")
    return mac.hexdigest(), size


@dataclass
class Registered:
    input_id: str | None  # None: the same content is already known
    duplicate: bool
    already_done: bool = False  # the known copy was fully processed (safe to drop this one)
    pending_id: str | None = None  # the known copy still waits (an interrupted run left it): resume this input


def register_input(twin: Twin, path: Path, source: str, origin: str) -> Registered:
    """Queue ``path`` for its connector unless identical content was already queued or done."""
    digest, size = content_hash(twin, path)
    with twin.session() as s:
        existing = s.scalars(
            select(Input).where(
                Input.content_hash == digest, Input.source == source, Input.status.in_(("pending", "done"))
            )
        ).first()
        if existing is not None:
            pending = existing.id if existing.status == "pending" else None
            return Registered(None, True, already_done=existing.status == "done", pending_id=pending)
        row = Input(
            id=uuid.uuid4().hex,
            source=source,
            path_enc=encrypt_path(twin, path.resolve()),
            content_hash=digest,
            size=size,
            origin=origin,
            key_id=twin.keyring.active_id,
        )
        s.add(row)
        return Registered(row.id, False)


def archive_raw(twin: Twin, input_id: str, path: Path) -> str:
    """Keep an encrypted copy of the export (a tar stream for folders); returns its home-relative path."""
    dest = twin.settings.raw_dir / f"{input_id}.fenc"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with tmp.open("wb") as out:
        if path.is_dir():
            # Stream the tar through a pipe-like buffer in bounded chunks.
            buf = EncryptingWriter(twin.keyring, out)
            with tarfile.open(fileobj=buf, mode="w|") as tar:
                for f in _iter_files(path):
                    tar.add(f, arcname=f.relative_to(path).as_posix(), recursive=False)
            buf.close()
        else:
            with path.open("rb") as src:
                encrypt_stream(twin.keyring, src, out)
    tmp.replace(dest)
    return str(dest.relative_to(twin.settings.home_path))


def remove_plaintext(path: Path) -> None:
    """Delete an ingested inbox drop so it does not stay there in the clear."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
