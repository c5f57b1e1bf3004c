"""Quality checks over a stored view, as plain functions (the Dagster asset checks call these)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from twin_assets.pipeline.model import load_resolution, view_documents
from twin_assets.processing.timeline import belongs_on_timeline
from twin_assets.tiers import Tier
from twin_assets.twin import Twin

DEMO_TRUTH = "demo_truth.fenc"


@dataclass
class CheckOutcome:
    passed: bool
    counts: dict[str, int] = field(default_factory=dict)  # numbers only: they land in Dagster's event log


def orphan_mentions(twin: Twin, view: str) -> CheckOutcome:
    docs = {d.id for d in view_documents(twin, view)}
    res = load_resolution(twin, view)
    entities = {e.id for e in res.entities}
    orphans = sum(1 for m in res.mentions if m.doc_id not in docs or m.entity_id not in entities)
    return CheckOutcome(orphans == 0, {"mentions": len(res.mentions), "orphans": orphans})


def evidence_above_view(twin: Twin, view: str) -> CheckOutcome:
    """No artifact of the view has evidence in a tier the view may not read (invariant 2: derived data inherits
    the highest tier of its evidence, so a LOW artifact built from a HIGH record would leak it to LOW readers)."""
    above = [tier for tier in Tier if not tier.readable_by(view)]
    derived = twin.derived(view)
    leaked = {key for tier in above for key in derived.derived_from(twin.store(tier).ids())}
    return CheckOutcome(not leaked, {"tiers_above": len(above), "artifacts_above": len(leaked)})


def timeline_coverage(twin: Twin, view: str) -> CheckOutcome:
    dated = {d.id for d in view_documents(twin, view) if belongs_on_timeline(d)}
    on_timeline = twin.derived(view).ids("event")
    missing = len(dated - on_timeline)
    return CheckOutcome(missing == 0, {"dated": len(dated), "missing": missing})


def save_demo_truth(twin: Twin, truth: dict) -> None:
    """Keep the demo's ground truth (it holds canaries and names) encrypted, for the checks."""
    (twin.settings.stores_dir / DEMO_TRUTH).write_bytes(twin.keyring.encrypt(json.dumps(truth).encode()))


def load_demo_truth(twin: Twin) -> dict | None:
    path = twin.settings.stores_dir / DEMO_TRUTH
    return json.loads(twin.keyring.decrypt(path.read_bytes())) if path.exists() else None


def merges_across_people(twin: Twin, view: str) -> CheckOutcome:
    """On the demo: no entity holds addresses of two different ground-truth people."""
    truth = load_demo_truth(twin)
    if truth is None:
        return CheckOutcome(True, {"checked": 0})
    owner: dict[str, str] = {}
    for person in truth.get("people", []):
        for email in person.get("aliases", {}).get("emails", []):
            owner[email.lower()] = person["id"]
    for email in truth.get("persona", {}).get("emails", []):
        owner[email.lower()] = "persona"
    res = load_resolution(twin, view)
    bad = 0
    for e in res.entities:
        people = {owner[a.lower()] for a in e.aliases.get("emails", []) if a.lower() in owner}
        bad += len(people) > 1
    return CheckOutcome(bad == 0, {"entities": len(res.entities), "cross_person_merges": bad})
