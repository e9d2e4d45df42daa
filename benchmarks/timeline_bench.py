"""Time the offline timeline stage (load, compile, render, count) on real recordings.

Prints one JSON object per recording. The synthetic one repeats a chalk session's
incremental events 20 times with shifted timestamps, to see how cost grows with size.

    uv run python benchmarks/timeline_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline, count_tokens, render_timeline
from tests.recordings import CHALK, CHALK_SESSIONS

REPEATS = 20


def synthetic_recording(directory: Path) -> Path:
    """A chalk session whose incremental events play 20 times in a row."""
    source = json.loads((CHALK / f"{CHALK_SESSIONS[0]}.json").read_text())
    events: list[dict[str, Any]] = source["rrweb_data"]
    head = [e for e in events if e["type"] != 3]
    body = [e for e in events if e["type"] == 3]
    span = events[-1]["timestamp"] - events[0]["timestamp"] + 1_000
    repeated = [
        {**event, "timestamp": event["timestamp"] + round_ * span}
        for round_ in range(REPEATS)
        for event in body
    ]
    path = directory / f"synthetic-{REPEATS}x.json"
    path.write_text(json.dumps([*head, *repeated]))
    return path


def measure(path: Path, runs: int) -> dict[str, Any]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        recording = load_recording_file(path)
        timeline = compile_timeline(recording)
        text = render_timeline(timeline)
        tokens = count_tokens(text)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "recording": path.name,
        "bytes": path.stat().st_size,
        "events": len(recording.events),
        "ms_median": round(statistics.median(timings), 1),
        "ms_min": round(min(timings), 1),
        "tokens": tokens,
        "timeline_events": len(timeline.events),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    count_tokens("warm up")  # the tokenizer loads once per process; keep it out of the timings
    with tempfile.TemporaryDirectory(prefix="recap-bench-") as scratch:
        paths = [CHALK / f"{session}.json" for session in CHALK_SESSIONS]
        paths.append(synthetic_recording(Path(scratch)))
        for path in paths:
            print(json.dumps(measure(path, args.runs)), flush=True)


if __name__ == "__main__":
    main()
