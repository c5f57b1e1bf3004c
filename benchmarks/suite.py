"""The scale benchmark suite: one command, JSON and a Markdown table.

    python -m benchmarks.suite                       # 10k and 100k demo records
    python -m benchmarks.suite --sizes 10k           # quick (~10 minutes)
    python -m benchmarks.suite --sizes 10k,100k,1m   # the full ladder (hours on 2 cores)

For each size, in a fresh home: the demo generator writes the exports, the newest 1% of the mailbox is held
back, and then, each step in its own process so its peak RSS is its own:

1. **sync**: register, parse, classify, store and embed everything else (the pipeline's ingest path);
   ``wall_s`` includes the process start and imports (~10 s here), ``inner_s`` does not;
2. **model**: entities, sentiment, timeline, topics, graph and insights for every tier view;
3. **raw model**: the same embedding model on a random sample of the same stored texts, same backend and
   batch size, in this run, so ``sync records/s ÷ raw texts/s`` is the pipeline's overhead;
4. **1% incremental**: the held-back mail as a new file, sync then model, each against its full run;
5. **latency**: ``twin serve`` on the home; p50/p95 of search, ask, entity neighbours and graph path, and the
   resident memory of the API and its Chroma server (``benchmarks/latency.py``).

Results go to ``--out`` (default ``benchmarks/results``) as ``suite-<timestamp>.json`` and ``.md``, with the
issue's targets and whether each was met. Only synthetic data is generated or printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Generator settings per size (records counted after calendar expansion differ by a few percent).
SIZES = {
    "2k": {"people": 12, "years": 1, "volume": 1.0},  # a smoke run of the suite itself
    "10k": {"people": 80, "years": 4, "volume": 1.0},
    "100k": {"people": 200, "years": 10, "volume": 2.2},
    "1m": {"people": 400, "years": 10, "volume": 12.1},  # 991,542 records at volume 12
}
RAW_SAMPLE = 3000
MODEL_SELECT = "group:processing or group:graph or group:insights"
TARGETS = {  # the scale issue's targets on a 2-core machine
    "throughput_ratio_min": 0.8,
    "incremental_ratio_max": 0.05,
    "pipeline_rss_gib_max": 4.0,
    "search_p95_ms_max": 50.0,
    "ask_p95_ms_max": 300.0,
    "graph_p95_ms_max": 100.0,
    "api_rss_gib_max": 4.0,
    "one_million_minutes_max": 60.0,
}


# ---- steps, each run in a child process ------------------------------------------------------------
def step_sync(paths: list[str]) -> dict:
    from benchmarks.sync import _sync
    from twin_assets.embedding import EmbeddingModels
    from twin_assets.settings import get_settings

    t0 = time.perf_counter()
    # Not loaded beforehand: the sync's own first batch loads it, as a real `twin ingest` does.
    result = _sync(get_settings(), [Path(p) for p in paths], EmbeddingModels())
    return {**result, "inner_s": round(time.perf_counter() - t0, 2), "chroma_peak_rss_mib": _chroma_peak_mib()}


class RssSampler:
    """This process's resident memory twice a second, in a thread, so each step's peak can be told apart."""

    def __init__(self, every_s: float = 0.5) -> None:
        import threading

        self.samples: list[tuple[float, int]] = []
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                self.samples.append((time.time(), int(f.read().split()[1]) * page))
            self._stop.wait(self._every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mib(self, start: float, end: float) -> int:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return round(max(inside, default=0) / 2**20)


def step_model() -> dict:
    """The model rebuild, with each asset step's seconds and peak RSS: where the time and memory go."""
    from dagster import DagsterInstance

    from twin_assets.run import materialize
    from twin_assets.settings import get_settings

    t0 = time.perf_counter()
    with RssSampler() as rss:
        outcome = materialize(get_settings(), MODEL_SELECT)
    if not outcome.success:
        raise SystemExit("model materialization failed: " + "; ".join(outcome.failures))
    steps: dict[str, dict] = {}
    with DagsterInstance.get() as instance:
        for run_id in outcome.run_ids:
            partition = (instance.get_run_by_id(run_id).tags or {}).get("dagster/partition")
            for st in instance.get_run_step_stats(run_id):
                if st.start_time and st.end_time:
                    steps[st.step_key + (f"[{partition}]" if partition else "")] = {
                        "s": round(st.end_time - st.start_time, 2),
                        "peak_rss_mib": rss.peak_mib(st.start_time, st.end_time),
                    }
    return {
        "assets": len(outcome.materialized),
        "inner_s": round(time.perf_counter() - t0, 2),
        "steps": steps,
        "chroma_peak_rss_mib": _chroma_peak_mib(),
    }


def _chroma_peak_mib() -> int:
    """Peak RSS so far of the home's Chroma server: vectors are indexed there, outside the step's process."""
    from benchmarks.latency import chroma_server_kib
    from twin_assets.settings import get_settings

    return round(chroma_server_kib(get_settings().home_path, "VmHWM") / 1024)


def step_raw(sample: int, seed: int) -> dict:
    """Raw embedding throughput on a random sample of the stored texts, as the pipeline cuts them."""
    from benchmarks.embeddings import raw_throughput
    from twin_assets.pipeline.embeddings import EMBED_CHARS
    from twin_assets.settings import get_settings
    from twin_assets.stores import TIERS
    from twin_assets.twin import open_twin

    settings = get_settings()
    rng = random.Random(seed)
    texts: list[str] = []
    with open_twin(settings) as twin:
        pool = [(tier, i) for tier in TIERS for i in twin.store(tier).ids()]
        picked = rng.sample(pool, min(sample, len(pool)))
        for tier in TIERS:
            ids = [i for t, i in picked if t == tier]
            for start in range(0, len(ids), 1000):
                texts += [d.text()[:EMBED_CHARS] for d in twin.store(tier).get_many(ids[start : start + 1000]).values()]
    rate = raw_throughput(texts, settings.embedding.backend, batch_size=settings.embedding.batch_size)
    return {
        "texts": len(texts),
        "seconds": round(len(texts) / rate, 2),
        "texts_per_s": round(rate, 1),
        "mean_chars": round(sum(map(len, texts)) / max(1, len(texts))),
    }


STEPS = {"sync": step_sync, "model": step_model, "raw": step_raw}


def run_step(name: str, env: dict[str, str], *args: object) -> dict:
    """Run one step in a child process; its wall time and peak RSS (from wait4) join its result."""
    out = tempfile.NamedTemporaryFile(prefix=f"twin-suite-{name}-", suffix=".json", delete=False)  # noqa: SIM115
    out.close()
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.suite",
        "--step",
        name,
        "--step-out",
        out.name,
        "--step-args",
        json.dumps([str(a) if isinstance(a, Path) else a for a in args]),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed (exit {proc.returncode})")
    result = json.loads(Path(out.name).read_text())
    os.unlink(out.name)
    result.update(wall_s=round(seconds, 2), peak_rss_mib=round(usage.ru_maxrss / 1024))
    print(f"  {name}: {seconds:.1f}s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB  {json.dumps(result)}", flush=True)
    return result


# ---- one size ----------------------------------------------------------------------------------------
def run_size(
    label: str, work: Path, seed: int, requests: int, keep: bool, incremental: bool = True, build_model: bool = True
) -> dict:
    from benchmarks.sync import _split_mbox
    from twin_assets.demo import generate
    from twin_query.demo_cmd import EXPORTS

    base = work / label
    home, data = base / "home", base / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TWIN_")
        or k in ("TWIN_EMBEDDING_BACKEND", "TWIN_DATABASE_URL", "TWIN_CHROMA_URL", "TWIN_EMBEDDING_BATCH_SIZE")
    }
    env.update(TWIN_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    env.pop("DAGSTER_HOME", None)
    os.environ.update(TWIN_HOME=str(home))
    print(f"\n== {label}: generating", flush=True)
    t0 = time.perf_counter()
    summary = generate(data, seed=seed, **SIZES[label])
    generated = {"records": summary["records"], "seconds": round(time.perf_counter() - t0, 1)}
    mbox = data / "mail" / "mailbox.mbox"
    kept, held = base / "mail-base.mbox", base / "mail-new.mbox"
    n_new = _split_mbox(mbox, kept, held, 0.01)
    paths = [kept] + [data / p for p in EXPORTS if p != "mail/mailbox.mbox" and (data / p).exists()]
    subprocess.run([str(Path(sys.executable).with_name("twin")), "init"], env=env, check=True, capture_output=True)

    print(f"== {label}: full sync, model, raw model throughput", flush=True)
    sync = run_step("sync", env, [str(p) for p in paths])
    model = run_step("model", env) if build_model else None
    raw = run_step("raw", env, RAW_SAMPLE, seed)
    inc_sync = inc_model = None
    if incremental:
        print(f"== {label}: 1% incremental ({n_new} new messages)", flush=True)
        inc_sync = run_step("sync", env, [str(held)])
        inc_model = run_step("model", env) if build_model else None
    print(f"== {label}: API latency", flush=True)
    from benchmarks.latency import ENDPOINTS, measure

    latency = measure(home, requests=requests, seed=seed, endpoints=ENDPOINTS if build_model else ("search",))
    os.environ.pop("TWIN_HOME", None)
    records = sync["records"]
    result = {
        "generated": generated,
        "records": records,
        "sync": {**sync, "records_per_s": round(records / sync["wall_s"], 1)},
        "model": model,
        "raw_embedding": raw,
        "throughput_ratio": round(records / sync["wall_s"] / raw["texts_per_s"], 3),
        "end_to_end": {
            "seconds": round(sync["wall_s"] + model["wall_s"], 1),
            "records_per_s": round(records / (sync["wall_s"] + model["wall_s"]), 1),
            "peak_rss_mib": max(sync["peak_rss_mib"], model["peak_rss_mib"]),
        }
        if model
        else {"seconds": None, "records_per_s": None, "peak_rss_mib": sync["peak_rss_mib"], "model_not_run": True},
        "incremental": {
            "new_messages": n_new,
            "sync_s": inc_sync["wall_s"],
            "model_s": inc_model and inc_model["wall_s"],
            "sync_ratio": round(inc_sync["wall_s"] / sync["wall_s"], 4),
            "sync_ratio_inner": round(inc_sync["inner_s"] / sync["inner_s"], 4),
            "end_to_end_ratio": round(
                (inc_sync["wall_s"] + inc_model["wall_s"]) / (sync["wall_s"] + model["wall_s"]), 4
            )
            if inc_model and model
            else None,
        }
        if inc_sync
        else None,
        "latency": latency,
    }
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


# ---- report ------------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _inc(r: dict, key: str, targets: dict | None) -> str:
    if not r.get("incremental") or r["incremental"].get(key) is None:
        return "not run"
    value = r["incremental"][key]
    mark = f" ({_mark(value <= targets['incremental_ratio_max'])})" if targets else ""
    return f"{value:.1%}{mark}"


def _get(r: dict, *path: str) -> object:
    for key in path:
        if not isinstance(r, dict) or r.get(key) is None:
            return None
        r = r[key]
    return r


def _cell(r: dict, path: tuple[str, ...], fmt: str, ok: Callable[[float], bool] | None = None) -> str:
    value = _get(r, *path)
    if value is None:
        return "not run"
    return f"{value:{fmt}}" + (f" ({_mark(ok(value))})" if ok else "")


def markdown(report: dict) -> str:
    t = report["targets"]
    lines = [
        f"# Benchmark suite, {report['started']}",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
        f"embedding backend `{report['machine']['embedding_backend']}`.",
        "",
        "| figure | " + " | ".join(report["sizes"]) + " | target |",
        "|---|" + "---|" * len(report["sizes"]) + "---|",
    ]
    rows = [
        ("records", lambda r: f"{r['records']:,}", ""),
        ("sync (ingest) s", lambda r: f"{r['sync']['wall_s']:.0f}", ""),
        ("sync records/s", lambda r: f"{r['sync']['records_per_s']:.0f}", ""),
        ("raw model texts/s (same texts)", lambda r: f"{r['raw_embedding']['texts_per_s']:.0f}", ""),
        (
            "sync ÷ raw model",
            lambda r: f"{r['throughput_ratio']:.2f} ({_mark(r['throughput_ratio'] >= t['throughput_ratio_min'])})",
            f"≥ {t['throughput_ratio_min']}",
        ),
        ("model rebuild s", lambda r: _cell(r, ("model", "wall_s"), ".0f"), ""),
        ("end to end s", lambda r: _cell(r, ("end_to_end", "seconds"), ".0f"), "1M ≤ 3600"),
        (
            "pipeline peak RSS MiB",
            lambda r: (
                f"{r['end_to_end']['peak_rss_mib']:,} "
                f"({_mark(r['end_to_end']['peak_rss_mib'] <= t['pipeline_rss_gib_max'] * 1024)})"
            ),
            "≤ 4096",
        ),
        ("… and the home's Chroma server's", lambda r: f"{_get(r, 'sync', 'chroma_peak_rss_mib') or 0:,}", ""),
        ("1% incremental sync ÷ full sync", lambda r: _inc(r, "sync_ratio", t), "≤ 5%"),
        ("… without process start", lambda r: _inc(r, "sync_ratio_inner", None), ""),
        ("1% incremental end to end ÷ full", lambda r: _inc(r, "end_to_end_ratio", t), "≤ 5%"),
    ]
    for endpoint, key in (
        ("search", "search_p95_ms_max"),
        ("ask", "ask_p95_ms_max"),
        ("neighbors", "graph_p95_ms_max"),
        ("path", "graph_p95_ms_max"),
    ):
        rows.append(
            (
                f"{endpoint} p50 / p95 ms",
                lambda r, e=endpoint, k=key: (
                    f"{r['latency'][e]['p50_ms']:.0f} / {r['latency'][e]['p95_ms']:.0f} "
                    f"({_mark(r['latency'][e]['p95_ms'] <= t[k])})"
                    if _get(r, "latency", e)
                    else "not run"
                ),
                f"p95 ≤ {t[key]:.0f} at 1M",
            )
        )
    rows.append(
        (
            "API RSS MiB, peak (+ Chroma)",
            lambda r: (
                f"{r['latency']['rss_mib']['api']:,}"
                + (f", {r['latency']['rss_mib']['api_peak']:,}" if "api_peak" in r["latency"]["rss_mib"] else "")
                + f" (+ {r['latency']['rss_mib']['chroma']:,})"
            ),
            "≤ 4096",
        )
    )
    for name, fn, target in rows:
        lines.append(f"| {name} | " + " | ".join(fn(report["results"][s]) for s in report["sizes"]) + f" | {target} |")
    for size in report["sizes"]:
        steps = _get(report["results"][size], "model", "steps")
        if steps:
            lines += [
                "",
                f"Where the model rebuild's time goes at {size} (slowest steps):",
                "",
                "| step | s | peak RSS MiB |",
                "|---|---|---|",
            ]
            lines += [
                f"| {k} | {v['s']:.1f} | {v['peak_rss_mib']:,} |"
                for k, v in sorted(steps.items(), key=lambda kv: -kv[1]["s"])[:10]
            ]
    lines += [
        "",
        "Targets apply at 1M records; smaller sizes show the trend. Produced by `python -m benchmarks.suite`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k", help="Comma-separated: " + ", ".join(SIZES))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--work", help="Where homes are built (default: a temp folder, removed after).")
    ap.add_argument("--keep", action="store_true", help="Keep each size's home and exports.")
    ap.add_argument("--requests", type=int, default=100, help="Requests per endpoint.")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-incremental", action="store_true", help="Skip the 1%% incremental sync and rebuild.")
    ap.add_argument(
        "--no-model",
        action="store_true",
        help="Sync, raw model, 1%% incremental sync and search latency only (no model, ask or graph).",
    )
    ap.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    ap.add_argument("--step-out", help=argparse.SUPPRESS)
    ap.add_argument("--step-args", default="[]", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        result = STEPS[args.step](*json.loads(args.step_args))
        Path(args.step_out).write_text(json.dumps(result))
        return
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from twin_assets.settings import get_settings

    started = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    report = {
        "started": started,
        "sizes": sizes,
        "targets": TARGETS,
        "results": {},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "embedding_backend": get_settings().embedding.backend,
        },
    }
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="twin-suite-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for size in sizes:
            report["results"][size] = run_size(
                size,
                work,
                args.seed,
                args.requests,
                args.keep,
                incremental=not args.no_incremental,
                build_model=not args.no_model,
            )
            # Written after every size: a long ladder that dies at 1M still leaves the smaller figures.
            (out / f"suite-{started}.json").write_text(json.dumps(report, indent=2))
            (out / f"suite-{started}.md").write_text(markdown(report))
    finally:
        if not args.work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + markdown(report))
    print(f"written: {out / f'suite-{started}.json'} and .md")
    print(f"this process's children peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
