"""spending: next month's spending per category, and anomalous transactions.

Categories come from a transaction's own ``category`` attribute when the source gives one, else from
its merchant (a keyword table in several languages; payments to a known person are "people";
transfers between the owner's own accounts are left out). The forecast per category is

    recurring part  — regular payments (rent, bills, subscriptions) projected into the month, plus
    variable part   — the median monthly total of everything else over the last 6 months,
                      anomalous transactions left out.

The stated 80% range comes from the model's relative errors at 12 earlier monthly cut-offs, and
the score is the share of those earlier forecasts for this category whose actual fell in the range
(shrunk toward the pooled share): a frequency-calibrated probability.

Anomalies: a debit in the last 30 days whose log-amount is far from its reference (the merchant's
earlier debits, else the category's, else all) by a robust z-score (median and MAD). Members of a
regular payment pattern are expected, not anomalous. The score is the share of the reference
transactions that are less extreme (frequency-based).
"""

from __future__ import annotations

import bisect
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from dateutil.relativedelta import relativedelta

from twin_assets.insights.base import SPENDING, Insight, tier_of
from twin_assets.insights.data import InsightData
from twin_assets.insights.patterns import Pattern, amount_of, merchant_key, merchant_of, payment_patterns
from twin_assets.processing.names import fold
from twin_assets.records import Document
from twin_assets.tiers import Tier

OWN_TRANSFER = "own transfers"
CATEGORIES: list[tuple[str, str]] = [
    ("housing", r"miete|rent\b|hausverwaltung|loyer|alquiler|huur|affitto|nebenkosten|wohnungsbau"),
    (OWN_TRANSFER, r"umbuchung|uebertrag|übertrag|own account|eigenes konto|sparplan|savings transfer"),
    (
        "groceries",
        r"rewe|edeka|lidl|aldi|netto|penny|kaufland|denns|bio company|supermar|grocer|tesco|carrefour|"
        r"\bspar\b|alnatura|biomarkt|lebensmittel|migros|coop",
    ),
    (
        "eating out",
        r"restaurant|cafe|café|pizz|sushi|\bpho\b|trattoria|burger|falafel|meze|bistro|\bbar\b|kebab|"
        r"imbiss|coffee|starbucks|lieferando|bakery|backerei|bäckerei|deliveroo|wolt",
    ),
    (
        "transport",
        r"\bbvg\b|fernverkehr|deutsche bahn|\bdb\b|scooter|free now|taxi|uber|\blime\b|tankstelle|"
        r"\bshell\b|\baral\b|\bmvg\b|ticket|parking|parken",
    ),
    ("travel", r"\bair\b|airline|airways|hotel|staybook|booking\.com|airbnb|hostel|lufthansa|ryanair|easyjet"),
    (
        "subscriptions",
        r"streamflix|netflix|spotify|tunebox|cloudstash|\babo\b|subscription|icloud|prime video|"
        r"disney|\bplus\b",
    ),
    (
        "utilities & phone",
        r"stadtwerke|strom|\bgas\b|wasser|internet|mobilfunk|telekom|vodafone|\bo2\b|kiez-net|"
        r"energie|electricity",
    ),
    ("insurance", r"versicherung|haftpflicht|insurance|vvag|allianz|krankenkasse"),
    ("cash", r"geldautomat|\batm\b|bargeld|cash withdrawal"),
    ("health & drugstore", r"drogerie|rossmann|apotheke|pharmacy|\bdm\b|arzt|praxis"),
    (
        "shopping",
        r"ikea|electro|zalora|amazon|\bshop\b|bookshop|buchhandlung|fahrrad|juwelier|mediamarkt|saturn|"
        r"zalando|h&m|store",
    ),
    ("sport & leisure", r"boulder|fitness|\bgym\b|kino|cinema|museum|theater|theatre|concert"),
    ("taxes & fees", r"finanzamt|steuer|\btax\b|gebühr|gebuhr|fee\b"),
]
_COMPILED = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in CATEGORIES]
LOOKBACK = 30  # days in which anomalies are reported
Z_FLAG = 3.5
MIN_ANOMALY = 50.0
MAD_FLOOR = 0.15  # in log-amount: a merchant that always charges the same still varies a little
HISTORY_MONTHS = 6
CALIBRATION_CUTOFFS = 12


def _people_names(data: InsightData) -> set[str]:
    return {
        fold(n)
        for e in data.resolution.entities
        if e.kind == "person" and not e.is_self
        for n in [e.name, *e.aliases.get("names", [])]
        if n and " " in n
    }


def _own_names(data: InsightData) -> list[str]:
    me = data.resolution.get(data.resolution.self_id) if data.resolution.self_id else None
    return [fold(n) for n in ([me.name, *me.aliases.get("names", [])] if me else []) if n and " " in n]


class Categoriser:
    def __init__(self, data: InsightData) -> None:
        self.people = _people_names(data)
        self.own = _own_names(data)

    def __call__(self, doc: Document) -> str:
        attrs = (doc.meta or {}).get("attributes") or {}
        if isinstance(attrs.get("category"), str) and attrs["category"].strip():
            return attrs["category"].strip().lower()
        merchant = merchant_of(doc)
        text = f"{merchant} {doc.body or ''}"
        folded = fold(merchant)
        if any(own in folded for own in self.own):
            return OWN_TRANSFER
        for name, rx in _COMPILED:
            if rx.search(merchant):
                return name
        if folded in self.people:
            return "people"
        for name, rx in _COMPILED:
            if rx.search(text):
                return name
        return "other"


@dataclass
class Debit:
    doc: Document
    t: datetime
    amount: float  # positive
    category: str
    merchant: str


def debits(data: InsightData) -> list[Debit]:
    cat = Categoriser(data)
    out = []
    for d in data.transactions:
        a = amount_of(d)
        if a is None or a >= 0:
            continue
        c = cat(d)
        if c == OWN_TRANSFER:
            continue
        out.append(Debit(d, d.event_time, -a, c, merchant_key(merchant_of(d))))  # type: ignore[arg-type]
    out.sort(key=lambda x: (x.t, x.doc.id))
    return out


def _window_total(items: Sequence[Debit], start: datetime, end: datetime) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for x in items:
        if start <= x.t < end:
            out[x.category] += x.amount
    return out


# ---- anomalies -----------------------------------------------------------------------------------


@dataclass
class Anomaly:
    debit: Debit
    z: float
    median: float
    reference: str
    n_ref: int
    percentile: float
    ref_tiers: list[str]


class DebitIndex:
    """Debits in time order with per-merchant and per-category positions, for "everything earlier"."""

    def __init__(self, items: Sequence[Debit]) -> None:
        self.items = list(items)
        self.times = [x.t for x in self.items]
        self.logs = np.array([math.log(max(x.amount, 0.01)) for x in self.items])
        self.by_merchant: dict[str, list[int]] = defaultdict(list)
        self.by_category: dict[str, list[int]] = defaultdict(list)
        for i, x in enumerate(self.items):
            self.by_merchant[x.merchant].append(i)
            self.by_category[x.category].append(i)

    def earlier(self, t: datetime) -> int:
        return bisect.bisect_left(self.times, t)

    @staticmethod
    def head(positions: list[int], n: int) -> list[int]:
        return positions[: bisect.bisect_left(positions, n)]


def _reference(index: DebitIndex, x: Debit, n: int) -> tuple[str, list[int]] | None:
    """What a debit is compared with: the merchant's earlier debits, else the category's, else all."""
    for label, pool, need in (
        ("earlier payments to this merchant", index.head(index.by_merchant[x.merchant], n), 5),
        (f"earlier '{x.category}' debits", index.head(index.by_category[x.category], n), 10),
        ("earlier debits", list(range(n)), 10),
    ):
        if len(pool) >= need:
            return label, pool
    return None


def anomalies(
    data: InsightData,
    items: Sequence[Debit] | DebitIndex,
    cutoff: datetime,
    lookback: int = LOOKBACK,
    expected: set[str] | None = None,
) -> list[Anomaly]:
    """Unusual debits in [cutoff - lookback days, cutoff)."""
    index = items if isinstance(items, DebitIndex) else DebitIndex(items)
    start = cutoff - timedelta(days=lookback)
    expected = expected or set()
    out = []
    for pos in range(index.earlier(start), index.earlier(cutoff)):
        x = index.items[pos]
        if x.doc.id in expected or x.amount < MIN_ANOMALY:
            continue
        ref = _reference(index, x, index.earlier(x.t))
        if ref is None:
            continue
        label, pool = ref
        logs = index.logs[pool]
        med = float(np.median(logs))
        mad = max(float(np.median(np.abs(logs - med))) * 1.4826, MAD_FLOOR)
        z = (math.log(x.amount) - med) / mad
        if z < Z_FLAG or x.amount < 3 * math.exp(med):
            continue
        zs = np.abs((logs - med) / mad)
        percentile = float((zs < z).sum() + 1) / (len(zs) + 2)
        out.append(
            Anomaly(
                x,
                z,
                math.exp(med),
                label,
                len(pool),
                percentile,
                sorted({index.items[i].doc.tier for i in pool}, key=Tier.parse),
            )
        )
    out.sort(key=lambda a: -a.z)
    return out


# ---- forecast ------------------------------------------------------------------------------------


@dataclass
class Forecast:
    category: str
    value: float
    recurring: float
    variable: float
    monthly: list[float]
    patterns: list[Pattern]
    evidence: list[Document]


def forecast_at(data: InsightData, items: Sequence[Debit], cutoff: datetime) -> dict[str, Forecast]:
    """Forecast per category for [cutoff, cutoff + 1 month), from debits before ``cutoff``."""
    before = [x for x in items if x.t < cutoff]
    if not before:
        return {}
    end = cutoff + relativedelta(months=1)
    cat_of_doc = {x.doc.id: x.category for x in before}
    txs = [x.doc for x in before]
    patterns = [p for p in payment_patterns(txs) if (p.amount or 0) < 0 and p.active(cutoff)]
    in_pattern = {i for p in patterns for i in p.evidence}
    unusual = {
        a.debit.doc.id for a in anomalies(data, before, cutoff, lookback=HISTORY_MONTHS * 31, expected=in_pattern)
    }
    recurring: dict[str, float] = defaultdict(float)
    pats: dict[str, list[Pattern]] = defaultdict(list)
    for p in patterns:
        n = len(p.project(cutoff, end))
        if n:
            cat = cat_of_doc.get(p.evidence[-1], "other")
            recurring[cat] += n * abs(p.amount or 0.0)
            pats[cat].append(p)
    variable_items = [x for x in before if x.doc.id not in in_pattern and x.doc.id not in unusual]
    monthly: dict[str, list[float]] = defaultdict(lambda: [0.0] * HISTORY_MONTHS)
    for k in range(HISTORY_MONTHS):
        s, e = cutoff - relativedelta(months=k + 1), cutoff - relativedelta(months=k)
        for cat, total in _window_total(variable_items, s, e).items():
            monthly[cat][k] = total
    first = before[0].t
    months_seen = max(1, min(HISTORY_MONTHS, int((cutoff - first).days // 30)))
    out = {}
    for cat in set(monthly) | set(recurring):
        series = monthly[cat][:months_seen]
        variable = float(statistics.median(series)) if series else 0.0
        value = recurring.get(cat, 0.0) + variable
        recent = [x.doc for x in before if x.category == cat and x.t >= cutoff - relativedelta(months=3)]
        out[cat] = Forecast(cat, value, recurring.get(cat, 0.0), variable, series, pats.get(cat, []), recent)
    return out


def actual_totals(items: Sequence[Debit], cutoff: datetime) -> dict[str, float]:
    return dict(_window_total(items, cutoff, cutoff + relativedelta(months=1)))


def calibration(
    data: InsightData, items: Sequence[Debit], cutoff: datetime
) -> dict[str, tuple[float, float, int, int]]:
    """Per category: the 10% and 90% relative errors of the forecast at earlier monthly cut-offs whose
    month had passed (the category's own when it has 8 or more, else pooled), and how many of those
    earlier actuals fell inside. Key "*" holds the pooled figures."""
    errors: dict[str, list[float]] = defaultdict(list)
    first = items[0].t if items else None
    known = [x for x in items if x.t < cutoff]
    for k in range(CALIBRATION_CUTOFFS):
        past = cutoff - relativedelta(months=k + 1)
        if first is None or past < first + relativedelta(months=3):
            break
        actual = actual_totals(known, past)
        for cat, f in forecast_at(data, known, past).items():
            errors[cat].append((actual.get(cat, 0.0) - f.value) / max(f.value, 20.0))
    pooled = [e for v in errors.values() for e in v]
    if len(pooled) < 10:
        return {"*": (-0.5, 0.5, 0, 0)}
    plo, phi = float(np.quantile(pooled, 0.1)), float(np.quantile(pooled, 0.9))
    out = {"*": (plo, phi, sum(1 for e in pooled if plo <= e <= phi), len(pooled))}
    for cat, errs in errors.items():
        lo, hi = (float(np.quantile(errs, 0.1)), float(np.quantile(errs, 0.9))) if len(errs) >= 8 else (plo, phi)
        out[cat] = (lo, hi, sum(1 for e in errs if lo <= e <= hi), len(errs))
    return out


def spending(data: InsightData) -> list[Insight]:
    items = debits(data)
    if not items:
        return []
    cutoff = data.as_of
    out: list[Insight] = []
    ranges = calibration(data, items, cutoff)
    _, _, p_hits, p_n = ranges["*"]
    pooled = p_hits / p_n if p_n else 0.8
    end = cutoff + relativedelta(months=1)
    horizon = (end - cutoff).days
    for cat, f in sorted(forecast_at(data, items, cutoff).items(), key=lambda kv: -kv[1].value):
        if f.value < 20:
            continue
        lo, hi, hits, n = ranges.get(cat, (*ranges["*"][:2], 0, 0))
        score = (hits + 4 * pooled) / (n + 4)  # coverage at earlier cut-offs, shrunk toward the pooled share
        scale = max(f.value, 20.0)
        low, high = max(0.0, f.value + scale * lo), f.value + scale * hi
        reasons = [
            f"recurring payments projected into the month: {f.recurring:,.2f}"
            + (f" ({', '.join(sorted({p.counterparty or p.title for p in f.patterns})[:4])})" if f.patterns else ""),
            "other spending per month over the last 6 months (anomalies left out): "
            + ", ".join(f"{v:,.0f}" for v in reversed(f.monthly))
            + f"; median {f.variable:,.2f}",
            f"forecast = {f.recurring:,.2f} + {f.variable:,.2f} = {f.value:,.2f}",
            f"80% range from the forecast's relative errors at {n or p_n} earlier monthly cut-offs: "
            f"{lo:+.0%} to {hi:+.0%}",
            f"the actual fell in that range at {hits} of {n} earlier cut-offs for this category; "
            f"{pooled:.0%} over all categories",
        ]
        evidence = [d.id for d in f.evidence][-8:] + [i for p in f.patterns for i in p.evidence[-1:]]
        tiers = [d.tier for d in f.evidence] + [t for p in f.patterns for t in p.tiers]
        out.append(
            Insight(
                kind=SPENDING,
                subject=cat,
                key=f"forecast|{cat}",
                horizon_days=horizon,
                statement=f"{cat}: about {f.value:,.0f} in the month from {cutoff.date().isoformat()} "
                f"(80% range {low:,.0f}–{high:,.0f})",
                score=score,
                reasoning=reasons,
                evidence=list(dict.fromkeys(evidence)),
                tier=tier_of(tiers),
            )
        )
    patterns = [p for p in payment_patterns([x.doc for x in items]) if (p.amount or 0) < 0]
    expected = {i for p in patterns for i in p.evidence}
    for a in anomalies(data, items, cutoff, expected=expected):
        x = a.debit
        out.append(
            Insight(
                kind=SPENDING,
                subject=merchant_of(x.doc),
                key=f"anomaly|{x.doc.id}",
                statement=f"Unusual payment: {x.amount:,.2f} to {merchant_of(x.doc)} on {x.t.date().isoformat()} "
                f"({x.amount / a.median:.0f}× the usual {a.median:,.2f})",
                score=a.percentile,
                reasoning=[
                    f"amount {x.amount:,.2f}; reference: {a.n_ref} {a.reference}, median {a.median:,.2f}",
                    f"robust z-score of the log-amount {a.z:.1f} (median and MAD; flagged from {Z_FLAG})",
                    f"more extreme than {a.percentile:.1%} of the reference payments",
                    f"category '{x.category}'; not part of a regular payment pattern",
                ],
                evidence=[x.doc.id],
                tier=tier_of([x.doc.tier, *a.ref_tiers]),
            )
        )
    return out
