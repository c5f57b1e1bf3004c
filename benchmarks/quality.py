"""Quality of the processing layer against the demo persona's ground truth (and a look at Enron).

    python benchmarks/quality.py --demo-seed 7 --people 40 --years 3 [--enron PATH] [--no-embed]

Generates the demo into a temporary folder, parses it with the connectors, classifies every record,
builds Documents and runs the processing functions; then prints:

* entity resolution: pairwise precision / recall / F1 over the ground-truth aliases that occur in
  the data (two aliases of one person should share an entity; aliases of two people must not);
* sentiment agreement with the planted items;
* planted-topic recovery: the best-matching cluster's keyword overlap and purity;
* timeline coverage and the planted life events (trips, job change) that were found;
* on the Enron maildir sample: distinct people, alias counts, the 15 largest merged entities.

Everything printed here is synthetic or from the public Enron corpus; the benchmark never reads a
real twin home.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from itertools import combinations
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from twin_assets.classify import Classifier  # noqa: E402
from twin_assets.connectors.registry import connectors  # noqa: E402
from twin_assets.pipeline.documents import to_document  # noqa: E402
from twin_assets.processing import sentiment as sentiment_mod  # noqa: E402
from twin_assets.processing import timeline as timeline_mod  # noqa: E402
from twin_assets.processing import topics as topics_mod  # noqa: E402
from twin_assets.processing.names import fold, normalise_email, normalise_phone  # noqa: E402
from twin_assets.processing.resolution import Resolution, ResolveOptions, resolve  # noqa: E402
from twin_assets.processing.text import normalise  # noqa: E402
from twin_assets.records import Document, Record  # noqa: E402

DEFAULT_ENRON = REPO / ".." / "shared" / "samples" / "email" / "enron_maildir"


# ---- loading -------------------------------------------------------------------------------------


def load_documents(root: Path, *, skip: tuple[str, ...] = ("ground_truth.json",)) -> list[Document]:
    """Every record under ``root`` as a Document, via the connector that recognises each input."""
    from twin_assets.connectors.base import read_head

    found = connectors()
    docs: list[Document] = []
    inputs: list[Path] = []
    for path in sorted(root.iterdir()):
        if path.name in skip or path.name.startswith("."):
            continue
        inputs.extend([path] if path.is_file() else _inputs_in(path, found))
    classifier = Classifier()
    for path in inputs:
        head = read_head(path)
        connector = next((c for c in found.values() if _safe_recognizes(c, path, head)), None)
        if connector is None:
            continue
        for item in connector.parse(path):
            if isinstance(item, Record):
                docs.append(to_document(f"doc{len(docs):06d}", item, classifier.classify(item).tier))
    return docs


def _safe_recognizes(connector, path: Path, head: bytes) -> bool:
    try:
        return bool(connector.recognizes(path, head))
    except Exception:
        return False


def _inputs_in(folder: Path, found) -> list[Path]:
    """A folder a connector takes whole (a vault, a Slack export, a maildir) or its children."""
    from twin_assets.connectors.base import read_head

    head = read_head(folder)
    if any(_safe_recognizes(c, folder, head) for c in found.values()):
        return [folder]
    out: list[Path] = []
    for child in sorted(folder.iterdir()):
        out.extend([child] if child.is_file() else _inputs_in(child, found))
    return out


# ---- entity resolution ---------------------------------------------------------------------------


def _alias_keys(person: dict) -> set[str]:
    """A ground-truth person's aliases as the keys the resolver indexes (strong) or names (weak)."""
    a = person.get("aliases") or {}
    keys: set[str] = set()
    for email in a.get("emails") or person.get("emails") or []:
        norm = normalise_email(email)
        if norm:
            keys.add(f"email:{norm}")
    phone = normalise_phone(a.get("phone") or person.get("phone"))
    if phone:
        keys.add(f"phone:{phone}")
    if a.get("contact_uid") or person.get("contact_uid"):
        keys.add(f"uid:{a.get('contact_uid') or person.get('contact_uid')}")
    slack = a.get("slack") or {}
    if slack.get("user_id"):
        keys.add(f"handle:slack:{slack['user_id']}")
    handles = person.get("handles") or {}
    if handles.get("slack_user_id"):
        keys.add(f"handle:slack:{handles['slack_user_id']}")
    names = set(a.get("display_names") or []) | {person.get("name")}
    names |= {v for v in (a.get("whatsapp_name"), a.get("calendar_cn"), handles.get("whatsapp_name")) if v}
    keys |= {f"name:{n}" for n in names if n}
    return keys


def resolution_scores(res: Resolution, truth: dict) -> dict:
    """Pairwise precision/recall/F1 over ground-truth aliases that appear in the resolved data."""
    name_index: dict[str, set[str]] = defaultdict(set)
    for e in res.entities:
        for n in e.aliases.get("names", []):
            name_index[n].add(e.id)
    people = [dict(truth["persona"], id="self")] + truth["people"]
    owner: dict[str, set[str]] = defaultdict(set)
    for p in people:
        for key in _alias_keys(p):
            owner[key].add(p["id"])
    observed: dict[str, set[str]] = {}
    for key, pids in owner.items():
        if len(pids) != 1:
            continue  # an alias two people share in the ground truth cannot be scored
        if key.startswith("name:"):
            ents = name_index.get(key[5:], set())
        else:
            ent = res.key_index.get(key)
            ents = {ent} if ent else set()
        if ents:
            observed[key] = ents
    gold = {k: next(iter(owner[k])) for k in observed}
    tp = fp = fn = 0
    false_merges: Counter = Counter()
    missed: Counter = Counter()
    for a, b in combinations(sorted(observed), 2):
        same_pred = bool(observed[a] & observed[b])
        same_gold = gold[a] == gold[b]
        if same_pred and same_gold:
            tp += 1
        elif same_pred:
            fp += 1
            false_merges[(gold[a], gold[b])] += 1
        elif same_gold:
            fn += 1
            missed[(a, b)] += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    coverage = len(observed) / max(1, sum(1 for k in owner if len(owner[k]) == 1))
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "aliases_scored": len(observed),
        "alias_coverage": coverage,
        "false_merges": false_merges.most_common(5),
        "missed": [pair for pair, _ in missed.most_common(8)],
    }


# ---- sentiment -----------------------------------------------------------------------------------


def _locate(docs: list[Document], locator: dict) -> list[Document]:
    source = locator.get("source")
    ext = locator.get("external_id")
    out = []
    for d in docs:
        if source and d.source != source:
            continue
        meta = d.meta or {}
        ext_id = str(meta.get("external_id") or "")
        if (ext and (ext_id == ext or ext_id.startswith(ext + "/"))) or (
            locator.get("ts") and ext_id.endswith("/" + locator["ts"])
        ):
            out.append(d)
        elif locator.get("marker") and not ext:
            marker = locator["marker"]
            if " - " in marker and ": " in marker:
                marker = marker.split(": ", 1)[1]
            if marker in d.body:
                out.append(d)
    return out


def sentiment_scores(docs: list[Document], truth: dict, doc_sent: dict) -> dict:
    agree = total = 0
    confusion: Counter = Counter()
    for item in truth.get("sentiment", []):
        found = _locate(docs, item["locator"])
        if not found:
            continue
        total += 1
        label = doc_sent[found[0].id].label
        confusion[(item["expected"], label)] += 1
        agree += label == item["expected"]
    return {
        "planted": len(truth.get("sentiment", [])),
        "located": total,
        "agreement": agree / total if total else 0.0,
        "confusion": dict(confusion),
    }


# ---- topics --------------------------------------------------------------------------------------


def topic_scores(docs: list[Document], truth: dict, result: topics_mod.TopicModel) -> list[dict]:
    doc_topic = {doc_id: t.id for t in result.topics for doc_id in t.evidence}
    out = []
    for planted in truth.get("topics", []):
        keywords = [fold(k) for k in planted["keywords"]]
        located = [d.id for loc in planted.get("locators", []) for d in _locate(docs, loc)[:1]]
        assigned = Counter(doc_topic.get(i) for i in located if i in doc_topic)
        best = None
        for t in result.topics:
            top = " | ".join(fold(w) for w in t.keywords[:10])
            overlap = sum(1 for k in keywords if k in top) / len(keywords)
            if best is None or (overlap, assigned.get(t.id, 0)) > best[:2]:
                best = (overlap, assigned.get(t.id, 0), t)
        if best is None:
            continue
        overlap, _n, topic = best
        in_best = assigned.get(topic.id, 0)
        # Purity: of the cluster's documents, the share that talk about the planted topic's keywords.
        texts = {d.id: fold(d.text()) for d in docs}
        hits = sum(1 for i in topic.evidence if any(k in texts.get(i, "") for k in keywords))
        out.append(
            {
                "topic": planted["label"],
                "trend": planted.get("trend"),
                "best_cluster": topic.label,
                "keyword_overlap": round(overlap, 2),
                "purity": round(hits / max(1, len(topic.evidence)), 2),
                "planted_docs_in_cluster": f"{in_best}/{len(located)}",
                "found_trend": topic.trend,
            }
        )
    return out


# ---- timeline ------------------------------------------------------------------------------------


def timeline_scores(docs: list[Document], truth: dict, tl: timeline_mod.Timeline) -> dict:
    dated = [d for d in docs if d.event_time is not None]
    on = {e.doc_id for e in tl.events}
    trips = truth["patterns"].get("trips", [])
    found_trips = [e for e in tl.life_events if e.kind == "trip"]
    matched = 0
    for trip in trips:
        start, end = date.fromisoformat(trip["start"]), date.fromisoformat(trip["end"])
        if any(e.start.date() <= end and (e.end or e.start).date() >= start for e in found_trips):
            matched += 1
    job = truth["patterns"].get("job_change")
    job_found = None
    if job:
        when = date.fromisoformat(job["date"])
        changes = [e for e in tl.life_events if e.kind == "job_change"]
        close = [e for e in changes if abs((e.start.date() - when).days) <= 45]
        job_found = {
            "planted": job["date"],
            "found": [e.start.date().isoformat() for e in changes],
            "within_45_days": bool(close),
        }
    false_trips = sum(
        1
        for e in found_trips
        if not any(
            e.start.date() <= date.fromisoformat(t["end"])
            and (e.end or e.start).date() >= date.fromisoformat(t["start"])
            for t in trips
        )
    )
    return {
        "dated_documents": len(dated),
        "on_timeline": sum(1 for d in dated if d.id in on) / max(1, len(dated)),
        "series": len(tl.series),
        "trips_planted": len(trips),
        "trips_found": matched,
        "extra_trips": false_trips,
        "job_change": job_found,
        "life_events": Counter(e.kind for e in tl.life_events),
    }


# ---- runs ----------------------------------------------------------------------------------------


def run_demo(seed: int, people: int, years: int, *, embed: bool) -> dict:
    from twin_assets.demo import generate

    with tempfile.TemporaryDirectory(prefix="twin-quality-") as tmp:
        root = Path(tmp) / "demo"
        t0 = time.perf_counter()
        generate(root, seed=seed, people=people, years=years)
        truth = json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))
        docs = load_documents(root)
    print(
        f"demo: seed={seed} people={people} years={years}: {len(docs)} documents "
        f"({time.perf_counter() - t0:.1f}s to generate and parse)"
    )
    t = time.perf_counter()
    norms = {d.id: normalise(d) for d in docs}
    res = resolve(docs, norms, ResolveOptions())
    t_res = time.perf_counter() - t
    scores = resolution_scores(res, truth)
    print(
        f"\n== entity resolution ({t_res:.1f}s; {len(res.entities)} entities, {len(res.of_kind('person'))} people) =="
    )
    print(
        f"pairwise precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  F1 {scores['f1']:.3f}  "
        f"(aliases scored {scores['aliases_scored']}, {scores['alias_coverage']:.0%} of ground-truth aliases "
        "occur in the data)"
    )
    if scores["false_merges"]:
        print("  false merges (ground-truth ids):", scores["false_merges"])
    if scores["missed"]:
        print("  missed pairs, e.g.:", scores["missed"][:5])
    annas = [e for e in res.of_kind("person") if any(n.startswith("Anna ") for n in e.aliases["names"])]
    print(f"  entities named Anna …: {len(annas)} ({', '.join(sorted(e.name for e in annas))})")

    t = time.perf_counter()
    doc_sent = {s.doc_id: s for s in sentiment_mod.document_sentiment(docs, norms)}
    rel = sentiment_mod.relationship_sentiment(docs, res, doc_sent)
    s_scores = sentiment_scores(docs, truth, doc_sent)
    print(f"\n== sentiment ({time.perf_counter() - t:.1f}s) ==")
    print(
        f"planted items located {s_scores['located']}/{s_scores['planted']}, agreement "
        f"{s_scores['agreement']:.0%}; confusion (expected, got): {s_scores['confusion']}"
    )
    _print_relationships(rel, res, truth)

    t = time.perf_counter()
    topic_docs = [d for d in docs if topics_mod.is_topical(d, norms[d.id])]
    texts = [topics_mod.topic_text(d, norms[d.id]) for d in topic_docs]
    if embed:
        from twin_assets.embedding import embed as embed_texts

        vectors = embed_texts(texts)
        how = "MiniLM embeddings"
    else:
        vectors = topics_mod.tfidf_vectors(texts)
        how = "TF-IDF/LSA vectors"
    t_vec = time.perf_counter() - t
    model = topics_mod.find_topics(topic_docs, vectors, texts=texts, seed=seed)
    print(
        f"\n== topics ({how}: {t_vec:.1f}s for {len(texts)} texts; clustering "
        f"{time.perf_counter() - t - t_vec:.1f}s; {len(model.topics)} clusters) =="
    )
    for row in topic_scores(docs, truth, model):
        print(
            f"  {row['topic']:<11} planted {row['trend'] or '-':<7} -> '{row['best_cluster']}' "
            f"keywords {row['keyword_overlap']:.0%}, purity {row['purity']:.0%}, planted docs in cluster "
            f"{row['planted_docs_in_cluster']}, trend {row['found_trend']}"
        )

    t = time.perf_counter()
    tl = timeline_mod.build_timeline(docs, res, home=truth.get("persona", {}).get("city"))
    tscores = timeline_scores(docs, truth, tl)
    print(f"\n== timeline ({time.perf_counter() - t:.1f}s) ==")
    print(
        f"{tscores['on_timeline']:.0%} of {tscores['dated_documents']} dated documents on the timeline; "
        f"{tscores['series']} recurring series; trips found {tscores['trips_found']}/{tscores['trips_planted']} "
        f"(+{tscores['extra_trips']} not planted); job change {tscores['job_change']}; "
        f"life events {dict(tscores['life_events'])}"
    )
    return {"resolution": scores, "sentiment": s_scores, "timeline": tscores}


def _print_relationships(rel: list, res: Resolution, truth: dict) -> None:
    patterns = truth.get("patterns", {})
    by_name = {p["id"]: p["name"] for p in truth["people"]}
    wanted = {"fading_friendship": "fading", "strengthening_tie": "strengthening", "communication_anomaly": "conflict"}
    for key, label in wanted.items():
        pid = (patterns.get(key) or {}).get("person")
        if not pid:
            continue
        entity = next((e for e in res.of_kind("person") if by_name.get(pid) in e.aliases["names"]), None)
        r = next((x for x in rel if entity and x.entity_id == entity.id), None)
        if r is None:
            print(f"  {label}: not found")
            continue
        print(
            f"  {label} ({pid}): messages/month slope {r.count_slope:+.2f}, sentiment slope {r.slope:+.3f}, "
            f"lowest month {r.lowest_month}"
        )


def run_enron(path: Path) -> None:
    if not path.exists():
        print(f"\n(Enron sample not found at {path}; skipped)")
        return
    t = time.perf_counter()
    docs = load_documents(path.parent, skip=tuple(p.name for p in path.parent.iterdir() if p != path))
    norms = {d.id: normalise(d) for d in docs}
    res = resolve(docs, norms, ResolveOptions(text=False))
    people = res.of_kind("person")
    merged = [e for e in people if len(e.aliases["emails"]) + len(e.aliases["handles"]) > 1]
    print(f"\n== Enron sample: {len(docs)} messages, {time.perf_counter() - t:.1f}s ==")
    print(
        f"distinct people {len(people)} ({sum(1 for e in people if e.aliases['emails'])} with an address), "
        f"organisations {len(res.of_kind('organisation'))}; merged entities (2+ addresses) {len(merged)}"
    )
    counts = Counter(len(e.aliases["emails"]) for e in people if e.aliases["emails"])
    print("addresses per person:", dict(sorted(counts.items())))
    print("15 largest merged entities:")
    for e in sorted(people, key=lambda e: (-(len(e.aliases["emails"]) * 10 + len(e.aliases["names"])), e.id))[:15]:
        names = ", ".join(e.aliases["names"][:5])
        print(f"  [{e.confidence:.2f}] {e.name}: {', '.join(e.aliases['emails'])} | names: {names}")
        for m in e.merges:
            if not re.match(r"^(named so|e-mail address and)", m.reason):
                print(f"        merge: {m.alias!r}: {m.reason}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-seed", type=int, default=7)
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--enron", type=Path, default=DEFAULT_ENRON)
    ap.add_argument("--no-embed", action="store_true", help="TF-IDF/LSA vectors instead of the embedding model")
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args(argv)
    np.set_printoptions(precision=3)
    if not args.skip_demo:
        run_demo(args.demo_seed, args.people, args.years, embed=not args.no_embed)
    run_enron(args.enron.resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
