"""Next-contact features on hand-made timelines, and the backtest's target (who counts as contact).

Fast: no demo, no model files. The backtest itself is ``python -m benchmarks.insights``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from twin_assets.insights import contacts
from twin_assets.insights.base import Interaction, owner_ids, service_senders, ts
from twin_assets.insights.data import InsightData
from twin_assets.insights.patterns import Pattern
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.records import Document
from twin_assets.stores import HIGH

C = 20_000.0  # a cut-off, in days since the epoch


def _i(t: float, direction: str, thread: str | None = "email:subject:plans") -> Interaction:
    return Interaction(t, "per_a", f"d{t}-{direction}", direction, HIGH, "email", thread)


def test_reply_debt_is_the_latest_unanswered_word():
    owed, awaited = contacts.debts([_i(C - 5, "sent"), _i(C - 2, "received")], C)
    assert owed is not None and owed.t == C - 2 and awaited is None
    owed, awaited = contacts.debts([_i(C - 5, "received"), _i(C - 2, "sent")], C)
    assert owed is None and awaited is not None and awaited.t == C - 2
    # Too old to be owed, and a meeting is no answer either way.
    assert contacts.debts([_i(C - contacts.DEBT_DAYS - 1, "received")], C) == (None, None)
    owed, _ = contacts.debts([_i(C - 3, "received"), _i(C - 1, "met")], C)
    assert owed is not None
    # Nothing at or after the cut-off is read.
    assert contacts.debts([_i(C, "received")], C) == (None, None)


def test_trend_and_decay():
    assert contacts.trend(10, 2, 30, 60) > 1.0  # rising
    assert contacts.trend(0, 20, 30, 60) < -1.0  # fading
    assert abs(contacts.trend(5, 11, 30, 60)) < 0.05  # the same rate (+1 smoothed)
    assert math.isclose(contacts.decayed([C - 14], C, 14), 0.5)
    assert contacts.decayed([C + 1], C, 14) == 0.0


def test_open_threads_need_a_back_and_forth():
    items = [_i(C - 3, "received"), _i(C - 2, "sent"), _i(C - 1, "received", "email:subject:other")]
    assert list(contacts.open_threads(items, C)) == ["email:subject:plans"]
    assert contacts.open_threads([_i(C - 30, "received"), _i(C - 29, "sent")], C) == {}


def test_scheduled_meetings_are_projected_into_the_horizon_only():
    cut = datetime(2025, 3, 3, 9, tzinfo=UTC)
    weekly = Pattern(
        "k",
        "meeting",
        "Sync",
        "weekly",
        [cut - timedelta(days=7 * k + 2) for k in range(6, -1, -1)],
        ["per_a"],
        [],
        [],
        1.0,
    )
    seven = contacts._scheduled([weekly], cut, cut + timedelta(days=7))
    thirty = contacts._scheduled([weekly], cut, cut + timedelta(days=30))
    assert len(seven["per_a"]) == 1 and len(thirty["per_a"]) == 4
    assert all(cut <= when < cut + timedelta(days=30) for _, when in thirty["per_a"])
    stale = Pattern(
        "k2", "meeting", "Old", "weekly", [cut - timedelta(days=100 + 7 * k) for k in range(5)], ["b"], [], [], 1
    )
    assert contacts._scheduled([stale], cut, cut + timedelta(days=30)) == {}


def _mail(i: str, when: datetime, sender: dict, to: list[dict], title: str, body: str = "Hi.", folder: str = "inbox"):
    parties = [{"role": "from", **sender}, *({"role": "to", **p} for p in to)]
    return Document(
        i, "email", "message", HIGH, when, title, body, {"parties": parties, "attributes": {"folder": folder}}
    )


def test_target_is_people_written_to_or_heard_from_once_per_message():
    me = {"name": "Pat Keller", "email": "pat.keller@corp.example"}
    alias = {"name": "Pat", "email": "pkeller@mail.corp.example"}
    bob = {"name": "Bob Stone", "email": "bob.stone@corp.example"}
    cousin = {"name": "Jo Keller", "email": "jo.keller@other.example"}
    shop = {"name": "Anna Weber", "email": "anna.weber@shop.example"}  # signs the newsletter
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    docs = []
    for k in range(6):  # the owner's mailbox: Bob and a cousin write, the owner answers
        t = start + timedelta(days=k)
        docs.append(_mail(f"b{k}", t, bob, [me], f"Budget {k}"))
        docs.append(_mail(f"s{k}", t + timedelta(hours=1), me, [bob, cousin], f"Re: Budget {k}", folder="sent"))
        docs.append(_mail(f"n{k}", t, shop, [me], f"Sale {k}", "Big sale.\n\nTo unsubscribe click here."))
    # After the cut-off: one message from Bob stored in two folders, a newsletter, a note from the
    # owner's other address, and a message to the cousin.
    late = start + timedelta(days=10)
    docs.append(_mail("late1", late, bob, [me], "Lunch?"))
    docs.append(_mail("late1-copy", late, bob, [me], "Lunch?", folder="all_documents"))
    docs.append(_mail("late2", late, shop, [me], "Sale again", "Unsubscribe here."))
    docs.append(_mail("late3", late, alias, [me], "note to self"))
    res = resolve(docs, options=ResolveOptions(text=False))
    by_email = {e: x.id for x in res.entities for e in x.aliases.get("emails") or []}
    owners = owner_ids(res)
    assert by_email["pat.keller@corp.example"] in owners and by_email["pkeller@mail.corp.example"] in owners
    assert by_email["jo.keller@other.example"] not in owners  # same surname elsewhere: a relative
    assert by_email["anna.weber@shop.example"] in service_senders(docs, res)

    full = InsightData.build(docs, res, late + timedelta(days=1))
    t = ts(late - timedelta(days=1))
    assert contacts.contacted(full, t, t + 7) == {by_email["bob.stone@corp.example"]}
    assert full.history.count(by_email["bob.stone@corp.example"], t, t + 7) == 1  # the copy counts once
    before = contacts.contacted(full, ts(start), t)
    assert before == {by_email["bob.stone@corp.example"], by_email["jo.keller@other.example"]}


def test_insight_cites_the_unanswered_message():
    me = {"name": "Pat Keller", "email": "pat.keller@corp.example"}
    bob = {"name": "Bob Stone", "email": "bob.stone@corp.example"}
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    docs = []
    for k in range(12):
        t = start + timedelta(days=7 * k)
        docs.append(_mail(f"b{k}", t, bob, [me], f"Week {k}"))
        docs.append(_mail(f"s{k}", t + timedelta(hours=2), me, [bob], f"Re: Week {k}"))
    docs.append(_mail("ask", start + timedelta(days=84), bob, [me], "Can you send the figures?"))
    res = resolve(docs, options=ResolveOptions(text=False))
    data = InsightData.build(docs, res, start + timedelta(days=86))
    found = contacts.next_contacts(data)
    assert found and found[0].subject.startswith("Bob Stone")
    assert "ask" in found[0].evidence
    assert any("not answered yet (record ask)" in r for r in found[0].reasoning)
    assert any("log-odds" in r for r in found[0].reasoning)


def test_backtest_cutoffs_span_the_active_period_and_baselines_skip_the_owner():
    from benchmarks.insights import contact_baselines, contact_cutoffs

    me = {"name": "Pat Keller", "email": "pat.keller@corp.example"}
    alias = {"name": "Pat", "email": "pkeller@mail.corp.example"}
    bob = {"name": "Bob Stone", "email": "bob.stone@corp.example"}
    shop = {"name": "Anna Weber", "email": "anna.weber@shop.example"}
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    docs = [_mail("stray", datetime(1980, 1, 1, tzinfo=UTC), bob, [me], "Clock reset")]  # a bad date
    for k in range(60):
        t = start + timedelta(days=3 * k)
        docs.append(_mail(f"b{k}", t, bob, [me], f"Item {k}"))
        docs.append(_mail(f"a{k}", t, alias, [me], f"Note {k}"))
        docs.append(_mail(f"n{k}", t, shop, [me], f"Sale {k}", "Deals.\n\nUnsubscribe here."))
    docs.append(_mail("s0", start, me, [bob], "Re: Item 0", folder="sent"))
    res = resolve(docs, options=ResolveOptions(text=False))
    end = start + timedelta(days=180)
    full = InsightData.build(docs, res, end)
    cuts = contact_cutoffs(full, 7, 7)
    assert len(cuts) >= 12 and cuts[0] >= start + timedelta(days=59) and cuts[-1] + timedelta(days=7) <= end
    assert all(b - a == timedelta(days=7) for a, b in pairwise(cuts))
    data = InsightData.build(docs, res, cuts[-1])
    by_email = {e: x.id for x in res.entities for e in x.aliases.get("emails") or []}
    for ranked in contact_baselines(data, ts(cuts[-1])).values():
        assert ranked == [by_email["bob.stone@corp.example"]]
