"""Plain data that flows from connectors to the stores.

Connectors yield :class:`Record` or :class:`ParseIssue`; nothing here touches a
database or Dagster, so every step can be tested with plain values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

# Record kinds the processing layer understands. Connectors may add their own;
# unknown kinds are kept and treated as plain documents.
MESSAGE = "message"
EVENT = "event"
CONTACT = "contact"
NOTE = "note"
TRANSACTION = "transaction"
CHAT_MESSAGE = "chat_message"


@dataclass(frozen=True)
class Party:
    """Someone (or something) a record involves, as the source names them."""

    role: str  # from, to, cc, bcc, attendee, organizer, author, member, merchant, self
    name: str | None = None
    email: str | None = None
    handle: str | None = None  # chat handle / user id
    phone: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Record:
    """One normalised item from a source: a message, an event, a contact, ...

    ``external_id`` is stable across re-imports of the same export (Message-ID,
    UID + RECURRENCE-ID, FITID, ...). ``attributes`` holds source-specific
    structured fields (folder, list_id, amount, currency, location, ...) and
    must be JSON-serialisable.
    """

    source: str
    external_id: str
    kind: str
    title: str = ""
    body: str = ""
    event_time: datetime | None = None  # timezone-aware, UTC
    end_time: datetime | None = None
    original_tz: str | None = None  # the zone the source gave, e.g. "Europe/Berlin"
    parties: list[Party] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # wikilinks, tags, URLs
    thread_id: str | None = None
    # Attributes that describe where a copy lives rather than what it says;
    # left out of the content hash so the same message in two folders is one record.
    location_attributes: tuple[str, ...] = ("folder", "path", "position")

    def __post_init__(self) -> None:
        for name in ("event_time", "end_time"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
            if value is not None:
                setattr(self, name, value.astimezone(UTC))

    def canonical_content(self) -> bytes:
        """Bytes that identify the content, independent of where it was found."""
        attrs = {k: v for k, v in self.attributes.items() if k not in self.location_attributes}
        payload = {
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "event_time": self.event_time.isoformat() if self.event_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "parties": sorted(json.dumps(p.to_json(), sort_keys=True) for p in self.parties),
            "attributes": attrs,
            "links": sorted(self.links),
        }
        return json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data. Shallow on purpose: ``asdict`` deep-copied every attribute, ~15% of parsing."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "location_attributes"}
        data["parties"] = [p.to_json() for p in self.parties]
        data["attributes"] = dict(self.attributes)
        data["links"] = list(self.links)
        for name in ("event_time", "end_time"):
            if data[name] is not None:
                data[name] = data[name].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        data = dict(data)
        for name in ("event_time", "end_time"):
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        data["parties"] = [Party(**p) for p in data.get("parties", [])]
        return cls(**data)

    def text(self) -> str:
        """Title and body as one searchable text."""
        return f"{self.title}\n\n{self.body}".strip() if self.title else self.body.strip()


@dataclass(slots=True)
class Document:
    """A stored record as processing and the query side see it: its tier, text for search, structured fields.

    Made from a :class:`Record` once it is classified (``pipeline.documents``); the tier stores keep it.
    """

    id: str
    source: str
    kind: str
    tier: str
    event_time: datetime | None
    title: str
    body: str
    meta: dict[str, Any] = field(default_factory=dict)  # parties, attributes, links, thread_id, tz

    def payload(self) -> bytes:
        return json.dumps({"title": self.title, "body": self.body, "meta": self.meta}, default=str).encode()

    def text(self) -> str:
        return f"{self.title}\n\n{self.body}".strip() if self.title else self.body.strip()


@dataclass(frozen=True)
class ParseIssue:
    """A record or file that could not be read, as data rather than an exception.

    ``where`` locates the problem without quoting content ("message 12",
    "line 40", "VEVENT 3"); ``reason`` says what was wrong in our own words.
    Neither may contain text from the file: both end up in logs and the
    metadata database.
    """

    where: str
    reason: str


def plain_hash(data: bytes) -> str:
    """SHA-256 hex of bytes that are not guessable (whole files); use keyed hashes for fields."""
    return hashlib.sha256(data).hexdigest()
