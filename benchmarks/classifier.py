"""Sensitivity classifier benchmark on the demo persona's ground truth.

    .venv/bin/python -m benchmarks.classifier [--people 40] [--years 4] [--seed 7] [--exports DIR] [--enron]

Generates the demo exports (or reads ``--exports``), parses them with the
installed connectors, classifies every record and compares the planted items
of ``ground_truth.json`` (found by their canary string in the record text)
with what the classifier said. Prints only counts, tiers, categories and
detector names — never record text.

Measures:

- HIGH recall: planted HIGH items (every record that contains the canary, so a
  quoted reply counts too) classified HIGH. Must be 1.0.
- Detector recall: the same, counting only records a detector (not the source
  default) put at HIGH — the number that shows the detectors work, since mail
  and chat are HIGH by default anyway.
- Detector precision: of the records a detector put at HIGH, the share that
  are planted sensitive items. The demo plants its secrets deliberately, so
  every other detector-HIGH record is a false alarm. Shown twice: over all such
  records, and over those where the detector changed the tier (the source
  default was lower, or a forced LOW was overridden) — the false alarms that
  cost something, i.e. that move content out of a cheaper store.
- The tier confusion of every planted item (MEDIUM and LOW included), the tier
  mix per source, and classification speed in records/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from twin_assets.classifiers import scan_text
from twin_assets.classify import Classification, Classifier, RuleRegistry, contact_details
from twin_assets.records import ParseIssue, Record
from twin_assets.stores import HIGH, LOW, MEDIUM
from twin_assets.tiers import Tier

SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "samples"
TIERS_ORDER = (HIGH, MEDIUM, LOW)


def export_roots(root: Path) -> Iterator[tuple[Path, object]]:
    """Top-most paths a connector recognises (a Slack export folder is one input, not 30 files)."""
    from twin_assets.connectors.registry import detect

    for child in sorted(root.iterdir()):
        if child.name == "ground_truth.json":
            continue
        connector = detect(child)
        if connector is not None:
            yield child, connector
        elif child.is_dir():
            yield from export_roots(child)


def parse_all(root: Path) -> tuple[list[Record], int]:
    records: list[Record] = []
    issues = 0
    for path, connector in export_roots(root):
        for item in connector.parse(path):  # type: ignore[attr-defined]
            if isinstance(item, ParseIssue):
                issues += 1
            else:
                records.append(item)
    return records, issues


def detector_high(c: Classification) -> bool:
    """HIGH because a detector (or user rule) said so, not only because of the source."""
    return c.tier == HIGH and any(r.startswith("detector:") for r in c.reasons)


def changed_tier(record: Record, c: Classification) -> bool:
    """The detector moved the record up from what source and publishing rules gave it."""
    from twin_assets.classify import Scan, published, source_default

    scan = Scan(record, CLASSIFIER.pii, lambda: ())
    base = [v for v in published(scan)] or list(source_default(scan))
    return Tier.parse(c.tier) > Tier.max_of(*(v.tier for v in base))


def detector_names(c: Classification) -> set[str]:
    return {r.split(":", 1)[1].split("@", 1)[0].split("+", 1)[0] for r in c.reasons if r.startswith("detector:")}


# One classifier for the whole benchmark, as a run has one: its Presidio engine is built once (timed apart).
CLASSIFIER = Classifier()
WITH_CONTACTS = Classifier(RuleRegistry.installed().add("contact_details", contact_details), pii=CLASSIFIER.pii)


def timed_classify(records: list[Record], with_contacts: bool = False) -> tuple[list[Classification], float]:
    classifier = WITH_CONTACTS if with_contacts else CLASSIFIER
    start = time.perf_counter()
    out = [classifier.classify(r) for r in records]
    return out, time.perf_counter() - start


def run(exports: Path, truth: dict) -> dict:
    t0 = time.perf_counter()
    records, issues = parse_all(exports)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    CLASSIFIER.pii.analyzer()
    engine_s = time.perf_counter() - t0
    results, classify_s = timed_classify(records)
    texts = [scan_text(r) for r in records]

    print(f"records: {len(records)} parsed in {parse_s:.1f}s ({issues} parse issues)")
    print(f"Presidio engine build (once per classifier): {engine_s:.2f}s")
    print(f"classify: {len(records) / classify_s:,.0f} records/s ({classify_s:.2f}s for {len(records)})")
    mail = [(r, t) for r, t in zip(records, texts, strict=True) if r.source == "email"]
    if mail:
        _, mail_s = timed_classify([r for r, _ in mail])
        avg = sum(len(t) for _, t in mail) / len(mail)
        print(f"classify e-mail only: {len(mail) / mail_s:,.0f} records/s ({len(mail)} mails, avg {avg:,.0f} chars)")
        _, mail_c = timed_classify([r for r, _ in mail], with_contacts=True)
        print(f"  with the opt-in contact_details rule (e-mail/phone/IP spans): {len(mail) / mail_c:,.0f} records/s")

    planted = [dict(item, expected=item["tier"]) for item in truth.get("sensitive", []) + truth.get("low_canaries", [])]
    matched: dict[int, list[int]] = defaultdict(list)
    for i, item in enumerate(planted):
        for j, text in enumerate(texts):
            if item["canary"] in text:
                matched[i].append(j)
    planted_records = {j for js in matched.values() for j in js}

    print("\nplanted items (every record containing the canary):")
    print(f"  {'source':9} {'category':12} {'expected':8} {'got':18} {'records':>7}  detectors")
    confusion: Counter[tuple[str, str]] = Counter()
    high_items = high_ok = high_det_ok = 0
    missing = 0
    for i, item in enumerate(planted):
        js = matched.get(i, [])
        if not js:
            missing += 1
            print(f"  {item['source']:9} {item['category']:12} {item['expected']:8} {'NOT FOUND':18} {0:>7}")
            continue
        got = Counter(results[j].tier for j in js)
        worst = min(got, key=Tier.parse)
        confusion[(item["expected"], worst)] += 1
        names = sorted(set().union(*(detector_names(results[j]) for j in js)))
        shown = ",".join(f"{t}x{n}" if n > 1 else t for t, n in got.items())
        print(
            f"  {item['source']:9} {item['category']:12} {item['expected']:8} {shown:18} {len(js):>7}  "
            + ",".join(names)
        )
        if item["expected"] == HIGH:
            high_items += 1
            high_ok += all(results[j].tier == HIGH for j in js)
            high_det_ok += all(detector_high(results[j]) for j in js)

    det = [j for j, c in enumerate(results) if detector_high(c)]
    det_changed = [j for j in det if changed_tier(records[j], results[j])]
    tp = sum(j in planted_records for j in det)
    tp_changed = sum(j in planted_records for j in det_changed)
    recall = high_ok / high_items if high_items else float("nan")
    det_recall = high_det_ok / high_items if high_items else float("nan")
    precision = tp / len(det) if det else float("nan")
    precision_changed = tp_changed / len(det_changed) if det_changed else float("nan")

    print("\nconfusion of planted items (rows expected, columns got; a record's lowest tier counts):")
    print("  " + " " * 8 + "".join(f"{t:>8}" for t in TIERS_ORDER))
    for exp in TIERS_ORDER:
        print(f"  {exp:8}" + "".join(f"{confusion[(exp, got)]:>8}" for got in TIERS_ORDER))
    print("  (the brief makes medical and salary content HIGH; the demo plants some of it as MEDIUM)")

    print(f"\nHIGH recall: {recall:.3f} ({high_ok}/{high_items} planted HIGH items, all their records HIGH)")
    print(
        f"detector recall: {det_recall:.3f} ({high_det_ok}/{high_items} made HIGH by a detector, not just the source)"
    )
    print(f"detector precision: {precision:.3f} ({tp}/{len(det)} detector-HIGH records are planted items)")
    print(
        f"detector precision where the tier changed: {precision_changed:.3f} "
        f"({tp_changed}/{len(det_changed)}; false alarms that move content to a stricter store)"
    )
    fp_names = Counter(n for j in det if j not in planted_records for n in detector_names(results[j]))
    if fp_names:
        print(
            "  detector-HIGH records that are not planted, by detector: "
            + ", ".join(f"{n}={c}" for n, c in fp_names.most_common())
        )
    if missing:
        print(f"  {missing} planted canaries were not found in any record")

    print("\ntiers by source:")
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for r, c in zip(records, results, strict=True):
        by_source[r.source][c.tier] += 1
    for source in sorted(by_source):
        print(f"  {source:10}" + "".join(f"{t}={by_source[source][t]:<6}" for t in TIERS_ORDER))
    return {
        "recall": recall,
        "detector_recall": det_recall,
        "precision": precision,
        "precision_changed": precision_changed,
        "records_per_s": len(records) / classify_s,
    }


def enron(limit: int) -> None:
    """Speed and detector hits on real mail (counts only), when the shared samples are present."""
    folder = SAMPLES / "email" / "enron_maildir"
    if not folder.exists():
        print("\n(enron sample not present; skipped)")
        return
    from twin_assets.connectors.registry import get_connector

    records: list[Record] = []
    for item in get_connector("email").parse(folder):
        if isinstance(item, Record):
            records.append(item)
        if len(records) >= limit:
            break
    results, secs = timed_classify(records)
    avg = sum(len(r.text()) for r in records) / max(1, len(records))
    hits = Counter(n for c in results if detector_high(c) for n in detector_names(c))
    print(f"\nenron sample: {len(records)} mails (avg {avg:,.0f} chars), {len(records) / secs:,.0f} records/s")
    _, secs_c = timed_classify(records, with_contacts=True)
    print(f"  with the opt-in contact_details rule: {len(records) / secs_c:,.0f} records/s")
    print(
        f"  detector-HIGH mails: {sum(detector_high(c) for c in results)}; by detector: "
        + (", ".join(f"{n}={c}" for n, c in hits.most_common()) or "none")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", type=Path, help="an existing demo output folder (with ground_truth.json)")
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--enron", action="store_true", help="also time real mail from the shared samples")
    parser.add_argument("--enron-limit", type=int, default=2000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        exports = args.exports
        if exports is None:
            from twin_assets.demo import generate

            exports = Path(tmp) / "demo"
            t0 = time.perf_counter()
            generate(exports, seed=args.seed, people=args.people, years=args.years)
            print(
                f"demo: seed {args.seed}, {args.people} people, {args.years} years "
                f"(generated in {time.perf_counter() - t0:.1f}s)"
            )
        truth = json.loads((exports / "ground_truth.json").read_text(encoding="utf-8"))
        summary = run(exports, truth)
    if args.enron:
        enron(args.enron_limit)
    ok = summary["recall"] == 1.0
    print(f"\n{'OK' if ok else 'FAIL'}: HIGH recall {summary['recall']:.3f} (must be 1.0)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
