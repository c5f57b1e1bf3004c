"""Parse pending inputs with their connector and stage the records, encrypted.

Staged records wait in the metadata DB as AES-GCM tokens until the documents
step classifies them; nothing parsed is ever at rest in the clear. Every
ParseIssue becomes a quarantine row (its location and reason only) and the
raw export is archived encrypted, so nothing is lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from twin_assets.connectors.registry import get_connector
from twin_assets.connectors.toolkit import Budget, BudgetInterrupt, shown_path
from twin_assets.db.engine import bulk_writes
from twin_assets.db.models import Input, Quarantine, RecordRow, Source, SyncBatch, table_of
from twin_assets.pipeline.inputs import archive_raw, decrypt_path, remove_plaintext
from twin_assets.records import ParseIssue, Record
from twin_assets.settings import SyncSettings, get_settings
from twin_assets.twin import Twin

COMMIT_EVERY = 500
Progress = Callable[[int], None]


@dataclass
class Problem:
    input_id: str
    path: str  # decrypted for the caller's eyes only (CLI output), never stored in the clear
    where: str
    reason: str


@dataclass
class SyncResult:
    source: str
    inputs: int = 0
    records_new: int = 0
    records_seen: int = 0
    quarantined: int = 0
    deferred: int = 0  # inputs left pending because the batch budget was spent; the next sync resumes them
    deferred_reason: str | None = None  # names the budget and its setting, never an input
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "inputs": self.inputs,
            "records_new": self.records_new,
            "records_seen": self.records_seen,
            "quarantined": self.quarantined,
            "deferred": self.deferred,
        }


def record_id(content_hash: str) -> str:
    return "r" + content_hash[:24]


def stage_record(twin: Twin, session, record: Record, batch_id: int, input_id: str | None) -> bool:
    """Add a parsed record to the staging area; False if identical content is already known."""
    return stage_records(twin, session, [record], batch_id, input_id) == 1


def stage_records(twin: Twin, session, records: list[Record], batch_id: int, input_id: str | None) -> int:
    """Stage a batch of parsed records with one lookup and one insert; returns how many were new.

    Records whose content is already known (or repeated within the batch) are skipped: the id is the
    keyed content hash, so a re-dropped export costs a hash and a lookup per record, nothing more.
    """
    rows: dict[str, dict] = {}
    for record in records:
        digest = twin.keyring.keyed_hash("content", record.canonical_content(), 64)
        rid = record_id(digest)
        if rid in rows:
            continue
        rows[rid] = {
            "id": rid,
            "source": record.source,
            "external_id_hash": twin.keyring.keyed_hash(
                "external-id", f"{record.source}\0{record.external_id}".encode()
            ),
            "content_hash": digest,
            "kind": record.kind,
            "event_time": record.event_time,
            "status": "staged",
            "batch_id": batch_id,
            "input_id": input_id,
            "_record": record,
        }
    known = set(session.scalars(select(RecordRow.id).where(RecordRow.id.in_(list(rows))))) if rows else set()
    new = [r for rid, r in rows.items() if rid not in known]
    for r in new:
        r["staged_enc"] = twin.keyring.encrypt(json.dumps(r.pop("_record").to_json(), default=str).encode())
    if new:
        session.execute(insert(table_of(RecordRow)), new)  # Core: plain rows, no ORM bulk-insert bookkeeping
    return len(new)


def pending_inputs(twin: Twin, source: str) -> list[Input]:
    with twin.session() as s:
        query = select(Input).where(Input.source == source, Input.status == "pending")
        return list(s.scalars(query.order_by(Input.created_at, Input.id)))  # the oldest (deferred) first


def deferred_inputs(twin: Twin) -> dict[str, list[str]]:
    """Input ids by source that a sync left pending when its batch budget was spent (they carry that batch's id;
    a freshly registered input has none yet)."""
    found: dict[str, list[str]] = {}
    with twin.session() as s:
        rows = s.execute(
            select(Input.source, Input.id)
            .where(Input.status == "pending", Input.batch_id.is_not(None))
            .order_by(Input.id)
        )
        for source, inp_id in rows:
            found.setdefault(source, []).append(inp_id)
    return found


def batch_budget_spent(limits: SyncSettings, started: float, result: SyncResult) -> str | None:
    """Why a sync should take no further input (seconds since ``started`` or records so far past the batch
    budget), else None. Checked between inputs: the input being parsed has its own per-file budget."""
    if time.monotonic() - started > limits.max_batch_seconds:
        return f"batch budget hit: the sync took more than {limits.max_batch_seconds:g} s (TWIN_SYNC_MAX_BATCH_SECONDS)"
    if result.records_new + result.records_seen >= limits.max_batch_records:
        return f"batch budget hit: {limits.max_batch_records} records staged (TWIN_SYNC_MAX_BATCH_RECORDS)"
    return None


def sync_source(
    twin: Twin, source: str, progress: Progress | None = None, inputs_done: Progress | None = None
) -> SyncResult:
    """Process the pending inputs of ``source``; a bad file or record never stops the rest.

    Past the batch budget (``TWIN_SYNC_MAX_BATCH_*``) the sync takes no new input: the rest stay pending with
    this batch's id (so they are known as deferred, not lost) and the caller gives the writer slot back; the
    next ingest, inbox sensor tick or ``twin doctor`` resumes them. The first input is always taken, so every
    sync makes progress.
    """
    connector = get_connector(source)
    result = SyncResult(source)
    inputs = pending_inputs(twin, source)
    if not inputs:
        return result
    with twin.session() as s:
        if s.get(Source, source) is None:
            s.add(Source(name=source))
        batch = SyncBatch(source=source)
        s.add(batch)
        s.flush()
        batch_id = batch.id
    limits = get_settings().sync
    started = time.monotonic()
    taken = inputs
    with bulk_writes():  # an input whose records were lost is still pending, and is staged again
        for n, inp in enumerate(inputs):
            if n and (over := batch_budget_spent(limits, started, result)):
                taken, rest = inputs[:n], inputs[n:]
                result.deferred, result.deferred_reason = len(rest), over
                with twin.session() as s:  # still pending; the batch id marks them deferred
                    s.execute(
                        table_of(Input)
                        .update()
                        .where(Input.id.in_([i.id for i in rest]), Input.status == "pending")
                        .values(batch_id=batch_id)
                    )
                break
            _sync_input(twin, connector, inp, batch_id, result, progress)
            if inputs_done:
                inputs_done(1)
    with twin.session() as s:
        batch = s.get_one(SyncBatch, batch_id)
        batch.status = "done"
        batch.finished_at = datetime.now(UTC)
        batch.inputs = result.inputs
        batch.records_new = result.records_new
        batch.records_seen = result.records_seen
        batch.quarantined = result.quarantined
        # File connectors' cursor is the set of input hashes already done (the inputs
        # table); the batch keeps an opaque marker of how far it got.
        batch.cursor_enc = twin.keyring.encrypt(json.dumps({"last_input": taken[-1].id}).encode())
        src = s.get_one(Source, source)
        src.last_sync_at = batch.finished_at
    return result


def _quarantine(
    session, result: SyncResult, inp: Input, path: str, batch_id: int, issue: ParseIssue, what: str
) -> None:
    session.add(
        Quarantine(
            source=inp.source,
            input_id=inp.id,
            batch_id=batch_id,
            what=what,
            location=issue.where[:255],
            reason=issue.reason,
        )
    )
    result.quarantined += 1
    result.problems.append(Problem(inp.id, path, issue.where, issue.reason))


def _close(items) -> None:
    """A connector stopped early frees its open files and workers now."""
    close = getattr(items, "close", None)
    if close is not None:
        close()


def _sync_input(
    twin: Twin, connector, inp: Input, batch_id: int, result: SyncResult, progress: Progress | None
) -> None:
    path = decrypt_path(twin, inp.path_enc) if inp.path_enc else Path("")
    path_text = shown_path(path)
    result.inputs += 1
    new = seen = 0
    file_failed = False
    quarantined_before = result.quarantined
    with twin.session() as s:
        if not path.exists():
            _quarantine(s, result, inp, path_text, batch_id, ParseIssue("file", "file no longer exists"), "file")
            row = s.get_one(Input, inp.id)
            row.status, row.processed_at, row.batch_id = "quarantined", datetime.now(UTC), batch_id
            return
        buffer: list[Record] = []

        def flush() -> None:
            nonlocal new, seen
            added = stage_records(twin, s, buffer, batch_id, inp.id)
            new, seen = new + added, seen + len(buffer) - added
            s.commit()
            if progress:
                progress(len(buffer))
            buffer.clear()

        # Whatever the connector bounds itself, no input may yield more records or take longer than its budget.
        # A watchdog interrupts a connector that overruns the time or memory budget inside one record.
        budget = Budget.for_input()
        items = connector.parse(path)
        try:
            with budget.watchdog() as watch:
                iterator = iter(items)
                while True:
                    with watch.parsing():
                        try:
                            item = next(iterator)
                        except StopIteration:
                            break
                    over = budget.time_exceeded() if isinstance(item, ParseIssue) else budget.record()
                    if over:
                        file_failed = True
                        _quarantine(s, result, inp, path_text, batch_id, ParseIssue("file", over), "file")
                        break
                    if isinstance(item, ParseIssue):
                        what = "file" if item.where == "file" else "record"
                        file_failed = file_failed or what == "file"
                        _quarantine(s, result, inp, path_text, batch_id, item, what)
                        continue
                    buffer.append(item)
                    if len(buffer) >= COMMIT_EVERY:
                        flush()
            _close(items)
        except BudgetInterrupt as exc:  # the watchdog stopped the connector inside a record (or between two)
            file_failed = True
            _quarantine(s, result, inp, path_text, batch_id, ParseIssue("file", exc.reason), "file")
            _close(items)
        except Exception as exc:  # a connector bug must not lose the file or stop the batch
            file_failed = True
            issue = ParseIssue("file", f"connector {connector.kind} failed: {type(exc).__name__}")
            _quarantine(s, result, inp, path_text, batch_id, issue, "file")
        if buffer:  # what parsed before a failure is kept
            try:
                flush()
            except Exception as exc:
                file_failed = True
                s.rollback()
                issue = ParseIssue("file", f"staging failed: {type(exc).__name__}")
                _quarantine(s, result, inp, path_text, batch_id, issue, "file")
        raw = None
        if twin.settings.keep_raw or result.quarantined > quarantined_before:
            raw = archive_raw(twin, inp.id, path)
        row = s.get_one(Input, inp.id)
        row.status = "quarantined" if file_failed and not new and not seen else "done"
        row.processed_at = datetime.now(UTC)
        row.batch_id = batch_id
        row.raw_location = raw
        row.records = new + seen
    result.records_new += new
    result.records_seen += seen
    if inp.origin == "inbox":
        remove_plaintext(path)
