"""The timeline benchmark runs end to end at a tiny size and prints the promised JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL_KEYS = {"wall_s", "mb_s", "peak_rss_mb"}


def test_benchmark_prints_one_object_per_size_and_a_summary(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "timeline.py"),
            *("--sizes", "0.2", "--runs", "1", "--cache", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    objects = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert len(objects) == 2, completed.stdout
    size, summary = objects
    assert size["size_mb"] == 0.2 and size["bytes"] >= 200_000 and size["runs"] == 1
    assert size["encoding"] == "o200k_base"
    assert size["truth"]["clicks"] > 0 and size["truth"]["inputs"] > 0
    for tool in ("recap", "baseline_orjson", "spoiler"):
        assert "error" not in size[tool], size[tool]
        assert set(size[tool]) >= TOOL_KEYS, size[tool]
        assert size[tool]["wall_s"] > 0 and size[tool]["peak_rss_mb"] > 0
    for tool in ("recap", "spoiler"):
        assert {"tokens", "click_recall", "input_recall"} <= set(size[tool])
        assert size[tool]["tokens"] > 0
        assert 0 < size[tool]["click_recall"] <= 1
    assert {
        "throughput_recap_over_spoiler",
        "peak_rss_recap_over_spoiler",
        "tokens_recap_over_spoiler",
        "throughput_recap_over_baseline",
    } <= set(size["ratios"])
    assert summary["summary"] is True and summary["sizes_mb"] == [0.2]
    assert set(summary["recap_mb_s"]) == {"0.2"}
    # the recording was generated into the cache and is reused by the next run
    assert list(tmp_path.glob("recording-0.2mb-*.jsonl"))


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
            *("--sessions", "10", "--concurrency", "5", "--sleep", "0.5"),
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
