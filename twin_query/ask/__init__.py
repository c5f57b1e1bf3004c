"""Questions in plain language: intent → retrieval (hybrid search + graph) → reasoning with evidence.

``ask(service, question, tiers=...)`` answers from the view of the highest tier in
``tiers`` and cites only records of those tiers. The default path uses no
language model and no network; see :mod:`twin_query.ask.llm` for the optional one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twin_assets.tiers import TIERS, view_for
from twin_query import views
from twin_query.ask import llm, people
from twin_query.ask.base import Context, finish, render
from twin_query.ask.intent import INTENTS, Intent, parse
from twin_query.ask.reason import compose, interpretation
from twin_query.ask.registry import KINDS, kind_for
from twin_query.ask.retrieve import (
    Found,
    do_aggregate,
    do_prediction,
    do_profile,
    do_relationship,
    do_search,
    do_timeline,
    do_topic,
)
from twin_query.service import QueryService

__all__ = ["INTENTS", "KINDS", "Intent", "ask", "parse"]


def ask(
    service: QueryService,
    question: str,
    *,
    tiers: tuple[str, ...] | list[str] = TIERS,
    as_of: datetime | None = None,
    k: int = 10,
    use_llm: bool | None = None,
) -> dict[str, Any]:
    """``{"intent", "answer", "reasoning": [...], "evidence": [...], "slots", "answered_by", "as_of", "fact",
    "confidence", "refused"}`` (docs/api.md). ``as_of`` (else now) is the one reference time of the question."""
    tiers = tuple(t for t in TIERS if t in set(tiers))
    view = view_for(tiers)
    vd = service.view_data(view) if view else None
    now = views.as_utc(as_of) or datetime.now(UTC)
    intent = parse(question, vd, now)
    if vd is not None:
        people.resolve_roles(service.twin(), vd, intent)  # "my mom", "my boss": the view's person, as of now
    found = Found(intent)
    kind = kind_for(intent) if vd is not None else None
    if kind is not None and vd is not None:
        intent.name = kind.name
        reply = kind.answer(Context(service, tiers, vd, intent, k))
        result = render(reply, intent, kind.name, interpretation(found))
    else:
        result = _classic(service, tiers, vd, found, k)
    result = finish(result, now)
    config = llm.config_from_env() if use_llm is not False else None
    if config is not None and result["evidence"] and not result["refused"]:
        text = llm.rephrase(question, result, config)
        if text:
            result["answer"], result["answered_by"] = text, "llm"
    return result


def _classic(
    service: QueryService, tiers: tuple[str, ...], vd: views.ViewData | None, found: Found, k: int
) -> dict[str, Any]:
    """The intents that predate the kind registry."""
    intent = found.intent
    if vd is not None:
        twin = service.twin()
        name = intent.name
        if name in ("person_profile", "relationship") and not intent.entities:
            do_search(service, tiers, found, k)
        elif name == "person_profile":
            do_profile(service, tiers, vd, found)
        elif name == "relationship":
            do_relationship(service, tiers, vd, found)
        elif name == "timeline":
            do_timeline(twin, tiers, vd, found, k)
        elif name == "aggregate":
            do_aggregate(twin, tiers, vd, found)
        elif name == "prediction":
            do_prediction(twin, tiers, vd, found, k)
        elif name == "topic":
            do_topic(service, tiers, vd, found, k)
        else:
            do_search(service, tiers, found, k)
    return compose(found, vd)
