"""Embedding speed and agreement per backend, on the same texts: the demo persona's records.

    python -m benchmarks.embeddings              # every variant; ~10 minutes on 2 busy cores
    python -m benchmarks.embeddings --quick      # fewer texts and variants
    python -m benchmarks.embeddings --json       # also print the figures as one JSON dict

Texts come from ``twin_assets.demo.generate(seed=7, people=40, years=3)`` parsed by the twin's own connectors
(mail, calendar, contacts, notes, bank, Slack, WhatsApp), as the pipeline embeds them (title + body, cut at
``EMBED_CHARS``), exact duplicates dropped. ONNX files are exported into a temporary cache, so the export
time and file sizes are measured too.

Speed: each variant embeds the same random sample (``--speed-texts``) ``--repeat`` times, rounds interleaved
so a burst of load from elsewhere hits every variant alike; the best wall-clock texts/s is shown, and texts
per CPU-second (process time, all threads) as a figure less sensitive to other load on the machine.
Agreement, on all texts: cosine of each backend's vector to the torch vector, and top-10 neighbour overlap
(for every text, the share of its 10 nearest other texts by torch vectors that the backend's vectors also
rank in their top 10). Only synthetic data is printed (figures, never text).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def demo_texts(seed: int = 7, people: int = 40, years: int = 3) -> dict[str, list[str]]:
    """Texts per source kind from a freshly generated demo persona, as the pipeline would embed them."""
    from twin_assets.connectors.registry import detect
    from twin_assets.demo import generate
    from twin_assets.pipeline.embeddings import EMBED_CHARS
    from twin_assets.records import Record
    from twin_query.demo_cmd import EXPORTS

    by_kind: dict[str, list[str]] = {}
    seen: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        generate(out, seed=seed, people=people, years=years)
        for rel in EXPORTS:
            path = out / rel
            connector = detect(path) if path.exists() else None
            if connector is None:
                continue
            for item in connector.parse(path):
                if not isinstance(item, Record):
                    continue
                text = (f"{item.title}\n\n{item.body}".strip() if item.title else item.body.strip())[:EMBED_CHARS]
                if text and text not in seen:  # equal texts tie as neighbours and say nothing about a backend
                    seen.add(text)
                    by_kind.setdefault(connector.kind, []).append(text)
    return by_kind


def _encode_unsorted(model, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """sentence-transformers without its length sorting: batches in the given order."""
    parts = [
        model.encode(
            list(texts[i : i + batch_size]),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def _encoder(
    backend: str, batch_size: int = 64, threads: int | None = None, sort: bool = True, max_seq_length: int = 256
) -> Callable[[Sequence[str]], np.ndarray]:
    """A loaded model as a function of texts (loading is not timed)."""
    from twin_assets.embedding import EmbeddingModels, embed, load_model

    if backend == "torch":
        import torch

        models = EmbeddingModels()
        model = models.get(max_seq_length, "torch")
        default = torch.get_num_threads()

        def run(texts: Sequence[str]) -> np.ndarray:
            torch.set_num_threads(threads or default)
            try:
                if sort:
                    return embed(
                        texts, batch_size=batch_size, max_seq_length=max_seq_length, backend="torch", models=models
                    )
                return _encode_unsorted(model, texts, batch_size)
            finally:
                torch.set_num_threads(default)

        return run
    model = load_model(max_seq_length, backend, threads=threads)
    return lambda texts: model.encode(texts, batch_size=batch_size)


def _timed(fn: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> tuple[float, float]:
    fn(texts[:8])  # warm-up: first-run allocations and thread pool start
    wall, cpu = time.perf_counter(), time.process_time()
    fn(texts)
    return len(texts) / (time.perf_counter() - wall), len(texts) / max(time.process_time() - cpu, 1e-9)


def raw_throughput(texts: Sequence[str], backend: str, *, batch_size: int = 64, threads: int | None = None) -> float:
    """Texts per second of the bare model (no stores) on ``texts``; model loading and export are not timed."""
    return _timed(_encoder(backend, batch_size, threads), list(texts))[0]


def neighbour_overlap(reference: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's top-``k`` neighbours (self excluded) under ``reference`` also found under ``other``."""

    def top(v: np.ndarray) -> np.ndarray:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k, axis=1)[:, :k]

    a, b = top(reference), top(other)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def _variants(quick: bool) -> list[tuple[str, dict]]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = sorted({1, cores})
    rows = [("torch bs64", {"backend": "torch", "batch_size": 64})]
    if not quick:
        rows += [
            ("torch bs32", {"backend": "torch", "batch_size": 32}),
            ("torch bs128", {"backend": "torch", "batch_size": 128}),
            ("torch bs64 unsorted", {"backend": "torch", "batch_size": 64, "sort": False}),
            ("torch bs64 1 thread", {"backend": "torch", "batch_size": 64, "threads": 1}),
        ]
    for backend in ("onnx", "onnx-int8"):
        for t in threads if not quick else [cores]:
            rows.append(
                (
                    f"{backend} bs64 {t} thread{'s' if t > 1 else ''}",
                    {"backend": backend, "batch_size": 64, "threads": t},
                )
            )
    if not quick:
        rows += [
            ("onnx bs32", {"backend": "onnx", "batch_size": 32}),
            ("onnx bs128", {"backend": "onnx", "batch_size": 128}),
        ]
    return rows


def _export(figures: dict) -> None:
    from twin_assets import embedding

    for backend in ("onnx", "onnx-int8"):
        t = time.perf_counter()
        path = embedding.ensure_onnx(backend)  # the int8 one reuses the fp32 export
        figures["export_s"][backend] = round(time.perf_counter() - t, 1)
        figures["file_mb"][backend] = round(path.stat().st_size / 1e6, 1)
        print(f"  {backend:<10} built in {figures['export_s'][backend]:>5.1f}s, {figures['file_mb'][backend]:.1f} MB")


def run(args: argparse.Namespace) -> dict:
    print(f"generating demo texts (seed {args.seed}, {args.people} people, {args.years} years) ...")
    by_kind = demo_texts(args.seed, args.people, args.years)
    texts = [t for kind in sorted(by_kind) for t in by_kind[kind]]
    if args.limit:
        texts = random.Random(args.seed).sample(texts, min(args.limit, len(texts)))
    sample = random.Random(args.seed + 1).sample(texts, min(args.speed_texts, len(texts)))
    mix = ", ".join(f"{k} {len(v)}" for k, v in sorted(by_kind.items()))
    print(
        f"{len(texts)} distinct texts, mean {np.mean([len(t) for t in texts]):.0f} chars ({mix}); "
        f"speed sample {len(sample)}, mean {np.mean([len(t) for t in sample]):.0f} chars"
    )
    figures: dict = {
        "texts": len(texts),
        "speed_texts": len(sample),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "export_s": {},
        "file_mb": {},
        "speed": {},
        "agreement": {},
    }

    print("\n== ONNX export (temporary cache) ==")
    _export(figures)

    print(f"\n== speed: best of {args.repeat}, {len(sample)} texts ==")
    variants = _variants(args.quick)
    encoders = {name: _encoder(**kw) for name, kw in variants}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    for _ in range(args.repeat):
        for name, _kw in variants:
            results[name].append(_timed(encoders[name], sample))
    base = max(w for w, _ in results["torch bs64"])
    for name, _kw in variants:
        wall, cpu = max(w for w, _ in results[name]), max(c for _, c in results[name])
        figures["speed"][name] = {
            "texts_per_s": round(wall, 1),
            "texts_per_cpu_s": round(cpu, 1),
            "vs_torch": round(wall / base, 2),
        }
        print(f"  {name:<24} {wall:7.1f} texts/s  {cpu:7.1f} texts/CPU-s  x{wall / base:.2f}")

    print(f"\n== agreement with torch on all {len(texts)} texts (batch 64) ==")
    vectors = {b: _encoder(b)(texts) for b in ("torch", "onnx", "onnx-int8")}
    for backend in ("onnx", "onnx-int8"):
        cos = np.sum(vectors[backend] * vectors["torch"], axis=1)
        row = {
            "cosine_min": round(float(cos.min()), 5),
            "cosine_mean": round(float(cos.mean()), 5),
            "cosine_p1": round(float(np.percentile(cos, 1)), 5),
            "top10_overlap": round(neighbour_overlap(vectors["torch"], vectors[backend]), 4),
        }
        figures["agreement"][backend] = row
        print(
            f"  {backend:<10} cosine min {row['cosine_min']:.4f} p1 {row['cosine_p1']:.4f} "
            f"mean {row['cosine_mean']:.5f}; top-10 neighbour overlap {row['top10_overlap']:.1%}"
        )
    # int8 quantises activations per batch, so a text's vector moves a little with its batch mates: a query
    # (batch of one) against documents embedded 64 at a time.
    probe = sample[:200]
    alone = _encoder("onnx-int8", batch_size=1)(probe)
    batched = _encoder("onnx-int8")(probe)
    self_cos = np.sum(alone * batched, axis=1)
    figures["agreement"]["onnx-int8"]["alone_vs_batched_cosine_min"] = round(float(self_cos.min()), 5)
    print(
        f"  onnx-int8 same text alone vs in a batch of 64: cosine min {self_cos.min():.4f} mean {self_cos.mean():.5f}"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="use at most this many texts (0: all)")
    ap.add_argument("--speed-texts", type=int, default=1000, help="texts per speed run")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="1500 texts, 400 per speed run, fewer variants")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.limit = args.limit or 1500
        args.speed_texts = min(args.speed_texts, 400)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from twin_assets.embedding import CACHE_ENV

    with tempfile.TemporaryDirectory(prefix="twin-emb-bench-") as cache:
        os.environ[CACHE_ENV] = cache
        figures = run(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
