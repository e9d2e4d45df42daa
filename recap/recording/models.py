"""What every recording source hands to the timeline compiler."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

# PostHog's recording export format ("Export" in the replay UI, `recap fetch`): the one
# version the files source reads and the demo generator and `recap fetch` write.
EXPORT_VERSION: Final = "2023-04-28"


@dataclass(slots=True)
class RawEvent:
    """One rrweb event as recorded, tagged with the window it came from."""

    type: int
    timestamp: int
    data: Any
    window_id: str = ""


@dataclass(slots=True)
class ReadStats:
    """What reading a recording skipped (by reason) and how much it decoded.

    Streaming sources fill it while their events are iterated, so read it afterwards.
    """

    skipped: Counter[str] = field(default_factory=Counter)
    decoded_bytes: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(slots=True)
class Recording:
    """One session's events. `events` may be a list or a re-iterable stream (files, APIs):
    iterate it once per pass, it is read afresh each time."""

    session_id: str
    events: Iterable[RawEvent]
    distinct_id: str | None = None
    start_time: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    read_stats: ReadStats = field(default_factory=ReadStats)


class RecordingError(Exception):
    """Base for errors about a recording that the caller can act on."""

    code = "recording_error"


class RecordingNotFound(RecordingError):
    code = "recording_not_found"


class InvalidRecording(RecordingError):
    code = "invalid_recording"


class NoEventsOrTooShort(RecordingError):
    """Nothing to summarize: no events the compiler keeps, or a recording shorter than
    `TimelineConfig.min_session_ms` (PostHog's reason `no_events_or_too_short`)."""

    code = "no_events_or_too_short"


class SnapshotSource(Protocol):
    """Anything that can produce one session's recording."""

    def load(self, session_id: str) -> Recording: ...
