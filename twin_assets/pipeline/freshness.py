"""What a model asset's result depends on, as two opaque values Dagster records with each materialization.

Every model asset of a tier view is a deterministic function of the documents (and vectors) of the view's
tiers, the list of suppressed entities and the model's code: ``insights`` too, since its "now" is the day
after the latest record. :func:`code_version` (a hash of the model's code) is each model asset's Dagster
``code_version``; :func:`fingerprint` (a hash of that and of counters of what the view reads) is the
``DataVersion`` it materializes with. An asset whose current fingerprint equals the data version of its last
materialization would rebuild the same thing, so it is skipped (``defs/processing/assets.py``). A HIGH-only drop then
leaves the LOW and MEDIUM views alone, which also stops a LOW reader from seeing, by when its view changes, that
HIGH data arrived. Both values are hashes of code, counters and keyed hashes: nothing private.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from twin_assets.pipeline import suppress
from twin_assets.twin import Twin

_PACKAGE = Path(__file__).resolve().parents[1]
# The code a model asset's result depends on; any change to it rebuilds every view once.
MODEL_CODE = ("processing", "insights", "pipeline/model.py", "pipeline/suppress.py", "stores/documents.py")
STALE = "stale"  # derived artifact kind: a counter that :func:`mark_stale` moves
# Derived artifact kind: the code version incremental steps (text, per-record sentiment) computed their stored
# per-record results with, so a code change recomputes them all.
BUILT = "built"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    digest = hashlib.sha256()
    for entry in MODEL_CODE:
        path = _PACKAGE / entry
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def fingerprint(twin: Twin, tiers: tuple[str, ...]) -> str:
    """What a build over ``tiers`` reads, as one opaque value (counters and hashes only, no content)."""
    # Which home: change counters of two homes sharing one Dagster instance (DAGSTER_HOME set for both) can
    # agree, and one home's recorded version must not let the other's views skip their build.
    parts = [code_version(), twin.keyring.keyed_hash("freshness", b"home")]
    parts += [f"{tier}:{twin.store(tier).generation()}:{_stale_marks(twin, tier)}" for tier in tiers]
    parts.append(hashlib.sha256("\n".join(sorted(suppress.load(twin))).encode()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _stale_marks(twin: Twin, tier: str) -> int:
    mark = twin.derived(tier).get(STALE, "marks")
    return int(mark["n"]) if mark else 0


def mark_stale(twin: Twin, view: str) -> None:
    """Make the next materialization of the view's assets (and of every view that reads its tier) rebuild
    them, whatever else their inputs say: the view's fingerprint moves."""
    twin.derived(view).put(STALE, "marks", {"n": _stale_marks(twin, view) + 1})
