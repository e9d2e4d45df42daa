"""Compile a recording's raw rrweb events into a `Timeline` of citable, redacted facts.

One streaming pass over the events (`event_pass`) with a `DomMirror` per window labels
clicks and inputs and watches what changed after each action; `signals` then flags rage,
dead, slow and erroring actions from what the pass collected. Memory follows the
timeline, not the recording: events are consumed as they arrive and only a short reorder
buffer is kept. The pass holds every draft until the signals run (they look ahead, e.g. for
a form's submit); after it, `compile_budgeted` keeps only light `EventLine`s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from recap.core.timeline_config import TimelineConfig
from recap.recording.models import RawEvent, Recording
from recap.timeline.budget import EventLine, budget_lines
from recap.timeline.drafts import Draft
from recap.timeline.event_pass import read_events
from recap.timeline.gaps import close_gaps
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats
from recap.timeline.pass_state import PassState
from recap.timeline.signals import apply_signals
from recap.timeline.stats import session_info, timeline_stats
from recap.timeline.tokens import count_tokens


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
    state, drafts, count, first_ts, last_ts = _finished_pass(events, config)
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
    session, stats = _with_recording_facts(recording, timeline.session, timeline.stats)
    if session is not timeline.session or stats is not timeline.stats:
        timeline = timeline.model_copy(update={"session": session, "stats": stats})
    return timeline


def compile_budgeted(
    recording: Recording,
    max_tokens: int,
    config: TimelineConfig | None = None,
    counter: Callable[[str], int] = count_tokens,
) -> Timeline:
    """`budget_timeline(compile_timeline(recording, config), max_tokens, counter)`, the
    timeline a model is given, without holding every event of a long recording as a model:
    events are weighed as `EventLine`s and only the kept ones become `TimelineEvent`s."""
    config = config or TimelineConfig()
    state, drafts, count, first_ts, last_ts = _finished_pass(recording.events, config)
    base = first_ts if count else 0
    lines = list(_event_lines(drafts, base))
    session = session_info(
        state,
        lines,
        recording.session_id,
        recording.distinct_id,
        start_ts=first_ts if count else None,
        duration_ms=(last_ts - base) if count else 0,
    )
    stats = timeline_stats(state, lines, count, 0, Counter(), 0)
    del state
    session, stats = _with_recording_facts(recording, session, stats)
    return budget_lines(session, stats, lines, max_tokens, counter)


def _finished_pass(
    events: Iterable[RawEvent], config: TimelineConfig
) -> tuple[PassState, list[Draft], int, int, int]:
    """The event pass over `events`, then signals: the drafts in timeline order, and the
    pass's state and [count, first, last] timestamps."""
    state = PassState(config)
    count, first_ts, last_ts = read_events(state, events)
    close_gaps(state, last_ts)
    drafts = _without_focus_clicks(
        sorted((d for d in state.drafts if not d.dropped), key=lambda d: (d.ts, d.seq))
    )
    apply_signals(drafts, state.requests, state.changes(), config)
    # Only `drafts` is read from here on; what the pass kept for the signals can go.
    state.drafts = []
    state.requests = []
    return state, drafts, count, first_ts, last_ts


def _with_recording_facts(
    recording: Recording, session: SessionInfo, stats: TimelineStats
) -> tuple[SessionInfo, TimelineStats]:
    """What the recording itself says beside its events: still being captured, and what
    a streaming source skipped and decoded (counted only once it was read)."""
    if recording.metadata.get("ongoing") is True:
        session = session.model_copy(update={"ongoing": True})
    read = recording.read_stats
    if read.skipped_total or read.decoded_bytes:
        merged = Counter(stats.skipped)
        merged.update(read.skipped)
        stats = stats.model_copy(
            update={
                "skipped": dict(sorted(merged.items())),
                "skipped_events": stats.skipped_events + read.skipped_total,
                "decoded_bytes": read.decoded_bytes,
            }
        )
    return session, stats


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
    return [_timeline_event(draft, index, base) for index, draft in enumerate(drafts, start=1)]


def _timeline_event(draft: Draft, index: int, base: int) -> TimelineEvent:
    return TimelineEvent(
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


def _event_lines(drafts: list[Draft], base: int) -> Iterator[EventLine]:
    """`_timeline_events` as `EventLine`s, each draft let go once it is read.

    Each goes through `TimelineEvent` first, so its values are the model's, validated."""
    drafts.reverse()
    index = 0
    while drafts:
        index += 1
        yield EventLine.of(_timeline_event(drafts.pop(), index, base))
