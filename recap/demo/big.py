"""Recordings of a requested size, streamed to disk, for benchmarks and stress tests.

Ordinary shopping visits repeat until the file is big enough; only counts of what
happened are kept, so a 100 MB recording costs the memory of one page, not of the file.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from recap.demo.generator import DEFAULT_START_MS, SimulatedBrowser, uuid7
from recap.demo.groundtruth import TruthCounts, TruthLog
from recap.demo.journeys import play_shop_traffic
from recap.demo.recordings import RecordingFormat, RecordingWriter, person_for


@dataclass(frozen=True)
class LargeRecording:
    path: Path
    bytes: int
    events: int
    session_id: str
    counts: TruthCounts
    """What the visitor did: enough to compute recall without listing every action."""


def write_large_recording(
    path: Path,
    target_bytes: int,
    *,
    seed: int = 0,
    compressed: bool = True,
    fmt: RecordingFormat = "blob_v2",
    start_ms: int = DEFAULT_START_MS,
) -> LargeRecording:
    """Write a recording of at least `target_bytes` (it stops after the visit that gets
    there), deterministic for `seed`. The file appears under its name only when complete."""
    rng = random.Random(f"recap-large:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms)
    truth = TruthLog(keep_details=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        writer = RecordingWriter(
            handle, fmt, compressed=compressed, session_id=session_id, person=person
        )
        browser = SimulatedBrowser(rng, start_ms, sink=writer.write, truth=truth)
        play_shop_traffic(browser, enough=lambda: writer.written >= target_bytes)
        writer.close()
    os.replace(partial, path)
    counts = truth.finish(session_id, start_ms, browser.now).counts
    return LargeRecording(path, path.stat().st_size, writer.events, session_id, counts)
