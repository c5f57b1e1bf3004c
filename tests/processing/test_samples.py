"""The processing functions over real exports from other projects: never raise, offsets stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_assets.classify import Classifier
from twin_assets.connectors.registry import detect
from twin_assets.pipeline.documents import to_document
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.processing.sentiment import document_sentiment
from twin_assets.processing.text import normalise, passages
from twin_assets.processing.timeline import build_timeline
from twin_assets.records import Record
from twin_assets.stores import TIERS

SAMPLES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "samples").resolve()
INPUTS = ["email/mbox", "email/enron_maildir/keavey-p/sent_items", "chat", "contacts", "calendar", "notes"]
PER_INPUT = 200  # enough variety per format, small enough for a fast test


def _documents():
    docs = []
    classifier = Classifier()
    for rel in INPUTS:
        root = SAMPLES / rel
        if not root.exists():
            continue
        limit = len(docs) + PER_INPUT
        paths = [root] if detect(root) is not None else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            connector = detect(path)
            if connector is None:
                continue
            for item in connector.parse(path):
                if isinstance(item, Record) and len(docs) < limit:
                    docs.append(to_document(f"s{len(docs)}", item, classifier.classify(item).tier))
    return docs


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not present")
def test_processing_never_raises_on_real_exports():
    docs = _documents()
    assert docs
    norms = {d.id: normalise(d) for d in docs}
    for d in docs:
        norm = norms[d.id]
        assert all(0 <= s.start < s.end <= len(d.body) for s in norm.removed)
        for p in passages(d, norm):
            source = d.body if p.field == "body" else d.title
            assert source[p.start : p.end] == p.text and len(p.text) <= 1500
    res = resolve(docs, norms, ResolveOptions())
    assert all(e.tier in TIERS and e.evidence for e in res.entities)
    by_id = {d.id: d for d in docs}
    for m in res.mentions:
        if m.start is not None:
            assert 0 <= m.start < m.end <= len(by_id[m.doc_id].body)
    sentiments = document_sentiment(docs, norms)
    timeline = build_timeline(docs, res)
    print(
        f"{len(docs)} documents, {len(res.entities)} entities, {len(res.mentions)} mentions, "
        f"{len(sentiments)} scored, {len(timeline.events)} events, {len(timeline.life_events)} life events"
    )
