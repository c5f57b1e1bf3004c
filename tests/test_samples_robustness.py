"""Every file in ../shared/samples is either parsed into records or quarantined with a reason; nothing crashes.

Walks the samples as `twin ingest` would see them: a folder a connector claims
(maildir, Slack export, vault) is one input; anything else is looked at file by file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from twin_assets.connectors.registry import connectors, detect
from twin_assets.records import ParseIssue

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not available")


def _inputs(root: Path) -> list[Path]:
    found: list[Path] = []
    for child in sorted(root.iterdir()):
        if child.name == "SOURCES.tsv" or child.name.startswith("."):
            continue
        if child.is_dir():
            found += [child] if detect(child) is not None else _inputs(child)
        else:
            found.append(child)
    return found


def test_every_sample_is_parsed_or_quarantined_with_a_reason(capsys):
    records: Counter[str] = Counter()
    issues: Counter[str] = Counter()
    unrecognised = 0
    inputs = _inputs(SAMPLES)
    assert len(inputs) > 100
    for path in inputs:
        connector = detect(path)
        if connector is None:
            unrecognised += 1  # `twin ingest` reports these as "unrecognised format" and stores nothing
            continue
        got = 0
        for item in connector.parse(path):  # must never raise
            if isinstance(item, ParseIssue):
                assert item.where and item.reason, path
                issues[connector.kind] += 1
            else:
                assert item.source == connector.kind
                got += 1
        records[connector.kind] += got
    with capsys.disabled():
        print(f"\nsamples: {len(inputs)} inputs, {unrecognised} unrecognised (quarantined by ingest)")
        for kind in sorted(connectors()):
            print(f"  {kind:10s} records {records[kind]:6d}   issues {issues[kind]:4d}")
    for kind in ("email", "calendar", "contacts", "notes", "ofx", "bank_csv", "slack", "whatsapp", "telegram"):
        assert records[kind] > 0, f"no {kind} records found in the samples"
