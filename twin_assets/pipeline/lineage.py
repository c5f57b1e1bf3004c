"""Lineage rows: one per (record, artifact), written idempotently."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from twin_assets.db.models import Lineage


def add_lineage(
    session: Session, record_id: str, artifact_kind: str, artifact_id: str, store: str, key_id: str | None
) -> None:
    existing = session.scalars(
        select(Lineage).where(
            Lineage.record_id == record_id,
            Lineage.artifact_kind == artifact_kind,
            Lineage.artifact_id == artifact_id,
        )
    ).first()
    if existing is None:
        session.add(
            Lineage(record_id=record_id, artifact_kind=artifact_kind, artifact_id=artifact_id, store=store,
                    key_id=key_id)
        )
    else:
        existing.store, existing.key_id = store, key_id
