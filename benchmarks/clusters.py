"""Benchmark error clustering at scale: extraction, fingerprints and clusters for N
sessions' errors (no naming, no store).

Synthetic timelines carry errors drawn from a few dozen problems, each with varying ids,
URLs, quoted values, bundle hashes and line numbers, and near-duplicate variants (status
500/502/503, sibling stack frames), so the distinct fingerprints number in the hundreds.
The measured work runs in a fresh child process whose peak RSS (`ru_maxrss`) is reported;
building the timelines is timed separately. Prints one JSON object.

    uv run python benchmarks/clusters.py [--sessions 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from recap.clustering import cluster_errors, extract_errors
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

START_MS = 1_700_000_000_000
AREAS = ("orders", "cart", "checkout", "profile", "search", "reviews", "wishlist", "billing")
CONSOLE = (
    "TypeError: Cannot read properties of undefined (reading '{key}')",
    "TypeError: {area}Store.items.map is not a function",
    "Error: Request to /api/{area}/{n} timed out after {ms}ms",
    "Warning: Each child in a list should have a unique 'key' prop. Check {area}List.",
)
EXCEPTIONS = (
    "ChunkLoadError: Loading chunk {n} failed. (timeout: /static/js/{n}.chunk.js)",
    "RangeError: Maximum call stack size exceeded in {area}",
    "SyntaxError: Unexpected token '<' in JSON at position {n}",
)
NETWORK = (
    ("GET", "/api/{area}/{n}", ("500", "502", "503")),
    ("POST", "/api/{area}/{n}/items", ("404",)),
    ("PUT", "/api/{area}/{uuid}", ("0",)),
    ("GET", "/api/{area}/search?q={key}", ("429",)),
)
SHOWN = ("Could not save your {area}: error {n}.", "Something went wrong loading {area} #{n}")


def _fill(template: str, area: str, rng: random.Random) -> str:
    return template.format(
        area=area,
        key=rng.choice(["id", "total", "name", "price"]),
        n=rng.randint(1, 10**6),
        ms=rng.randint(1_000, 30_000),
        uuid=f"{rng.getrandbits(128):032x}",
    )


def synthetic_timeline(i: int, rng: random.Random) -> Timeline:
    events: list[TimelineEvent] = []
    t = 0
    for _ in range(rng.randint(0, 8)):
        t += rng.randint(200, 5_000)
        area = rng.choice(AREAS)
        ref = f"e{len(events) + 1}"
        roll = rng.random()
        if roll < 0.3:
            kind = EventKind.CLICK if rng.random() < 0.8 else EventKind.SUBMIT
            events.append(
                TimelineEvent(
                    ref=ref, t_ms=t, window="w1", kind=kind, target=f'button[{area}] "Go"'
                )
            )
        elif roll < 0.55:
            bundle = f"main.{rng.getrandbits(32):08x}.js:1:{rng.randint(1, 99999)}"
            function = f"{rng.choice(['render', 'load', 'save'])}{area.title()}"
            frame = f"at {function} (https://app.example.com/static/js/{bundle})"
            events.append(
                TimelineEvent(
                    ref=ref,
                    t_ms=t,
                    window="w1",
                    kind=EventKind.CONSOLE_ERROR,
                    value=_fill(rng.choice(CONSOLE), area, rng),
                    target=frame,
                )
            )
        elif roll < 0.65:
            events.append(
                TimelineEvent(
                    ref=ref,
                    t_ms=t,
                    window="w1",
                    kind=EventKind.EXCEPTION,
                    value=_fill(rng.choice(EXCEPTIONS), area, rng),
                )
            )
        elif roll < 0.9:
            method, path, statuses = rng.choice(NETWORK)
            events.append(
                TimelineEvent(
                    ref=ref,
                    t_ms=t,
                    window="w1",
                    kind=EventKind.NETWORK_ERROR,
                    target=f"{method} {_fill(path, area, rng)}",
                    value=rng.choice(statuses),
                    flags=["slow"] if rng.random() < 0.1 else [],
                )
            )
        else:
            text = json.dumps(_fill(rng.choice(SHOWN), area, rng))
            events.append(
                TimelineEvent(
                    ref=ref,
                    t_ms=t,
                    window="w1",
                    kind=EventKind.SUBMIT,
                    target=f'button[{area}] "Save"',
                    flags=["error_shown"],
                    effect=f"+{text}",
                )
            )
    return Timeline(
        session=SessionInfo(session_id=f"bench-{i:06d}", start_timestamp_ms=START_MS + i * 1_000),
        events=events,
        stats=TimelineStats(),
    )


def measure(sessions: int, seed: int, out: Connection) -> None:
    """Runs in a fresh process: its ru_maxrss is the clustering's peak."""
    rng = random.Random(seed)
    began = time.perf_counter()
    timelines = [synthetic_timeline(i, rng) for i in range(sessions)]
    built = time.perf_counter()
    occurrences = [
        o
        for i, timeline in enumerate(timelines)
        for o in extract_errors(timeline, failed_outcome=None if i % 5 == 0 else i % 4 == 0)
    ]
    extracted = time.perf_counter()
    clusters = cluster_errors("bench", occurrences)
    clustered = time.perf_counter()
    # A second run over the same data, matched against the first (the scheduled re-run).
    again = cluster_errors("bench", occurrences, previous=clusters)
    rerun = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.send(
        {
            "sessions": sessions,
            "occurrences": len(occurrences),
            "distinct_fingerprints": len({o.fingerprint for o in occurrences}),
            "clusters": len(clusters),
            "largest_cluster_sessions": clusters[0].sessions_affected if clusters else 0,
            "ids_stable_on_rerun": [c.cluster_id for c in again]
            == [c.cluster_id for c in clusters],
            "build_timelines_s": round(built - began, 3),
            "extract_and_fingerprint_s": round(extracted - built, 3),
            "cluster_s": round(clustered - extracted, 3),
            "total_s": round(clustered - built, 3),
            "rerun_with_previous_s": round(rerun - clustered, 3),
            "peak_rss_mib": round(
                peak_kib / 1024 if sys.platform != "darwin" else peak_kib / 2**20, 1
            ),
        }
    )
    out.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=measure, args=(args.sessions, args.seed, send))
    child.start()
    send.close()
    result: dict[str, Any] = receive.recv()
    child.join()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
