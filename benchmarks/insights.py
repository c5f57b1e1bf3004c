"""Backtest of the insight models at rolling cut-offs, each beside simple baselines.

    python -m benchmarks.insights --demo-seed 7 [--people 40] [--years 3] [--enron PATH] [--skip-demo]
        [--skip-enron] [--contacts-only] [--contact-step 14] [--enron-step 7]

Generates the demo persona into a temporary folder, parses it with the connectors and resolves
entities in memory (no twin home is read or written), then at every cut-off builds the models'
inputs from records strictly before it and scores what happened after it:

* next contacts (7 and 30 days), cut-offs every ``--contact-step`` days (demo) or
  ``--enron-step`` days (Enron) over the whole active period after a 60-day warm-up, reported
  overall and for the early and late halves of the cut-offs: precision@10 and recall@10 of the
  people written to or heard from in the horizon (copies of a message once; the owner's own
  addresses, newsletters and service senders left out; see ``contact_scores``), against "most
  frequent in the last 30 / 90 / 365 days" and "most recent";
* spending forecast per category, same cut-offs: MAE against "same as last month" and "the
  3-month mean";
* spending anomalies, monthly cut-offs over all data after a 6-month warm-up (30-day windows):
  precision / recall on the planted anomalous transaction (ground_truth.json FITID), against a
  non-robust "mean + 3 sd per merchant" rule;
* communication anomalies, same cut-offs: precision / recall on the planted burst (a flag for that
  person in a window overlapping the burst or its 50-day aftermath is a true positive; recall is
  over windows overlapping the burst), against "more than twice the usual 30-day count";
* relationship health, monthly cut-offs after a 12-month warm-up: per person and month, the
  expected label is "fading" / "strengthening" for the planted ties (2–12 months after the change
  starts) and for colleagues around the job change (fading 1–7 months after "until", strengthening
  2–8 months after "since"), and "no change" for everyone else (months around a change left out);
  accuracy, and precision / recall of the change calls, against "last 3 months vs the 3 before,
  ±50%";
* on the Enron maildir (one real mailbox): next contacts only.

Everything printed is synthetic or from the public Enron corpus.
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.quality import DEFAULT_ENRON, _alias_keys, load_documents  # noqa: E402
from twin_assets.insights import anomalies as comm_mod  # noqa: E402
from twin_assets.insights import contacts as contacts_mod  # noqa: E402
from twin_assets.insights import health as health_mod  # noqa: E402
from twin_assets.insights import spending as spending_mod  # noqa: E402
from twin_assets.insights.base import default_as_of, owner_ids, ts  # noqa: E402
from twin_assets.insights.data import InsightData  # noqa: E402
from twin_assets.processing.resolution import Resolution, ResolveOptions, resolve  # noqa: E402
from twin_assets.processing.sentiment import document_sentiment  # noqa: E402
from twin_assets.processing.text import normalise  # noqa: E402
from twin_assets.records import Document  # noqa: E402

K = 10
GAP_DAYS = 30  # a next-contact cut-off after this long without any contact sits in a gap of the export
ROWS: list[tuple[str, str, str, str]] = []  # (kind, metric, method, value)


def row(kind: str, metric: str, method: str, value: float | str) -> None:
    ROWS.append((kind, metric, method, value if isinstance(value, str) else f"{value:.3f}"))


def month_starts(end: datetime, n: int, horizon_days: int = 0) -> list[datetime]:
    """The first of each of the last ``n`` months whose horizon ends by ``end``."""
    c = datetime(end.year, end.month, 1, tzinfo=UTC)
    out: list[datetime] = []
    while len(out) < n and c.year >= 1990:
        if c + timedelta(days=horizon_days) <= end:
            out.append(c)
        c -= relativedelta(months=1)
    return sorted(out)


# ---- next contacts ---------------------------------------------------------------------------------


def contact_cutoffs(full: InsightData, horizon: int, step_days: int, warmup_days: int = 60) -> list[datetime]:
    """Every ``step_days`` across the mailbox's active period, from ``warmup_days`` after its start (the
    2nd percentile of contact times, so one stray 1980 date does not stretch it) to the last cut-off
    whose horizon the data covers. Cut-offs whose horizon holds no contact at all (a gap in the export)
    are left out by the caller: there is nothing to predict."""
    times = sorted(i.t for i in full.interactions)
    if not times:
        return []
    start = datetime.fromtimestamp(times[int(0.02 * (len(times) - 1))] * 86400, UTC) + timedelta(days=warmup_days)
    start = datetime(start.year, start.month, start.day, tzinfo=UTC)
    out = []
    c = start
    while c + timedelta(days=horizon) <= full.as_of:
        out.append(c)
        c += timedelta(days=step_days)
    return out


def contact_baselines(data: InsightData, t: float) -> dict[str, list[str]]:
    """The obvious rankings at cut-off ``t`` from the same contact history the model reads."""
    h = data.history
    owners = owner_ids(data.resolution)
    ents = [e for e in h.entities() if e not in owners]

    def most(days: float) -> list[str]:
        ranked = sorted(ents, key=lambda e: (-h.count(e, t - days, t), e))
        return [e for e in ranked if h.count(e, t - days, t)][:K]

    recent = sorted(
        (e for e in ents if h.last_before(e, t)),
        key=lambda e: (-h.last_before(e, t).t, e),  # type: ignore[union-attr]
    )[:K]
    return {
        "most frequent (30 d)": most(30),
        "most frequent (90 d)": most(90),
        "most frequent (365 d)": most(365),
        "most recent": recent,
    }


def contact_scores(
    docs: list[Document],
    res: Resolution,
    sentiment: dict[str, float],
    end: datetime,
    label: str,
    step_days: int = 14,
) -> None:
    """P@10 / R@10 of the model and the baselines at cut-offs every ``step_days`` over the active period.

    The target at cut-off ``c`` is :func:`contacts.contacted`: the people the owner wrote to or heard
    from in ``[c, c + horizon)`` (copies of one message counted once, the owner's own addresses and
    newsletter / service senders left out; a calendar entry is a plan, not contact). Candidates and
    features come from records before ``c`` only. A cut-off with no contact at all in the
    :data:`GAP_DAYS` before it sits in a gap of the export (Enron's keavey-p has none from January to
    March and July to September 2001) and is left out; so is one with nobody to find. The cut-offs are
    split at their middle: "early" and "late" are reported apart (the model's weights at each cut-off
    are fitted on earlier cut-offs only). Two ceilings are printed beside them: the best any ranking
    of 10 could do, and the best one limited to people seen in the year before the cut-off.
    """
    full = InsightData.build(docs, res, end, sentiment)
    times = [i.t for i in full.interactions]  # sorted
    for horizon in contacts_mod.HORIZONS:
        cutoffs = contact_cutoffs(full, horizon, step_days)
        per: list[dict[str, tuple[float, float]]] = []
        used: list[datetime] = []
        gaps = 0
        for c in cutoffs:
            t = ts(c)
            truth = contacts_mod.contacted(full, t, t + horizon)
            if not truth:
                continue
            if bisect.bisect_left(times, t) == bisect.bisect_left(times, t - GAP_DAYS):
                gaps += 1  # no contact at all in the month before: the export has a gap, not the owner
                continue
            data = InsightData.build(docs, res, c, sentiment)
            ranked = {"model": [s.entity for s in contacts_mod.score_at(data, c, horizon)][:K]}
            ranked.update(contact_baselines(data, t))
            hits = {name: len(set(r) & truth) for name, r in ranked.items()}
            scores = {name: (k / K, k / len(truth)) for name, k in hits.items()}
            known = {e for e in truth if data.history.count(e, t - 365, t)}
            scores["ceiling: any 10 of the truth"] = (min(len(truth), K) / K, min(len(truth), K) / len(truth))
            scores["ceiling: 10 of those seen in the year before"] = (
                min(len(known), K) / K,
                min(len(known), K) / len(truth),
            )
            per.append(scores)
            used.append(c)
        print(
            f"  next contacts {horizon}d ({label}): {len(used)} cut-offs scored, {gaps} left out after "
            f"{GAP_DAYS} days with no contact (a gap in the export), "
            f"{len(cutoffs) - len(used) - gaps} with no contact in the horizon"
        )
        if not per:
            continue
        half = len(per) // 2
        spans = (("all", per, used), ("early", per[:half], used[:half]), ("late", per[half:], used[half:]))
        for part, rows, when in spans:
            if not rows:
                continue
            for name in rows[0]:
                p = statistics.mean(x[name][0] for x in rows)
                r = statistics.mean(x[name][1] for x in rows)
                row(
                    f"next_contacts {horizon}d ({label}, {part}: {len(rows)} cut-offs "
                    f"{when[0].date()}..{when[-1].date()})",
                    "precision@10 / recall@10",
                    name,
                    f"{p:.3f} / {r:.3f}",
                )


# ---- spending ------------------------------------------------------------------------------------------


def spending_scores(docs: list[Document], res: Resolution, end: datetime, months: int = 12) -> None:
    full = InsightData.build(docs, res, end)
    items = spending_mod.debits(full)
    errs: dict[str, list[float]] = defaultdict(list)
    totals: dict[str, list[float]] = defaultdict(list)
    for c in month_starts(end, months, 31):
        data = InsightData.build(docs, res, c)
        before = [x for x in items if x.t < c]
        fc = spending_mod.forecast_at(data, before, c)
        actual = spending_mod.actual_totals(items, c)
        last = spending_mod._window_total(before, c - relativedelta(months=1), c)
        three = spending_mod._window_total(before, c - relativedelta(months=3), c)
        cats = {x.category for x in before}
        preds = {
            "model": {k: f.value for k, f in fc.items()},
            "same as last month": dict(last),
            "3-month mean": {k: v / 3 for k, v in three.items()},
        }
        for name, p in preds.items():
            for cat in cats:
                errs[name].append(abs(p.get(cat, 0.0) - actual.get(cat, 0.0)))
            totals[name].append(abs(sum(p.values()) - sum(actual.values())))
    for name in errs:
        row(
            "spending forecast",
            "MAE per category / MAE of the total",
            name,
            f"{statistics.mean(errs[name]):.1f} / {statistics.mean(totals[name]):.1f}",
        )


def _naive_flags(index: spending_mod.DebitIndex, c: datetime, lookback: int = 30) -> set[str]:
    out = set()
    for pos in range(index.earlier(c - timedelta(days=lookback)), index.earlier(c)):
        x = index.items[pos]
        n = index.earlier(x.t)
        pool = index.head(index.by_merchant[x.merchant], n)
        if len(pool) < 5:
            pool = list(range(n))
        if len(pool) < 10:
            continue
        values = [index.items[i].amount for i in pool]
        mean, sd = statistics.mean(values), statistics.pstdev(values)
        if x.amount > mean + 3 * sd:
            out.add(x.doc.id)
    return out


def _pr(tp: int, flagged: int, found: int, planted: int) -> str:
    p = tp / flagged if flagged else 0.0
    r = found / planted if planted else 0.0
    return f"{p:.3f} / {r:.3f}  ({tp} of {flagged} flags)"


def spending_anomaly_scores(docs: list[Document], res: Resolution, truth: dict, end: datetime) -> None:
    fitid = str((truth.get("patterns") or {}).get("spending_anomaly", {}).get("fitid") or "")
    planted = {
        d.id
        for d in docs
        if d.kind == "transaction" and fitid and str((d.meta or {}).get("external_id", "")).endswith(fitid)
    }
    full = InsightData.build(docs, res, end)
    items = spending_mod.debits(full)
    index = spending_mod.DebitIndex(items)
    start = items[0].t + relativedelta(months=6)
    model_flags: set[str] = set()
    naive_flags: set[str] = set()
    c = datetime(start.year, start.month, 1, tzinfo=UTC)
    while c <= end:
        before = [x for x in items if x.t < c]
        pats = spending_mod.payment_patterns([x.doc for x in before])
        expected = {i for p in pats if (p.amount or 0) < 0 for i in p.evidence}
        model_flags |= {a.debit.doc.id for a in spending_mod.anomalies(full, index, c, expected=expected)}
        naive_flags |= _naive_flags(index, c)
        c += relativedelta(months=1)
    for name, flags in (("model (robust z, MAD)", model_flags), ("mean + 3 sd per merchant", naive_flags)):
        tp = len(flags & planted)
        row("spending anomalies", "precision / recall (planted FITID)", name, _pr(tp, len(flags), tp, len(planted)))


# ---- communication anomalies ------------------------------------------------------------------------------


def entity_for(res: Resolution, person: dict) -> str | None:
    votes = Counter(res.key_index[k] for k in _alias_keys(person) if k in res.key_index)
    return votes.most_common(1)[0][0] if votes else None


def comm_anomaly_scores(
    docs: list[Document], res: Resolution, sentiment: dict[str, float], truth: dict, end: datetime
) -> None:
    pat = (truth.get("patterns") or {}).get("communication_anomaly") or {}
    people = {p["id"]: p for p in truth.get("people", [])}
    who = entity_for(res, people.get(pat.get("person"), {})) if pat else None
    if who is None:
        print("(no planted communication anomaly in this demo)")
        return
    b0 = ts(datetime.fromisoformat(pat["start"]).replace(tzinfo=UTC))
    b1 = ts(datetime.fromisoformat(pat["end"]).replace(tzinfo=UTC)) + 1
    after = b1 + 50
    full = InsightData.build(docs, res, end, sentiment)
    people_series, _ = comm_mod._series(full)
    first = full.first_time
    assert first is not None
    c = datetime(first.year, first.month, 1, tzinfo=UTC) + relativedelta(months=7)
    stats = {"model": [0, 0, 0, 0], "twice the usual 30-day count": [0, 0, 0, 0]}  # tp, flags, found, windows
    while c <= end:
        data = InsightData.build(docs, res, c, sentiment)
        t = ts(c)
        overlaps_burst = t - comm_mod.WINDOW < b1 and t > b0
        overlaps_any = t - comm_mod.WINDOW < after and t > b0
        model = {f.who for f in comm_mod.findings_at(data, history=6) if not f.group}
        naive = set()
        for e, items in people_series.items():
            times = [x[0] for x in items]
            now_n = sum(1 for x in times if t - 30 <= x < t)
            prev = [sum(1 for x in times if t - 30 * (k + 2) <= x < t - 30 * (k + 1)) for k in range(12)]
            if now_n >= 5 and now_n > 2 * statistics.mean(prev):
                naive.add(e)
        for name, flags in (("model", model), ("twice the usual 30-day count", naive)):
            s = stats[name]
            s[1] += len(flags)
            if who in flags and overlaps_any:
                s[0] += 1
            if overlaps_burst:
                s[3] += 1
                s[2] += int(who in flags)
        c += relativedelta(months=1)
    for name, (tp, flags, found, windows) in stats.items():
        row("communication anomalies", "precision / recall (planted burst)", name, _pr(tp, flags, found, windows))


# ---- relationship health -----------------------------------------------------------------------------------


def _health_truth(truth: dict, res: Resolution) -> dict[str, list[tuple[datetime, datetime, str | None]]]:
    """Per entity: (from, to, expected) spans — a planted or job-change change, or stable (None)."""
    pats = truth.get("patterns") or {}
    people = {p["id"]: p for p in truth.get("people", [])}
    month = relativedelta(months=1)

    def day(text: str) -> datetime:
        return datetime.fromisoformat(text[:10] if len(text) > 7 else text + "-01").replace(tzinfo=UTC)

    spans: dict[str, list[tuple[datetime, datetime, str | None]]] = {}
    changed: dict[str, list[tuple[datetime, datetime, str | None]]] = {}
    for r in truth.get("relationships", []):
        if r.get("person") != "self":
            continue
        if r.get("until"):
            u = day(r["until"])
            changed[r["other"]] = [(datetime(1990, 1, 1, tzinfo=UTC), u, None), (u + month, u + 7 * month, "fading")]
        elif r.get("since"):
            s0 = day(r["since"])
            changed[r["other"]] = [
                (s0 + 2 * month, s0 + 8 * month, "strengthening"),
                (s0 + 13 * month, datetime(2100, 1, 1, tzinfo=UTC), None),
            ]
    for key, expected, field in (
        ("fading_friendship", "fading", "decline_starts"),
        ("strengthening_tie", "strengthening", "starts"),
    ):
        if pats.get(key):
            s0 = day(pats[key][field])
            changed[pats[key]["person"]] = [
                (datetime(1990, 1, 1, tzinfo=UTC), s0, None),
                (s0 + 2 * month, s0 + 12 * month, expected),
            ]
    if pats.get("communication_anomaly"):
        s0 = day(pats["communication_anomaly"]["start"])
        changed[pats["communication_anomaly"]["person"]] = [
            (datetime(1990, 1, 1, tzinfo=UTC), s0, None),
            (s0 + 7 * month, datetime(2100, 1, 1, tzinfo=UTC), None),
        ]
    for pid, person in people.items():
        entity = entity_for(res, person)
        if entity is not None:
            spans[entity] = changed.get(
                pid, [(datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC), None)]
            )
    return spans


def health_scores(
    docs: list[Document], res: Resolution, sentiment: dict[str, float], truth: dict, end: datetime
) -> None:
    spans = _health_truth(truth, res)
    full = InsightData.build(docs, res, end, sentiment)
    first = full.first_time
    assert first is not None
    c = datetime(first.year, first.month, 1, tzinfo=UTC) + relativedelta(months=12)
    stats = {name: [0, 0, 0, 0, 0] for name in ("model", "last 3 months vs the 3 before (±50%)")}
    # correct, scored, correct change calls, change calls, true changes
    while c <= end:
        data = InsightData.build(docs, res, c, sentiment)
        t = ts(c)
        ties = {x.entity: x.direction for x in health_mod.ties_at(data, c)}
        base = {}
        for e in data.history.entities():
            r, b = data.history.count(e, t - 90, t), data.history.count(e, t - 180, t - 90)
            if r + b >= 4 and (r >= 1.5 * b or r <= 0.5 * b):
                base[e] = "fading" if r < b else "strengthening"
        for entity, entity_spans in spans.items():
            if not data.history.count(entity, t - 365, t):
                continue
            expected = next((x for a, b, x in entity_spans if a <= c < b), "skip")
            if expected == "skip":
                continue
            for name, calls in (("model", ties), ("last 3 months vs the 3 before (±50%)", base)):
                got = calls.get(entity)
                st = stats[name]
                st[0] += int(got == expected)
                st[1] += 1
                st[2] += int(got is not None and got == expected)
                st[3] += int(got is not None)
                st[4] += int(expected is not None)
        c += relativedelta(months=1)
    for name, (ok, n, hit, calls, changes) in stats.items():
        row(
            "relationship health",
            "accuracy; precision / recall of change calls",
            name,
            f"{ok / max(n, 1):.3f}; {hit / max(calls, 1):.3f} / {hit / max(changes, 1):.3f}  ({n} person-months)",
        )


# ---- runs --------------------------------------------------------------------------------------------------


def run_demo(seed: int, people: int, years: int, step_days: int = 14, only_contacts: bool = False) -> None:
    from twin_assets.demo import generate

    with tempfile.TemporaryDirectory(prefix="twin-insights-") as tmp:
        root = Path(tmp) / "demo"
        t0 = time.perf_counter()
        generate(root, seed=seed, people=people, years=years)
        truth = json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))
        docs = load_documents(root)
    res = resolve(docs, {d.id: normalise(d) for d in docs}, ResolveOptions())
    sentiment = {s.doc_id: s.compound for s in document_sentiment(docs) if s.reliable}
    end = default_as_of(docs)
    print(
        f"demo seed={seed} people={people} years={years}: {len(docs)} records, data end {end.date()}, "
        f"{time.perf_counter() - t0:.0f}s to generate, parse, resolve and score sentiment"
    )
    steps = [
        ("next contacts", lambda: contact_scores(docs, res, sentiment, end, "demo", step_days)),
        ("spending", lambda: spending_scores(docs, res, end)),
        ("spending anomalies", lambda: spending_anomaly_scores(docs, res, truth, end)),
        ("communication anomalies", lambda: comm_anomaly_scores(docs, res, sentiment, truth, end)),
        ("relationship health", lambda: health_scores(docs, res, sentiment, truth, end)),
    ]
    for name, fn in steps[:1] if only_contacts else steps:
        t = time.perf_counter()
        fn()
        print(f"  {name}: {time.perf_counter() - t:.0f}s")


def run_enron(path: Path, step_days: int) -> None:
    if not path.exists():
        print(f"(Enron sample not found at {path}; skipped)")
        return
    t = time.perf_counter()
    docs = load_documents(path.parent, skip=tuple(p.name for p in path.parent.iterdir() if p != path))
    res = resolve(docs, {d.id: normalise(d) for d in docs}, ResolveOptions(text=False))
    end = default_as_of(docs)
    print(
        f"Enron {path.name}: {len(docs)} messages, data end {end.date()}, {time.perf_counter() - t:.0f}s to parse "
        "and resolve"
    )
    contact_scores(docs, res, {}, end, "Enron", step_days)


def print_table() -> None:
    widths = [max(len(r[i]) for r in [*ROWS, ("kind", "metric", "method", "value")]) for i in range(4)]
    header = ("kind", "metric", "method", "value")
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    last = None
    for r in ROWS:
        shown = [r[0] if r[0] != last else "", r[1] if r[0] != last else "", r[2], r[3]]
        last = r[0]
        print("  ".join(c.ljust(w) for c, w in zip(shown, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-seed", type=int, default=7)
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--enron", type=Path, default=DEFAULT_ENRON)
    ap.add_argument("--contact-step", type=int, default=14, help="days between next-contact cut-offs (demo)")
    ap.add_argument("--enron-step", type=int, default=7, help="days between next-contact cut-offs (Enron)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-enron", action="store_true")
    ap.add_argument("--contacts-only", action="store_true", help="only the next-contact backtest")
    args = ap.parse_args(argv)
    if not args.skip_demo:
        run_demo(args.demo_seed, args.people, args.years, args.contact_step, args.contacts_only)
    if not args.skip_enron:
        run_enron(args.enron.resolve(), args.enron_step)
    print_table()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
