"""API latency on a generated demo home: p50/p95 of /v1/search, /v1/ask, entity neighbours and graph path,
plus server RSS.

    python benchmarks/latency.py                                  # small: 12 people, 1 year
    python benchmarks/latency.py --people 200 --years 10 --volume 2.2  # ~100k records (building takes long)
    python benchmarks/latency.py --home H                         # an existing materialized home

Starts ``twin serve`` on a free loopback port (with its managed Chroma server), warms it up (the first
search loads the embedding model), then sends ``--requests`` requests per endpoint, ``--concurrency`` at a
time, with queries taken from the home's own records and entities. Prints record counts, p50/p95/max per
endpoint and the resident memory of the API process and its Chroma child. Only synthetic data is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent


def build_home(people: int, years: int, volume: float, seed: int) -> Path:
    base = Path(tempfile.mkdtemp(prefix="twin-latency-"))
    os.environ["TWIN_HOME"] = str(base / "home")
    os.environ.pop("DAGSTER_HOME", None)
    from twin_assets.demo import generate
    from twin_assets.run import materialize
    from twin_assets.settings import get_settings
    from twin_query.demo_cmd import EXPORTS
    from twin_query.ingest import ingest_paths
    from twin_query.setup import init_home

    settings = get_settings()
    init_home(settings)
    t0 = time.monotonic()
    summary = generate(base / "data", seed=seed, people=people, years=years, volume=volume)
    paths = [base / "data" / p for p in EXPORTS if (base / "data" / p).exists()]
    result = ingest_paths(settings, paths, source=None, dry_run=False, show_progress=False)
    outcome = materialize(settings, None)
    if not outcome.success:
        raise SystemExit("materialization failed: " + "; ".join(outcome.failures))
    print(
        f"generated {summary['records']} records, ingested {result['records']} and materialized in "
        f"{time.monotonic() - t0:.0f}s",
        flush=True,
    )
    return base / "home"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory now (``VmRSS``) or at its peak so far (``VmHWM``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def chroma_server_kib(home: Path, field: str = "VmRSS") -> int:
    """The resident memory of the home's own Chroma server (0 when none runs)."""
    try:
        return rss_kib(int(json.loads((home / "run" / "chroma.json").read_text())["pid"]), field)
    except (OSError, ValueError, KeyError):
        return 0


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    idx = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[idx]


def workload(home: Path, n: int, seed: int) -> dict[str, list]:
    """Queries from the home itself: record titles, entity names, question templates."""
    os.environ["TWIN_HOME"] = str(home)
    from twin_assets.settings import get_settings
    from twin_assets.stores import TIERS
    from twin_query.service import QueryService

    rng = random.Random(seed)
    service = QueryService(get_settings())
    twin = service.twin()
    titles = []
    for tier in TIERS:
        store = twin.store(tier)
        ids = store.ids()
        for d in store.get_many(rng.sample(ids, min(len(ids), n))).values():
            if d.title and len(d.title.split()) >= 2:
                titles.append(" ".join(d.title.split()[:6]))
    vd = service.view_data("HIGH")
    people = [e for e in vd.entities.values() if e.kind == "person" and not e.is_self]
    people.sort(key=lambda e: -vd.weight(e.id))
    people = people[:30] or list(vd.entities.values())
    service.close()
    names = [p.name for p in people]
    questions = [
        "who will I meet next week?",
        "how much did I spend on travel last year?",
        "what happened in March 2025?",
        "what topics am I talking about lately?",
        *(f"how do I know {x}?" for x in names[:10]),
        *(f"who is {x}?" for x in names[:10]),
        *titles[:10],
    ]
    pairs = [(rng.choice(people).id, rng.choice(people).id) for _ in range(n)] if people else []
    return {
        "search": [rng.choice(titles) for _ in range(n)] if titles else ["hello"] * n,
        "ask": [rng.choice(questions) for _ in range(n)],
        "path": pairs,
    }


ENDPOINTS = ("search", "ask", "neighbors", "path")


def measure(
    home: Path, requests: int = 100, concurrency: int = 1, seed: int = 7, endpoints: tuple[str, ...] = ENDPOINTS
) -> dict:
    """Start ``twin serve`` on ``home``, time each endpoint, stop it; returns the figures (printed as it goes).

    ``endpoints=("search",)`` works on a home whose model was never built (ask and the graph need it)."""
    os.environ["TWIN_HOME"] = str(home)
    from twin_assets.db.models import RecordRow
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.tokens import create_token

    twin = open_twin(get_settings())
    token = create_token(twin, ["low", "medium", "high"])
    with twin.session() as s:
        n_records = s.query(RecordRow).filter(RecordRow.tier.isnot(None)).count()
    twin.close()
    work = workload(home, requests, seed)

    env = {k: v for k, v in os.environ.items() if not k.startswith("TWIN_")}
    env.update(
        TWIN_HOME=str(home), TWIN_API_RATE="0", TWIN_ACCESS_LOG="off", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"
    )
    for name in ("TWIN_EMBEDDING_BACKEND", "TWIN_DATABASE_URL", "TWIN_CHROMA_URL"):
        if name in os.environ:
            env[name] = os.environ[name]
    port = _port()
    log = tempfile.NamedTemporaryFile(prefix="twin-latency-api-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [BIN / "twin", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    keep_log: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{api}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the API did not start (log: {log.name})")
            time.sleep(0.5)
        # The server loads the served views in the background (twin_query.warmup); measure once it says so.
        t0 = time.monotonic()
        while b"twin serve: loaded" not in Path(log.name).read_bytes() and time.monotonic() - t0 < 900:
            if proc.poll() is not None:
                raise SystemExit(f"the API stopped (log: {log.name})")
            time.sleep(0.5)
        server_warm = time.monotonic() - t0
        client = httpx.Client(base_url=api, headers=headers, timeout=300)
        t0 = time.monotonic()
        client.get("/v1/search", params={"q": "warm up"})
        if "ask" in endpoints:
            client.post("/v1/ask", json={"question": "who will I meet next week?"})
        warm = time.monotonic() - t0
        print(
            f"{n_records} records; server warm-up {server_warm:.1f}s, then first requests {warm:.1f}s; "
            f"{requests} requests per endpoint, concurrency {concurrency}",
            flush=True,
        )

        def timed(name: str, fn) -> float:
            start = time.perf_counter()
            r = fn()
            if r.status_code != 200:
                keep_log.append(name)
                raise SystemExit(
                    f"{name}: unexpected status {r.status_code} from {r.request.method} "
                    f"{r.request.url.path} (the server's log is kept: {log.name})"
                )
            return (time.perf_counter() - start) * 1000

        calls = {
            "search": [lambda q=q: client.get("/v1/search", params={"q": q, "k": 10}) for q in work["search"]],
            "ask": [lambda q=q: client.post("/v1/ask", json={"question": q}) for q in work["ask"]],
            "neighbors": [lambda a=a: client.get(f"/v1/entities/{a}/neighbors") for a, _ in work["path"]],
            "path": [
                lambda a=a, b=b: client.get("/v1/graph/path", params={"source": a, "target": b})
                for a, b in work["path"]
            ],
        }
        figures: dict = {
            "records": n_records,
            "server_warmup_s": round(server_warm, 1),
            "warmup_s": round(warm, 1),
            "requests": requests,
            "concurrency": concurrency,
        }
        print(f"\n{'endpoint':12s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} {'req/s':>7s}")
        for name, fns in calls.items():
            if name not in endpoints:
                continue
            start = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                times = list(pool.map(lambda fn, name=name: timed(name, fn), fns))
            rate = len(times) / (time.perf_counter() - start)
            figures[name] = f = {
                "p50_ms": round(percentile(times, 0.5), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
                "mean_ms": round(statistics.mean(times), 1),
                "req_per_s": round(rate, 1),
            }
            print(f"{name:12s} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} {f['max_ms']:8.1f} {rate:7.1f}", flush=True)
        api_rss, api_peak = rss_kib(proc.pid), rss_kib(proc.pid, "VmHWM")
        # The home's Chroma server is its own process (run/chroma.json names it), a child of `twin serve`
        # only when serve started it.
        chroma_kib = chroma_server_kib(home)
        print(
            f"\nserver RSS: API {api_rss / 1024:.0f} MiB (peak {api_peak / 1024:.0f} MiB); "
            f"the home's Chroma server: {chroma_kib / 1024:.0f} MiB"
        )
        figures["rss_mib"] = {
            "api": round(api_rss / 1024),
            "api_peak": round(api_peak / 1024),
            "chroma": round(chroma_kib / 1024),
        }
        return figures
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
        log.close()
        if not keep_log:
            os.unlink(log.name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", help="An existing materialized TWIN_HOME (default: generate one).")
    ap.add_argument("--people", type=int, default=12)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--volume", type=float, default=1.0, help="Message-rate multiplier for the generator.")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=100, help="Requests per endpoint.")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    home = Path(args.home) if args.home else build_home(args.people, args.years, args.volume, args.seed)
    try:
        figures = measure(home, args.requests, args.concurrency, args.seed)
        if args.json:
            print(json.dumps(figures, indent=2))
    finally:
        if not args.home:
            shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
