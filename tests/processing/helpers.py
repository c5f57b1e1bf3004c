"""Small Documents built inline, shaped like ``to_document`` output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twin_assets.records import Document


def party(
    role: str, name: str | None = None, email: str | None = None, handle: str | None = None, phone: str | None = None
) -> dict[str, Any]:
    return {"role": role, "name": name, "email": email, "handle": handle, "phone": phone}


def make_doc(
    doc_id: str,
    *,
    source: str = "email",
    kind: str = "message",
    title: str = "",
    body: str = "",
    parties: list[dict] | None = None,
    attributes: dict | None = None,
    tier: str = "HIGH",
    when: datetime | str | None = None,
    links: list[str] | None = None,
    thread_id: str | None = None,
    original_tz: str | None = None,
    end: datetime | str | None = None,
) -> Document:
    if isinstance(when, str):
        when = datetime.fromisoformat(when).replace(tzinfo=UTC)
    if isinstance(end, str):
        end = datetime.fromisoformat(end).replace(tzinfo=UTC)
    return Document(
        id=doc_id,
        source=source,
        kind=kind,
        tier=tier,
        event_time=when,
        title=title,
        body=body,
        meta={
            "external_id": f"ext-{doc_id}",
            "parties": parties or [],
            "attributes": attributes or {},
            "links": links or [],
            "thread_id": thread_id,
            "original_tz": original_tz,
            "end_time": end.isoformat() if end else None,
        },
    )
