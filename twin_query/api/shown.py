"""Every HIGH record a response shows is an audited read, by id.

REST routers and the WebSocket hand the response they are about to send to :func:`audit_shown`; it finds the
records the response shows (search hits, evidence, timeline events, a record by id), keeps those stored as HIGH
and notes each in ``high_reads`` (record id, the token's id, the time — never content), so ``twin audit`` counts
them. One place, so a new response that shows records is audited by passing it here, not by a copy per router.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select

from twin_assets.db.models import ApiToken, HighRead, RecordRow
from twin_assets.tiers import HIGH, Grant
from twin_assets.twin import Twin
from twin_query.api.schemas import Evidence, RecordOut, SearchHit, TimelineEventOut

# Response parts that show a record's content (a title, a snippet, a body); their ``id`` is the record's.
SHOWS_A_RECORD = (SearchHit, Evidence, TimelineEventOut, RecordOut)
R = TypeVar("R")


def shown_record_ids(payload: Any) -> Iterator[str]:
    """The ids of the records ``payload`` (a response model, or lists/dicts of them) shows."""
    if isinstance(payload, SHOWS_A_RECORD):
        yield payload.id
    if isinstance(payload, BaseModel):
        for name in type(payload).model_fields:
            yield from shown_record_ids(getattr(payload, name))
    elif isinstance(payload, list | tuple):
        for item in payload:
            yield from shown_record_ids(item)
    elif isinstance(payload, dict):
        for item in payload.values():
            yield from shown_record_ids(item)


def audit_shown(twin: Twin, caller: Grant, payload: Any) -> int:
    """Log each HIGH record ``payload`` shows as read by ``caller``'s token; returns how many were logged."""
    if not caller.can_read(HIGH):  # nothing HIGH can be in the response
        return 0
    ids = list(dict.fromkeys(shown_record_ids(payload)))
    if not ids:
        return 0
    token_hash = getattr(caller, "token_hash", None)
    with twin.session() as s:
        high = _high_ids(s, ids)
        if not high:
            return 0
        token_id = (
            s.scalars(select(ApiToken.id).where(ApiToken.token_hash == token_hash)).first() if token_hash else None
        )
        s.add_all(HighRead(record_id=rid, token_id=token_id) for rid in ids if rid in high)
    return len(high)


def audited(twin: Twin, caller: Grant, response: R) -> R:
    """``response``, once the HIGH records it shows are logged (``return audited(twin, caller, Out(...))``)."""
    audit_shown(twin, caller, response)
    return response


def _high_ids(s: Any, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        found.update(s.scalars(select(RecordRow.id).where(RecordRow.id.in_(chunk), RecordRow.tier == HIGH)))
    return found
