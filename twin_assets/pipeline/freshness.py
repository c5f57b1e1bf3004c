"""Skip rebuilding a model asset whose inputs have not changed since it was built.

Every model asset of a tier view is a deterministic function of the documents (and vectors) of the view's
tiers, the list of suppressed entities and the model's code: ``insights`` too, since its "now" is the day
after the latest record. So the fingerprint of those inputs, stored beside the asset's results when it is
built, says whether a rebuild would change anything. A HIGH-only drop then leaves the LOW and MEDIUM views
alone, which also stops a LOW reader from seeing, by when its view changes, that HIGH data arrived.
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
BUILT = "built"  # derived artifact kind: asset name -> fingerprint of what it read


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
    parts = [code_version()]
    parts += [f"{tier}:{twin.store(tier).generation()}" for tier in tiers]
    parts.append(hashlib.sha256("\n".join(sorted(suppress.load(twin))).encode()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def is_current(twin: Twin, view: str, asset: str, value: str) -> bool:
    built = twin.derived(view).get(BUILT, asset)
    return bool(built) and built.get("inputs") == value


def mark_stale(twin: Twin, view: str) -> None:
    """Make the next materialization of the view's assets rebuild them, whatever their inputs say."""
    derived = twin.derived(view)
    derived.delete({(BUILT, asset) for asset in derived.ids(BUILT)})


def mark_built(twin: Twin, view: str, asset: str, value: str) -> None:
    twin.derived(view).put(BUILT, asset, {"inputs": value})
