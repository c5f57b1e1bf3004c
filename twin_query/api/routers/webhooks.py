from __future__ import annotations

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from pydantic import BaseModel

from twin_assets.pipeline.webhooks import MAX_BODY_BYTES, WebhookRejected, accept, parse_body, verify
from twin_assets.twin import Twin
from twin_query.api.deps import get_twin
from twin_query.api.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["webhooks"])


class Accepted(BaseModel):
    id: str


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)


@router.post(
    "/webhooks/{source}",
    status_code=202,
    response_model=Accepted,
    responses={401: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Accept a signed JSON event; answered only once it is stored (encrypted)",
    description="Headers: `X-Twin-Timestamp` (unix seconds, within 5 minutes) and `X-Twin-Signature: "
    "sha256=<hex HMAC-SHA256(secret, timestamp + '.' + body)>`; optional `Idempotency-Key` (the same key twice "
    "is stored once). Create a source and its secret with `twin webhooks create NAME`.",
)
async def receive_webhook(
    request: Request,
    source: str = Path(..., max_length=64),
    x_twin_signature: str | None = Header(None),
    x_twin_timestamp: str | None = Header(None),
    idempotency_key: str | None = Header(None, max_length=200),
    twin: Twin = Depends(get_twin),
) -> Accepted:
    body = await _read_limited(request)
    try:
        verify(twin, source, body, x_twin_timestamp, x_twin_signature)
        parse_body(body)
    except WebhookRejected as exc:
        raise HTTPException(exc.status, exc.detail) from None
    return Accepted(id=accept(twin, source, body, idempotency_key))
