"""Stream one simulated session into a recording file that appears only when complete.

The churn and concatenated benchmark recordings are written through it, so neither holds
more than one page (or one source recording) in memory, whatever the file's size.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

from recap.demo.generator import uuid7
from recap.demo.recordings import RecordingFormat, RecordingWriter, person_for


def write_streamed(
    path: Path,
    play: Callable[[RecordingWriter, random.Random], None],
    *,
    name: str,
    seed: int,
    start_ms: int,
    compressed: bool = True,
    fmt: RecordingFormat = "blob_v2",
) -> tuple[RecordingWriter, str]:
    """Let `play` write a session's events into `path`; return the closed writer (bytes,
    events) and the session id.

    The session id, the anonymous person and everything `play` draws from the random
    source it is given follow from `name` and `seed`, so a recording is reproducible. The
    file is written under a hidden partial name and renamed at the end: a benchmark cache
    never mistakes an interrupted run for a recording.
    """
    rng = random.Random(f"{name}:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        writer = RecordingWriter(
            handle, fmt, compressed=compressed, session_id=session_id, person=person
        )
        play(writer, rng)
        writer.close()
    os.replace(partial, path)
    return writer, session_id
