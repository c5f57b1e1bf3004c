"""Where a model build's memory goes: resident memory added by each structure one view holds.

    python -m benchmarks.model_memory --home /path/to/home [--view HIGH]

Loads the view's documents, normalisations, topic texts, resolution and knowledge graph the way a
materialization's steps do (with the in-process view cache on), and prints the RSS each one added, in MiB
and in bytes per document. Run it on a home the suite kept (``--keep``); it only reads the home, and
prints no content.
"""

from __future__ import annotations

import argparse
import gc
import os
import time


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--view", default="HIGH")
    args = ap.parse_args()
    os.environ["TWIN_HOME"] = args.home

    from twin_assets.pipeline import model
    from twin_assets.pipeline.run_cache import caching
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin

    twin = open_twin(get_settings())
    rows: list[tuple[str, float, float]] = []
    n_docs = 1

    def step(name: str, fn):
        nonlocal n_docs
        gc.collect()
        before, t0 = rss_mib(), time.perf_counter()
        out = fn()
        gc.collect()
        rows.append((name, rss_mib() - before, time.perf_counter() - t0))
        return out

    base = rss_mib()
    with caching(twin):
        docs = step("documents", lambda: model.view_documents(twin, args.view))
        n_docs = len(docs)
        norms = step("normalisations", lambda: model.view_norms(twin, args.view, docs))
        step("topic texts", lambda: model.view_topic_texts(twin, args.view, docs, norms))
        res = step("resolution (entities, mentions)", lambda: model.load_resolution(twin, args.view))
        g = step("knowledge graph", lambda: model.graph_from(docs, res))
    print(
        f"view {args.view}: {n_docs:,} documents, {len(res.entities):,} entities, {len(res.mentions):,} mentions, "
        f"graph {g.number_of_nodes():,} nodes / {g.number_of_edges():,} edges"
    )
    print(f"{'structure':34s} {'MiB':>8s} {'bytes/doc':>10s} {'s':>7s}")
    for name, mib, secs in rows:
        print(f"{name:34s} {mib:8.0f} {mib * 2**20 / max(1, n_docs):10.0f} {secs:7.1f}")
    print(f"{'total (with imports: ' + format(base, '.0f') + ' MiB)':34s} {rss_mib() - base:8.0f}")


if __name__ == "__main__":
    main()
