"""The timeline artifacts: what the compiler produces and what the model sees.

Everything here is plain data that serializes to JSON; refs (`e1`, `e2`, …) are
stable within one compiled timeline and are the only way a summary may cite it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field


class EventKind(StrEnum):
    NAVIGATION = "navigation"
    CLICK = "click"
    INPUT = "input"
    SUBMIT = "submit"
    SCROLL = "scroll"
    SELECTION = "selection"
    MEDIA = "media"
    RESIZE = "resize"
    TAB = "tab"
    """The user brought another window or tab of the session to the front."""
    IDLE = "idle"
    GAP = "gap"
    """Time the recording could not see: before the first snapshot, paused, offline."""
    CONSOLE_ERROR = "console_error"
    EXCEPTION = "exception"
    NETWORK_ERROR = "network_error"
    CUSTOM = "custom"


class Flag(StrEnum):
    """Closed set of flags an event may carry. Signals are computed by code, never a model."""

    RAGE = "rage"
    """One of >= N clicks within a short time and radius (settings: rage_*)."""
    DEAD = "dead"
    """A click after which nothing changed: no mutation, navigation or request."""
    SLOW = "slow"
    """The first visible reaction (or a request's duration) took longer than the threshold."""
    ERROR_AFTER = "error_after"
    """A console error, exception or failed request followed the action."""
    ERROR_SHOWN = "error_shown"
    """Error-looking text appeared on the page after the action."""
    THRASH = "thrash"
    """Back-and-forth: a return to a page or a toggle repeated within a short time."""
    ABANDONED = "abandoned"
    """Typed into a form that was never submitted."""
    DOUBLE = "double"
    RELOAD = "reload"
    MASKED = "masked"
    FAILED = "failed"
    """A request that never got a response (status 0)."""
    CONTEXT_MENU = "context_menu"


SIGNAL_FLAGS: Final = frozenset(
    {
        Flag.RAGE,
        Flag.DEAD,
        Flag.SLOW,
        Flag.ERROR_AFTER,
        Flag.ERROR_SHOWN,
        Flag.THRASH,
        Flag.ABANDONED,
    }
)
ERROR_KINDS: Final = frozenset(
    {EventKind.CONSOLE_ERROR, EventKind.EXCEPTION, EventKind.NETWORK_ERROR}
)
ACTION_KINDS: Final = frozenset({EventKind.CLICK, EventKind.INPUT, EventKind.SUBMIT})


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
    react_ms: int | None = Field(
        default=None, description="ms from the action to its first visible effect"
    )
    count: int = Field(default=1, description="identical events collapsed into this one")


class SessionInfo(BaseModel):
    session_id: str
    start_timestamp_ms: int | None = None
    duration_ms: int = 0
    start_url: str | None = None
    distinct_id: str | None = None
    windows: int = 0
    active_ms: int = Field(default=0, description="time with user activity, idle gaps excluded")
    blind_ms: int = Field(
        default=0, description="time the recording could not see (no snapshot, paused)"
    )
    ongoing: bool = Field(
        default=False, description="the recording was still being captured when it was read"
    )
    max_scroll_y: int | None = Field(
        default=None, description="deepest scroll position reached, in px from the top"
    )


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
    exceptions: int = 0
    rage_clicks: int = 0
    dead_clicks: int = 0
    slow_clicks: int = 0
    decoded_bytes: int = 0
    skipped_events: int = Field(
        default=0, description="raw events dropped as malformed by the source or the compiler"
    )
    skipped: dict[str, int] = Field(
        default_factory=dict, description="skipped input by reason (garbage_line, unknown_type…)"
    )
    dropped: dict[str, int] = Field(
        default_factory=dict, description="events left out by the token budget, by kind"
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
