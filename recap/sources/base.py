"""What every recording source hands to the timeline compiler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class RawEvent:
    """One rrweb event as recorded, tagged with the window it came from."""

    type: int
    timestamp: int
    data: Any
    window_id: str = ""


@dataclass(slots=True)
class Recording:
    session_id: str
    events: list[RawEvent]
    distinct_id: str | None = None
    start_time: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class RecordingError(Exception):
    """Base for errors about a recording that the caller can act on."""

    code = "recording_error"


class RecordingNotFound(RecordingError):
    code = "recording_not_found"


class InvalidRecording(RecordingError):
    code = "invalid_recording"


class SnapshotSource(Protocol):
    """Anything that can produce one session's recording."""

    def load(self, session_id: str) -> Recording: ...
