"""A recording's metadata in PostHog's shape (durations, counts, start URL), computed from
its rrweb events, for sources that do not describe their recordings themselves (files).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from recap.recording import rrweb as rr
from recap.recording.models import Recording
from recap.sources.posthog import RecordingMetadata

_ACTIVITY_SOURCES: Final = frozenset({rr.MOUSE_MOVE, rr.MOUSE_INTERACTION, rr.TOUCH_MOVE})
# PostHog counts a gap of more than 5 s without events as inactive time.
_IDLE_GAP_MS: Final = 5000
# The older document's `storage`: PostHog answers "object_storage" for a recording not
# copied to long-term storage ("object_storage_lts"), which a file never is.
FILES_STORAGE: Final = "object_storage"
_CONSOLE_LEVELS: Final = {
    "log": "console_log_count",
    "info": "console_log_count",
    "warn": "console_warn_count",
    "error": "console_error_count",
}


def _iso(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def recording_metadata(recording: Recording) -> RecordingMetadata:
    """One pass over the events: what PostHog's session recordings API reports about them."""
    counts = {
        "click_count": 0,
        "keypress_count": 0,
        "mouse_activity_count": 0,
        "console_log_count": 0,
        "console_warn_count": 0,
        "console_error_count": 0,
    }
    first: int | None = None
    last: int | None = None
    previous: int | None = None
    inactive_ms = 0
    start_url: str | None = None
    for event in recording.events:
        stamp = event.timestamp
        first = stamp if first is None else min(first, stamp)
        last = stamp if last is None else max(last, stamp)
        if previous is not None and stamp - previous > _IDLE_GAP_MS:
            inactive_ms += stamp - previous
        previous = stamp if previous is None else max(previous, stamp)
        data: Any = event.data
        if not isinstance(data, dict):
            continue
        if event.type == rr.INCREMENTAL_SNAPSHOT:
            source = data.get("source")
            if source == rr.MOUSE_INTERACTION and data.get("type") == rr.CLICK:
                counts["click_count"] += 1
            elif source == rr.INPUT:
                counts["keypress_count"] += 1
            if source in _ACTIVITY_SOURCES:
                counts["mouse_activity_count"] += 1
        elif event.type == rr.META and start_url is None and isinstance(data.get("href"), str):
            start_url = data["href"]
        elif event.type == rr.PLUGIN and data.get("plugin") == "rrweb/console@1":
            payload = data.get("payload")
            level = payload.get("level") if isinstance(payload, dict) else None
            field = _CONSOLE_LEVELS.get(level) if isinstance(level, str) else None
            if field is not None:
                counts[field] += 1
    duration_ms = (last - first) if first is not None and last is not None else 0
    return RecordingMetadata(
        id=recording.session_id,
        distinct_id=recording.distinct_id,
        recording_duration=round(duration_ms / 1000),
        active_seconds=round((duration_ms - inactive_ms) / 1000, 3),
        inactive_seconds=round(inactive_ms / 1000, 3),
        start_time=_iso(first) if first is not None else None,
        end_time=_iso(last) if last is not None else None,
        start_url=start_url,
        snapshot_source="web",
        # A file is kept until its operator removes it: it has no retention period, so,
        # as PostHog answers for a recording without one, no expiry time and no TTL.
        retention_period_days=None,
        expiry_time=None,
        recording_ttl=None,
        snapshot_library=_snapshot_library(recording),
        # Files link to no issue tracker.
        external_references=[],
        # A files listing has no filters a recording could fail to match.
        matches_filters=True,
        storage=FILES_STORAGE,
        **counts,
    )


def _snapshot_library(recording: Recording) -> str | None:
    """The library that recorded the events, when the file says (PostHog's `$lib`, such
    as "web" for posthog-js); else None, PostHog's value when it does not know."""
    named = recording.metadata.get("snapshot_library")
    return named if isinstance(named, str) and named else None
