"""Tables of the metadata and lineage database.

Nothing here holds content in plaintext: ids are keyed hashes, paths and
cursors that could name a person are stored encrypted (``*_enc`` columns,
AES-GCM tokens), reasons are our own words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for statements that skip the ORM (declarative types ``__table__`` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Source(Base):
    """A connector kind the twin has seen data from."""

    __tablename__ = "sources"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncBatch(Base):
    """One run of a connector over its pending inputs, with the cursor it ended at."""

    __tablename__ = "sync_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(ForeignKey("sources.name"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed
    cursor_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # opaque to anyone without the key
    inputs: Mapped[int] = mapped_column(Integer, default=0)
    records_new: Mapped[int] = mapped_column(Integer, default=0)
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)


class Input(Base):
    """A file or folder handed to the twin (inbox drop, ``twin ingest``, webhook, API page)."""

    __tablename__ = "inputs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sync_batches.id"))
    path_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted: file names can name people
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the bytes
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    origin: Mapped[str] = mapped_column(String(16))  # inbox, ingest, webhook, api
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    raw_location: Mapped[str | None] = mapped_column(String(255))  # encrypted copy, relative to home
    key_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    records: Mapped[int] = mapped_column(Integer, default=0)


class RecordRow(Base):
    """One record's lineage head: where it came from, its tier and why, where it is stored."""

    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    external_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    event_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    ingest_time: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    tier: Mapped[str | None] = mapped_column(String(8), index=True)  # HIGH, MEDIUM, LOW; None while staged
    classifier_reason: Mapped[str | None] = mapped_column(Text)
    storage_location: Mapped[str | None] = mapped_column(String(64))  # e.g. store:high
    key_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="staged", index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sync_batches.id"))
    input_id: Mapped[str | None] = mapped_column(ForeignKey("inputs.id"))
    staged_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # parsed record, until classified


class Quarantine(Base):
    """A file or record that could not be used, with the reason; the bytes stay in the raw archive."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str | None] = mapped_column(String(64))
    input_id: Mapped[str | None] = mapped_column(ForeignKey("inputs.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sync_batches.id"))
    what: Mapped[str] = mapped_column(String(16))  # file, record
    location: Mapped[str] = mapped_column(String(255))  # "message 12", "file": never content
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Lineage(Base):
    """Every artifact derived from a record, so forget and audit can find them all."""

    __tablename__ = "lineage"
    __table_args__ = (
        UniqueConstraint("record_id", "artifact_kind", "artifact_id", name="uq_lineage_artifact"),
        Index("ix_lineage_artifact", "artifact_kind", "artifact_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    artifact_kind: Mapped[str] = mapped_column(String(32))  # document, keyword, vector, entity, edge, ...
    artifact_id: Mapped[str] = mapped_column(String(128))
    store: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """API tokens, stored as hashes; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(64))  # comma-separated: low,medium,high
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: never


class WebhookSource(Base):
    """A webhook sender and its shared HMAC secret (encrypted; shown once at creation)."""

    __tablename__ = "webhook_sources"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEvent(Base):
    """An accepted webhook body, committed before the 202 is sent; processed by a sensor-started run."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("source", "idempotency_hash", name="uq_webhook_idempotency"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_hash: Mapped[str | None] = mapped_column(String(64))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)


class ApiState(Base):
    """Per REST API source: the incremental cursor and OAuth2 tokens, both encrypted."""

    __tablename__ = "api_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HighRead(Base):
    """A HIGH record read through the API, by id: which token (its id, never the token) and when; no content."""

    __tablename__ = "high_reads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(40), index=True)
    token_id: Mapped[str | None] = mapped_column(String(16))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
