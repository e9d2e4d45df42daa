"""The timeline artifacts: what the compiler produces and what the model sees.

Everything here is plain data that serializes to JSON; refs (`e1`, `e2`, …) are stable
within one compiled timeline and are the only way a summary may cite it. The classes are
stdlib dataclasses, so the compiler runs without loading pydantic; pydantic validates and
serializes them where they are fields of its models (stored timelines, workflow payloads).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Final


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


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One fact the model may cite, by its `ref`."""

    ref: str
    t_ms: int  # milliseconds since the session started
    window: str  # short window label, w1, w2, … in order of first appearance
    kind: EventKind
    target: str | None = None  # human label of the element
    value: str | None = None  # input value after masking and redaction
    flags: list[str] = field(default_factory=list)
    effect: str | None = None  # what visibly changed after the action
    url: str | None = None  # page URL (redacted) at the time of the event
    duration_ms: int | None = None
    react_ms: int | None = None  # ms from the action to its first visible effect
    count: int = 1  # identical events collapsed into this one


@dataclass(slots=True)
class SessionInfo:
    session_id: str
    start_timestamp_ms: int | None = None
    duration_ms: int = 0
    start_url: str | None = None
    distinct_id: str | None = None
    windows: int = 0
    active_ms: int = 0  # time with user activity, idle gaps excluded
    blind_ms: int = 0  # time the recording could not see (no snapshot, paused)
    ongoing: bool = False  # the recording was still being captured when it was read
    max_scroll_y: int | None = None  # deepest scroll position reached, in px from the top


@dataclass(slots=True)
class TimelineStats:
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
    skipped_events: int = 0  # raw events dropped as malformed by the source or the compiler
    # skipped input by reason (garbage_line, unknown_type…)
    skipped: dict[str, int] = field(default_factory=dict)
    # events left out by the token budget, by kind
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Timeline:
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


def as_json(item: TimelineEvent | SessionInfo | TimelineStats | Timeline) -> dict[str, Any]:
    """`item` as JSON data, field by field in declaration order (as stored and printed)."""
    if isinstance(item, Timeline):
        return {
            "session": as_json(item.session),
            "events": [as_json(event) for event in item.events],
            "stats": as_json(item.stats),
        }
    data = {name: getattr(item, name) for name in _FIELDS[type(item)]}
    for name, value in data.items():
        if isinstance(value, StrEnum):
            data[name] = value.value
        elif isinstance(value, list | dict):
            data[name] = value.copy()
    return data


_FIELDS: Final[dict[type, tuple[str, ...]]] = {
    kind: tuple(f.name for f in fields(kind))
    for kind in (TimelineEvent, SessionInfo, TimelineStats)
}
