"""Lineage rows: one per (record, artifact), written idempotently."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twin_assets.db.models import Lineage

# (record_id, artifact_kind, artifact_id, store, key_id)
LineageRow = tuple[str, str, str, str, str | None]


def add_lineage(
    session: Session, record_id: str, artifact_kind: str, artifact_id: str, store: str, key_id: str | None
) -> None:
    add_lineage_many(session, [(record_id, artifact_kind, artifact_id, store, key_id)])


def add_lineage_many(session: Session, rows: Iterable[LineageRow]) -> None:
    """Insert or update lineage rows with one executemany.

    A select-then-add per row went through the ORM's autoflush each time: 11 of 50 s of a 3k-record sync.
    Both metadata backends (SQLite, PostgreSQL) support ``ON CONFLICT`` on the unique (record, kind, id).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One row per key, the last one winning: PostgreSQL refuses to update a row twice in one statement.
    latest = {(r, kind, aid): (store, key) for r, kind, aid, store, key in rows}
    values = [
        {"record_id": r, "artifact_kind": kind, "artifact_id": aid, "store": store, "key_id": key}
        for (r, kind, aid), (store, key) in latest.items()
    ]
    if not values:
        return
    stmt = insert(Lineage)
    stmt = stmt.on_conflict_do_update(
        index_elements=["record_id", "artifact_kind", "artifact_id"],
        set_={"store": stmt.excluded.store, "key_id": stmt.excluded.key_id},
    )
    # Core executemany: one compiled statement for every row (a multi-VALUES statement compiled per chunk
    # cost more than the inserts themselves).
    session.connection().execute(stmt, values)
