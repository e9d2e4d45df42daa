"""Benchmark `recap timeline` against a bare orjson parse and `spoiler compile`, on three
recording shapes.

For each shape (`generated`: recap's shop traffic; `churn`: a live dashboard whose DOM
never rests; `real`: the shared real recordings joined end to end, see
`recap.demo.shapes`) and each size (about 1, 10 and 100 MB of blob v2 JSONL with
posthog-js's `cv` compression, which both tools read) it runs each tool as its own
process, several times, the tools' runs interleaved, and reports the median wall time,
throughput and peak RSS of that process (and recap's throughput over spoiler's, run pair
by run pair), the tokens of what each hands a model (o200k_base) and, on the generated
shapes, how many of the generator's clicks and inputs each one found. At 1 MB it also times, in
this process after a warm-up, the compile a worker pays per session
(`recap.services.summary.compile_session`: load, decode, compile, budget, render, count,
store). Prints one JSON object per shape and size, then a summary object.

    uv run --extra embedded python benchmarks/timeline.py \
        [--shapes generated,churn,real] [--sizes 1,10,100] [--runs 3] [--cache DIR]

`benchmarks/render_identity.py` checks on the same recordings that recap's output is
byte for byte what it was before the mirror optimization.

Recordings are generated once into the cache directory (named by a digest of the
generators' sources and, for `real`, of the recordings, so a change makes new ones).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from worker_compile import worker_compile

import recap.demo
from recap.demo.shapes import SHAPES, Shape, write_shape_recording
from recap.timeline.tokens import count_tokens

ENCODING = "o200k_base"
MB = 1_000_000
SEED = 0
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT.parent / "shared" / "data" / "recordings"
MAX_DECODED_MIB = 1024
WORKER_COMPILE_MAX_MB = 1.0
"""Sizes up to this also get the in-process worker compile timed."""
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


def installed_environment() -> dict[str, str]:
    """This environment, with Python caching bytecode as it does on users' machines.

    Without cached bytecode every process recompiles each module it imports (pydantic's
    alone takes longer than compiling a 1 MB recording); sandboxes and CI images often set
    PYTHONDONTWRITEBYTECODE. Without it, the first, untimed run caches the bytecode of
    recap and of what it imports, as a user's first run does.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


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
        subprocess.run(
            [*launcher, *command],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=installed_environment(),
        )
        exit_code, max_rss_kib, wall = report.read_text().split()
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux
        return Run(float(wall), int(max_rss_kib) / 1024, int(exit_code), out.read(), err.read())


def measure(
    commands: dict[str, list[str]], runs: int, size_bytes: int
) -> dict[str, tuple[dict[str, Any], Run]]:
    """Each command `runs` times, interleaved (A, B, C, A, B, C…) after one untimed run of
    each (bytecode, the page cache): the host's speed drifts by tens of percent within
    minutes, and interleaving makes the drift slow every tool alike. Per command: its
    figures (median wall time, throughput, peak RSS, each run's wall time) and its last run.
    """
    for command in commands.values():
        run_process(command)
    timed: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            timed[name].append(run_process(command))
    return {name: (_figures(results, size_bytes), results[-1]) for name, results in timed.items()}


def _figures(results: list[Run], size_bytes: int) -> dict[str, Any]:
    failed = [r for r in results if r.exit_code != 0]
    if failed:
        tail = failed[0].stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"error": f"exit {failed[0].exit_code}: {' | '.join(tail)}"}
    wall = statistics.median(r.wall_s for r in results)
    return {
        "wall_s": round(wall, 3),
        "mb_s": round(size_bytes / MB / wall, 2),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in results), 1),
        "wall_s_runs": [round(r.wall_s, 3) for r in results],
    }


def paired_throughput_ratio(tool: dict[str, Any], other: dict[str, Any]) -> float | None:
    """`tool`'s throughput over `other`'s, as the median over the interleaved runs of
    `other`'s wall time over `tool`'s: each pair ran moments apart, so it drifts less with
    the host than the ratio of the two medians."""
    pairs = zip(tool.get("wall_s_runs", []), other.get("wall_s_runs", []), strict=False)
    ratios = [theirs / ours for ours, theirs in pairs if ours > 0]
    return round(statistics.median(ratios), 3) if ratios else None


def recall(found: int, expected: int) -> float | None:
    """Share of the generator's actions found. Only counts are known for recordings this
    large, so over-counting (clicks on checkboxes kept beside their input) caps at 1."""
    return round(min(found, expected) / expected, 4) if expected else None


def sources_digest(shape: Shape, recordings: Path) -> str:
    """What the recording depends on: the generators' sources, and the real recordings."""
    digest = hashlib.sha256()
    for source in sorted(Path(recap.demo.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    if shape == "real":
        for path in sorted(recordings.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(recordings)} {path.stat().st_size}".encode())
    return digest.hexdigest()[:10]


def recording_for(
    cache: Path, shape: Shape, size_mb: float, recordings: Path
) -> tuple[Path, dict[str, Any]]:
    """The cached recording of `shape` of about `size_mb` MB and what is known of it."""
    name = f"{shape}-{size_mb:g}mb-seed{SEED}-cv-{sources_digest(shape, recordings)}"
    path = cache / f"{name}.jsonl"
    truth_path = cache / f"{name}.truth.json"
    if path.exists() and truth_path.exists():
        return path, cast(dict[str, Any], json.loads(truth_path.read_text()))
    print(f"generating {path.name}…", file=sys.stderr, flush=True)
    truth = write_shape_recording(shape, path, int(size_mb * MB), seed=SEED, recordings=recordings)
    truth_path.write_text(json.dumps(truth, indent=2))
    return path, truth


def recap_command() -> list[str]:
    script = BIN / "recap"
    return [str(script)] if script.exists() else [sys.executable, "-m", "recap.cli"]


def recap_recall(path: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """recap's clicks and inputs, from one more, untimed run for the structured events."""
    structured = run_process([*recap_command(), "timeline", str(path), "--json"])
    events = json.loads(structured.stdout)["events"]
    clicks = sum(e.get("count", 1) for e in events if e["kind"] in ("click", "submit"))
    inputs = sum(e.get("count", 1) for e in events if e["kind"] == "input")
    return _found(len(events), clicks, inputs, truth)


def _found(events: int, clicks: int, inputs: int, truth: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"timeline_events": events, "clicks": clicks, "inputs": inputs}
    if "clicks" in truth:
        # clicks that only focused a field may be folded into the input that follows them
        found["click_recall"] = recall(clicks, truth["clicks"] - truth["focus_clicks"])
        found["input_recall"] = recall(inputs, truth["inputs"])
    return found


def ratio(numerator: Any, denominator: Any) -> float | None:
    if not isinstance(numerator, int | float) or not isinstance(denominator, int | float):
        return None
    return round(numerator / denominator, 3) if denominator else None


RATIOS = (
    "throughput_recap_over_spoiler",
    "throughput_recap_over_spoiler_paired",
    "throughput_worker_compile_over_spoiler",
    "peak_rss_recap_over_spoiler",
    "tokens_recap_over_spoiler",
    "throughput_recap_over_baseline",
)
TRUTH_KEYS = (
    "clicks",
    "focus_clicks",
    "toggles",
    "inputs",
    "navigations",
    "console_errors",
    "network_failures",
)


def bench(
    shape: Shape,
    size_mb: float,
    runs: int,
    cache: Path,
    vocabulary: Path,
    recordings: Path,
    max_decoded_mib: int,
) -> dict[str, Any]:
    path, truth = recording_for(cache, shape, size_mb, recordings)
    size = path.stat().st_size
    print(f"{path.name}: {size / MB:.1f} MB, {runs} run(s) per tool", file=sys.stderr, flush=True)

    spoiler_command = [
        str(BIN / "spoiler"),
        "compile",
        "--recording",
        str(path),
        "--vocab",
        str(vocabulary),
        "--app",
        "app",
        "--max-input-mib",
        str(max_decoded_mib),
    ]
    measured = measure(
        {
            "recap": [*recap_command(), "timeline", str(path)],
            "baseline_orjson": [sys.executable, "-c", BASELINE, str(path)],
            "spoiler": spoiler_command,
        },
        runs,
        size,
    )
    recap, recap_run = measured["recap"]
    baseline, _ = measured["baseline_orjson"]
    spoiler, spoiler_run = measured["spoiler"]
    if "error" not in recap:
        recap["tokens"] = count_tokens(recap_run.stdout.decode("utf-8"), ENCODING)
        recap.update(recap_recall(path, truth))
    if "error" not in spoiler:
        artifact = json.loads(spoiler_run.stdout)
        actions = artifact["actions"]
        clicks = sum(1 for a in actions if a.get("kind") == "click")
        inputs = sum(1 for a in actions if a.get("kind") == "input")
        spoiler["tokens"] = count_tokens(artifact["tsv"], ENCODING)
        spoiler.update(_found(len(actions), clicks, inputs, truth))

    result: dict[str, Any] = {
        "shape": shape,
        "size_mb": size_mb,
        "file": path.name,
        "bytes": size,
        "events": truth["events"],
        "runs": runs,
        "max_decoded_mib": max_decoded_mib,
        "encoding": ENCODING,
        "truth": {key: truth[key] for key in TRUTH_KEYS if key in truth},
        "recap": recap,
        "baseline_orjson": baseline,
        "spoiler": spoiler,
    }
    ratios = {
        "throughput_recap_over_spoiler": ratio(recap.get("mb_s"), spoiler.get("mb_s")),
        "throughput_recap_over_spoiler_paired": paired_throughput_ratio(recap, spoiler),
        "peak_rss_recap_over_spoiler": ratio(recap.get("peak_rss_mb"), spoiler.get("peak_rss_mb")),
        "tokens_recap_over_spoiler": ratio(recap.get("tokens"), spoiler.get("tokens")),
        "throughput_recap_over_baseline": ratio(recap.get("mb_s"), baseline.get("mb_s")),
    }
    if size_mb <= WORKER_COMPILE_MAX_MB:
        worker = worker_compile(path, truth["session_id"], runs)
        result["worker_compile"] = worker
        # spoiler has no in-process API: its whole process is what a worker would pay
        ratios["throughput_worker_compile_over_spoiler"] = ratio(
            worker["mb_s"], spoiler.get("mb_s")
        )
    result["ratios"] = ratios
    return result


SUMMARY: dict[str, tuple[str, str]] = {  # summary key: where in each result, and what
    "recap_mb_s": ("recap", "mb_s"),
    "spoiler_mb_s": ("spoiler", "mb_s"),
    "baseline_mb_s": ("baseline_orjson", "mb_s"),
    "worker_compile_mb_s": ("worker_compile", "mb_s"),
    "recap_peak_rss_mb": ("recap", "peak_rss_mb"),
    "spoiler_peak_rss_mb": ("spoiler", "peak_rss_mb"),
    **{name: ("ratios", name) for name in RATIOS},
    "recap_click_recall": ("recap", "click_recall"),
    "recap_input_recall": ("recap", "input_recall"),
    "spoiler_click_recall": ("spoiler", "click_recall"),
    "spoiler_input_recall": ("spoiler", "input_recall"),
}


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure by `shape/size`; cases where it was not measured are left out."""
    summary: dict[str, Any] = {"summary": True, "cases": [case(r) for r in results]}
    for name, (tool, key) in SUMMARY.items():
        values = {case(r): r.get(tool, {}).get(key) for r in results}
        summary[name] = {label: value for label, value in values.items() if value is not None}
    return summary


def case(result: dict[str, Any]) -> str:
    return f"{result['shape']}/{result['size_mb']:g}"


def parse_recording_options(
    parser: argparse.ArgumentParser, *, default_sizes: str
) -> tuple[argparse.Namespace, list[Shape], list[float], Path]:
    """Add and parse the options that pick recordings: shapes, sizes, where they come
    from and where they are kept (shared with `render_identity.py`)."""
    parser.add_argument("--shapes", default=",".join(SHAPES), help="e.g. generated,churn")
    parser.add_argument("--sizes", default=default_sizes, help="recording sizes in MB, e.g. 1,10")
    parser.add_argument(
        "--recordings",
        type=Path,
        default=RECORDINGS,
        help="the real recordings for the `real` shape (default ../shared/data/recordings)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "recap-bench-timeline",
        help="where generated recordings are kept between runs",
    )
    args = parser.parse_args()
    shapes = [cast(Shape, shape.strip()) for shape in args.shapes.split(",") if shape.strip()]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        parser.error(f"unknown shape(s) {', '.join(unknown)}; choose from {', '.join(SHAPES)}")
    sizes = [float(size) for size in args.sizes.split(",") if size.strip()]
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    count_tokens("warm up", ENCODING)  # install the offline BPE before anything is timed
    return args, shapes, sizes, cache


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and size (median)")
    parser.add_argument(
        "--max-decoded-mib",
        type=int,
        default=MAX_DECODED_MIB,
        help="the bound on decoded JSON both tools are given (their default is 512)",
    )
    args, shapes, sizes, cache = parse_recording_options(parser, default_sizes="1,10,100")
    # 100 MB of churn decodes to about 600 MB, past both tools' default bound of 512 MiB:
    # both get the same larger one, through recap's setting (read by the children and by
    # the in-process compile alike) and spoiler's option.
    os.environ["RECAP_TIMELINE__MAX_DECODED_BYTES"] = str(args.max_decoded_mib * 1024 * 1024)
    vocabulary = cache / "vocab.yaml"
    vocabulary.write_text(VOCABULARY)
    results = []
    for shape in shapes:
        for size in sizes:
            runs = max(1, args.runs)
            result = bench(
                shape, size, runs, cache, vocabulary, args.recordings, args.max_decoded_mib
            )
            print(json.dumps(result), flush=True)
            results.append(result)
    print(json.dumps(summarize(results)), flush=True)


if __name__ == "__main__":
    main()
