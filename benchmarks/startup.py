"""Benchmark how long `recap timeline` takes as a whole process on a small recording.

`recap timeline` is run by hand and from scripts, once per file, so its start-up (imports,
settings, the tokenizer) weighs as much as the compile itself. This times, as separate
processes, the median wall time of:

- `recap timeline FILE` (text) and `recap timeline FILE --json` on a ~1 MB generated
  recording (blob v2 JSONL with posthog-js's `cv` compression),
- `recap --help`,
- `python -c pass`, the floor any Python command pays.

Prints one JSON object: per command the median and best wall time and the median CPU time
(user + system, steadier when other work shares the machine). `--compare NAME=RECAP`
(repeatable) times other `recap` executables side by side, e.g. a clean checkout's:

    .venv/bin/python benchmarks/startup.py --runs 9 \\
        --compare baseline=/tmp/recap-baseline/.venv/bin/recap
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timeline import installed_environment

from recap.demo.big import write_large_recording

MB = 1_000_000
SEED = 0
BIN = Path(sys.executable).parent


@dataclass
class Timing:
    wall_s: float
    cpu_s: float


def timed(command: list[str]) -> Timing:
    """Wall time and CPU time (user + system) of one run of `command` as its own process;
    CPU time is the steadier figure on a machine shared with other work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=installed_environment(),
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {' | '.join(tail)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu)


def summarize(timings: list[Timing]) -> dict[str, Any]:
    walls = [t.wall_s for t in timings]
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "median_cpu_s": round(statistics.median(t.cpu_s for t in timings), 3),
        "runs_s": [round(wall, 3) for wall in walls],
    }


def recording(cache: Path, size_mb: float) -> Path:
    path = cache / f"startup-{size_mb:g}mb-seed{SEED}.jsonl"
    if not path.exists():
        write_large_recording(path, int(size_mb * MB), seed=SEED, compressed=True)
    return path


def bench(targets: dict[str, str], path: Path, runs: int) -> dict[str, dict[str, Any]]:
    """Every command of every target, runs interleaved (A, B, A, B…) so that a busy
    machine slows them alike."""
    commands: dict[str, Callable[[str], list[str]]] = {
        "timeline_text": lambda recap: [recap, "timeline", str(path)],
        "timeline_json": lambda recap: [recap, "timeline", str(path), "--json"],
        "help": lambda recap: [recap, "--help"],
        "python_pass": lambda recap: [str(Path(recap).parent / "python"), "-c", "pass"],
    }
    results: dict[str, dict[str, Any]] = {name: {} for name in targets}
    for label, command in commands.items():
        print(f"timing {label}", file=sys.stderr, flush=True)
        timings: dict[str, list[Timing]] = {name: [] for name in targets}
        for recap in targets.values():
            timed(command(recap))  # warm: .pyc files, the tokenizer's cache, the page cache
        for _ in range(runs):
            for name, recap in targets.items():
                timings[name].append(timed(command(recap)))
        for name in targets:
            results[name][label] = summarize(timings[name])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (median)")
    parser.add_argument("--size-mb", type=float, default=1.0, help="recording size in MB")
    parser.add_argument("--recap", default=str(BIN / "recap"), help="the recap executable to time")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=RECAP",
        help="also time this recap executable (its venv's python is the floor)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "recap-bench-startup",
        help="where the generated recording is kept between runs",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = recording(args.cache, args.size_mb)
    runs = max(1, args.runs)
    targets = {"current": args.recap}
    for item in args.compare:
        name, _, executable = item.partition("=")
        targets[name] = executable
    results = bench(targets, path, runs)
    summary = {
        "file": path.name,
        "bytes": path.stat().st_size,
        "runs": runs,
        "results": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
