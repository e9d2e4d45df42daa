"""Compile a recording's raw rrweb events into a `Timeline` of citable, redacted facts.

One streaming pass over the events (`event_pass`) with a `DomMirror` per window labels
clicks and inputs and watches what changed after each action; `signals` then flags rage,
dead, slow and erroring actions from what the pass collected. Memory follows the
timeline: events are consumed as they arrive and only a short reorder buffer is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from recap.core.config import TimelineConfig
from recap.recording.models import RawEvent, Recording
from recap.timeline.drafts import Draft
from recap.timeline.event_pass import read_events
from recap.timeline.gaps import close_gaps
from recap.timeline.models import EventKind, Timeline, TimelineEvent
from recap.timeline.pass_state import PassState
from recap.timeline.signals import apply_signals
from recap.timeline.stats import session_info, timeline_stats


def compile_events(
    events: Iterable[RawEvent],
    session_id: str,
    distinct_id: str | None = None,
    skipped_events: int = 0,
    config: TimelineConfig | None = None,
    skipped: Counter[str] | None = None,
    decoded_bytes: int = 0,
) -> Timeline:
    """Compile rrweb events into a `Timeline`, streaming.

    Events may arrive slightly out of order; they are sorted through a short buffer.
    `skipped` (what the source already skipped, by reason) is merged into the stats.
    """
    config = config or TimelineConfig()
    state = PassState(config)
    count, first_ts, last_ts = read_events(state, events)
    close_gaps(state, last_ts)
    drafts = _without_focus_clicks(
        sorted((d for d in state.drafts if not d.dropped), key=lambda d: (d.ts, d.seq))
    )
    apply_signals(drafts, state.requests, state.changes(), config)
    base = first_ts if count else 0
    timeline_events = _timeline_events(drafts, base)
    session = session_info(
        state,
        timeline_events,
        session_id,
        distinct_id,
        start_ts=first_ts if count else None,
        duration_ms=(last_ts - base) if count else 0,
    )
    stats = timeline_stats(state, timeline_events, count, skipped_events, skipped, decoded_bytes)
    return Timeline(session=session, events=timeline_events, stats=stats)


def compile_timeline(recording: Recording, config: TimelineConfig | None = None) -> Timeline:
    """Compile one loaded recording into its timeline (streaming its events)."""
    timeline = compile_events(
        recording.events,
        recording.session_id,
        distinct_id=recording.distinct_id,
        config=config,
        skipped=Counter(),
    )
    if recording.metadata.get("ongoing") is True:
        session = timeline.session.model_copy(update={"ongoing": True})
        timeline = timeline.model_copy(update={"session": session})
    # A streaming source has counted what it skipped only now that it was read.
    read = recording.read_stats
    if read.skipped_total or read.decoded_bytes:
        merged = Counter(timeline.stats.skipped)
        merged.update(read.skipped)
        stats = timeline.stats.model_copy(
            update={
                "skipped": dict(sorted(merged.items())),
                "skipped_events": timeline.stats.skipped_events + read.skipped_total,
                "decoded_bytes": read.decoded_bytes,
            }
        )
        timeline = timeline.model_copy(update={"stats": stats})
    return timeline


def _without_focus_clicks(drafts: list[Draft]) -> list[Draft]:
    """A click into a field the user then types into says nothing the input doesn't."""
    pending: dict[str, Draft] = {}
    redundant: set[int] = set()
    for draft in drafts:
        if draft.kind not in (EventKind.CLICK, EventKind.SUBMIT, EventKind.INPUT):
            continue
        click = pending.pop(draft.window, None)
        if (
            click is not None
            and draft.kind is EventKind.INPUT
            and draft.node_id == click.node_id
            and not click.flags
        ):
            redundant.add(id(click))
        if draft.kind is EventKind.CLICK and draft.form_field:
            pending[draft.window] = draft
    return [d for d in drafts if id(d) not in redundant]


def _timeline_events(drafts: list[Draft], base: int) -> list[TimelineEvent]:
    """The finished drafts as timeline events: refs `e1…` in order, times from `base`."""
    return [
        TimelineEvent(
            ref=f"e{index}",
            t_ms=max(0, draft.ts - base),
            window=draft.window,
            kind=draft.kind,
            target=draft.target,
            value=draft.value,
            flags=draft.flags,
            effect=draft.effect,
            url=draft.url,
            duration_ms=draft.duration_ms,
            react_ms=draft.react_ms,
            count=draft.count,
        )
        for index, draft in enumerate(drafts, start=1)
    ]
