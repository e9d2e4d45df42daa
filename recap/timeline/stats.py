"""The figures a compiled timeline carries beside its events: the session's span, active
and unseen time, and the counts in `TimelineStats`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from recap.timeline.models import EventKind, Flag, SessionInfo, TimelineStats
from recap.timeline.pass_state import PassState
from recap.timeline.render import RenderedEvent


def session_info(
    state: PassState,
    events: Sequence[RenderedEvent],
    session_id: str,
    distinct_id: str | None,
    start_ts: int | None,
    duration_ms: int,
) -> SessionInfo:
    """`start_ts` is None for a recording without events."""
    start_url = next((e.url for e in events if e.kind is EventKind.NAVIGATION and e.url), None)
    return SessionInfo(
        session_id=session_id,
        start_timestamp_ms=start_ts,
        duration_ms=duration_ms,
        start_url=start_url,
        distinct_id=distinct_id,
        windows=len(state.windows),
        active_ms=max(0, duration_ms - state.idle_ms - state.blind_ms),
        blind_ms=state.blind_ms,
        max_scroll_y=state.max_scroll_y,
    )


def timeline_stats(
    state: PassState,
    events: Sequence[RenderedEvent],
    raw_events: int,
    skipped_events: int,
    skipped: Counter[str] | None,
    decoded_bytes: int,
) -> TimelineStats:
    """`skipped` (what the source skipped, by reason) is merged with what the pass skipped."""
    kinds = Counter(item.kind for item in events)
    flags = Counter(flag for item in events for flag in item.flags)
    all_skipped = Counter(skipped or {})
    all_skipped.update(state.skipped)
    return TimelineStats(
        raw_events=raw_events,
        emitted_events=len(events),
        clicks=kinds[EventKind.CLICK] + kinds[EventKind.SUBMIT],
        inputs=kinds[EventKind.INPUT],
        navigations=kinds[EventKind.NAVIGATION],
        idle_gaps=kinds[EventKind.IDLE],
        console_errors=kinds[EventKind.CONSOLE_ERROR],
        network_errors=sum(
            1 for e in events if e.kind is EventKind.NETWORK_ERROR and Flag.SLOW not in e.flags
        ),
        exceptions=kinds[EventKind.EXCEPTION],
        rage_clicks=flags[Flag.RAGE],
        dead_clicks=flags[Flag.DEAD],
        slow_clicks=sum(
            1
            for e in events
            if e.kind in (EventKind.CLICK, EventKind.SUBMIT) and Flag.SLOW in e.flags
        ),
        unresolved_targets=state.unresolved,
        decoded_bytes=decoded_bytes,
        skipped_events=skipped_events + sum(all_skipped.values()),
        skipped=dict(sorted(all_skipped.items())),
    )
