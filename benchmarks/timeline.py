"""Benchmark `recap timeline` against a bare orjson parse and `spoiler compile`.

For generated recordings of about 1, 10 and 100 MB (blob v2 JSONL with posthog-js's `cv`
compression, the format both tools read) it runs each tool as its own process, several
times, and reports the median wall time, throughput and peak RSS of that process, the
tokens of what each hands a model (o200k_base) and how many of the generator's clicks and
inputs each one found. Prints one JSON object per size, then a summary object.

    uv run python benchmarks/timeline.py [--sizes 1,10,100] [--runs 3] [--cache DIR]

Recordings are generated once into the cache directory (named by a digest of the
generator's source, so a changed generator makes new ones).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import recap.demo
from recap.demo.big import write_large_recording
from recap.timeline.tokens import count_tokens

ENCODING = "o200k_base"
MB = 1_000_000
SEED = 0
BIN = Path(sys.executable).parent
VOCABULARY = """\
version: 1
apps:
  app: { project: 1, host: localhost, audience: "users" }
surfaces: []
features: []
"""
# The floor: read the same bytes and parse each line, nothing else.
BASELINE = """\
import sys, orjson
lines = 0
with open(sys.argv[1], "rb") as handle:
    for line in handle:
        if line.strip():
            orjson.loads(line)
            lines += 1
print(lines)
"""


# Runs one command and reports its wall time and peak RSS. A forked child's ru_maxrss
# starts from its parent's RSS at fork time, so children are forked from this bare
# interpreter (about 5 MB) rather than from the benchmark (100+ MB with recap imported).
LAUNCHER = """\
import os, sys, time
report, program = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(program[0], program)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as handle:
    handle.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {wall}")
"""


@dataclass
class Run:
    wall_s: float
    peak_rss_mb: float
    exit_code: int
    stdout: bytes
    stderr: bytes


def run_process(command: list[str]) -> Run:
    """Run `command` as its own process: wall time and peak RSS (wait4) of that process."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "report"
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report)]
        subprocess.run([*launcher, *command], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        exit_code, max_rss_kib, wall = report.read_text().split()
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux
        return Run(float(wall), int(max_rss_kib) / 1024, int(exit_code), out.read(), err.read())


def measure(command: list[str], runs: int, size_bytes: int) -> tuple[dict[str, Any], Run]:
    results = [run_process(command) for _ in range(runs)]
    last = results[-1]
    failed = [r for r in results if r.exit_code != 0]
    if failed:
        tail = failed[0].stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"error": f"exit {failed[0].exit_code}: {' | '.join(tail)}"}, last
    wall = statistics.median(r.wall_s for r in results)
    return {
        "wall_s": round(wall, 3),
        "mb_s": round(size_bytes / MB / wall, 2),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in results), 1),
        "wall_s_runs": [round(r.wall_s, 3) for r in results],
    }, last


def recall(found: int, expected: int) -> float | None:
    """Share of the generator's actions found. Only counts are known for recordings this
    large, so over-counting (clicks on checkboxes kept beside their input) caps at 1."""
    return round(min(found, expected) / expected, 4) if expected else None


def generator_digest() -> str:
    sources = sorted(Path(recap.demo.__file__).parent.glob("*.py"))
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def recording_for(cache: Path, size_mb: float) -> tuple[Path, dict[str, Any]]:
    """The cached recording of about `size_mb` MB and its ground-truth counts."""
    name = f"recording-{size_mb:g}mb-seed{SEED}-cv-{generator_digest()}"
    path = cache / f"{name}.jsonl"
    truth_path = cache / f"{name}.truth.json"
    if path.exists() and truth_path.exists():
        return path, json.loads(truth_path.read_text())
    print(f"generating {path.name}…", file=sys.stderr, flush=True)
    large = write_large_recording(path, int(size_mb * MB), seed=SEED, compressed=True)
    truth = {"events": large.events, "session_id": large.session_id, **asdict(large.counts)}
    truth_path.write_text(json.dumps(truth, indent=2))
    return path, truth


def recap_command() -> list[str]:
    script = BIN / "recap"
    return [str(script)] if script.exists() else [sys.executable, "-m", "recap.cli"]


def bench_size(size_mb: float, runs: int, cache: Path, vocabulary: Path) -> dict[str, Any]:
    path, truth = recording_for(cache, size_mb)
    size = path.stat().st_size
    print(f"{path.name}: {size / MB:.1f} MB, {runs} run(s) per tool", file=sys.stderr, flush=True)

    recap, recap_run = measure([*recap_command(), "timeline", str(path)], runs, size)
    baseline, _ = measure([sys.executable, "-c", BASELINE, str(path)], runs, size)
    spoiler_command = [str(BIN / "spoiler"), "compile", "--recording", str(path)]
    spoiler, spoiler_run = measure(
        [*spoiler_command, "--vocab", str(vocabulary), "--app", "app"], runs, size
    )

    # clicks that only focused a field may be folded into the input that follows them
    expected_clicks = truth["clicks"] - truth["focus_clicks"]
    expected_inputs = truth["inputs"]
    if "error" not in recap:
        text = recap_run.stdout.decode("utf-8")
        recap["tokens"] = count_tokens(text, ENCODING)
        # one more, untimed run for the structured events the recall is counted on
        structured = run_process([*recap_command(), "timeline", str(path), "--json"])
        document = json.loads(structured.stdout)
        events = document["events"]
        clicks = sum(e.get("count", 1) for e in events if e["kind"] in ("click", "submit"))
        inputs = sum(e.get("count", 1) for e in events if e["kind"] == "input")
        recap.update(
            timeline_events=len(events),
            clicks=clicks,
            inputs=inputs,
            click_recall=recall(clicks, expected_clicks),
            input_recall=recall(inputs, expected_inputs),
        )
    if "error" not in spoiler:
        artifact = json.loads(spoiler_run.stdout)
        actions = artifact["actions"]
        clicks = sum(1 for a in actions if a.get("kind") == "click")
        inputs = sum(1 for a in actions if a.get("kind") == "input")
        spoiler.update(
            tokens=count_tokens(artifact["tsv"], ENCODING),
            timeline_events=len(actions),
            clicks=clicks,
            inputs=inputs,
            click_recall=recall(clicks, expected_clicks),
            input_recall=recall(inputs, expected_inputs),
        )

    ratios: dict[str, float | None] = {}
    if "error" not in recap and "error" not in spoiler:
        ratios = {
            "throughput_recap_over_spoiler": round(recap["mb_s"] / spoiler["mb_s"], 3),
            "peak_rss_recap_over_spoiler": round(recap["peak_rss_mb"] / spoiler["peak_rss_mb"], 3),
            "tokens_recap_over_spoiler": round(recap["tokens"] / max(1, spoiler["tokens"]), 3),
        }
    if "error" not in recap and "error" not in baseline:
        ratios["throughput_recap_over_baseline"] = round(recap["mb_s"] / baseline["mb_s"], 3)
    return {
        "size_mb": size_mb,
        "file": path.name,
        "bytes": size,
        "events": truth["events"],
        "runs": runs,
        "encoding": ENCODING,
        "truth": {
            key: truth[key]
            for key in (
                "clicks",
                "focus_clicks",
                "toggles",
                "inputs",
                "navigations",
                "console_errors",
                "network_failures",
            )
        },
        "recap": recap,
        "baseline_orjson": baseline,
        "spoiler": spoiler,
        "ratios": ratios,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    def series(tool: str, key: str) -> dict[str, Any]:
        return {f"{r['size_mb']:g}": r[tool].get(key) for r in results}

    return {
        "summary": True,
        "sizes_mb": [r["size_mb"] for r in results],
        "recap_mb_s": series("recap", "mb_s"),
        "spoiler_mb_s": series("spoiler", "mb_s"),
        "baseline_mb_s": series("baseline_orjson", "mb_s"),
        "recap_peak_rss_mb": series("recap", "peak_rss_mb"),
        "spoiler_peak_rss_mb": series("spoiler", "peak_rss_mb"),
        "throughput_recap_over_spoiler": {
            f"{r['size_mb']:g}": r["ratios"].get("throughput_recap_over_spoiler") for r in results
        },
        "peak_rss_recap_over_spoiler": {
            f"{r['size_mb']:g}": r["ratios"].get("peak_rss_recap_over_spoiler") for r in results
        },
        "tokens_recap_over_spoiler": {
            f"{r['size_mb']:g}": r["ratios"].get("tokens_recap_over_spoiler") for r in results
        },
        "recap_click_recall": series("recap", "click_recall"),
        "recap_input_recall": series("recap", "input_recall"),
        "spoiler_click_recall": series("spoiler", "click_recall"),
        "spoiler_input_recall": series("spoiler", "input_recall"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", default="1,10,100", help="recording sizes in MB, e.g. 1,10")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and size (median)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "recap-bench-timeline",
        help="where generated recordings are kept between runs",
    )
    args = parser.parse_args()
    sizes = [float(size) for size in args.sizes.split(",") if size.strip()]
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    vocabulary = cache / "vocab.yaml"
    vocabulary.write_text(VOCABULARY)
    count_tokens("warm up", ENCODING)  # install the offline BPE before anything is timed

    results = []
    for size in sizes:
        result = bench_size(size, max(1, args.runs), cache, vocabulary)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(json.dumps(summarize(results)), flush=True)


if __name__ == "__main__":
    main()
