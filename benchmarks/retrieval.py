"""Ask and search quality on the demo persona: intent accuracy, slot/answer accuracy, recall@10 and nDCG@10.

    python benchmarks/retrieval.py                       # generates a small demo home in a temp folder
    python benchmarks/retrieval.py --people 40 --years 3 # the full persona (takes minutes)
    python benchmarks/retrieval.py --home H --data D     # an already materialized demo home and its exports

A labelled query set is generated from the demo's ground truth (and, for known-item search, from the
stored records themselves), at least ``--per-intent`` questions for each intent:

* search: known-item queries from e-mail subjects (relevant: the messages with that subject);
* person_profile: "who is <alias>?" over every alias form in the ground truth (slot: the right entity);
* relationship: "how do I know <alias>?" (slot: the right entity, and a path found);
* timeline: "what happened in <Month YYYY>?" (answer: every cited record dated in that month);
* aggregate: "how much did I spend on <category> in <year>?" (answer: the exact sum, against sums computed
  here from the merchant lists the generator used, not from the answerer's own category terms);
* prediction: "who will I meet next week?" at weekly as-of dates (answer: recall of the people the ground
  truth's recurring 1:1s put in that week);
* topic: topics and communities questions (intent only).

Retrieval is compared for ``search(mode=...)`` vector-only, keyword-only and hybrid on three query sets
with graded relevance from the ground truth: known-item subjects, person names (relevant: records that
mention the person) and planted-topic keywords (relevant: the topic's records). The benchmark runs as the
owner (every tier) and prints only synthetic data.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MODES = ("vector", "keyword", "hybrid")


@dataclass
class Q:
    intent: str
    question: str
    as_of: datetime
    check: str = ""  # which answer check applies
    expect: object = None
    relevant: set[str] = field(default_factory=set)


# ---- home --------------------------------------------------------------------------------------------
def prepare_home(args: argparse.Namespace) -> tuple[Path, Path]:
    if args.home:
        return Path(args.home), Path(args.data)
    base = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    os.environ["TWIN_HOME"] = str(base / "home")
    os.environ.pop("DAGSTER_HOME", None)
    from twin_assets.settings import get_settings
    from twin_query.demo_cmd import generate_and_ingest
    from twin_query.setup import init_home

    t0 = time.monotonic()
    init_home(get_settings())  # first, so the demo does not print a token
    generate_and_ingest(get_settings(), seed=args.seed, people=args.people, years=args.years, out_dir=base / "data")
    print(f"built a demo home ({args.people} people, {args.years} years) in {time.monotonic() - t0:.0f}s", flush=True)
    return base / "home", base / "data"


def all_docs(twin) -> dict:
    from twin_assets.stores import TIERS

    docs = {}
    for tier in TIERS:
        store = twin.store(tier)
        ids = store.ids()
        for start in range(0, len(ids), 1000):
            docs.update(store.get_many(ids[start : start + 1000]))
    return docs


# ---- query sets ----------------------------------------------------------------------------------------
def _norm_subject(title: str) -> str:
    return re.sub(r"^((re|fwd?|aw|wg)\s*:\s*)+", "", title.strip(), flags=re.I).strip().lower()


def known_items(docs: dict, rng: random.Random, n: int) -> list[Q]:
    by_subject: dict[str, set[str]] = defaultdict(set)
    for d in docs.values():
        if d.source == "email" and d.title:
            by_subject[_norm_subject(d.title)].add(d.id)
    subjects = sorted(s for s, ids in by_subject.items() if len(s.split()) >= 3 and len(ids) <= 5)
    rng.shuffle(subjects)
    return [Q("search", s, datetime.now(UTC), "search", relevant=by_subject[s]) for s in subjects[:n]]


def gt_entities(vd, truth: dict) -> dict[str, dict]:
    """Ground-truth person id → the entity the HIGH view resolved for them (by e-mail or phone)."""
    out = {}
    for p in truth["people"]:
        for email in p["aliases"].get("emails") or []:
            ids = vd.alias_index.get(email.lower())
            if ids:
                out[p["id"]] = vd.entities[max(ids, key=vd.weight)]
                break
        if p["id"] not in out and (e := vd.resolve(p["name"])):
            out[p["id"]] = e
    return out


def alias_forms(p: dict) -> list[str]:
    a = p["aliases"]
    forms = [p["name"], *(a.get("display_names") or [])]
    if a.get("nickname"):
        forms.append(a["nickname"])
    return [f for f in dict.fromkeys(forms) if f and "," not in f]


def people_questions(truth: dict, ents: dict, end: datetime, n: int, rng: random.Random) -> tuple[list[Q], list[Q]]:
    profile_t = (
        "who is {a}?",
        "tell me about {a}",
        "what do I know about {a}?",
        "{a}",
        "who's {a} again?",
        "give me a profile of {a}",
    )
    rel_t = ("how do I know {a}?", "how am I connected to {a}?", "how did I meet {a}?", "what links me to {a}?")
    profiles, rels = [], []
    people = [p for p in truth["people"] if p["id"] in ents]
    for i in range(max(n, len(people))):
        p = people[i % len(people)]
        forms = alias_forms(p)
        a = forms[(i // len(people)) % len(forms)]
        eid = ents[p["id"]]["id"]
        profiles.append(Q("person_profile", profile_t[i % len(profile_t)].format(a=a), end, "entity", eid))
        rels.append(Q("relationship", rel_t[i % len(rel_t)].format(a=a), end, "path", eid))
    return profiles[: max(n, len(people))], rels[: max(n, len(people))]


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + (m == 12), m % 12 + 1)
    return out


def timeline_questions(start: date, end: date, n: int) -> list[Q]:
    tmpl = (
        "what happened in {M} {Y}?",
        "what did I do in {M} {Y}?",
        "timeline of {Y}-{MM}",
        "what went on in {M} {Y}",
        "anything interesting in {M} {Y}?",
        "remind me of {M} {Y}",
    )
    months = months_between(start, end)
    out = []
    for i in range(max(n, len(months))):
        y, m = months[i % len(months)]
        q = tmpl[i % len(tmpl)].format(M=calendar.month_name[m], Y=y, MM=f"{m:02d}")
        out.append(
            Q("timeline", q, datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1), "in_month", (y, m))
        )
    return out[: max(n, len(months))]


def gold_category(doc) -> set[str]:
    """Categories by the generator's own merchant lists (independent of the answerer's terms)."""
    from twin_assets.demo import names

    merchant = (doc.title or "").upper()
    cats = set()
    if merchant.startswith("SKYWAY AIR"):
        cats |= {"flights", "travel"}
    if merchant.startswith("STAYBOOK"):
        cats |= {"hotels", "travel"}
    if merchant in {g.upper() for g in names.GROCERIES}:
        cats.add("groceries")
    if merchant in {r.upper() for r in names.RESTAURANTS} or merchant.startswith("RESTAURANT "):
        cats.add("restaurants")
    if merchant in {t.upper() for t in names.TRANSPORT}:
        cats.add("transport")
    if merchant == "DB FERNVERKEHR":  # long-distance trains are travel too
        cats |= {"trains", "travel"}
    if merchant == names.LANDLORD["name"].upper():
        cats.add("rent")
    if merchant in {s.upper() for s, _ in names.SUBSCRIPTIONS}:
        cats.add("subscriptions")
    if merchant in {u.upper() for u, _ in names.UTILITIES}:
        cats.add("utilities")
    if merchant == names.GYM[0].upper():
        cats.add("fitness")
    return cats


def aggregate_questions(docs: dict, start: date, end: date, n: int) -> list[Q]:
    sums: dict[tuple[str, int], float] = defaultdict(float)
    for d in docs.values():
        if d.kind != "transaction" or not d.event_time:
            continue
        amount = (d.meta.get("attributes") or {}).get("amount")
        if not isinstance(amount, int | float) or amount >= 0:
            continue
        for cat in gold_category(d):
            sums[(cat, d.event_time.year)] += -amount
    phrases = {
        "travel": "travel",
        "flights": "flights",
        "hotels": "hotels",
        "groceries": "groceries",
        "restaurants": "eating out",
        "transport": "transport",
        "rent": "rent",
        "subscriptions": "subscriptions",
        "utilities": "utilities",
        "fitness": "the gym",
    }
    tmpl = (
        "how much did I spend on {c} in {y}?",
        "what did I spend on {c} in {y}",
        "total spending on {c} in {y}?",
        "how much did I spend on {c} last year?",
        "what was my {c} spend in {y}?",
        "{c} expenses {y}",
    )
    keys = sorted(k for k in sums if k[0] in phrases)
    out = []
    for i in range(max(n, len(keys))):
        cat, year = keys[i % len(keys)]
        t = tmpl[i % len(tmpl)]
        as_of = (
            datetime(year + 1, 3, 1, tzinfo=UTC)
            if "last year" in t
            else datetime(end.year, end.month, end.day, tzinfo=UTC)
        )
        out.append(Q("aggregate", t.format(c=phrases[cat], y=year), as_of, "sum", round(sums[(cat, year)], 2)))
    return out[: max(n, len(keys))]


def prediction_questions(truth: dict, ents: dict, start: date, end: date, n: int) -> list[Q]:
    pats = truth["patterns"]
    one = pats["weekly_one_on_one"]
    first = date.fromisoformat(one["first"])
    exdates = {date.fromisoformat(x) for x in one.get("exdates", [])}
    moved = date.fromisoformat(one["moved"]["recurrence_id"]) if one.get("moved") else None
    old = next((r for r in pats.get("recurring_events", []) if r.get("person") and r.get("until")), None)
    tmpl = (
        "who will I meet next week?",
        "who am I meeting next week?",
        "who will I see next week?",
        "anyone I'm seeing next week?",
        "what meetings do I have next week?",
    )
    out: list[Q] = []
    monday = end - timedelta(days=end.weekday()) - timedelta(days=7 * (n + 2))
    while len(out) < n and monday < end + timedelta(days=21):
        week = [monday + timedelta(days=7 + i) for i in range(7)]
        expect = set()
        thursday = week[3]
        if thursday >= first and thursday not in exdates and one["person"] in ents:
            expect.add(ents[one["person"]]["name"])
        if moved and moved in week and one["person"] in ents:
            expect.add(ents[one["person"]]["name"])
        if old and old["person"] in ents and week[1] < date.fromisoformat(old["until"]) and week[1] >= start:
            expect.add(ents[old["person"]]["name"])
        if expect:
            as_of = datetime(monday.year, monday.month, monday.day, 9, tzinfo=UTC)
            out.append(Q("prediction", tmpl[len(out) % len(tmpl)], as_of, "people", expect))
        monday += timedelta(days=7)
    return out


def topic_questions(start: date, end: date, n: int) -> list[Q]:
    tmpl = (
        "what topics did I talk about in {Y}?",
        "what were my main topics in {M} {Y}?",
        "what are my communities?",
        "what's trending lately?",
        "which groups of people do I belong to?",
        "what themes came up in {M} {Y}?",
        "what have I been working on lately?",
    )
    months = months_between(start, end)
    out = []
    for i in range(n):
        y, m = months[i % len(months)]
        out.append(
            Q(
                "topic",
                tmpl[i % len(tmpl)].format(M=calendar.month_name[m], Y=y),
                datetime(end.year, end.month, end.day, tzinfo=UTC),
            )
        )
    return out


# ---- retrieval sets --------------------------------------------------------------------------------------
def by_external_id(docs: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for d in docs.values():
        ext = str(d.meta.get("external_id") or "")
        out[ext].add(d.id)
        if d.source == "calendar":
            out[ext.split("/", 1)[0]].add(d.id)  # occurrences of a series share the UID
    return out


def retrieval_sets(docs: dict, truth: dict, vd, ents: dict, known: list[Q], n: int) -> dict[str, list[Q]]:
    ext = by_external_id(docs)
    topics = []
    for t in truth.get("topics", []):
        rel = set()
        for loc in t.get("locators", []):
            rel |= ext.get(str(loc.get("external_id")), set())
        if rel:
            kws = t["keywords"]
            for i in range(len(kws)):
                topics.append(Q("search", " ".join(kws[i:] + kws[:i][:1]), datetime.now(UTC), relevant=rel))
    people = []
    for p in truth["people"]:
        e = ents.get(p["id"])
        if not e:
            continue
        rel = set(e.get("evidence") or [])
        for form in alias_forms(p)[:2]:
            people.append(Q("search", form, datetime.now(UTC), relevant=rel))
    return {"known-item subject": known, "person name": people[: max(n, 50)], "topic keywords": topics[: max(n, 50)]}


def recall_ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> tuple[float, float]:
    top = ranked[:k]
    hits = [1.0 if r in relevant else 0.0 for r in top]
    recall = sum(hits) / min(k, len(relevant)) if relevant else 0.0
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return recall, (dcg / idcg if idcg else 0.0)


# ---- checks --------------------------------------------------------------------------------------------
def check_answer(q: Q, r: dict, docs: dict) -> bool | None:
    if q.check == "entity":
        return any(e["id"] == q.expect for e in r["slots"]["entities"])
    if q.check == "path":
        return any(e["id"] == q.expect for e in r["slots"]["entities"]) and bool(r["evidence"])
    if q.check == "in_month":  # the events the answer lists (life events may cite earlier bookings)
        y, m = q.expect
        by_id = {e["id"]: e["timestamp"] for e in r["evidence"]}
        listed = r["reasoning"][1]["evidence"] if len(r["reasoning"]) > 1 else []
        stamps = [by_id[i] for i in listed if i in by_id]
        return bool(stamps) and all(s.startswith(f"{y}-{m:02d}") for s in stamps)
    if q.check == "sum":
        m = re.search(r"spent ([\d,]+\.\d\d) EUR", r["answer"])
        got = float(m[1].replace(",", "")) if m else 0.0
        return abs(got - float(q.expect)) < 0.01
    if q.check == "people":
        return all(name in r["answer"] for name in q.expect)
    if q.check == "search":
        return bool(r["evidence"]) and r["evidence"][0]["id"] in q.relevant
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", help="A materialized demo TWIN_HOME (default: generate one).")
    ap.add_argument("--data", help="Its demo exports folder (with ground_truth.json).")
    ap.add_argument("--people", type=int, default=12)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-intent", type=int, default=50)
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON too.")
    ap.add_argument("--verbose", action="store_true", help="Print each missed question (synthetic data only).")
    ap.add_argument("--no-retrieval", action="store_true", help="Skip the search-mode comparison.")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    home, data = prepare_home(args)
    os.environ["TWIN_HOME"] = str(home)
    from twin_assets.settings import get_settings
    from twin_query.ask import ask
    from twin_query.service import QueryService

    truth = json.loads((data / "ground_truth.json").read_text())
    start = date.fromisoformat(truth["generator"]["start"])
    end = date.fromisoformat(truth["generator"]["end"])
    service = QueryService(get_settings())
    twin = service.twin()
    docs = all_docs(twin)
    vd = service.view_data("HIGH")
    ents = gt_entities(vd, truth)
    rng = random.Random(args.seed)
    n = args.per_intent
    end_dt = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    known = known_items(docs, rng, n)
    profiles, rels = people_questions(truth, ents, end_dt, n, rng)
    queries = [
        *known,
        *profiles,
        *rels,
        *timeline_questions(start, end, n),
        *aggregate_questions(docs, start, end, n),
        *prediction_questions(truth, ents, start, end, n),
        *topic_questions(start, end, n),
    ]
    print(
        f"{len(docs)} records, {len(vd.entities)} entities; {len(queries)} questions; "
        f"{len(ents)}/{len(truth['people'])} ground-truth people resolved",
        flush=True,
    )

    stats: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    confusions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for q in queries:
        t0 = time.perf_counter()
        r = ask(service, q.question, as_of=q.as_of, k=10)
        stats[q.intent]["ms"].append((time.perf_counter() - t0) * 1000)
        stats[q.intent]["intent"].append(r["intent"] == q.intent)
        confusions[q.intent][r["intent"]] += 1
        ok = check_answer(q, r, docs)
        if ok is not None:
            stats[q.intent]["answer"].append(ok)
        if args.verbose and (ok is False or r["intent"] != q.intent):
            print(f"  miss [{q.intent}->{r['intent']}] {q.question!r} expect={q.expect} :: {r['answer'][:200]}")
    print("\nintent          n  intent-acc  answer-acc  ms/question   (answer: slot, sum, people, month or top hit)")
    figures: dict[str, object] = {"intents": {}, "retrieval": {}}
    for intent in ("search", "person_profile", "relationship", "timeline", "aggregate", "prediction", "topic"):
        s = stats[intent]
        if not s["intent"]:
            continue
        acc = sum(s["intent"]) / len(s["intent"])
        ans = sum(s["answer"]) / len(s["answer"]) if s["answer"] else float("nan")
        ms = sorted(s["ms"])[len(s["ms"]) // 2]
        wrong = {k: v for k, v in confusions[intent].items() if k != intent}
        print(f"{intent:14s} {len(s['intent']):3d}  {acc:10.3f}  {ans:10.3f}  {ms:11.1f}   {wrong or ''}")
        figures["intents"][intent] = {
            "n": len(s["intent"]),
            "intent_accuracy": acc,
            "answer_accuracy": ans,
            "median_ms": ms,
        }
    allq = [x for s in stats.values() for x in s["intent"]]
    print(f"{'all':14s} {len(allq):3d}  {sum(allq) / len(allq):10.3f}")

    if args.no_retrieval:
        return
    sets = retrieval_sets(docs, truth, vd, ents, known, n)
    print("\nretrieval (search(mode=...)), k=10     " + "  ".join(f"{m:>17s}" for m in MODES))
    print(" " * 38 + "  ".join(f"{'recall  nDCG':>17s}" for _ in MODES))
    totals = {m: [0.0, 0.0, 0] for m in MODES}
    for name, qs in sets.items():
        row = []
        for mode in MODES:
            rs = [recall_ndcg([h.id for h in service.search(q.question, k=10, mode=mode)], q.relevant) for q in qs]
            rec = sum(r for r, _ in rs) / len(rs)
            nd = sum(d for _, d in rs) / len(rs)
            totals[mode][0] += rec * len(rs)
            totals[mode][1] += nd * len(rs)
            totals[mode][2] += len(rs)
            row.append(f"{rec:7.3f} {nd:7.3f}  ")
            figures["retrieval"].setdefault(name, {})[mode] = {"n": len(rs), "recall@10": rec, "ndcg@10": nd}
        print(f"{name:22s} ({len(qs):3d} queries)  " + "".join(f"{c:>19s}" for c in row))
    row = [f"{totals[m][0] / totals[m][2]:7.3f} {totals[m][1] / totals[m][2]:7.3f}  " for m in MODES]
    print(f"{'all':22s} ({totals['hybrid'][2]:3d} queries)  " + "".join(f"{c:>19s}" for c in row))
    hyb, vec = totals["hybrid"][1] / totals["hybrid"][2], totals["vector"][1] / totals["vector"][2]
    print(f"\nhybrid nDCG@10 {hyb:.3f} vs vector-only {vec:.3f}: " + ("hybrid wins" if hyb > vec else "HYBRID LOSES"))
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    service.close()
    if not args.home:
        shutil.rmtree(home.parent, ignore_errors=True)
    if hyb <= vec:
        sys.exit(1)


if __name__ == "__main__":
    main()
