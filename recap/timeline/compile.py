"""Compile a recording's raw rrweb events into a `Timeline` of citable, redacted facts.

One streaming pass over the events (`event_pass`) with a `DomMirror` per window labels
clicks and inputs and watches what changed after each action; `settle` flags rage, dead,
slow and erroring actions (`signals`) as soon as what follows each is known. Memory follows
the recording's last minutes, not its length: events are consumed as they arrive, a draft
is made final once nothing can change it, and `compile_lines` keeps finished events as
`EventLine`s in a `LineStore` (on disk when there are many), which `compile_budgeted`
budgets; `compile_timeline` still returns every event as a model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from recap.core.timeline_config import TimelineConfig
from recap.recording.models import RawEvent, Recording
from recap.timeline.budget import EventLine, budget_lines
from recap.timeline.drafts import Draft
from recap.timeline.event_pass import read_events
from recap.timeline.gaps import close_gaps
from recap.timeline.line_store import LineStore
from recap.timeline.models import SessionInfo, Timeline, TimelineEvent, TimelineStats
from recap.timeline.pass_state import PassState
from recap.timeline.render import RenderedEvent
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
    made: list[TimelineEvent | None] = []

    def put(ref: int, draft: Draft, origin: int) -> None:
        while len(made) < ref:
            made.append(None)
        made[ref - 1] = _timeline_event(draft, ref, origin)

    state, count, first_ts, last_ts, shift = _compiled(events, config or TimelineConfig(), put)
    timeline_events = cast(list[TimelineEvent], made)  # every ref was given its event
    if shift is not None:
        timeline_events = [_moved(event, shift) for event in timeline_events]
    session, stats = _session_and_stats(
        state,
        timeline_events,
        session_id,
        distinct_id,
        (count, first_ts, last_ts),
        skipped_events,
        skipped,
        decoded_bytes,
    )
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
        timeline = replace(timeline, session=session, stats=stats)
    return timeline


@dataclass(frozen=True, slots=True)
class CompiledLines:
    """`compile_timeline`'s result as its parts, its events `EventLine`s in a `LineStore`
    (on disk when there are many); close `lines` when done, or use it in a `with`."""

    session: SessionInfo
    stats: TimelineStats
    lines: LineStore


def compile_lines(recording: Recording, config: TimelineConfig | None = None) -> CompiledLines:
    """Compile one loaded recording, holding a few bytes per event rather than the events:
    what a long recording needs to be budgeted (`compile_budgeted`) or printed."""
    store = LineStore()

    def put(ref: int, draft: Draft, origin: int) -> None:
        store.put(ref, EventLine.of(_timeline_event(draft, ref, origin)))

    try:
        state, count, first_ts, last_ts, shift = _compiled(
            recording.events, config or TimelineConfig(), put
        )
        if shift is not None:
            store.moved(shift)
        session, stats = _session_and_stats(
            state, store, recording.session_id, recording.distinct_id, (count, first_ts, last_ts)
        )
    except BaseException:
        store.close()
        raise
    session, stats = _with_recording_facts(recording, session, stats)
    return CompiledLines(session, stats, store)


def compile_budgeted(
    recording: Recording,
    max_tokens: int,
    config: TimelineConfig | None = None,
    counter: Callable[[str], int] = count_tokens,
) -> Timeline:
    """`budget_timeline(compile_timeline(recording, config), max_tokens, counter)`, the
    timeline a model is given, without holding every event of a long recording: events
    are weighed as `EventLine`s (`compile_lines`) and only the kept ones become
    `TimelineEvent`s."""
    compiled = compile_lines(recording, config)
    with compiled.lines as lines:
        return budget_lines(compiled.session, compiled.stats, lines, max_tokens, counter)


def _compiled(
    events: Iterable[RawEvent], config: TimelineConfig, put: Callable[[int, Draft, int], None]
) -> tuple[PassState, int, int, int, int | None]:
    """The event pass over `events`; each draft is given to `put(ref, draft, origin)` as
    soon as it settles, its time to be counted from `origin`, the first event read.

    Returns the pass's state, the [count, first, last] timestamps, and the shift to add
    to every time (clamped at 0) when it must count from the recording's start instead
    (an event read later turned out to precede the first, or a draft to precede it);
    None when no time needs it."""
    early = False
    state: PassState

    def sink(ref: int, draft: Draft) -> None:
        nonlocal early
        early = early or draft.ts < state.origin
        put(ref, draft, state.origin)

    state = PassState(config, sink)
    count, first_ts, last_ts = read_events(state, events)
    close_gaps(state, last_ts)
    state.finish()
    shift = state.origin - first_ts if count else 0
    return state, count, first_ts, last_ts, (shift if shift or early else None)


def _session_and_stats(
    state: PassState,
    events: Sequence[RenderedEvent],
    session_id: str,
    distinct_id: str | None,
    seen: tuple[int, int, int],
    skipped_events: int = 0,
    skipped: Counter[str] | None = None,
    decoded_bytes: int = 0,
) -> tuple[SessionInfo, TimelineStats]:
    """The session's figures and the timeline's counts; `seen` is the pass's [count,
    first, last] timestamps, the rest what the source skipped and decoded."""
    count, first_ts, last_ts = seen
    base = first_ts if count else 0
    session = session_info(
        state,
        events,
        session_id,
        distinct_id,
        start_ts=first_ts if count else None,
        duration_ms=(last_ts - base) if count else 0,
    )
    stats = timeline_stats(
        state, events, count, skipped_events, skipped or Counter(), decoded_bytes
    )
    return session, stats


def _with_recording_facts(
    recording: Recording, session: SessionInfo, stats: TimelineStats
) -> tuple[SessionInfo, TimelineStats]:
    """What the recording itself says beside its events: still being captured, and what
    a streaming source skipped and decoded (counted only once it was read)."""
    if recording.metadata.get("ongoing") is True:
        session = replace(session, ongoing=True)
    read = recording.read_stats
    if read.skipped_total or read.decoded_bytes:
        merged = Counter(stats.skipped)
        merged.update(read.skipped)
        stats = replace(
            stats,
            skipped=dict(sorted(merged.items())),
            skipped_events=stats.skipped_events + read.skipped_total,
            decoded_bytes=read.decoded_bytes,
        )
    return session, stats


def _timeline_event(draft: Draft, ref: int, origin: int) -> TimelineEvent:
    return TimelineEvent(
        ref=f"e{ref}",
        t_ms=draft.ts - origin,
        window=draft.window,
        kind=draft.kind,
        target=draft.target,
        value=draft.value,
        flags=list(draft.flags),
        effect=draft.effect,
        url=draft.url,
        duration_ms=draft.duration_ms,
        react_ms=draft.react_ms,
        count=draft.count,
    )


def _moved(event: TimelineEvent, shift: int) -> TimelineEvent:
    return replace(event, t_ms=max(0, event.t_ms + shift))
