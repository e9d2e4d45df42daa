"""A stored summary in the shape PostHog's serializer answers (`SessionSummarySerializer`
in PostHog's `ee/hogai/session_summaries/session/output_data.py`): `segments` with `meta`,
`key_actions` grouped by segment, `segment_outcomes`, `session_outcome`. recap's refs are
the event ids; every number and flag is computed here from the gated summary and the
compiled timeline's facts. recap's own fields (title, issues, gate, run …) stay alongside
under names PostHog's summary does not use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from recap.llm.schema import (
    CitedEvent,
    FocusFinding,
    GateReport,
    Issue,
    KeyAction,
    KeyActionFlag,
    RunMetadata,
    SessionSummary,
    SummaryOutcome,
)
from recap.store.repository import SummaryStore, TimelineFacts

# PostHog's event names for recap's event kinds, where PostHog has one; other kinds keep
# recap's name (PostHog's `event` is free text: any custom event name appears there).
_POSTHOG_EVENT = {
    "navigation": "$pageview",
    "click": "$autocapture",
    "input": "$autocapture",
    "submit": "$autocapture",
    "exception": "$exception",
    "console_error": "$console_error",
    "network_error": "$network_error",
}
# PostHog's `event_type` is the autocapture DOM event; recap's kinds name the same.
_EVENT_TYPE = {"click": "click", "input": "change", "submit": "submit"}


class SegmentMeta(BaseModel):
    """PostHog's `SegmentMetaSerializer`, computed by code."""

    duration: int | None = Field(description="seconds from the segment's first to last event")
    duration_percentage: float | None = Field(description="share of the session, 0 to 1")
    events_count: int | None = Field(description="timeline events in the segment")
    events_percentage: float | None = Field(description="share of the timeline's events, 0 to 1")
    key_action_count: int
    failure_count: int = Field(description="key actions flagged abandonment, confusion or error")
    abandonment_count: int
    confusion_count: int
    exception_count: int


class PostHogSegment(BaseModel):
    index: int
    name: str
    start_event_id: str = Field(description="the ref of the segment's first event")
    end_event_id: str = Field(description="the ref of the segment's last event")
    meta: SegmentMeta


class PostHogKeyActionEvent(BaseModel):
    """PostHog's `EnrichedKeyActionSerializer`: the model's description and flags, and the
    event's facts copied from the timeline."""

    description: str
    abandonment: bool
    confusion: bool
    exception: Literal["blocking", "non-blocking"] | None
    event_id: str = Field(description="the event's ref in recap's timeline")
    timestamp: str | None
    milliseconds_since_start: int
    window_id: str
    current_url: str | None
    event: str
    event_type: str | None
    event_index: int | None = Field(description="position in the compiled timeline, from 0")
    session_id: str
    event_uuid: str | None = Field(default=None, description="recap's events carry no uuid")
    # recap's: what was acted on, and the flags the timeline's code set.
    target: str | None = None
    timeline_flags: list[str] = Field(default_factory=list)


class PostHogKeyActions(BaseModel):
    segment_index: int | None = Field(description="null when the summary has no segments")
    events: list[PostHogKeyActionEvent]


class PostHogSegmentOutcome(BaseModel):
    segment_index: int
    summary: str
    success: bool


class PostHogSessionSummary(BaseModel):
    """The summary as PostHog's serializer names it, with recap's fields alongside."""

    segments: list[PostHogSegment]
    key_actions: list[PostHogKeyActions]
    segment_outcomes: list[PostHogSegmentOutcome]
    session_outcome: SummaryOutcome
    # recap's own, under names PostHog's summary does not use.
    schema_version: int
    session_id: str
    ongoing: bool
    title: str
    issues: list[Issue]
    focus_area_findings: list[FocusFinding] | None
    gate: GateReport
    gate_notes: list[str]
    run: RunMetadata


def posthog_event(kind: str) -> tuple[str, str | None]:
    """PostHog's `event` and `event_type` for an event of recap's `kind`."""
    return _POSTHOG_EVENT.get(kind, kind), _EVENT_TYPE.get(kind)


def event_index(ref: str) -> int | None:
    """Refs are `e1…` in timeline order, so `eN` is the N-th compiled event."""
    digits = ref[1:]
    return int(digits) - 1 if ref.startswith("e") and digits.isdecimal() else None


def _exception(action: KeyAction) -> Literal["blocking", "non-blocking"] | None:
    if KeyActionFlag.EXCEPTION_BLOCKING in action.flags:
        return "blocking"
    if KeyActionFlag.EXCEPTION_NON_BLOCKING in action.flags:
        return "non-blocking"
    return None


def _event(action: KeyAction, session_id: str) -> PostHogKeyActionEvent:
    cited: CitedEvent = action.event
    return PostHogKeyActionEvent(
        description=action.description,
        abandonment=KeyActionFlag.ABANDONMENT in action.flags,
        confusion=KeyActionFlag.CONFUSION in action.flags,
        exception=_exception(action),
        event_id=cited.ref,
        timestamp=cited.timestamp,
        milliseconds_since_start=cited.t_ms,
        window_id=cited.window,
        current_url=cited.url,
        event=_POSTHOG_EVENT.get(cited.kind, cited.kind),
        event_type=_EVENT_TYPE.get(cited.kind),
        event_index=event_index(cited.ref),
        session_id=session_id,
        target=cited.target,
        timeline_flags=list(cited.flags),
    )


def _segment_of(t_ms: int, spans: list[tuple[int, int]]) -> int | None:
    """The segment a key action belongs to: the one whose span holds it, else the last one
    that started before it, else the first."""
    if not spans:
        return None
    for index, (start, end) in enumerate(spans):
        if start <= t_ms <= end:
            return index
    started = [index for index, (start, _) in enumerate(spans) if start <= t_ms]
    return started[-1] if started else 0


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(min(1.0, max(0.0, part / whole)), 4)


def posthog_summary(
    summary: SessionSummary, facts: TimelineFacts | None = None
) -> PostHogSessionSummary:
    """`summary` in PostHog's shape. `facts` (the compiled timeline's event count and
    duration) give the segments' shares; without them the shares are null, as PostHog's
    serializer allows."""
    spans = [(segment.start.t_ms, segment.end.t_ms) for segment in summary.segments]
    grouped: dict[int | None, list[KeyAction]] = {}
    for action in sorted(summary.key_actions, key=lambda a: (a.event.t_ms, a.event.ref)):
        grouped.setdefault(_segment_of(action.event.t_ms, spans), []).append(action)
    segments = []
    for index, segment in enumerate(summary.segments):
        actions = grouped.get(index, [])
        flagged = [action for action in actions if action.flags]
        first, last = event_index(segment.start.ref), event_index(segment.end.ref)
        events_count = abs(last - first) + 1 if first is not None and last is not None else None
        duration_ms = abs(segment.end.t_ms - segment.start.t_ms)
        segments.append(
            PostHogSegment(
                index=index,
                name=segment.name,
                start_event_id=segment.start.ref,
                end_event_id=segment.end.ref,
                meta=SegmentMeta(
                    duration=duration_ms // 1000,
                    duration_percentage=_share(duration_ms, facts.duration_ms if facts else None),
                    events_count=events_count,
                    events_percentage=_share(events_count, facts.event_count if facts else None),
                    key_action_count=len(actions),
                    failure_count=len(flagged),
                    abandonment_count=sum(KeyActionFlag.ABANDONMENT in a.flags for a in actions),
                    confusion_count=sum(KeyActionFlag.CONFUSION in a.flags for a in actions),
                    exception_count=sum(_exception(a) is not None for a in actions),
                ),
            )
        )
    return PostHogSessionSummary(
        segments=segments,
        key_actions=[
            PostHogKeyActions(
                segment_index=index,
                events=[_event(action, summary.session_id) for action in actions],
            )
            for index, actions in sorted(grouped.items(), key=lambda item: item[0] or 0)
        ],
        segment_outcomes=[
            PostHogSegmentOutcome(
                segment_index=index,
                summary=segment.outcome.summary,
                success=segment.outcome.success,
            )
            for index, segment in enumerate(summary.segments)
        ],
        session_outcome=summary.summary_outcome,
        schema_version=summary.schema_version,
        session_id=summary.session_id,
        ongoing=summary.ongoing,
        title=summary.title,
        issues=summary.issues,
        focus_area_findings=summary.focus_area_findings,
        gate=summary.gate,
        gate_notes=summary.gate_notes,
        run=summary.run,
    )


def exception_event_ids(summary: PostHogSessionSummary) -> list[str]:
    """The key actions' events PostHog lists as exceptions (at most 100, as PostHog)."""
    found = [
        event.event_id
        for group in summary.key_actions
        for event in group.events
        if event.exception is not None
    ]
    return found[:100]


def shape_summaries(
    store: SummaryStore, summaries: Mapping[str, SessionSummary]
) -> dict[str, PostHogSessionSummary]:
    """Each summary in PostHog's shape, with its timeline's facts read in one query."""
    facts = store.timeline_facts({summary.run.timeline_hash for summary in summaries.values()})
    return {
        key: posthog_summary(summary, facts.get(summary.run.timeline_hash))
        for key, summary in summaries.items()
    }
