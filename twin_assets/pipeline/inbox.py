"""Pick up what the user dropped into ``TWIN_HOME/inbox``.

Each settled entry (file or folder, untouched for a few seconds) is detected
by content and registered for its connector; content already ingested is
removed at once; an entry no connector claims is archived encrypted,
quarantined with its reason, and removed — it never stays in the clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from twin_assets.connectors.base import Connector
from twin_assets.connectors.registry import detect, detect_each
from twin_assets.db.models import Input, Quarantine
from twin_assets.pipeline.inputs import archive_raw, content_hash, encrypt_path, register_input, remove_plaintext
from twin_assets.twin import Twin

SETTLE_SECONDS = 3.0


@dataclass
class InboxScan:
    registered: list[str] = field(default_factory=list)  # input ids
    kinds: set[str] = field(default_factory=set)
    duplicates: int = 0
    quarantined: int = 0
    waiting: int = 0  # still being written
    failed: list[str] = field(default_factory=list)  # error types of entries that could not be handled this tick


def _newest_mtime(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=path.stat().st_mtime)


def scan_inbox(twin: Twin, budget_seconds: float = 30.0, now: float | None = None) -> InboxScan:
    """Register settled inbox entries; stops early when the time budget is spent."""
    result = InboxScan()
    inbox = twin.settings.inbox_dir
    if not inbox.is_dir():
        return result
    start = time.monotonic()
    now = now if now is not None else time.time()
    for entry in sorted(inbox.iterdir()):
        if time.monotonic() - start > budget_seconds:
            break
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        # One entry that cannot be handled (an odd name, a vanished or unreadable file) must not stop the others
        # on every tick; only its error type is kept, as Dagster stores what a sensor returns.
        try:
            _scan_entry(twin, entry, now, result)
        except Exception as exc:
            result.failed.append(type(exc).__name__)
    return result


def _scan_entry(twin: Twin, entry: Path, now: float, result: InboxScan) -> None:
    if now - _newest_mtime(entry) < SETTLE_SECONDS:
        result.waiting += 1
        return
    connector = detect(entry)
    if connector is None and entry.is_dir():
        _scan_folder(twin, entry, result)
        return
    _take(twin, entry, connector, result)


def _scan_folder(twin: Twin, folder: Path, result: InboxScan) -> None:
    """A folder no connector claims whole (a Takeout-style download): each export in it is taken on its own."""
    parts = [(part, connector) for part, connector in detect_each(folder) if part != folder]
    if not parts:
        if any(p.is_file() for p in folder.rglob("*")):
            quarantine_unrecognised(twin, folder)  # only hidden files or links: kept encrypted, not in the clear
            result.quarantined += 1
        else:
            remove_plaintext(folder)  # every export in it was ingested (and removed)
        return
    for part, connector in parts:
        try:
            _take(twin, part, connector, result)
        except Exception as exc:
            result.failed.append(type(exc).__name__)


def _take(twin: Twin, entry: Path, connector: Connector | None, result: InboxScan) -> None:
    if connector is None:
        quarantine_unrecognised(twin, entry)
        result.quarantined += 1
        return
    reg = register_input(twin, entry, connector.kind, "inbox")
    if reg.duplicate:
        # Only once the known copy is ingested: a pending one (its run failed or has not
        # started yet) still needs this file.
        if reg.already_done:
            remove_plaintext(entry)
        result.duplicates += 1
    else:
        assert reg.input_id is not None  # a new input always gets an id
        result.registered.append(reg.input_id)
        result.kinds.add(connector.kind)


def quarantine_unrecognised(twin: Twin, entry: Path) -> None:
    import uuid

    digest, size = content_hash(twin, entry)
    input_id = uuid.uuid4().hex
    raw = archive_raw(twin, input_id, entry)
    with twin.session() as s:
        s.add(
            Input(
                id=input_id,
                source="unknown",
                path_enc=encrypt_path(twin, entry),
                content_hash=digest,
                size=size,
                origin="inbox",
                status="quarantined",
                raw_location=raw,
                key_id=twin.keyring.active_id,
            )
        )
        s.flush()
        s.add(
            Quarantine(
                source=None,
                input_id=input_id,
                what="file",
                location="file",
                reason="unrecognised format: no connector claims it",
            )
        )
    remove_plaintext(entry)
