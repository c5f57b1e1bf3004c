"""Loads, in the background once the API has started, what a first question would otherwise wait for: the
embedding model, the HIGH vector index, and each served view's entities, timeline events and graph. At a million
records the first question after a start waited ~20 s for the events alone.

Only the views some active token can read are loaded, so the memory taken is what serving those tokens takes
anyway. Requests arriving meanwhile are answered; one that needs a part being loaded waits for that load rather
than starting a second. ``TWIN_API_WARM=off`` leaves everything to the first request.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from sqlalchemy import select

from twin_assets.db.models import ApiToken
from twin_assets.tiers import Grant, Tier
from twin_assets.twin import Twin
from twin_query.service import QueryService

log = logging.getLogger("twin.api")


def enabled() -> bool:
    """``TWIN_API_WARM``."""
    from twin_assets.settings import get_settings

    return get_settings().api.warm


def served_views(twin: Twin) -> list[Tier]:
    """The view each active token reads (its highest tier), highest first."""
    with twin.session() as s:
        scopes = s.scalars(select(ApiToken.scopes).where(ApiToken.revoked.is_(False))).all()
    views = {Grant(tuple(token_scopes.split(","))).view for token_scopes in scopes}
    return [v for v in Tier.highest_first() if v in views]


def warm(service: QueryService) -> dict[str, float]:
    """Load everything for the served views into ``service``; seconds per part (names of parts only, never
    content)."""
    from twin_query import views

    took: dict[str, float] = {}
    try:
        twin = service.twin()
        served = served_views(twin)
        for view in served:
            t0 = time.perf_counter()
            vd = service.view_data(view)
            views.events_in(twin, vd, None, None)
            service.view_graph(view)
            took[view] = round(time.perf_counter() - t0, 2)
        if served:
            t0 = time.perf_counter()
            # A search over the widest served view loads the query model and, with HIGH, the vector index.
            service.search("warm up", tiers=list(Tier.max_of(*served).reads()), k=1)
            took["search"] = round(time.perf_counter() - t0, 2)
    finally:
        service.release()  # this thread ends here; requests read through their own handles
    return took


def start(service: QueryService) -> threading.Thread | None:
    if not enabled():
        return None

    def run() -> None:
        try:
            took = warm(service)
            if took:
                print("twin serve: loaded " + ", ".join(f"{k} in {v:.1f} s" for k, v in took.items()), file=sys.stderr)
        except Exception as exc:  # the first request loads whatever is missing; say only what failed
            log.warning("warm-up stopped: %s", type(exc).__name__)

    thread = threading.Thread(target=run, name="twin-warm-up", daemon=True)
    thread.start()
    return thread
