"""Full sync versus a sync after 1% new data.

Two phases are timed separately: the sync itself (register → parse → classify →
store → embed, incremental by content hash) and the model rebuild that follows
(entities, sentiment, timeline, topics, graph, insights — today rebuilt whole
for every tier view, so it does not shrink with the change).

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
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_assets.embedding import EmbeddingModels
    from twin_assets.settings import TwinSettings


def _split_mbox(src: Path, keep: Path, held: Path, fraction: float) -> int:
    """The newest ``fraction`` of ``src``'s messages to ``held``, the rest to ``keep``; returns how many were held.

    Streams bytes (a message starts at a ``From `` line; body lines that start so are ``>From``-escaped in the
    mbox files the demo writes), so a million-record mailbox never sits in memory."""
    with src.open("rb") as f:
        total = sum(1 for line in f if line.startswith(b"From "))
    cut = total - max(1, int(total * fraction))
    seen = 0
    with src.open("rb") as f, keep.open("wb") as k, held.open("wb") as h:
        for line in f:
            if line.startswith(b"From "):
                seen += 1
            (k if seen <= cut else h).write(line)
    return total - cut


def _sync(settings: TwinSettings, paths: list[Path], models: EmbeddingModels) -> dict:
    """Register, parse, classify, store and embed: the sync without the model rebuild."""
    from twin_assets.connectors.registry import detect
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.embeddings import embed_pending
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.pipeline.sync import sync_source
    from twin_assets.twin import open_twin

    twin = open_twin(settings, models=models)
    kinds = set()
    for path in paths:
        connector = detect(path)
        if connector and register_input(twin, path, connector.kind, "ingest").input_id:
            kinds.add(connector.kind)
    records = 0
    for kind in sorted(kinds):
        while True:  # past the batch budget (TWIN_SYNC_MAX_BATCH_*) a sync defers the rest: measure them all
            result = sync_source(twin, kind)
            records += result.records_new + result.records_seen
            if not result.deferred:
                break
    build_documents(twin)
    embed_pending(twin)
    twin.close()
    return {"records": records}


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
        from twin_query.setup import init_home

        settings = get_settings()
        init_home(settings)
        out = tmpdir / "demo"
        generate(out, seed=args.seed, people=args.people, years=args.years)
        mbox = out / "mail" / "mailbox.mbox"
        base, held = tmpdir / "base.mbox", tmpdir / "new.mbox"
        n_new = _split_mbox(mbox, base, held, args.fraction)
        paths = [base] + [out / p for p in EXPORTS if p != "mail/mailbox.mbox" and (out / p).exists()]

        from twin_assets.embedding import EmbeddingModels
        from twin_assets.run import materialize

        models = EmbeddingModels()
        models.get(settings.embedding.max_seq_length)  # every run starts with the model in memory
        model_select = "group:processing or group:graph or group:insights"

        def timed_sync(batch: list[Path]) -> tuple[dict, float, float]:
            t0 = time.perf_counter()
            summary = _sync(settings, batch, models)
            t_sync = time.perf_counter() - t0
            t0 = time.perf_counter()
            materialize(settings, model_select)
            return summary, t_sync, time.perf_counter() - t0

        full, t_full, m_full = timed_sync(paths)
        inc, t_inc, m_inc = timed_sync([held])
        # The whole mailbox, grown by the same new messages: every message is already known now.
        regrown, t_regrown, _ = timed_sync([mbox])

    result = {
        "full": {"records": full["records"], "sync_seconds": round(t_full, 2), "model_seconds": round(m_full, 2)},
        "incremental_new_file": {
            "records": inc["records"],
            "new_messages": n_new,
            "sync_seconds": round(t_inc, 2),
            "sync_ratio_to_full": round(t_inc / t_full, 4),
            "model_seconds": round(m_inc, 2),
        },
        "incremental_grown_file_already_known": {
            "records_parsed": regrown["records"],
            "sync_seconds": round(t_regrown, 2),
            "sync_ratio_to_full": round(t_regrown / t_full, 4),
        },
    }
    print(json.dumps(result, indent=2))
    print(f"\nfull sync: {full['records']} records in {t_full:.1f}s (then model rebuild {m_full:.1f}s)")
    print(
        f"1% new data as a new file: {inc['records']} records in {t_inc:.1f}s = {t_inc / t_full:.1%} of full "
        f"(then model rebuild {m_inc:.1f}s = {m_inc / m_full:.0%} of the full rebuild: not incremental yet)"
    )
    print(f"whole mailbox re-dropped (all known): {t_regrown:.1f}s = {t_regrown / t_full:.1%} of full")


if __name__ == "__main__":
    main()
