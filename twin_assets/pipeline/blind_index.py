"""Keyed blind indexes over MEDIUM fields, for equality lookups without plaintext.

"All events with this attendee" needs an index on attendee addresses, but a MEDIUM
address must not sit in the clear anywhere, and a plain hash of an address is
reversed by guessing. So the ``blind_index`` table in the MEDIUM store maps
``(field, token)`` to document ids, where ``token`` is an HMAC of the normalised
value under a per-field key derived from the index secret
(:meth:`twin_assets.keys.Keyring.blind_index`; CipherSweet's design). The index
secret survives key rotation, so tokens stay valid.

Fields: ``attendee_email``, ``organizer_email`` (calendar), ``contact_email`` and
``contact_phone`` (contact cards).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from twin_assets.records import Document
from twin_assets.stores import MEDIUM
from twin_assets.stores.blind_index import BlindIndexStore
from twin_assets.twin import Twin

FIELDS = ("attendee_email", "organizer_email", "contact_email", "contact_phone")
_ROLE_FIELD = {"attendee": "attendee_email", "organizer": "organizer_email", "contact": "contact_email"}
_PHONE_JUNK = re.compile(r"[^\d+]")


def normalise(field_name: str, value: str) -> str | None:
    """The canonical form a field's value is indexed (and looked up) under; None if unusable."""
    if field_name not in FIELDS:
        raise ValueError(f"unknown blind-index field {field_name!r}; one of {', '.join(FIELDS)}")
    text = (value or "").strip()
    if field_name.endswith("_email"):
        text = text.lower()
        if text.startswith("mailto:"):
            text = text[7:]
        return text if "@" in text else None
    digits = _PHONE_JUNK.sub("", text)
    digits = digits[0] + digits[1:].replace("+", "") if digits else digits
    return digits if len(digits.lstrip("+")) >= 5 else None


def field_values(doc: Document) -> Iterator[tuple[str, str]]:
    """(field, normalised value) pairs of a document."""
    seen: set[tuple[str, str]] = set()

    def emit(field_name: str, raw: object) -> Iterator[tuple[str, str]]:
        if not isinstance(raw, str):
            return
        norm = normalise(field_name, raw)
        if norm and (field_name, norm) not in seen:
            seen.add((field_name, norm))
            yield field_name, norm

    for party in doc.meta.get("parties") or []:
        role = party.get("role")
        if role in _ROLE_FIELD:
            yield from emit(_ROLE_FIELD[role], party.get("email"))
        if role == "contact":
            yield from emit("contact_phone", party.get("phone"))
    if doc.kind == "contact":
        attrs = doc.meta.get("attributes") or {}
        for email in attrs.get("emails") or []:
            yield from emit("contact_email", email)
        for phone in attrs.get("phones") or []:
            yield from emit("contact_phone", phone)


def _table(twin: Twin) -> BlindIndexStore:
    store = twin.store(MEDIUM)
    table = BlindIndexStore(store)
    if table.exists():
        return table
    table.create()
    if store.count():  # a store written before the index existed: fill it once
        reindex(twin)
    return table


def index_documents(twin: Twin, docs: Iterable[Document]) -> int:
    """(Re)index MEDIUM documents; others are ignored. Returns the entries written."""
    docs = [d for d in docs if d.tier == MEDIUM]
    if not docs:
        return 0
    table = _table(twin)
    return table.replace(
        (doc.id, [(f, twin.keyring.blind_index(f, value)) for f, value in field_values(doc)]) for doc in docs
    )


def reindex(twin: Twin) -> int:
    """Index every MEDIUM document (for stores written before the index existed)."""
    store = twin.store(MEDIUM)
    ids = store.ids()
    n = 0
    for start in range(0, len(ids), 500):
        n += index_documents(twin, store.get_many(ids[start : start + 500]).values())
    return n


def lookup(twin: Twin, field_name: str, value: str) -> list[str]:
    """MEDIUM document ids whose ``field_name`` equals ``value`` (after normalisation)."""
    norm = normalise(field_name, value)
    if norm is None:
        return []
    return _table(twin).lookup(field_name, twin.keyring.blind_index(field_name, norm))


def remove(twin: Twin, doc_ids: Iterable[str]) -> int:
    ids = list(doc_ids)
    if not twin.store_path(MEDIUM).exists() or not ids:
        return 0
    return _table(twin).remove(ids)


def counts(twin: Twin) -> dict[str, int]:
    if not twin.store_path(MEDIUM).exists():
        return {}
    return _table(twin).counts()


def entries_for(twin: Twin, doc_id: str) -> int:
    """How many entries one document has."""
    if not twin.store_path(MEDIUM).exists():
        return 0
    return _table(twin).count_for(doc_id)
