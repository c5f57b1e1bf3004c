"""Time the demo generator at a given size and report records/s and peak RSS.

    python benchmarks/demo_generation.py --people 400 --years 10 --volume 1 --out /tmp/demo-bench

The output folder is replaced if it holds a previous demo; pass a scratch path.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

from twin_assets.demo import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--volume", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quiet", action="store_true", help="no per-month progress")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    last = [started]

    def progress(stage: str, records: int) -> None:
        now = time.perf_counter()
        if not args.quiet and (now - last[0] > 5 or stage == "done"):
            print(f"  {stage}: {records:,} records, {now - started:.1f}s", file=sys.stderr)
            last[0] = now

    summary = generate(
        args.out,
        seed=args.seed,
        people=args.people,
        years=args.years,
        end=args.end,
        volume=args.volume,
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mib = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"people={args.people} years={args.years} volume={args.volume}")
    for path, count in sorted(summary["files"].items()):
        print(f"  {path:28s} {count:>10,}")
    print(f"records: {summary['records']:,} in {elapsed:.1f}s = {summary['records'] / elapsed:,.0f} records/s")
    print(f"output: {size / 2**20:,.1f} MiB; peak RSS: {peak_mib:,.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
