"""The sync's own work, without the embedding model: parse + stage, then classify + store, timed apart.

Embedding is most of a sync and runs at the model's speed (the suite measures it against the raw model);
what is left is the pipeline's own overhead, and on a 2-core machine it runs while a core would be free.
Each configuration gets a fresh home in the same run, so the figures compare:

    python -m benchmarks.sync_phases --records 100k                # one worker per core, then one process
    python -m benchmarks.sync_phases --records 100k --workers 0    # only the default
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"10k": {"people": 80, "years": 4, "volume": 1.0}, "100k": {"people": 200, "years": 10, "volume": 2.2}}


def _phases(data: Path, home: Path, workers: int) -> dict:
    """In a child process, so each configuration starts as a user's sync would (and settings are read anew)."""
    code = f"""
import json, time
from pathlib import Path
from twin_assets.connectors.registry import detect
from twin_assets.pipeline.documents import build_documents
from twin_assets.pipeline.inputs import register_input
from twin_assets.pipeline.sync import sync_source
from twin_assets.settings import get_settings
from twin_assets.twin import open_twin
from twin_query.demo_cmd import EXPORTS

twin = open_twin(get_settings())
kinds = set()
for p in EXPORTS:
    path = Path({str(data)!r}) / p
    connector = detect(path) if path.exists() else None
    if connector and register_input(twin, path, connector.kind, "ingest").input_id:
        kinds.add(connector.kind)
t0 = time.perf_counter()
records = 0
for k in sorted(kinds):
    while True:  # past the batch budget a sync defers the rest: measure them all
        result = sync_source(twin, k)
        records += result.records_new
        if not result.deferred:
            break
t1 = time.perf_counter()
build_documents(twin)
t2 = time.perf_counter()
print(json.dumps({{"records": records, "parse_stage_s": round(t1 - t0, 1), "classify_store_s": round(t2 - t1, 1)}}))
"""
    env = {**os.environ, "TWIN_HOME": str(home), "TWIN_PARSE_WORKERS": str(workers)}
    subprocess.run([sys.executable, "-m", "twin_query.cli", "init"], env=env, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    n = result["records"]
    result["parse_stage_per_s"] = round(n / result["parse_stage_s"])
    result["classify_store_per_s"] = round(n / result["classify_store_s"])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", choices=sorted(SIZES), default="10k")
    ap.add_argument(
        "--workers", type=int, nargs="*", default=[0, 1], help="TWIN_PARSE_WORKERS values to compare (0: one per core)"
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from twin_assets.demo import generate

    work = Path(tempfile.mkdtemp(prefix="twin-sync-phases-"))
    try:
        data = work / "data"
        generate(data, seed=args.seed, **SIZES[args.records])
        for workers in args.workers:
            home = work / f"home-{workers}"
            t = time.perf_counter()
            r = _phases(data, home, workers)
            print(
                f"TWIN_PARSE_WORKERS={workers}: {r['records']:,} records; parse+stage {r['parse_stage_s']} s "
                f"({r['parse_stage_per_s']:,}/s), classify+store {r['classify_store_s']} s "
                f"({r['classify_store_per_s']:,}/s); {time.perf_counter() - t:.0f} s in all",
                flush=True,
            )
            shutil.rmtree(home, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
