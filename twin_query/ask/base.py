"""The answer contract (``as_of``, ``fact``, ``confidence``, ``refused``) and the types a question kind is made of.

A question kind is a :class:`Kind`: a name, a ``matches(question, intent)`` rule and an ``answer(ctx)`` function
returning a :class:`Reply`. Kinds live in their own modules (``trips.py``, ``money.py``, ``upcoming.py`` ...)
and are listed, in priority order, in :mod:`twin_query.ask.registry`; ``ask()`` tries them before the classic
intents (search, profile, relationship, timeline, aggregate, prediction, topic), which
:mod:`twin_query.ask.reason` composes. Every answer then passes :func:`finish`: below
:data:`REFUSE_BELOW` the twin says what it does not know and shows the nearest evidence instead of a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from twin_assets.processing.resolution import Entity
from twin_assets.records import Document
from twin_query import views
from twin_query.ask.facts import FACT_KINDS
from twin_query.ask.intent import Intent
from twin_query.service import QueryService

# Below this confidence an answer is refused: "I don't know …", no fact, the nearest evidence shown.
REFUSE_BELOW = 0.5
MAX_EVIDENCE = 40


@dataclass
class Context:
    """One question being answered: the caller's view, its tiers and the one reference time (``intent.now``)."""

    service: QueryService
    tiers: tuple[str, ...]
    vd: views.ViewData
    intent: Intent
    k: int = 10

    @property
    def now(self) -> datetime:
        assert self.intent.now is not None  # parse() always sets it
        return self.intent.now

    @property
    def question(self) -> str:
        return self.intent.question.lower()

    def twin(self) -> Any:
        return self.service.twin()

    def by_now(self, doc: Document) -> bool:
        """Whether a record is dated by the reference time (undated records are timeless)."""
        t = views.as_utc(doc.event_time)
        return t is None or t <= self.now

    def events_until_now(self, since: datetime | None = None) -> list[Any]:
        """The view's timeline events in ``[since, now]`` this caller may read (nothing after the reference time)."""
        return [e for e in views.events_in(self.twin(), self.vd, since, self.now) if e.tier in self.tiers]


@dataclass
class Reply:
    """A kind's answer: the fact first, then the steps that led to it, each citing record ids."""

    text: str
    fact: dict[str, Any] | None = None
    confidence: float = 0.0
    unknown: str = "the answer to that"  # "I don't know <unknown>." when refused
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    docs: dict[str, Document] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    future: bool = False  # about what is scheduled: scheduled records after the reference time may be cited

    def step(self, text: str, ids: list[str] | None = None) -> None:
        self.steps.append((text, list(ids or [])))


@dataclass(frozen=True)
class Kind:
    """A question kind: ``matches`` decides from the lower-cased question and the parsed intent (names, time
    range, amounts already resolved); ``answer`` builds the reply."""

    name: str
    description: str
    matches: Callable[[str, Intent], bool]
    answer: Callable[[Context], Reply]


# ---- facts --------------------------------------------------------------------------------------
def fact(kind: str, value: Any, text: str) -> dict[str, Any]:
    assert kind in FACT_KINDS, kind
    return {"kind": kind, "value": value, "text": text}


def person(e: Entity) -> dict[str, str]:
    return {"id": e.id, "name": e.name}


def day(t: datetime | date | None) -> str | None:
    return t.strftime("%Y-%m-%d") if t else None


def event_value(title: str, start: datetime, end: datetime | None = None, place: str | None = None) -> dict[str, Any]:
    return {"title": title, "start": start.isoformat(), "end": end.isoformat() if end else None, "place": place}


def human_day(t: datetime | date) -> str:
    """'Tue 12 May 2026'."""
    return f"{t.strftime('%a')} {t.day} {t.strftime('%b %Y')}"


def human_span(start: datetime | date, end: datetime | date | None) -> str:
    """'12–16 May 2026', '30 Apr – 2 May 2026', or one day."""
    if end is None or end == start:
        return f"{start.day} {start.strftime('%b %Y')}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end.strftime('%b %Y')}"
    if start.year == end.year:
        return f"{start.day} {start.strftime('%b')} – {end.day} {end.strftime('%b %Y')}"
    return f"{start.day} {start.strftime('%b %Y')} – {end.day} {end.strftime('%b %Y')}"


# ---- the result dict ------------------------------------------------------------------------------
def render(reply: Reply, intent: Intent, name: str, interpretation: str) -> dict[str, Any]:
    """A kind's reply as the ask result (the same shape :func:`twin_query.ask.reason.compose` returns)."""
    steps: list[dict[str, Any]] = [{"step": 1, "text": interpretation, "evidence": []}]
    cited: list[str] = []
    for text, ids in reply.steps:
        keep = [i for i in dict.fromkeys(ids) if i in reply.docs]
        cited += keep
        steps.append({"step": len(steps) + 1, "text": text, "evidence": keep})
    cited = list(dict.fromkeys(cited))[:MAX_EVIDENCE]
    shown = set(cited)
    for s in steps:
        s["evidence"] = [i for i in s["evidence"] if i in shown]
    return {
        "intent": name,
        "answer": reply.text,
        "reasoning": steps,
        "evidence": [views.evidence_item(reply.docs[i], reply.terms) for i in cited],
        "slots": intent.slots(),
        "answered_by": "rules",
        "fact": reply.fact,
        "confidence": round(max(0.0, min(1.0, reply.confidence)), 2),
        "unknown": reply.unknown,
        "future": reply.future,
    }


def finish(result: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    """Apply the contract to any result: the reference time, no evidence after it (except scheduled records a
    question about the future rests on), and a refusal below :data:`REFUSE_BELOW`."""
    future = bool(result.pop("future", False))
    unknown = str(result.pop("unknown", "") or "the answer to that")
    if not future:
        late = {
            e["id"]
            for e in result["evidence"]
            if (t := views.as_utc(views.parse_time(e.get("timestamp")))) is not None and t > as_of
        }
        if late:
            result["evidence"] = [e for e in result["evidence"] if e["id"] not in late]
            for s in result["reasoning"]:
                s["evidence"] = [i for i in s["evidence"] if i not in late]
    confidence = float(result.get("confidence") or 0.0)
    fact_value = result.get("fact")
    result["as_of"] = as_of.isoformat()
    result["confidence"] = round(max(0.0, min(1.0, confidence)), 2)
    refused = fact_value is None or confidence < REFUSE_BELOW
    result["refused"] = refused
    if refused:
        result["fact"] = None
        titles = [f"“{' '.join(e['title'].split())[:80]}”" for e in result["evidence"][:3] if e.get("title")]
        nearest = f" The nearest records: {', '.join(titles)}." if titles else ""
        result["answer"] = f"I don't know {unknown}.{nearest}"
        result["reasoning"].append(
            {
                "step": len(result["reasoning"]) + 1,
                "text": f"Confidence {result['confidence']:.2f} is below {REFUSE_BELOW:.2f}: not stated as a fact.",
                "evidence": [],
            }
        )
    return result
