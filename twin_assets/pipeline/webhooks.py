"""Webhooks: verify, store durably (encrypted) before answering, and turn events into records.

Signature scheme (Stripe-style, so the timestamp cannot be altered):
``X-Twin-Timestamp: <unix seconds>`` and
``X-Twin-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.
Requests outside the replay window are refused; ``Idempotency-Key`` makes a
retried delivery a no-op.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as dateparser
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from twin_assets.connectors.webhook import WEBHOOK_SOURCE
from twin_assets.db.models import Quarantine, Source, SyncBatch, WebhookEvent, WebhookSource
from twin_assets.errors import TwinError
from twin_assets.pipeline.sync import SyncResult, stage_record
from twin_assets.records import Party, Record
from twin_assets.twin import Twin

MAX_BODY_BYTES = 1 << 20
REPLAY_WINDOW_SECONDS = 300
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RECORD_SOURCE = WEBHOOK_SOURCE  # every sender's events are records of this one source


class WebhookRejected(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def create_webhook_source(twin: Twin, name: str) -> str:
    """Register a sender; returns its secret (shown once)."""
    if not SOURCE_NAME.match(name):
        raise TwinError(f"invalid webhook source name {name!r}", hint="use lowercase letters, digits, - and _")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with twin.session() as s:
        if s.get(WebhookSource, name) is not None:
            raise TwinError(f"webhook source {name!r} already exists", hint="pick another name")
        s.add(WebhookSource(name=name, secret_enc=twin.keyring.encrypt_str(secret)))
    return secret


def verify(
    twin: Twin, source: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
) -> None:
    """Raise WebhookRejected(401) unless the request is signed for this source and fresh."""
    # One message for every authentication failure: nothing reveals which sources exist.
    bad = WebhookRejected(401, "invalid signature or timestamp")
    if not timestamp or not signature or not SOURCE_NAME.match(source):
        raise bad
    try:
        ts = int(timestamp)
    except ValueError:
        raise bad from None
    if abs((now if now is not None else time.time()) - ts) > REPLAY_WINDOW_SECONDS:
        raise WebhookRejected(401, "timestamp outside the replay window")
    with twin.session() as s:
        row = s.get(WebhookSource, source)
        secret = twin.keyring.decrypt_str(row.secret_enc) if row else secrets.token_urlsafe(32)
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()) or row is None:
        raise bad


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejected(422, f"body is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise WebhookRejected(422, "body must be a JSON object")
    return data


def accept(twin: Twin, source: str, body: bytes, idempotency_key: str | None) -> str:
    """Commit the event (encrypted) and return its id; a repeated Idempotency-Key returns the first id."""
    idem = twin.keyring.keyed_hash("idempotency", f"{source}\0{idempotency_key}".encode()) if idempotency_key else None
    if idem:
        with twin.session() as s:
            existing = s.scalars(
                select(WebhookEvent.id).where(WebhookEvent.source == source, WebhookEvent.idempotency_hash == idem)
            ).first()
            if existing:
                return existing
    event_id = uuid.uuid4().hex
    try:
        with twin.session() as s:
            s.add(WebhookEvent(id=event_id, source=source, idempotency_hash=idem, body_enc=twin.keyring.encrypt(body)))
    except IntegrityError:  # a concurrent delivery with the same key won the race
        with twin.session() as s:
            return s.scalars(
                select(WebhookEvent.id).where(WebhookEvent.source == source, WebhookEvent.idempotency_hash == idem)
            ).one()
    return event_id


_TITLE = ("title", "subject", "summary", "name")
_BODY = ("text", "body", "content", "message", "description")
_TIME = ("timestamp", "time", "created_at", "date", "ts", "occurred_at")
_FROM = ("from", "author", "sender", "user")


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((data[n] for n in names if data.get(n) not in (None, "")), None)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    if isinstance(value, str):
        try:
            dt = dateparser.isoparse(value)
        except ValueError:
            try:
                dt = dateparser.parse(value)
            except (ValueError, OverflowError):
                return None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def to_record(source: str, event_id: str, data: dict[str, Any], received: datetime) -> Record:
    """A generic mapping of a JSON event to a record: common field names, the rest as attributes."""
    title = _first(data, _TITLE)
    body = _first(data, _BODY)
    sender = _first(data, _FROM)
    parties = []
    if isinstance(sender, str):
        email = sender if "@" in sender else None
        parties.append(Party(role="from", name=None if email else sender, email=email))
    elif isinstance(sender, dict):
        parties.append(Party(role="from", name=sender.get("name"), email=sender.get("email")))
    when = _parse_time(_first(data, _TIME)) or received
    scalars = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool) and k not in _BODY}
    return Record(
        source=RECORD_SOURCE,
        external_id=f"{source}/{data.get('id', event_id)}",
        kind="event_message",
        title=str(title) if title is not None else "",
        body=str(body) if body is not None else json.dumps(data, sort_keys=True, default=str)[:20000],
        event_time=when,
        parties=parties,
        attributes={"webhook_source": source, **scalars},
    )


@dataclass
class PendingCount:
    events: int
    newest: str | None


def pending_webhooks(twin: Twin) -> PendingCount:
    with twin.session() as s:
        ids = list(s.scalars(select(WebhookEvent.id).where(WebhookEvent.status == "pending")))
    return PendingCount(len(ids), hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:16] if ids else None)


def process_webhooks(twin: Twin) -> SyncResult:
    """Stage every pending event as a record; an unusable body is quarantined, the rest go on."""
    result = SyncResult(RECORD_SOURCE)
    with twin.session() as s:
        events = list(
            s.scalars(select(WebhookEvent).where(WebhookEvent.status == "pending").order_by(WebhookEvent.received_at))
        )
        if not events:
            return result
        if s.get(Source, RECORD_SOURCE) is None:
            s.add(Source(name=RECORD_SOURCE))
        batch = SyncBatch(source=RECORD_SOURCE)
        s.add(batch)
        s.flush()
        for ev in events:
            result.inputs += 1
            try:
                data = parse_body(twin.keyring.decrypt(ev.body_enc))
                record = to_record(ev.source, ev.id, data, ev.received_at)
            except (WebhookRejected, ValueError, TypeError) as exc:
                s.add(
                    Quarantine(
                        source=RECORD_SOURCE,
                        batch_id=batch.id,
                        what="record",
                        location=f"event {ev.id}",
                        reason=f"unusable webhook body: {type(exc).__name__}",
                    )
                )
                result.quarantined += 1
                ev.status = "quarantined"
                continue
            if stage_record(twin, s, record, batch.id, None):
                result.records_new += 1
            else:
                result.records_seen += 1
            ev.status = "processed"
        batch.status, batch.finished_at = "done", datetime.now(UTC)
        batch.inputs, batch.records_new = result.inputs, result.records_new
        batch.records_seen, batch.quarantined = result.records_seen, result.quarantined
    return result
