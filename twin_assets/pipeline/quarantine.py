"""What could not be used, and putting it back through the sync once its cause is fixed.

A quarantined file's bytes are kept encrypted in the raw archive (``stores/raw/<input id>.fenc``, a tar stream
for a folder) and its name encrypted in ``inputs.path_enc``; an inbox drop's plaintext is gone. A retry decrypts
the archive into a private folder inside the home, points the input at it, marks it pending again (its old
reasons are dropped: the sync writes new ones if it fails again) and, once the caller's sync has run, points the
input back at the name it came with and removes the folder.
"""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select

from twin_assets.connectors.registry import detect
from twin_assets.connectors.toolkit import shown_path
from twin_assets.db.models import Input, Quarantine, table_of
from twin_assets.errors import TwinError
from twin_assets.keys import decrypt_stream
from twin_assets.pipeline.inputs import content_hash, decrypt_path, encrypt_path
from twin_assets.twin import Twin

UNKNOWN = "unknown"  # the source of an inbox drop no connector claimed


def quarantined(twin: Twin) -> list[dict[str, object]]:
    """Every quarantine entry, oldest first: ``id``, ``source``, ``what`` (file/record), ``location`` (where in
    the file, never content), ``reason``, ``when``, ``input`` (id or None for API/webhook items), ``file`` (the
    decrypted name as text, U+FFFD for bytes that are not UTF-8; for the owner's own terminal only) and
    ``retryable`` (its export is kept)."""
    items: list[dict[str, object]] = []
    with twin.session() as s:
        rows = s.execute(
            select(Quarantine, Input).outerjoin(Input, Quarantine.input_id == Input.id).order_by(Quarantine.id)
        ).all()
        for q, inp in rows:
            items.append(
                {
                    "id": q.id,
                    "source": q.source or (inp.source if inp else None),
                    "what": q.what,
                    "location": q.location,
                    "reason": q.reason,
                    "when": q.created_at.isoformat(),
                    "input": q.input_id,
                    "file": shown_path(decrypt_path(twin, inp.path_enc)) if inp and inp.path_enc else None,
                    "retryable": bool(inp and inp.raw_location),
                }
            )
    return items


def inputs_of(twin: Twin, item_ids: list[int] | None) -> list[str]:
    """The inputs to retry: those of the given quarantine ids (``None``: of every entry), in order, once each.
    An id that is unknown or has no kept export is an error naming it."""
    with twin.session() as s:
        query = select(Quarantine.id, Quarantine.input_id, Input.raw_location).outerjoin(
            Input, Quarantine.input_id == Input.id
        )
        if item_ids is not None:
            query = query.where(Quarantine.id.in_(item_ids))
        rows = s.execute(query.order_by(Quarantine.id)).all()
    if item_ids is not None:
        missing = sorted(set(item_ids) - {r[0] for r in rows})
        if missing:
            raise TwinError(f"no quarantine item {missing[0]}", hint="`twin quarantine` lists them")
        kept = [r for r in rows if not r[2]]
        if kept:
            raise TwinError(
                f"quarantine item {kept[0][0]} has no kept export to retry",
                hint="items from an API or webhook source come back with the source's next sync",
            )
    return list(dict.fromkeys(r[1] for r in rows if r[1] and r[2]))


@dataclass
class Requeued:
    input_id: str
    source: str | None  # None: still no connector recognises it (the input keeps a fresh quarantine entry)
    original: bytes | None  # the input's encrypted name, given back by :func:`settle`


def _restore(twin: Twin, inp: Input, folder: Path) -> Path:
    """The archived export, decrypted under ``folder`` with its own name; verified against its content hash."""
    name = decrypt_path(twin, inp.path_enc).name if inp.path_enc else inp.id
    raw = twin.settings.home_path / str(inp.raw_location)
    target = folder / name
    with raw.open("rb") as src, target.open("wb") as dst:
        for chunk in decrypt_stream(twin.keyring, src):
            dst.write(chunk)
    if content_hash(twin, target)[0] == inp.content_hash:
        return target
    # Not the file itself: a folder, archived as a tar stream of its files.
    tar_path = target.rename(folder / f".{uuid.uuid4().hex}.tar")
    target.mkdir()
    with tarfile.open(tar_path, mode="r:") as tar:
        tar.extractall(target, filter="data")
    tar_path.unlink()
    if content_hash(twin, target)[0] != inp.content_hash:
        raise TwinError(f"the kept export of input {inp.id} does not match its content hash", hint="run `twin doctor`")
    return target


@contextlib.contextmanager
def workspace(twin: Twin) -> Iterator[Path]:
    """A private folder inside the home for restored exports, removed afterwards whatever happens."""
    folder = twin.settings.run_dir / f"retry-{uuid.uuid4().hex}"
    folder.mkdir(parents=True, mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def requeue(twin: Twin, input_id: str, folder: Path) -> Requeued:
    """Restore ``input_id``'s export under ``folder`` and mark it pending for its connector (detected again: a
    connector fixed or installed since may claim a file none did). Its old quarantine entries are dropped; one
    that still no connector claims gets a fresh entry and stays quarantined."""
    with twin.session() as s:
        inp = s.get_one(Input, input_id)
        own = folder / inp.id
        own.mkdir()
        restored = _restore(twin, inp, own)
        connector = detect(restored)
        source = connector.kind if connector else (inp.source if inp.source != UNKNOWN else None)
        original = inp.path_enc
        s.execute(delete(Quarantine).where(Quarantine.input_id == input_id))
        if source is None:
            s.add(
                Quarantine(
                    input_id=input_id,
                    what="file",
                    location="file",
                    reason="unrecognised format: no connector claims it",
                )
            )
            return Requeued(input_id, None, original)
        s.execute(
            table_of(Input)
            .update()
            .where(Input.id == input_id)
            .values(source=source, status="pending", batch_id=None, path_enc=encrypt_path(twin, restored))
        )
    return Requeued(input_id, source, original)


def settle(twin: Twin, requeued: Requeued) -> dict[str, object]:
    """After the sync: the input carries its own name again, an archive the sync no longer refers to (it landed
    and raw exports are not kept) is deleted, and what happened is returned: ``input``, ``source``, ``status``
    (done, quarantined, or pending when a batch budget deferred it), ``records`` and the new ``reasons``."""
    with twin.session() as s:
        inp = s.get_one(Input, requeued.input_id)
        reasons = list(s.scalars(select(Quarantine.reason).where(Quarantine.input_id == inp.id)))
        if requeued.source is not None:
            kept = twin.settings.raw_dir / f"{inp.id}.fenc"
            if inp.raw_location is None:  # it landed, and TWIN_KEEP_RAW is off: no archive outlives its use
                kept.unlink(missing_ok=True)
            inp.path_enc = requeued.original
        return {
            "input": inp.id,
            "source": requeued.source,
            "status": inp.status,
            "records": inp.records,
            "reasons": reasons,
        }
