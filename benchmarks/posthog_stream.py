"""Peak memory of compiling a recording streamed from PostHog vs the same file compiled locally.

A generated recording (blob v2 JSONL with `cv` fields) is served by the loopback PostHog
double (tests/support/posthog_double.py) in this process; two child processes, each measured on
its own (wall time, peak RSS by wait4), then compile it: one through `PostHogSource`
(two-phase snapshots, bounded block ranges, streamed line by line), one from the file.
Prints one JSON object. The target: streaming stays within 1.5x of the local peak.

    uv run python benchmarks/posthog_stream.py [--size-mb 100] [--runs 3] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from timeline import MB, Run, run_process  # noqa: E402  (the sibling benchmark's launcher)

from recap.demo.big import write_large_recording  # noqa: E402
from tests.support.posthog_double import ServedRecording, posthog_double  # noqa: E402

SESSION = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000"
BLOCK_BYTES = 1_000_000
# The same work in both children: load, compile, render; only the source differs.
COMPILE = """\
import hashlib, json, sys
from recap.timeline import as_json, compile_timeline, render_timeline
if sys.argv[1] == "posthog":
    from pydantic import SecretStr
    from recap.sources.posthog import PostHogConfig, PostHogSource
    config = PostHogConfig(host=sys.argv[2], project_id=sys.argv[3], api_key=SecretStr(sys.argv[4]))
    recording = PostHogSource(config).load(sys.argv[5])
else:
    from recap.sources.files import load_recording_file
    recording = load_recording_file(sys.argv[2])
timeline = compile_timeline(recording)
render_timeline(timeline)
digest = hashlib.sha256(b"".join(json.dumps(as_json(e)).encode() for e in timeline.events))
print(len(timeline.events), digest.hexdigest()[:16])
"""


def served(path: Path) -> ServedRecording:
    """The file's events as PostHog holds them: time-ordered blocks of about 1 MB, stored
    with their `cv` fields as posthog-js sent them (served as they are)."""
    events: list[tuple[str, Any]] = []
    with path.open("rb") as handle:
        for line in handle:
            window, event = orjson.loads(line)
            events.append((window, event))
    blocks = max(1, path.stat().st_size // BLOCK_BYTES)
    return ServedRecording(session_id=SESSION, events=events, blocks=blocks, compress=False)


def summarize(results: list[Run], size: int) -> dict[str, Any]:
    failed = [r for r in results if r.exit_code != 0]
    if failed:
        return {"error": failed[0].stderr.decode("utf-8", "replace").strip()[-500:]}
    wall = statistics.median(r.wall_s for r in results)
    return {
        "wall_s": round(wall, 3),
        "mb_s": round(size / MB / wall, 2),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in results), 1),
        "output": results[-1].stdout.decode().strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "recap-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"posthog-stream-{args.size_mb:g}mb.jsonl"
    if not path.exists():
        print(f"generating {path.name}…", file=sys.stderr)
        write_large_recording(path, int(args.size_mb * MB), seed=0, compressed=True)
    size = path.stat().st_size
    recording = served(path)
    script = [sys.executable, "-c", COMPILE]
    with posthog_double() as double:
        double.add(recording)
        remote = [
            run_process(
                [
                    *script,
                    "posthog",
                    double.base_url,
                    str(double.project_id),
                    double.api_key,
                    SESSION,
                ]
            )
            for _ in range(args.runs)
        ]
        requests = len(double.snapshot_requests())
    local = [run_process([*script, "file", str(path)]) for _ in range(args.runs)]
    report: dict[str, Any] = {
        "size_mb": round(size / MB, 1),
        "blocks": recording.blocks,
        "runs": args.runs,
        "snapshot_requests": requests,
        "posthog_stream": summarize(remote, size),
        "local_file": summarize(local, size),
    }
    streamed, compiled = report["posthog_stream"], report["local_file"]
    if "peak_rss_mb" in streamed and "peak_rss_mb" in compiled:
        report["peak_rss_stream_over_local"] = round(
            streamed["peak_rss_mb"] / compiled["peak_rss_mb"], 3
        )
        report["same_timeline"] = streamed["output"] == compiled["output"]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
