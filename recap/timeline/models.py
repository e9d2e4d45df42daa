"""The timeline artifacts: what the compiler produces and what the model sees.

Everything here is plain data that serializes to JSON; refs (`e1`, `e2`, …) are
stable within one compiled timeline and are the only way a summary may cite it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class EventKind(StrEnum):
    NAVIGATION = "navigation"
    CLICK = "click"
    INPUT = "input"
    IDLE = "idle"
    CONSOLE_ERROR = "console_error"
    NETWORK_ERROR = "network_error"
    CUSTOM = "custom"


class TimelineEvent(BaseModel):
    """One fact the model may cite, by its `ref`."""

    model_config = ConfigDict(frozen=True)

    ref: str
    t_ms: int = Field(description="milliseconds since the session started")
    window: str = Field(description="short window label, w1, w2, … in order of first appearance")
    kind: EventKind
    target: str | None = Field(default=None, description="human label of the element")
    value: str | None = Field(default=None, description="input value after masking and redaction")
    flags: list[str] = Field(default_factory=list)
    effect: str | None = Field(default=None, description="what visibly changed after the action")
    url: str | None = Field(
        default=None, description="page URL (redacted) at the time of the event"
    )
    duration_ms: int | None = None


class SessionInfo(BaseModel):
    session_id: str
    start_timestamp_ms: int | None = None
    duration_ms: int = 0
    start_url: str | None = None
    distinct_id: str | None = None
    windows: int = 0


class TimelineStats(BaseModel):
    raw_events: int = 0
    emitted_events: int = 0
    clicks: int = 0
    inputs: int = 0
    navigations: int = 0
    idle_gaps: int = 0
    console_errors: int = 0
    unresolved_targets: int = 0
    truncated_events: int = 0
    network_errors: int = 0
    skipped_events: int = Field(
        default=0, description="raw events dropped as malformed by the source or the compiler"
    )


class Timeline(BaseModel):
    session: SessionInfo
    events: list[TimelineEvent]
    stats: TimelineStats

    def event(self, ref: str) -> TimelineEvent | None:
        for event in self.events:
            if event.ref == ref:
                return event
        return None

    @property
    def refs(self) -> set[str]:
        return {event.ref for event in self.events}
