"""The benchmark suite's report: every figure lands in the table, and a missed target says so."""

from __future__ import annotations

from benchmarks.suite import TARGETS, markdown


def _result(search_p95: float, ratio: float) -> dict:
    lat = {"p50_ms": 10.0, "p95_ms": 20.0}
    return {
        "records": 10_215,
        "sync": {"wall_s": 100.0, "records_per_s": 102.2, "peak_rss_mib": 900},
        "raw_embedding": {"texts_per_s": 150.0},
        "throughput_ratio": ratio,
        "model": {"wall_s": 50.0},
        "end_to_end": {"seconds": 150.0, "peak_rss_mib": 1200},
        "incremental": {"sync_ratio": 0.02, "sync_ratio_inner": 0.01, "end_to_end_ratio": 0.4},
        "latency": {"search": {"p50_ms": 9.0, "p95_ms": search_p95}, "ask": lat, "neighbors": lat, "path": lat,
                    "rss_mib": {"api": 800, "chroma": 120}},
    }


def test_markdown_marks_met_and_missed_targets():
    report = {"started": "t", "sizes": ["10k", "100k"], "targets": TARGETS,
              "machine": {"cpus": 2, "python": "3.11", "embedding_backend": "onnx"},
              "results": {"10k": _result(30.0, 0.9), "100k": _result(80.0, 0.5)}}
    table = markdown(report)
    search = next(line for line in table.splitlines() if line.startswith("| search"))
    assert "9 / 30 (met)" in search and "9 / 80 (**not met**)" in search
    ratio = next(line for line in table.splitlines() if line.startswith("| sync ÷ raw"))
    assert "0.90 (met)" in ratio and "0.50 (**not met**)" in ratio
    assert "| records | 10,215 | 10,215 |" in table
