"""Classify staged records and route each to its tier's document store."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import select

from twin_assets.classify import classify
from twin_assets.db.models import RecordRow
from twin_assets.lifecycle.blind_index import index_documents
from twin_assets.pipeline.lineage import add_lineage_many
from twin_assets.records import Record
from twin_assets.stores import MEDIUM, TIERS
from twin_assets.stores.documents import Document
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


def build_documents(twin: Twin, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Move every staged record into its tier store; returns new documents per tier."""
    counts = dict.fromkeys(TIERS, 0)
    while True:
        with twin.session() as s:
            rows = list(s.scalars(select(RecordRow).where(RecordRow.status == "staged").limit(BATCH)))
            if not rows:
                return counts
            by_tier: dict[str, list[Document]] = defaultdict(list)
            for row in rows:
                record = Record.from_json(json.loads(twin.keyring.decrypt(row.staged_enc)))
                verdict = classify(record)
                by_tier[verdict.tier].append(to_document(row.id, record, verdict.tier))
                row.tier = verdict.tier
                row.classifier_reason = verdict.reason_text
                row.storage_location = f"store:{verdict.tier.lower()}"
                row.key_id = None if verdict.tier == "LOW" else twin.keyring.active_id
            # Store first, then forget the staged copy in the same DB transaction:
            # a crash in between re-stores (idempotent upsert), never loses.
            for tier, docs in by_tier.items():
                twin.store(tier).put_many(docs)
                if tier == MEDIUM:  # keyed equality indexes (attendee, organizer, contact address/phone)
                    index_documents(twin, docs)
                counts[tier] += len(docs)
            for row in rows:
                row.status = "stored"
                row.staged_enc = None
            add_lineage_many(
                s, [(row.id, kind, row.id, row.storage_location, row.key_id) for row in rows
                    for kind in ("document", "keyword")]
            )
        if progress:
            progress(len(rows))
