"""Benchmark the peak memory of `recap timeline` as recordings grow.

For generated recordings of about 10 and 100 MB (add 1000 with `--sizes`; blob v2 JSONL
with posthog-js's `cv` compression, the streamed format) it runs `recap timeline` as its
own process and reports that process's peak RSS (wait4's ru_maxrss) and wall time, plain
and with `--max-tokens` (the budgeted timeline a model is given). Prints one JSON object
per size, then a summary of the RSS by size.

    .venv/bin/python benchmarks/timeline_memory.py [--sizes 10,100,1000] [--max-tokens 8000]
        [--compare baseline=/tmp/recap-baseline/.venv/bin/recap] [--keep]

Recordings are generated into `--cache` (default a temp folder) and, unless `--keep`,
deleted afterwards: a 1 GB one takes a while to write and as long to delete from a
small disk.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from timeline import MB, run_process  # the sibling benchmark's launcher

from recap.demo.big import write_large_recording

SEED = 0
BIN = Path(sys.executable).parent


def peak(command: list[str]) -> dict[str, Any]:
    """Peak RSS (MB) and wall time (s) of `command` run as its own process (the timeline
    benchmark's launcher: forked from a bare interpreter, measured with wait4)."""
    run = run_process(command)
    if run.exit_code != 0:
        tail = run.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"error": f"exit {run.exit_code}: {' | '.join(tail)}"}
    return {"peak_rss_mb": round(run.peak_rss_mb, 1), "wall_s": round(run.wall_s, 2)}


def recording(cache: Path, size_mb: float) -> Path:
    path = cache / f"memory-{size_mb:g}mb-seed{SEED}.jsonl"
    if not path.exists():
        print(f"generating {path.name}…", file=sys.stderr, flush=True)
        write_large_recording(path, int(size_mb * MB), seed=SEED, compressed=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", default="10,100", help="recording sizes in MB, e.g. 10,100,1000")
    parser.add_argument(
        "--max-tokens", type=int, default=8000, help="budget of the budgeted run (0: none)"
    )
    parser.add_argument("--recap", default=str(BIN / "recap"), help="the recap executable")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=RECAP",
        help="also measure this recap executable",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "recap-bench-memory",
        help="where recordings are generated",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated recordings")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    targets = {"current": args.recap}
    for item in args.compare:
        name, _, executable = item.partition("=")
        targets[name] = executable
    # Large files are processed once each (generated, measured, deleted) to bound the disk.
    sizes = [float(size) for size in args.sizes.split(",") if size.strip()]
    summary: dict[str, dict[str, Any]] = {name: {} for name in targets}
    for size in sizes:
        path = recording(args.cache, size)
        result: dict[str, Any] = {"size_mb": size, "bytes": path.stat().st_size}
        for name, recap in targets.items():
            plain = peak([recap, "timeline", str(path)])
            budgeted = (
                peak([recap, "timeline", str(path), "--max-tokens", str(args.max_tokens)])
                if args.max_tokens > 0
                else {}
            )
            result[name] = {"plain": plain, "budgeted": budgeted}
            summary[name][f"{size:g}"] = {
                "plain": plain.get("peak_rss_mb"),
                "budgeted": budgeted.get("peak_rss_mb"),
            }
        print(json.dumps(result), flush=True)
        if not args.keep:
            path.unlink()
    print(json.dumps({"summary": True, "peak_rss_mb": summary}), flush=True)


if __name__ == "__main__":
    main()
