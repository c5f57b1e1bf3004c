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
        "model": {
            "wall_s": 50.0,
            "steps": {
                "entities[HIGH]": {"s": 31.5, "peak_rss_mib": 1500},
                "text[LOW]": {"s": 0.4, "peak_rss_mib": 700},
            },
        },
        "end_to_end": {"seconds": 150.0, "peak_rss_mib": 1200},
        "incremental": {"sync_ratio": 0.02, "sync_ratio_inner": 0.01, "end_to_end_ratio": 0.4},
        "latency": {
            "search": {"p50_ms": 9.0, "p95_ms": search_p95},
            "ask": lat,
            "neighbors": lat,
            "path": lat,
            "rss_mib": {"api": 800, "chroma": 120},
        },
    }


def test_markdown_marks_met_and_missed_targets():
    report = {
        "started": "t",
        "sizes": ["10k", "100k"],
        "targets": TARGETS,
        "machine": {"cpus": 2, "python": "3.11", "embedding_backend": "onnx"},
        "results": {"10k": _result(30.0, 0.9), "100k": _result(80.0, 0.5)},
    }
    table = markdown(report)
    search = next(line for line in table.splitlines() if line.startswith("| search"))
    assert "9 / 30 (met)" in search and "9 / 80 (**not met**)" in search
    ratio = next(line for line in table.splitlines() if line.startswith("| sync ÷ raw"))
    assert "0.90 (met)" in ratio and "0.50 (**not met**)" in ratio
    assert "| records | 10,215 | 10,215 |" in table
    assert "| entities[HIGH] | 31.5 | 1,500 |" in table  # where the model's time goes, slowest first
    assert table.index("entities[HIGH]") < table.index("text[LOW]")


def test_a_size_run_without_the_model_says_what_was_not_run():
    result = _result(30.0, 0.9)
    result.update(
        model=None,
        end_to_end={"seconds": None, "peak_rss_mib": 900},
        incremental={"sync_ratio": 0.02, "sync_ratio_inner": 0.01, "end_to_end_ratio": None},
    )
    result["latency"] = {"search": {"p50_ms": 9.0, "p95_ms": 30.0}, "rss_mib": {"api": 800, "chroma": 120}}
    report = {
        "started": "t",
        "sizes": ["1m"],
        "targets": TARGETS,
        "machine": {"cpus": 2, "python": "3.11", "embedding_backend": "onnx"},
        "results": {"1m": result},
    }
    rows = {line.split(" | ")[0].strip("| "): line for line in markdown(report).splitlines() if line.startswith("| ")}
    for name in (
        "model rebuild s",
        "end to end s",
        "ask p50 / p95 ms",
        "path p50 / p95 ms",
        "1% incremental end to end ÷ full",
    ):
        assert "not run" in rows[name], name
    assert "9 / 30 (met)" in rows["search p50 / p95 ms"]
    assert "2.0% (met)" in rows["1% incremental sync ÷ full sync"]


def test_split_mbox_streams_the_newest_messages_out(tmp_path):
    import mailbox

    from benchmarks.sync import _split_mbox

    src = tmp_path / "all.mbox"
    box = mailbox.mbox(src)
    for i in range(200):
        box.add(f"From: a@example.org\nSubject: n{i}\n\nFrom here on, line one\nbody {i}\n")
    box.flush()
    box.close()
    held = _split_mbox(src, tmp_path / "keep.mbox", tmp_path / "held.mbox", 0.05)
    kept = [m["subject"] for m in mailbox.mbox(tmp_path / "keep.mbox")]
    new = [m["subject"] for m in mailbox.mbox(tmp_path / "held.mbox")]
    assert held == 10 and kept == [f"n{i}" for i in range(190)] and new == [f"n{i}" for i in range(190, 200)]
