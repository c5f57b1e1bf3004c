"""Classify staged records and route each to its tier's document store."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import bindparam, func, select, update

from twin_assets.db.engine import bulk_writes
from twin_assets.db.models import RecordRow, table_of
from twin_assets.pipeline.blind_index import index_documents
from twin_assets.pipeline.lineage import add_lineage_many
from twin_assets.records import Document, Record
from twin_assets.tiers import LOW, MEDIUM, TIERS
from twin_assets.twin import Twin

BATCH = 500


def to_document(record_id: str, record: Record, tier: str) -> Document:
    return Document(
        id=record_id,
        source=record.source,
        kind=record.kind,
        tier=tier,
        event_time=record.event_time,
        title=record.title,
        body=record.body,
        meta={
            "external_id": record.external_id,
            "parties": [asdict(p) for p in record.parties],
            "attributes": record.attributes,
            "links": record.links,
            "thread_id": record.thread_id,
            "original_tz": record.original_tz,
            "end_time": record.end_time.isoformat() if record.end_time else None,
        },
    )


def staged_count(twin: Twin) -> int:
    """Records staged and not yet classified: what :func:`build_documents` has to do."""
    records = table_of(RecordRow)
    with twin.session() as s:
        return int(s.scalar(select(func.count()).select_from(records).where(records.c.status == "staged")) or 0)


def build_documents(twin: Twin, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Move every staged record into its tier store; returns new documents per tier."""
    with bulk_writes():  # a record whose commit was lost is still staged, and is classified again
        return _build_documents(twin, progress)


def _build_documents(twin: Twin, progress: Callable[[int], None] | None) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(TIERS, 0)
    classifier = twin.classifier  # the run's: its Presidio engine and rules are built once, not per record
    records = table_of(RecordRow)
    # One statement for the batch's rows, not the ORM's loading and per-object flush (a fifth of the step).
    mark_stored = (
        update(records)
        .where(records.c.id == bindparam("rid"))
        .values(
            tier=bindparam("t"),
            classifier_reason=bindparam("why"),
            storage_location=bindparam("where"),
            key_id=bindparam("key"),
            status="stored",
            staged_enc=None,
        )
    )
    while True:
        with twin.session() as s:
            rows = s.execute(
                select(records.c.id, records.c.staged_enc).where(records.c.status == "staged").limit(BATCH)
            ).all()
            if not rows:
                return counts
            by_tier: dict[str, list[Document]] = defaultdict(list)
            marks = []
            for rid, staged in rows:
                record = Record.from_json(json.loads(twin.keyring.decrypt(staged)))
                verdict = classifier.classify(record)
                by_tier[verdict.tier].append(to_document(rid, record, verdict.tier))
                marks.append(
                    {
                        "rid": rid,
                        "t": verdict.tier,
                        "why": verdict.reason_text,
                        "where": f"store:{verdict.tier.lower()}",
                        "key": None if verdict.tier == LOW else twin.keyring.active_id,
                    }
                )
            # Store first, then forget the staged copy in the same DB transaction:
            # a crash in between re-stores (idempotent upsert), never loses.
            for tier, docs in by_tier.items():
                twin.store(tier).put_many(docs)
                if tier == MEDIUM:  # keyed equality indexes (attendee, organizer, contact address/phone)
                    index_documents(twin, docs)
                counts[tier] += len(docs)
            s.execute(mark_stored, marks)
            add_lineage_many(
                s, [(m["rid"], kind, m["rid"], m["where"], m["key"]) for m in marks for kind in ("document", "keyword")]
            )
        if progress:
            progress(len(rows))
