"""Full sync versus a sync after 1% new data, end to end (parse → classify → store → embed).

Holds back the newest 1% of the demo mailbox, ingests everything else (full sync), then
ingests the held-back messages in two ways a user would deliver them:

* ``new-file``: only the new messages, as their own mbox;
* ``grown-file``: the whole mailbox again, grown by the new messages (every old
  message is re-parsed, but recognised by content hash and not re-embedded).

    python -m benchmarks.sync --people 40 --years 3
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import tempfile
import time
from pathlib import Path


def _split_mbox(src: Path, keep: Path, held: Path, fraction: float) -> int:
    box = mailbox.mbox(src)
    messages = list(box)
    cut = len(messages) - max(1, int(len(messages) * fraction))
    for path, part in ((keep, messages[:cut]), (held, messages[cut:])):
        out = mailbox.mbox(path)
        for m in part:
            out.add(m)
        out.flush()
        out.close()
    return len(messages) - cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fraction", type=float, default=0.01)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        os.environ["TWIN_HOME"] = str(tmpdir / "home")
        os.environ.pop("DAGSTER_HOME", None)
        from twin_assets.demo import generate
        from twin_assets.settings import get_settings
        from twin_query.demo_cmd import EXPORTS
        from twin_query.ingest import ingest_paths
        from twin_query.setup import init_home

        settings = get_settings()
        init_home(settings)
        out = tmpdir / "demo"
        generate(out, seed=args.seed, people=args.people, years=args.years)
        mbox = out / "mail" / "mailbox.mbox"
        base, held = tmpdir / "base.mbox", tmpdir / "new.mbox"
        n_new = _split_mbox(mbox, base, held, args.fraction)
        paths = [base] + [out / p for p in EXPORTS if p != "mail/mailbox.mbox" and (out / p).exists()]

        from twin_assets.embedding import load_model

        load_model(settings.embedding_max_seq_length)  # both runs start with the model in memory
        t0 = time.perf_counter()
        full = ingest_paths(settings, paths, source=None, dry_run=False, show_progress=False)
        t_full = time.perf_counter() - t0

        t0 = time.perf_counter()
        inc = ingest_paths(settings, [held], source=None, dry_run=False, show_progress=False)
        t_inc = time.perf_counter() - t0

        # The whole mailbox, grown by the same new messages plus nothing else: all already known now.
        t0 = time.perf_counter()
        regrown = ingest_paths(settings, [mbox], source=None, dry_run=False, show_progress=False)
        t_regrown = time.perf_counter() - t0

    result = {
        "full": {"records": full["records"], "seconds": round(t_full, 2)},
        "incremental_new_file": {"records": inc["records"], "new_messages": n_new, "seconds": round(t_inc, 2),
                                 "ratio_to_full": round(t_inc / t_full, 4)},
        "incremental_grown_file_already_known": {"records_parsed": regrown["records"],
                                                 "seconds": round(t_regrown, 2),
                                                 "ratio_to_full": round(t_regrown / t_full, 4)},
    }
    print(json.dumps(result, indent=2))
    print(f"\nfull sync: {full['records']} records in {t_full:.1f}s")
    print(f"1% new data as a new file: {inc['records']} records in {t_inc:.1f}s = {t_inc / t_full:.1%} of full")
    print(f"whole mailbox re-dropped (all known): {t_regrown:.1f}s = {t_regrown / t_full:.1%} of full")


if __name__ == "__main__":
    main()
