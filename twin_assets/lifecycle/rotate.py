"""``twin keys rotate``: re-encrypt everything under a new key, then retire the old one.

What is encrypted, and how rotation reaches it:

* the SQLCipher tier stores (MEDIUM, HIGH): ``PRAGMA rekey`` (atomic per file), with the
  file's key id recorded in ``stores/store_keys.json`` before and after;
* record-cipher items (AES-GCM, or Fernet if written before it), each tagged with its key id
  (``k1:...``): HIGH documents, HIGH vectors,
  HIGH derived artifacts, every ``*_enc`` column of the metadata DB, raw archives
  (``stores/raw/*.fenc``, framed stream), graph snapshots and other ``stores/**.fenc`` files;
* ``key_id`` bookkeeping columns (MEDIUM rows, records, lineage, inputs).

The work is resumable: a journal (``keys/rotation.json``, no secrets) names the target key and
the phases done; an item already under the target key is skipped (its key id prefix tells), rows
are re-sealed in small transactions and files replaced atomically, so an interruption at any
point leaves every item readable by the old or the new key, both of which stay in the key file
until the end. Only when a keyring holding *only* the new key has read every item back are the
old keys marked retired and their secrets dropped.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update

from twin_assets.db.models import Base, Input, Lineage, RecordRow
from twin_assets.errors import KeyFileError
from twin_assets.keys import (
    Keyring,
    _write_private,
    add_key,
    decrypt_stream,
    key_source,
    load_keyring,
    persist_index_secret,
    retire_keys,
    set_store_key_id,
)
from twin_assets.settings import TwinSettings
from twin_assets.stores import HIGH, LOW, MEDIUM
from twin_assets.twin import STORE_FILES, Twin

JOURNAL_FILE = "rotation.json"
HISTORY_FILE = "rotations.json"
BATCH = 200
KEY_ID_COLUMNS = ((RecordRow, RecordRow.key_id), (Lineage, Lineage.key_id), (Input, Input.key_id))

Hook = Callable[[str, int], None]  # (phase, items done in it): tests interrupt a rotation with it


@dataclass
class RotationReport:
    target: str
    resumed: bool
    retired: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    verified_items: int = 0


# ---- journal ---------------------------------------------------------------------------
def journal_path(settings: TwinSettings) -> Path:
    return settings.keys_dir / JOURNAL_FILE


def read_journal(settings: TwinSettings) -> dict | None:
    path = journal_path(settings)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("to"), str):
            raise ValueError
        data.setdefault("done", [])
        data.setdefault("stores", {})
        return data
    except (OSError, ValueError):
        raise KeyFileError(
            f"the rotation journal {path} is corrupt",
            hint="run `twin keys rotate` again after removing it: items already re-encrypted "
            "are recognised by their key id",
        ) from None


def _save_journal(settings: TwinSettings, journal: dict) -> None:
    _write_private(journal_path(settings), json.dumps(journal, indent=2))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- what is encrypted where -------------------------------------------------------------
def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted column in the metadata DB: by convention, names ending in ``_enc``."""
    return [(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if c.name.endswith("_enc")]


def fenc_files(settings: TwinSettings) -> list[tuple[Path, bool]]:
    """Every encrypted file under ``stores/`` and whether it is a framed stream (raw archives are)."""
    out: list[tuple[Path, bool]] = []
    root = settings.stores_dir
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*.fenc")):
        if not path.is_file():
            continue
        if settings.raw_dir in path.parents:
            out.append((path, True))
            continue
        with path.open("rb") as fh:
            head = fh.read(1)
        # A single token starts with its ASCII key id; a stream with a big-endian frame length (< 16 MiB).
        out.append((path, head == b"\x00"))
    return out


def file_location(settings: TwinSettings, path: Path) -> str:
    """Raw archives and a view's graph snapshots are grouped; other files are named."""
    rel = path.relative_to(settings.home_path)
    if settings.raw_dir in path.parents or (settings.stores_dir / "graph") in path.parents:
        return f"{rel.parent.as_posix()}/*.fenc"
    return rel.as_posix()


def _file_key_id(path: Path, stream: bool) -> str | None:
    with path.open("rb") as fh:
        if stream:
            header = fh.read(4)
            if len(header) < 4:
                return None
            return Keyring.key_id_of(fh.read(64))
        return Keyring.key_id_of(fh.read(64)) or None


def key_usage(twin: Twin) -> dict[str, dict[str, int]]:
    """Per location, which key ids protect how many items (read from prefixes; nothing is decrypted)."""
    usage: dict[str, dict[str, int]] = {}
    settings = twin.settings
    for tier in (HIGH, MEDIUM):
        path = twin.store_path(tier)
        if not path.exists():
            continue
        name = f"stores/{path.name}"
        usage[f"{name}#file"] = {twin.store_key_id(tier) or "none": 1}
        for column, counts in twin.store(tier).key_id_counts().items():
            usage[f"{name}#{column}"] = counts
    with twin.engine.connect() as conn:
        for table_name, col_name in encrypted_columns():
            table = Base.metadata.tables[table_name]
            col = table.c[col_name]
            heads: Counter[str] = Counter()
            for (head,) in conn.execute(select(func.substr(col, 1, 40)).where(col.is_not(None))):
                heads[Keyring.key_id_of(bytes(head))] += 1
            usage[f"metadata#{table_name}.{col_name}"] = dict(heads)
        for model, key_col in KEY_ID_COLUMNS:
            usage[f"metadata#{model.__tablename__}.key_id"] = {
                (k or "none"): n for k, n in conn.execute(select(key_col, func.count()).group_by(key_col))
            }
    for path, stream in fenc_files(settings):
        loc = file_location(settings, path)
        key_id = _file_key_id(path, stream) or "none"
        usage.setdefault(loc, {})
        usage[loc][key_id] = usage[loc].get(key_id, 0) + 1
    return {k: v for k, v in usage.items() if v}


def key_ids_in_use(usage: dict[str, dict[str, int]]) -> set[str]:
    return {k for counts in usage.values() for k, n in counts.items() if n and k != "none"}


# ---- every item, decrypted (verification after rotation; deep privacy scans in tests) -------------
def iter_plaintext(twin: Twin, *, all_values: bool = False) -> Iterator[tuple[str, bytes]]:
    """(location, plaintext) of every encrypted item, read with ``twin.keyring``.

    With ``all_values`` also every value of every table of the tier stores (e.g. keyword index
    segments), so a test can look for a canary in what the stores hold once unlocked.
    """
    settings = twin.settings
    for tier in (HIGH, MEDIUM, LOW):
        path = twin.store_path(tier)
        if not path.exists():
            continue
        store = twin.store(tier)
        name = f"stores/{path.name}"
        for column, blob in store.stored_blobs():
            yield f"{name}#{column}", twin.keyring.decrypt(blob) if store.encrypted_rows else blob
        if all_values:
            for table, value in store.all_values():
                yield f"{name}#{table}", value
    with twin.engine.connect() as conn:
        for table_name, col_name in encrypted_columns():
            col = Base.metadata.tables[table_name].c[col_name]
            for (blob,) in conn.execute(select(col).where(col.is_not(None))):
                yield f"metadata#{table_name}.{col_name}", twin.keyring.decrypt(bytes(blob))
    for path, stream in fenc_files(settings):
        rel = path.relative_to(settings.home_path).as_posix()
        if stream:
            with path.open("rb") as fh:
                for chunk in decrypt_stream(twin.keyring, fh):
                    yield rel, chunk
        else:
            data = twin.keyring.decrypt(path.read_bytes())
            yield rel, data
            if data[:2] == b"\x1f\x8b":
                yield rel, gzip.decompress(data)


# ---- phases ------------------------------------------------------------------------------
def _tick(hook: Hook | None, phase: str, n: int) -> None:
    if hook is not None:
        hook(phase, n)


def _rekey(twin: Twin, tier: str, target: str, journal: dict, hook: Hook | None) -> int:
    path = twin.store_path(tier)
    if not path.exists():
        return 0
    current = twin.store_key_id(tier)  # opens the file with whichever key opens it
    if current == target:
        return 0
    entry = {"from": current, "to": target, "state": "rekeying", "at": _now()}
    journal["stores"][path.name] = entry
    _save_journal(twin.settings, journal)
    twin.store(tier).rekey(twin.keyring.store_key(tier.lower(), target))
    set_store_key_id(twin.settings, path.name, target)
    entry["state"], entry["at"] = "done", _now()
    _save_journal(twin.settings, journal)
    _tick(hook, f"rekey:{tier}", 1)
    return 1


def _reseal_store_rows(twin: Twin, target: str, hook: Hook | None) -> int:
    """HIGH documents, vectors and artifacts: encrypted per row; re-sealed in small transactions."""
    if not twin.store_path(HIGH).exists():
        return 0
    return twin.store(HIGH).reseal_rows(
        twin.keyring, target, lambda table, done: _tick(hook, f"rows:{table}", done), batch=BATCH
    )


def _reseal_metadata(twin: Twin, target: str, hook: Hook | None) -> int:
    kr = twin.keyring
    done = 0
    for table_name, col_name in encrypted_columns():
        table = Base.metadata.tables[table_name]
        (pk,) = table.primary_key.columns
        col = table.c[col_name]
        last = None
        while True:
            q = select(pk, col).where(col.is_not(None)).order_by(pk).limit(BATCH)
            if last is not None:
                q = q.where(pk > last)
            with twin.engine.begin() as conn:
                rows = conn.execute(q).all()
                if not rows:
                    break
                for key, blob in rows:
                    if Keyring.key_id_of(bytes(blob)) == target:
                        continue
                    conn.execute(update(table).where(pk == key).values({col_name: kr.encrypt(kr.decrypt(bytes(blob)))}))
                    done += 1
                    _tick(hook, f"metadata:{table_name}.{col_name}", done)
            last = rows[-1][0]
    return done


def _reseal_files(twin: Twin, target: str, hook: Hook | None) -> int:
    kr = twin.keyring
    done = 0
    for path, stream in fenc_files(twin.settings):
        if _file_key_id(path, stream) in (target, None):
            continue
        tmp = path.with_name(path.name + ".rotate.tmp")
        with tmp.open("wb") as dst:
            if stream:
                with path.open("rb") as src:
                    for chunk in decrypt_stream(kr, src):
                        blob = kr.encrypt(chunk)
                        dst.write(struct.pack(">I", len(blob)))
                        dst.write(blob)
            else:
                dst.write(kr.encrypt(kr.decrypt(path.read_bytes())))
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, path)  # the file is under one key or the other, never half
        done += 1
        _tick(hook, "files", done)
    return done


def _update_key_ids(twin: Twin, target: str) -> int:
    n = 0
    for tier in (HIGH, MEDIUM):
        if not twin.store_path(tier).exists():
            continue
        n += twin.store(tier).set_key_ids(target)
    with twin.engine.begin() as conn:
        for model, col in KEY_ID_COLUMNS:
            n += conn.execute(update(model).where(col.is_not(None), col != target).values({col.key: target})).rowcount
    return n


PHASES: tuple[tuple[str, Callable[..., int]], ...] = (
    ("rekey:MEDIUM", lambda twin, target, journal, hook: _rekey(twin, MEDIUM, target, journal, hook)),
    ("rekey:HIGH", lambda twin, target, journal, hook: _rekey(twin, HIGH, target, journal, hook)),
    ("rows:HIGH", lambda twin, target, journal, hook: _reseal_store_rows(twin, target, hook)),
    ("metadata", lambda twin, target, journal, hook: _reseal_metadata(twin, target, hook)),
    ("files", lambda twin, target, journal, hook: _reseal_files(twin, target, hook)),
    ("key_ids", lambda twin, target, journal, hook: _update_key_ids(twin, target)),
)


# ---- verification ---------------------------------------------------------------------------
def verify_only(settings: TwinSettings, key_id: str) -> int:
    """Read every encrypted item with a keyring holding only ``key_id``; returns the items read."""
    twin = Twin(settings)
    try:
        twin.keyring = twin.keyring.only(key_id)
        n = sum(1 for _ in iter_plaintext(twin))
        for tier in (HIGH, MEDIUM):  # the SQLCipher files open with the new key alone
            if twin.store_path(tier).exists():
                twin.store(tier).count()
        return n
    finally:
        twin.close()


# ---- the command ----------------------------------------------------------------------------
def env_rotation_hint() -> str:
    return (
        "set TWIN_PREVIOUS_MASTER_KEY to the current key and TWIN_MASTER_KEY to a new one "
        "(`twin keys generate` prints one), then run `twin keys rotate` again"
    )


def _start(settings: TwinSettings) -> dict:
    """Choose the target key (making a new one unless an earlier rotation is unfinished) and journal it."""
    source = key_source(settings)
    twin = Twin(settings)
    try:
        used = key_ids_in_use(key_usage(twin))
        known = set(twin.keyring.key_ids)
        missing = used - known
        if missing:
            raise KeyFileError(
                f"stored items need key id(s) {', '.join(sorted(missing))}, which are not available",
                hint="restore the key file (or TWIN_PREVIOUS_MASTER_KEY) before rotating",
            )
        older = used - {twin.keyring.active_id}
        persist_index_secret(settings, twin.keyring)  # keyed hashes must survive the key change
        if source == "env":
            if not older:
                raise KeyFileError(
                    "the master key comes from TWIN_MASTER_KEY, so rotation needs a new one from you",
                    hint=env_rotation_hint(),
                )
            target = twin.keyring.active_id
        elif older:
            target = twin.keyring.active_id  # an unfinished rotation whose journal is gone: finish it
        else:
            target = add_key(settings)
        journal = {
            "version": 1,
            "to": target,
            "from": sorted(older | {twin.keyring.active_id} - {target}),
            "started": _now(),
            "done": [],
            "stores": {},
        }
        _save_journal(settings, journal)
        return journal
    finally:
        twin.close()


def rotate_keys(settings: TwinSettings, hook: Hook | None = None) -> RotationReport:
    """Re-encrypt everything under a new key (or finish an interrupted rotation), verify, retire the old keys."""
    journal = read_journal(settings)
    resumed = journal is not None
    if journal is None:
        journal = _start(settings)
    target = journal["to"]
    keyring = load_keyring(settings)
    if keyring.active_id != target:
        raise KeyFileError(
            f"an interrupted rotation to key {target} cannot go on: it is not the active key",
            hint="restore keys/master.json (or set TWIN_MASTER_KEY to that key) and run it again",
        )
    report = RotationReport(target=target, resumed=resumed)
    twin = Twin(settings)
    try:
        for name, phase in PHASES:
            if name in journal["done"]:
                continue
            report.counts[name] = phase(twin, target, journal, hook)
            journal["done"].append(name)
            _save_journal(settings, journal)
        leftover = key_ids_in_use(key_usage(twin)) - {target}
    finally:
        twin.close()
    if leftover:
        raise KeyFileError(
            f"items under key id(s) {', '.join(sorted(leftover))} remain after re-encryption",
            hint="run `twin keys rotate` again; nothing was retired",
        )
    report.verified_items = verify_only(settings, target)
    if key_source(settings) != "env":
        report.retired = retire_keys(settings, keep=target)
    else:
        report.retired = [k for k in journal.get("from", []) if k != target]
    history_path = settings.keys_dir / HISTORY_FILE
    try:
        history = json.loads(history_path.read_text()) if history_path.exists() else []
    except (OSError, ValueError):
        history = []
    history.append(
        {
            "from": journal.get("from", []),
            "to": target,
            "started": journal.get("started"),
            "finished": _now(),
            "retired": report.retired,
        }
    )
    _write_private(history_path, json.dumps(history, indent=2))
    journal_path(settings).unlink(missing_ok=True)
    # Each store file is now under the target key.
    for tier in (HIGH, MEDIUM):
        if (settings.stores_dir / STORE_FILES[tier]).exists():
            set_store_key_id(settings, STORE_FILES[tier], target)
    return report


def rotation_history(settings: TwinSettings) -> list[dict]:
    path = settings.keys_dir / HISTORY_FILE
    try:
        return json.loads(path.read_text()) if path.exists() else []
    except (OSError, ValueError):
        return []
