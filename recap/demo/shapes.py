"""The recording shapes the timeline benchmark and the render goldens are measured on.

`generated` is the shop traffic of `recap.demo.big`, `churn` the live dashboard of
`recap.demo.churn`, `real` the shared real recordings joined end to end
(`recap.demo.concatenated`). All three are blob v2 JSONL with posthog-js `cv` compression.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Final, Literal

from recap.demo.big import write_large_recording
from recap.demo.churn import write_churn_recording
from recap.demo.concatenated import write_concatenated_recording

Shape = Literal["generated", "churn", "real"]
SHAPES: Final[tuple[Shape, ...]] = ("generated", "churn", "real")


def write_shape_recording(
    shape: Shape,
    path: Path,
    size_bytes: int,
    *,
    seed: int = 0,
    recordings: Path | None = None,
) -> dict[str, Any]:
    """Write a recording of `shape` of at least `size_bytes` to `path`; return what is
    known of it as JSON: its events and session id, and for the generated shapes the
    ground-truth counts (`clicks`, `inputs`, …) a recall is computed on.

    `real` needs `recordings`, the directory of real recordings to join.
    """
    if shape == "real":
        if recordings is None:
            raise ValueError("the real shape needs the directory of real recordings")
        joined = write_concatenated_recording(path, size_bytes, recordings, seed=seed)
        return {
            "events": joined.events,
            "session_id": joined.session_id,
            "sources": list(joined.sources),
            "rounds": joined.rounds,
        }
    write = write_churn_recording if shape == "churn" else write_large_recording
    large = write(path, size_bytes, seed=seed, compressed=True)
    return {"events": large.events, "session_id": large.session_id, **asdict(large.counts)}
