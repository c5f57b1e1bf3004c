from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path

from twin_assets.db.models import Lineage, RecordRow
from twin_assets.tiers import HIGH
from twin_assets.twin import Twin
from twin_query.api.deps import Caller, get_caller, get_twin
from twin_query.api.schemas import ErrorOut, RecordOut
from twin_query.api.shown import audited

router = APIRouter(prefix="/v1", tags=["records"])
NOT_AVAILABLE = "record not available to this token"


@router.get(
    "/records/{record_id}",
    response_model=RecordOut,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
    summary="One record with its lineage, if the token's scopes cover its tier",
)
def get_record(
    record_id: str = Path(..., max_length=64),
    caller: Caller = Depends(get_caller),
    twin: Twin = Depends(get_twin),
) -> RecordOut:
    with twin.session() as s:
        row = s.get(RecordRow, record_id)
        lineage = [(lin.artifact_kind, lin.store) for lin in s.query(Lineage).filter_by(record_id=record_id)]
    full = caller.can_read(HIGH)
    # Below full scope, "absent" and "not yours" look the same, so the answer reveals nothing.
    if row is None or row.tier is None or not caller.can_read(row.tier):
        if full:
            raise HTTPException(404, "no such record")
        raise HTTPException(403, NOT_AVAILABLE)
    doc = twin.store(row.tier).get(record_id)
    if doc is None:
        raise HTTPException(404 if full else 403, "no such record" if full else NOT_AVAILABLE)
    out = RecordOut(
        id=doc.id,
        source=doc.source,
        kind=doc.kind,
        tier=doc.tier,
        timestamp=doc.event_time,
        title=doc.title,
        body=doc.body,
        meta=doc.meta,
        lineage={
            "source": row.source,
            "batch_id": row.batch_id,
            "input_id": row.input_id,
            "classifier_reason": row.classifier_reason,
            "storage_location": row.storage_location,
            "key_id": row.key_id,
            "ingest_time": row.ingest_time.isoformat(),
            "artifacts": [{"kind": k, "store": st} for k, st in lineage],
        },
    )
    return audited(twin, caller, out)  # a HIGH record read by id is logged: record id, token id, time
