"""Every HIGH record a response shows is an audited read, by id.

REST routers and the WebSocket hand the response they are about to send to :func:`audit_shown`; it finds the
records the response shows (search hits, evidence, timeline events, a record by id) and has the audit
(``lifecycle.audit.log_high_reads``) note those stored as HIGH (record id, the token's id, the time — never
content), so ``twin audit`` counts them. One place, so a new response that shows records is audited by passing it
here, not by a copy per router.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from twin_assets.lifecycle.audit import log_high_reads
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
    return log_high_reads(twin, shown_record_ids(payload), getattr(caller, "token_hash", None))


def audited(twin: Twin, caller: Grant, response: R) -> R:
    """``response``, once the HIGH records it shows are logged (``return audited(twin, caller, Out(...))``)."""
    audit_shown(twin, caller, response)
    return response
