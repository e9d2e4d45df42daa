"""Real recordings played one after another as a single session of a requested size.

Generated recordings only show what the generator thought of; this takes every recording
in a directory that recap's file reader accepts (rrweb arrays, PostHog exports and API
documents, chalk's wrapper), reads it with `load_recording_file`, shifts its timestamps so
it follows the one before, and writes it as blob v2 JSONL with posthog-js `cv` compression,
the format of `recap.demo.big`. The list repeats until the file is big enough.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from recap.demo.generator import DEFAULT_START_MS, uuid7
from recap.demo.recordings import Json, RecordingWriter
from recap.demo.streaming import write_streamed
from recap.recording.models import Recording, RecordingError
from recap.sources.files import SUFFIXES, load_recording_file

GAP_MS: Final = 2_000
"""Between the end of one recording and the start of the next: a page load's worth."""


@dataclass(frozen=True)
class ConcatenatedRecording:
    path: Path
    bytes: int
    events: int
    session_id: str
    sources: tuple[str, ...]
    """The recordings played, relative to the directory, in the order of the first round."""
    rounds: int
    """How many times the list was started (the last round may stop part way)."""


def readable_recordings(directory: Path) -> list[Path]:
    """Every file under `directory` that recap's reader accepts, in path order.

    Files it rejects (rrweb's test snapshots keyed by test name, notes) are left out, as
    `recap timeline` would refuse them.
    """
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or not path.name.endswith(SUFFIXES):
            continue
        try:
            load_recording_file(path)
        except RecordingError:
            continue
        found.append(path)
    return found


def _loaded(paths: list[Path]) -> Iterator[tuple[int, Recording]]:
    """The recordings again and again, read afresh each round so at most one is in memory."""
    while True:
        for index, path in enumerate(paths):
            yield index, load_recording_file(path)


def write_concatenated_recording(
    path: Path,
    size_bytes: int,
    recordings: Path,
    *,
    seed: int = 0,
    compressed: bool = True,
    start_ms: int = DEFAULT_START_MS,
) -> ConcatenatedRecording:
    """Write the recordings under `recordings` end to end into `path` until it holds at
    least `size_bytes` (it stops after the event that gets there); deterministic for `seed`.

    Each window of each source keeps one window id in every round, as a tab revisited
    would; a source without window ids counts as one window. Idle gaps inside a recording
    are kept as recorded.
    """
    sources = readable_recordings(recordings)
    if not sources:
        raise ValueError(f"no recording under {recordings} is one recap can read")
    windows: dict[tuple[int, str], str] = {}
    rounds = 0

    def play(writer: RecordingWriter, rng: random.Random) -> None:
        nonlocal rounds
        cursor = start_ms
        for index, recording in _loaded(sources):
            if index == 0:
                rounds += 1
            events = list(recording.events)
            if not events:
                continue
            shift = cursor - events[0].timestamp
            for event in events:
                key = (index, event.window_id)
                if key not in windows:
                    windows[key] = uuid7(event.timestamp + shift, rng)
                shifted: Json = {
                    "type": event.type,
                    "data": event.data,
                    "timestamp": event.timestamp + shift,
                    "windowId": windows[key],
                }
                writer.write(shifted)
                if writer.written >= size_bytes:
                    return
            cursor = events[-1].timestamp + shift + GAP_MS

    writer, session_id = write_streamed(
        path, play, name="recap-concatenated", seed=seed, start_ms=start_ms, compressed=compressed
    )
    names = tuple(str(source.relative_to(recordings)) for source in sources)
    return ConcatenatedRecording(path, writer.written, writer.events, session_id, names, rounds)
