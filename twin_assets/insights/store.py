"""Insights for a twin's tier view: stored for "now", computed on demand for an earlier ``as_of``.

A view reads only documents at or below its tier (see :mod:`twin_assets.pipeline.model`), so
insights served from the LOW view derive from LOW records only. For any ``as_of`` the documents are
cut at ``as_of``; the stored resolution of the view supplies entity identity only (names and
aliases; its mentions are cut to the kept documents), and stored per-document sentiment is used
for kept documents (it depends on that document alone). Nothing else derived is read: topics,
relationship trends and patterns are recomputed from the cut documents.
"""

from __future__ import annotations

import math
from datetime import datetime

from twin_assets.insights import KINDS, Insight, compute_insights, default_as_of
from twin_assets.pipeline.model import load_resolution, peek, view_documents, view_norms, view_topic_texts
from twin_assets.processing.resolution import Resolution
from twin_assets.records import Document
from twin_assets.stores.derived import Artifact
from twin_assets.twin import Twin

ARTIFACT_KIND = "insight"


def load_view(twin: Twin, view: str) -> tuple[list[Document], Resolution, dict[str, float]]:
    docs = view_documents(twin, view)
    resolution = load_resolution(twin, view)
    scores = peek(twin, view, "doc_scores")  # the sentiment step's, when it ran in this materialization
    if scores is not None and len(scores) == len(docs):
        return docs, resolution, {d.id: c for d, c in zip(docs, scores.tolist(), strict=True) if not math.isnan(c)}
    sentiment = {
        doc_id: float(d["compound"])
        for doc_id, d in twin.derived(view).iter("doc_sentiment", ordered=False)
        if d.get("reliable", True) and d.get("compound") is not None
    }
    return docs, resolution, sentiment


def compute_for_view(
    twin: Twin, view: str, as_of: datetime | None = None, kinds: list[str] | None = None
) -> tuple[datetime, list[Insight]]:
    docs, resolution, sentiment = load_view(twin, view)
    as_of = as_of or default_as_of(docs)
    # The topics step of this materialization has usually cut these already (and released the norms).
    topic_texts = peek(twin, view, "topic_texts")
    if topic_texts is None:
        topic_texts = view_topic_texts(twin, view, docs, view_norms(twin, view, docs))
    return as_of, compute_insights(
        docs,
        resolution,
        as_of,
        kinds=kinds,
        sentiment=sentiment,
        topic_texts=topic_texts,
    )


def build_insights(twin: Twin, view: str) -> dict[str, int]:
    """The asset's work: "now" insights of every kind, stored as derived artifacts of kind "insight"."""
    as_of, found = compute_for_view(twin, view)
    stamp = as_of.isoformat()
    artifacts = {
        i.artifact_id: Artifact(ARTIFACT_KIND, i.artifact_id, {**i.public(), "as_of": stamp}, i.evidence) for i in found
    }
    n = twin.derived(view).replace_kind(ARTIFACT_KIND, artifacts.values())
    counts = {"insights": n}
    for kind in KINDS:
        counts[kind] = sum(1 for i in found if i.kind == kind)
    return counts


def stored_insights(twin: Twin, view: str) -> tuple[datetime | None, list[dict]]:
    items = [d for _, d in twin.derived(view).iter(ARTIFACT_KIND)]
    if not items:
        return None, []
    as_of = datetime.fromisoformat(items[0]["as_of"])
    order = {k: n for n, k in enumerate(KINDS)}
    items.sort(key=lambda d: (order.get(d["kind"], 99), d.get("horizon_days") or 0, -d["score"], d["subject"]))
    return as_of, [{k: v for k, v in d.items() if k != "as_of"} for d in items]


def insights_for(
    twin: Twin, view: str, as_of: datetime | None = None, kind: str | None = None
) -> tuple[datetime, list[dict], str]:
    """(as_of, insights as public dicts, "stored" or "computed") for one view."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown insight kind; choose from {', '.join(KINDS)}")
    if as_of is None:
        stamp, items = stored_insights(twin, view)
        if stamp is not None:
            return stamp, [d for d in items if kind is None or d["kind"] == kind], "stored"
    when, found = compute_for_view(twin, view, as_of, [kind] if kind else None)
    return when, [i.public() for i in found], "computed"
