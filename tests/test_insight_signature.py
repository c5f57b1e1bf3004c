"""The WebSocket's insights_changed signal: it moves when a view's insights differ, and only then.

A view whose inputs did not change is no longer rebuilt (tests/test_freshness.py), but a view is still
rewritten with exactly what it had whenever the model code changes. If that rewrite (new rowids, HIGH's
fresh cipher nonces, the first "built, but empty") moved the signature, a LOW subscriber would be told that
something arrived above its scopes. A fresh home and a few bank transactions: the insight steps need no
model.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_assets.insights.store import build_insights
from twin_assets.pipeline import model
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, MEDIUM, TIERS
from twin_query import views

pytestmark = pytest.mark.timeout(120)


def _rent(tier: str, months: range, amount: float = -1180.0, prefix: str = "rent") -> list[Document]:
    """Monthly rent: enough for a spending forecast and an upcoming commitment."""
    return [
        Document(
            f"{prefix}-{tier.lower()}-{m}",
            "bank_csv",
            "transaction",
            tier,
            datetime(2024, m, 1, 8, tzinfo=UTC),
            "Hausverwaltung",
            "Miete",
            {"parties": [{"role": "merchant", "name": "Hausverwaltung Kranich"}], "attributes": {"amount": amount}},
        )
        for m in months
    ]


def _rebuild(twin, view: str) -> int:
    """What the automation does to a view after any new document: its artifact kinds are swapped in
    again, insights last (so their rows get new rowids even when nothing changed)."""
    model.build_text(twin, view)
    model.build_timeline(twin, view)
    return build_insights(twin, view)["insights"]


def _insight_rows(twin, view: str) -> list[tuple[int, bytes]]:
    return (
        twin.store(view)
        .conn.execute("SELECT rowid, payload FROM artifacts WHERE kind = 'insight' ORDER BY id")
        .fetchall()
    )


def _has_artifacts_table(twin, view: str) -> bool:
    return bool(
        twin.store(view)
        .conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'artifacts'")
        .fetchone()
    )


@pytest.mark.parametrize("view", TIERS)
def test_built_without_insights_signals_the_same_as_not_built(twin, view):
    assert not _has_artifacts_table(twin, view), "precondition: the view was never materialized"
    before = views.insight_signature(twin, view)
    # Only a tier above this view (if any) has data: the view is built, with nothing in it.
    for tier in (t for t in TIERS if not t.readable_by(view)):
        twin.store(tier).put_many(_rent(tier, range(1, 6)))
    assert _rebuild(twin, view) == 0
    assert _has_artifacts_table(twin, view)
    assert views.insight_signature(twin, view) == before == ""


@pytest.mark.parametrize("view", TIERS)
def test_an_identical_rebuild_keeps_the_signature(twin, view):
    twin.store(view).put_many(_rent(view, range(1, 6)))
    assert _rebuild(twin, view) > 0
    signature, rows = views.insight_signature(twin, view), _insight_rows(twin, view)
    assert signature
    assert _rebuild(twin, view) == len(rows)
    assert _insight_rows(twin, view) == rows, "an identical rebuild leaves its rows as they are"
    # Rewritten rows (new rowids, new ciphertext) with the same content keep the signature too.
    with twin.store(view).conn as conn:
        conn.execute("UPDATE artifacts SET digest = NULL")
    assert _rebuild(twin, view) == len(rows)
    rewritten = _insight_rows(twin, view)
    assert rewritten != rows, "the rebuild rewrote the rows (or this test proves nothing)"
    assert views.insight_signature(twin, view) == signature


def test_a_higher_tier_arrival_moves_only_the_views_that_read_it(twin):
    for tier in (LOW, MEDIUM):
        twin.store(tier).put_many(_rent(tier, range(1, 6), amount=-400.0 if tier == LOW else -700.0))
    for view in TIERS:
        _rebuild(twin, view)
    before = {view: views.insight_signature(twin, view) for view in TIERS}
    assert all(before.values())
    twin.store(HIGH).put_many(_rent(HIGH, range(1, 8), amount=-2500.0, prefix="big"))
    for view in TIERS:
        _rebuild(twin, view)
    after = {view: views.insight_signature(twin, view) for view in TIERS}
    assert after[LOW] == before[LOW] and after[MEDIUM] == before[MEDIUM]
    assert after[HIGH] != before[HIGH]


@pytest.mark.parametrize("view", TIERS)
def test_changed_insights_change_the_signature(twin, view):
    twin.store(view).put_many(_rent(view, range(1, 6)))
    _rebuild(twin, view)
    first = views.insight_signature(twin, view)
    twin.store(view).put_many(_rent(view, range(6, 9), amount=-1400.0, prefix="raised"))
    _rebuild(twin, view)
    second = views.insight_signature(twin, view)
    assert second and second != first
    twin.store(view).delete([d.id for d in _rent(view, range(1, 6)) + _rent(view, range(6, 9), prefix="raised")])
    assert _rebuild(twin, view) == 0
    assert views.insight_signature(twin, view) == ""
