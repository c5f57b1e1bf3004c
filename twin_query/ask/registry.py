"""The question kinds ``ask()`` tries before the classic intents, in priority order (first match answers).

To add a kind: write a module with a ``KIND = Kind(name, description, matches, answer)`` (see
:mod:`twin_query.ask.base`) and list it here. Nothing else changes: the result, the refusal and the
reference-time rules are applied by ``ask()`` to every kind alike.
"""

from __future__ import annotations

from twin_query.ask.base import Kind
from twin_query.ask.extract import KIND as MESSAGE_FACT
from twin_query.ask.intent import Intent
from twin_query.ask.money import INCOME, RECURRING_PAYMENT
from twin_query.ask.people import KINDS as PEOPLE
from twin_query.ask.trips import NEXT_TRIP, TRIP_COMPANIONS, TRIP_COUNT, TRIP_WHEN
from twin_query.ask.upcoming import BIRTHDAY, BUSY_WITH, UPCOMING

KINDS: tuple[Kind, ...] = (
    RECURRING_PAYMENT,
    INCOME,
    BIRTHDAY,  # before the people kinds: "my boss' birthday" asks a date, not who the boss is
    *PEOPLE,
    TRIP_COUNT,
    TRIP_COMPANIONS,
    TRIP_WHEN,
    NEXT_TRIP,
    BUSY_WITH,
    UPCOMING,
    MESSAGE_FACT,  # last: what a message says, once no kind about the owner's own life has claimed the question
)


def kind_for(intent: Intent, kinds: tuple[Kind, ...] = KINDS) -> Kind | None:
    """The first kind whose rule matches the question."""
    q = intent.question.lower()
    return next((k for k in kinds if k.matches(q, intent)), None)
