"""The benchmarks run end to end at tiny sizes and print the promised JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL_KEYS = {"wall_s", "mb_s", "peak_rss_mb"}
SHAPES = ("generated", "churn", "real")


def test_benchmark_prints_one_object_per_shape_and_size_and_a_summary(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "timeline.py"),
            *("--sizes", "0.2", "--runs", "1", "--cache", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    objects = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert len(objects) == 4, completed.stdout
    *cases, summary = objects
    assert [case["shape"] for case in cases] == list(SHAPES)
    for case in cases:
        assert case["size_mb"] == 0.2 and case["bytes"] >= 190_000 and case["runs"] == 1
        assert case["encoding"] == "o200k_base"
        for tool in ("recap", "baseline_orjson", "spoiler"):
            assert "error" not in case[tool], case[tool]
            assert set(case[tool]) >= TOOL_KEYS, case[tool]
            assert case[tool]["wall_s"] > 0 and case[tool]["peak_rss_mb"] > 0
        for tool in ("recap", "spoiler"):
            assert case[tool]["tokens"] > 0
        # the compile a worker pays per session, timed in process
        assert case["worker_compile"]["compile_session_s"] > 0
        assert case["ratios"]["throughput_recap_over_spoiler_paired"] > 0
        assert {
            "throughput_recap_over_spoiler",
            "throughput_recap_over_spoiler_paired",
            "peak_rss_recap_over_spoiler",
            "tokens_recap_over_spoiler",
            "throughput_recap_over_baseline",
            "throughput_worker_compile_over_spoiler",
        } <= set(case["ratios"])
    generated, churn, real = cases
    # the generators know what they planted; the real recordings have no ground truth
    for case in (generated, churn):
        assert case["truth"]["clicks"] > 0 and case["truth"]["inputs"] > 0
        for tool in ("recap", "spoiler"):
            assert 0 < case[tool]["click_recall"] <= 1
    assert real["truth"] == {}
    assert summary["summary"] is True
    assert summary["cases"] == [f"{shape}/0.2" for shape in SHAPES]
    assert set(summary["recap_mb_s"]) == set(summary["cases"])
    # the recordings were generated into the cache and are reused by the next run
    for shape in SHAPES:
        assert list(tmp_path.glob(f"{shape}-0.2mb-*.jsonl")), shape


def test_posthog_stream_benchmark_compares_streamed_and_local_compiles(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "posthog_stream.py"),
            *("--size-mb", "0.3", "--runs", "1", "--cache", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)
    for side in ("posthog_stream", "local_file"):
        assert "error" not in report[side], report[side]
        assert report[side]["peak_rss_mb"] > 0 and report[side]["wall_s"] > 0
    assert report["snapshot_requests"] >= 1
    assert report["same_timeline"] is True
    assert report["peak_rss_stream_over_local"] > 0


def test_batch_benchmark_reports_wall_time_against_the_ideal() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "batch.py"),
            *("--sessions", "10", "--concurrency", "5", "--sleep", "0.5", "--singles"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(completed.stdout)
    run = report["run"]
    assert (run["sessions"], run["summarized"], run["failed"]) == (10, 10, 0)
    assert run["ideal_seconds"] == 1.0
    assert run["wall_seconds"] >= run["ideal_seconds"]
    assert abs(run["ratio"] - run["wall_seconds"] / run["ideal_seconds"]) < 0.01
    assert run["largest_history_length"] > 0
    assert run["cpu_seconds"]["server"] > 0 and run["cpu_seconds_per_session"] > 0
    # The same sessions as single summaries, without a batch around them.
    singles = report["singles"]
    assert (singles["sessions"], singles["ideal_seconds"]) == (10, 1.0)
    assert singles["wall_seconds"] >= singles["ideal_seconds"]
    cpu = singles["cpu_seconds"]
    assert cpu["worker"] > 0 and cpu["server"] > 0
    assert abs(singles["cpu_seconds_per_session"] - cpu["total"] / 10) < 0.001


def test_cluster_benchmark_reports_time_and_memory() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "clusters.py"), "--sessions", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(completed.stdout)
    assert report["sessions"] == 300
    assert report["clusters"] > 0 and report["occurrences"] > report["clusters"]
    assert report["total_s"] > 0 and report["peak_rss_mib"] > 0
    assert report["ids_stable_on_rerun"] is True
