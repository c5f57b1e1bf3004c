"""Money questions a total does not answer: a recurring payment ("how much is my monthly rent?") and income
without the owner's transfers between their own accounts.

A recurring payment is found, not configured: the same payee paid the same kind of amount at a steady interval
(monthly, weekly, quarterly, yearly). Its answer is the latest amount paid by the reference time.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from twin_assets.processing.names import fold
from twin_assets.records import Document
from twin_query import views
from twin_query.ask.base import Context, Kind, Reply, fact
from twin_query.ask.intent import CATEGORY_TERMS, CATEGORY_WORDS, Intent
from twin_query.ask.retrieve import amount_of, bounded, doc_words, matches_terms

_RECURRING = re.compile(
    r"\b(?:monthly|weekly|yearly|annual|quarterly|per month|a month|each month|every month|per year|a year)\b"
    r".*\b(?:rent|fee|payment|bill|subscription|membership|insurance|premium|cost|costs|pay|paying|rate)\b"
    r"|\bhow much is (?:my|the) (?:rent|\w+ (?:fee|subscription|membership|bill|insurance|premium))\b"
    r"|\bhow much (?:do|does|did) (?:i|my) (?:pay|spend)\b.*\b(?:per|a|each|every) (?:month|week|year)\b"
    r"|\bwhat(?:'s|s| is) (?:my|the) (?:monthly |current )?(?:rent|\w+ subscription|\w+ membership)\b"
    r"|\b(?:rent|subscription|membership|insurance|gym|fee)\b.*\b(?:each|every|per|a) (?:month|week|year)\b"
)
_INCOME = re.compile(
    r"\bearn(?:ed|ings)?\b|\bincome\b|\bsalary\b|\bmade\b.*\bmoney\b|\bgot paid\b|\bmoney (?:came|coming) in\b"
    r"|\bmoney (?:did|have) i (?:receive|get|got)\b|\bhow much (?:did|have) i (?:receive|received)\b"
)
# Transfers between the owner's own accounts, in the words banks use for them.
_OWN_TRANSFER = re.compile(
    r"(?i)\b(?:umbuchung|übertrag|eigenes? konto|eigene konten|own account|between (?:my|own) accounts"
    r"|account transfer|internal transfer|savings transfer|sparplan|virement interne|traspaso)\b"
)
PERIODS = ((7, "week", "weekly"), (30.4, "month", "monthly"), (91.3, "quarter", "quarterly"), (365.2, "year", "yearly"))


def _period_of(gaps: list[float]) -> tuple[str, str] | None:
    if not gaps:
        return None
    median = statistics.median(gaps)
    for days, unit, adjective in PERIODS:
        if abs(median - days) <= days * 0.2:
            return unit, adjective
    return None


def recurring(payments: list[tuple[Document, float, str]]) -> tuple[str, str, list[tuple[Document, float, str]]] | None:
    """The steadiest recurring series among ``payments`` (same payee, steady interval), latest first."""
    by_payee: dict[str, list[tuple[Document, float, str]]] = defaultdict(list)
    for row in payments:
        by_payee[fold(row[0].title or "")].append(row)
    best = None
    for rows in by_payee.values():
        rows.sort(key=lambda r: r[0].event_time or datetime.min)
        times = [r[0].event_time for r in rows if r[0].event_time]
        if len(times) < 2:  # two payments a steady period apart already make a series (a new lease)
            continue
        gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
        period = _period_of(gaps)
        if period is None:
            continue
        key = (len(rows) >= 3, len(rows), times[-1])
        if best is None or key > best[0]:
            best = (key, period, rows)
    if best is None:
        return None
    _key, (unit, adjective), rows = best
    return unit, adjective, rows[::-1]


def _self_words(ctx: Context) -> list[str]:
    me = ctx.vd.entity(ctx.vd.self_id) if ctx.vd.self_id else None
    return [fold(n) for n in ([me.name, *me.aliases.get("names", [])] if me else []) if len(fold(n).split()) >= 2]


def own_transfer(ctx: Context, doc: Document, self_words: list[str] | None = None) -> bool:
    """A transfer between the owner's own accounts: named so by the bank, or paid to or from the owner's name."""
    if _OWN_TRANSFER.search(f"{doc.title}\n{doc.body}"):
        return True
    title = " " + fold(doc.title or "") + " "
    return any(f" {w} " in title for w in (self_words if self_words is not None else _self_words(ctx)))


def _transactions(ctx: Context, since: datetime | None, until: datetime | None) -> list[tuple[Document, float, str]]:
    evs = [
        e for e in views.events_in(ctx.twin(), ctx.vd, since, until) if e.kind == "transaction" and e.tier in ctx.tiers
    ]
    docs = views.fetch_docs(ctx.twin(), ctx.tiers, [e.doc_id for e in evs])
    out = []
    for e in evs:
        d = docs.get(e.doc_id)
        got = amount_of(d) if d else None
        if d is not None and got is not None:
            out.append((d, got[0], got[1]))
    return out


_SKIP = frozenset(
    {"monthly", "weekly", "yearly", "annual", "quarterly", "fee", "fees", "bill", "bills", "payment", "cost", "costs"}
    | {"rate", "current", "each", "every", "per"}
)


def _terms(it: Intent, q: str) -> list[tuple[str, list[str]]]:
    """What to look for, most specific first: the payee the question names ("my Netflix subscription"), then
    the spending category its words name ("rent", "gym")."""
    out: list[tuple[str, list[str]]] = []
    category = None
    for phrase, cat in sorted(CATEGORY_WORDS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{re.escape(phrase)}\b", q):
            category = (phrase, cat)
            break
    cat_words = set(category[0].split()) if category else set()
    words = [k for k in it.keywords if k not in _SKIP and k not in cat_words and k not in CATEGORY_WORDS]
    if words:
        out.append((" ".join(words), words))
    if category:
        out.append((category[0], list(CATEGORY_TERMS[category[1]])))
    return out or [("payment", [])]


def _recurring_payment(ctx: Context) -> Reply:
    wanted = _terms(ctx.intent, ctx.question)
    what = wanted[0][0]
    r = Reply("", unknown=f"how much your {what} payment is")
    # The last year and a bit holds any monthly or weekly series and its current amount; reading every payment
    # ever made would cost a pass over all of them at a large home.
    rows = [row for row in _transactions(ctx, ctx.now - timedelta(days=400), ctx.now) if row[1] < 0]
    series = None
    for what, terms in wanted:
        matched = [row for row in rows if terms and matches_terms(doc_words(row[0]), terms)]
        r.step(f"Payments in the year to {ctx.now.date().isoformat()} matching “{what}”: {len(matched)}.", [])
        series = recurring(matched)
        if series is not None:
            break
    if series is None:
        r.text = f"I found no recurring {what} payment in the records this token can read."
        return r
    unit, adjective, latest = series
    doc, amount, currency = latest[0]
    shown = [d.id for d, _a, _c in latest[:4]]
    r.docs.update({d.id: d for d, _a, _c in latest[:4]})
    assert doc.event_time is not None
    r.step(
        f"{len(latest)} {adjective} payments to “{doc.title}”; the latest, on {doc.event_time.date().isoformat()}, "
        f"was {abs(amount):,.2f} {currency}.",
        shown,
    )
    value = abs(amount)
    paid = doc.event_time.date().isoformat()
    r.text = f"You pay {value:,.2f} {currency} a {unit} for {what} ({doc.title}, latest on {paid})."
    r.fact = fact("amount", {"amount": round(value, 2), "currency": currency}, f"{value:,.2f} {currency} a {unit}")
    r.confidence = 0.8
    return r


def _income(ctx: Context) -> Reply:
    it = ctx.intent
    since, until = bounded(it)
    label = it.time.label if it.time else "over all time"
    r = Reply("", unknown=f"how much you earned {label}")
    mine = _self_words(ctx)
    rows = [row for row in _transactions(ctx, since, until) if row[1] > 0]
    kept = [row for row in rows if not own_transfer(ctx, row[0], mine)]
    dropped = [row for row in rows if row not in kept]
    if it.keywords:  # "income from Helio Labs": only that payer
        narrowed = [row for row in kept if matches_terms(doc_words(row[0]), it.keywords)]
        kept = narrowed or kept
    r.step(f"Money received {label}: {len(rows)} transaction(s).", [])
    if dropped:
        r.docs.update({d.id: d for d, _a, _c in dropped[:3]})
        r.step(f"Left out {len(dropped)} transfer(s) between your own accounts.", [d.id for d, _a, _c in dropped[:3]])
    if not kept:
        r.text = f"No income {label} in the records this token can read."
        r.fact, r.confidence = fact("amount", {"amount": 0.0, "currency": ""}, "nothing"), 0.55
        return r
    totals: dict[str, float] = defaultdict(float)
    for _d, amount, cur in kept:
        totals[cur] += amount
    currency, total = max(totals.items(), key=lambda kv: kv[1])
    largest = sorted(kept, key=lambda row: -row[1])[:5]
    r.docs.update({d.id: d for d, _a, _c in largest})
    r.step(f"Summed {len(kept)} payment(s): {total:,.2f} {currency}.", [d.id for d, _a, _c in largest])
    r.text = f"You earned {total:,.2f} {currency} {label}, over {len(kept)} payment(s)."
    r.fact = fact("amount", {"amount": round(total, 2), "currency": currency}, f"{total:,.2f} {currency}")
    r.confidence = 0.75
    return r


RECURRING_PAYMENT = Kind(
    "recurring_payment",
    "the amount of a recurring payment (rent, a subscription)",
    lambda q, _i: bool(_RECURRING.search(q)),
    _recurring_payment,
)
INCOME = Kind(
    "income",
    "money received in a period, without transfers between own accounts",
    lambda q, _i: bool(_INCOME.search(q)) and not re.search(r"\bspen[dt]\b", q),
    _income,
)
