"""communication_anomalies: unusual volume or a sentiment drop, with a person or a group, in the last
30 days before ``as_of``.

* burst — the busiest 7 days in the window against that person's (or chat group's) weekly counts
  over the year before: robust z = (x − median) / max(1.4826·MAD, √median);
* quiet — the window's count far below the usual 30-day count;
* sentiment drop — mean VADER score of the window's messages against the person's year before,
  in standard errors.

The score is frequency-based: the share of all (person, 30-day window) statistics at 12 earlier
monthly cut-offs that were less extreme — how rare this is in the owner's own history.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from twin_assets.connectors.registry import traits_for
from twin_assets.insights.base import (
    COMMUNICATION_ANOMALIES,
    CONVERSATION,
    Insight,
    evidence_ids,
    person_label,
    thread_of,
    tier_of,
    ts,
)
from twin_assets.insights.data import InsightData

WINDOW = 30
BURST_SURPRISE, BURST_MIN = 4.0, 5  # -log10 p of the busiest week under the usual rate
GROUP_SURPRISE, GROUP_MIN = 6.0, 15
QUIET_RATIO, QUIET_MIN = 0.25, 8
SENT_Z, SENT_DROP = -3.0, 0.3
HISTORY_CUTOFFS = 12


@dataclass
class Finding:
    kind: str  # burst, quiet, sentiment
    who: str  # entity id or thread id
    group: bool
    stat: float  # larger = more unusual
    info: dict
    docs: list[tuple[float, str, str]]  # (t, doc id, tier) in the window
    score: float = 0.0


def _series(
    data: InsightData,
) -> tuple[dict[str, list[tuple[float, str, str]]], dict[str, list[tuple[float, str, str]]]]:
    people: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for i in data.interactions:
        if i.direction != "met":
            people[i.entity].append((i.t, i.doc_id, i.tier))
    groups: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for d in data.docs:
        if d.kind in CONVERSATION and d.event_time is not None:
            thread = thread_of(d)
            if thread and not ((d.meta or {}).get("attributes") or {}).get("system"):
                groups[thread].append((ts(d.event_time), d.id, d.tier))
    return people, groups


def _count(times: list[float], start: float, end: float) -> int:
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def _poisson_surprise(k: int, lam: float, scans: int = 4) -> float:
    """-log10 of the chance of at least ``k`` events in a week at rate ``lam`` (scanned ``scans`` times)."""
    from scipy.stats import poisson

    p = min(1.0, scans * float(poisson.sf(k - 1, max(lam, 0.05))))
    return -math.log10(max(p, 1e-300))


def _findings(
    data: InsightData, series: dict[str, list[tuple[float, str, str]]], c: float, group: bool
) -> list[Finding]:
    out = []
    for who, items in series.items():
        if who == data.resolution.self_id:
            continue
        times = [x[0] for x in items]
        year = _count(times, c - WINDOW - 365, c - WINDOW)
        if year < 10:
            continue
        window = items[bisect.bisect_left(times, c - WINDOW) : bisect.bisect_left(times, c)]
        used = {x[2] for x in items[bisect.bisect_left(times, c - WINDOW - 365) : bisect.bisect_left(times, c)]}
        base = items[bisect.bisect_left(times, c - WINDOW - 365) : bisect.bisect_left(times, c - WINDOW)]
        rated_b = [data.sentiment[x[1]] for x in base if x[1] in data.sentiment]
        mean_b = float(np.mean(rated_b)) if len(rated_b) >= 5 else None
        sd_b = max(float(np.std(rated_b)), 0.1) if len(rated_b) >= 5 else None
        # burst: the busiest 7 days in the window vs the year before (mean weekly rate and busiest week)
        weekly = [_count(times, c - WINDOW - 7 * (k + 1), c - WINDOW - 7 * k) for k in range(52)]
        lam, past_max = year / 52, max(weekly)
        wt = [x[0] for x in window]
        busiest, at = 0, c - WINDOW
        for s in wt:
            n = _count(wt, s, s + 7)
            if n > busiest:
                busiest, at = n, s
        surprise = _poisson_surprise(busiest, lam) if busiest else 0.0
        burst_docs = [x for x in window if at <= x[0] < at + 7]
        rated_burst = [data.sentiment[x[1]] for x in burst_docs if x[1] in data.sentiment]
        mood = float(np.mean(rated_burst)) if len(rated_burst) >= 3 else None
        negative = mood is not None and mean_b is not None and mood < min(0.0, mean_b - SENT_DROP)
        min_surprise, min_n = (GROUP_SURPRISE, GROUP_MIN) if group else (BURST_SURPRISE, BURST_MIN)
        loud = busiest >= min_n and busiest >= 2 * past_max and surprise >= min_surprise
        tense = not group and busiest >= BURST_MIN and busiest > past_max and surprise >= 2 and negative
        info = {
            "busiest": busiest,
            "rate": lam,
            "past_max": past_max,
            "start": at,
            "mood": mood,
            "base": mean_b,
            "negative": negative,
            "flag": loud or tense,
            "tiers": used,
        }
        out.append(Finding("burst", who, group, surprise + (2.0 if negative else 0.0), info, burst_docs))
        # quiet: the window's count vs the usual 30-day count
        monthly = [_count(times, c - WINDOW * (k + 2), c - WINDOW * (k + 1)) for k in range(12)]
        m30 = statistics.median(monthly)
        q = (m30 - len(window)) / math.sqrt(max(m30, 1.0))
        before = items[bisect.bisect_left(times, c - 2 * WINDOW) : bisect.bisect_left(times, c - WINDOW)]
        out.append(
            Finding(
                "quiet",
                who,
                group,
                q,
                {
                    "count": len(window),
                    "median": m30,
                    "tiers": used,
                    "flag": m30 >= QUIET_MIN and len(window) <= QUIET_RATIO * m30,
                },
                window or before[-5:],
            )
        )
        if group:
            continue
        # sentiment drop
        rated_w = [data.sentiment[x[1]] for x in window if x[1] in data.sentiment]
        if len(rated_w) >= 4 and mean_b is not None and sd_b is not None:
            mw = float(np.mean(rated_w))
            zs = (mw - mean_b) / (sd_b / math.sqrt(len(rated_w)))
            neg = [x for x in window if data.sentiment.get(x[1], 0.0) < -0.05]
            out.append(
                Finding(
                    "sentiment",
                    who,
                    group,
                    -zs,
                    {
                        "mean": mw,
                        "base": mean_b,
                        "n": len(rated_w),
                        "n_base": len(rated_b),
                        "z": zs,
                        "flag": zs <= SENT_Z and mw < min(0.0, mean_b - SENT_DROP),
                        "tiers": used,
                    },
                    neg or window,
                )
            )
    return out


def findings_at(data: InsightData, cutoff_days: float | None = None, history: int = HISTORY_CUTOFFS) -> list[Finding]:
    """Flagged findings in the 30 days before the cut-off, each scored against earlier windows."""
    c = ts(data.as_of) if cutoff_days is None else cutoff_days
    people, groups = _series(data)
    current = _findings(data, people, c, False) + _findings(data, groups, c, True)
    past: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for k in range(1, history + 1):
        for f in _findings(data, people, c - WINDOW * k, False) + _findings(data, groups, c - WINDOW * k, True):
            past[(f.kind, f.group)].append(f.stat)
    flagged = [f for f in current if f.info["flag"]]
    for f in flagged:
        ref = past.get((f.kind, f.group), [])
        f.score = (sum(1 for s in ref if s < f.stat) + 1) / (len(ref) + 2)
    flagged.sort(key=lambda f: (-f.score, -f.stat, f.who))
    return flagged


def _group_name(thread: str) -> str:
    return traits_for(thread.partition(":")[0]).conversation_name(thread)


def communication_anomalies(data: InsightData) -> list[Insight]:
    out = []
    for f in findings_at(data):
        entity = None if f.group else data.resolution.get(f.who)
        name = _group_name(f.who) if f.group else (entity.name if entity else "someone")
        subject = _group_name(f.who) if f.group else person_label(entity)
        i = f.info
        if f.kind == "burst":
            start = (data.as_of - timedelta(days=ts(data.as_of) - i["start"])).date().isoformat()
            tone = " with negative sentiment" if i["negative"] else ""
            statement = f"Unusual burst of messages{tone} with {name}: {i['busiest']} in 7 days from {start}"
            reasons = [
                f"{i['busiest']} messages in the busiest 7 days of the last {WINDOW}",
                f"usual rate over the year before: {i['rate']:.2f} a week; busiest week then {i['past_max']}",
                f"chance of so many at the usual rate (Poisson, 4 weeks scanned): 1 in {10 ** min(f.stat, 12):,.0f}"
                if not i["negative"]
                else f"Poisson surprise {f.stat - 2:.1f} (−log10 p) plus a tone shift",
            ]
            if i["mood"] is not None and i["base"] is not None:
                reasons.append(f"mean sentiment of those messages {i['mood']:+.2f} vs {i['base']:+.2f} over the year")
        elif f.kind == "quiet":
            statement = (
                f"Unusually quiet with {name}: {i['count']} messages in {WINDOW} days (usually {i['median']:.0f})"
            )
            reasons = [
                f"{i['count']} messages in the last {WINDOW} days",
                f"median of the 12 previous {WINDOW}-day windows: {i['median']:.1f}",
                f"{f.stat:.1f} Poisson standard deviations below the usual",
            ]
        else:
            statement = (
                f"Sentiment drop with {name}: mean {i['mean']:+.2f} in the last {WINDOW} days vs {i['base']:+.2f}"
            )
            reasons = [
                f"mean VADER compound of {i['n']} messages in the last {WINDOW} days: {i['mean']:+.2f}",
                f"over the year before ({i['n_base']} messages): {i['base']:+.2f}",
                f"{i['z']:.1f} standard errors below the usual",
            ]
        reasons.append(
            f"more unusual than {f.score:.0%} of this statistic over all people and the "
            f"{HISTORY_CUTOFFS} earlier {WINDOW}-day windows"
        )
        tiers = [*i["tiers"], *(x[2] for x in f.docs)] + ([entity.tier] if entity else [])
        out.append(
            Insight(
                kind=COMMUNICATION_ANOMALIES,
                subject=subject,
                key=f"{f.kind}|{f.who}",
                statement=statement,
                score=f.score,
                reasoning=reasons,
                evidence=evidence_ids(x[1] for x in f.docs),
                tier=tier_of(tiers),
            )
        )
    return out
