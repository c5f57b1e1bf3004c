"""The kinds of fact an answer can state: one list for the answerers and the API's schema (docs/api.md gives
each kind's value)."""

from __future__ import annotations

from typing import Literal, get_args

FactKind = Literal[
    "person",
    "people",
    "date",
    "datetime",
    "range",
    "amount",
    "count",
    "place",
    "organisation",
    "relation",
    "event",
    "events",
    "trend",
    "yes_no",
    "text",
]
FACT_KINDS: tuple[str, ...] = get_args(FactKind)
