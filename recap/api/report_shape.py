"""A pattern report in the shape PostHog's `create_session_summaries/` answers
(`EnrichedSessionGroupSummaryPatternsList` in PostHog's
`ee/hogai/session_summaries/session_group/patterns.py`): `patterns`, each with its `events`
in their segment's context and PostHog's `stats`. Every fact is copied from recap's stored
report and the sessions' stored summaries; recap's own fields (report id, title, gate,
inputs, run …) stay alongside under names PostHog's answer does not use. Also the rows of
recap's own report listing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from recap.api.summary_shape import (
    PostHogKeyActionEvent,
    PostHogSessionSummary,
    event_index,
    posthog_event,
)
from recap.reports.models import (
    Pattern,
    PatternExample,
    PatternReport,
    PatternSeverity,
    PatternStats,
    ReportGate,
    ReportInputs,
    ReportRun,
    SessionNotReported,
)

# PostHog shows up to three events either side of a pattern's event in its segment.
CONTEXT_EVENTS = 3


class PatternEvent(BaseModel):
    """PostHog's `EnrichedPatternAssignedEvent`: the event's facts from the session's
    stored summary and timeline."""

    event_id: str = Field(description="the event's ref in recap's timeline")
    event_uuid: str | None = Field(description="recap's events carry no uuid")
    session_id: str
    description: str
    abandonment: bool
    confusion: bool
    exception: Literal["blocking", "non-blocking"] | None
    timestamp: str | None
    milliseconds_since_start: int
    window_id: str | None
    current_url: str | None
    event: str
    event_type: str | None
    event_index: int | None = Field(description="position in the compiled timeline, from 0")


class PatternEventContext(BaseModel):
    """PostHog's `PatternAssignedEventSegmentContext`: one session's example of a pattern
    within its segment. The segment fields are null when the example is not among the
    key actions of the session's stored summary (it was cited as an issue, say)."""

    segment_name: str | None
    segment_outcome: str | None
    segment_success: bool | None
    segment_index: int | None
    previous_events_in_segment: list[PatternEvent]
    target_event: PatternEvent
    next_events_in_segment: list[PatternEvent]


class PostHogPatternStats(BaseModel):
    """PostHog's `EnrichedSessionGroupSummaryPatternStats` (its spelling `occurences`
    kept), with recap's other counts beside."""

    occurences: int = Field(description="assigned events across the sessions (PostHog's spelling)")
    sessions_affected: int
    sessions_affected_ratio: float = Field(ge=0, le=1)
    segments_success_ratio: float = Field(
        ge=0,
        le=1,
        description="recap's: the share of affected sessions whose outcome did not fail",
    )
    sessions_failed: int
    first_seen: datetime | None
    last_seen: datetime | None
    single_session: bool


class PostHogPattern(BaseModel):
    """PostHog's `EnrichedSessionGroupSummaryPattern`."""

    pattern_id: int = Field(ge=1, description="recap's \"pN\" as PostHog's number N")
    pattern_name: str
    pattern_description: str
    severity: PatternSeverity
    indicators: list[str]
    events: list[PatternEventContext] = Field(description="one example per affected session")
    stats: PostHogPatternStats


class SessionGroupPatterns(BaseModel):
    """PostHog's `EnrichedSessionGroupSummaryPatternsList`, plus recap's report fields."""

    patterns: list[PostHogPattern] = Field(description="most severe first, then most sessions")
    report_id: str = Field(description="recap's: read it again at …/reports/{report_id}/")
    title: str
    created_at: datetime
    sessions_reported: int = Field(description="summarized sessions the patterns are over")
    not_reported: list[SessionNotReported]
    gate: ReportGate
    inputs: ReportInputs
    run: ReportRun


class PatternOverview(BaseModel):
    """A pattern of a report listing: no examples."""

    pattern_id: str
    name: str
    severity: PatternSeverity
    stats: PatternStats


class PatternReportRow(BaseModel):
    """One row of `…/session_summaries/reports/`: the report without its examples."""

    report_id: str
    title: str
    created_at: datetime
    focus_area: str | None
    selection: dict[str, str] | None = Field(description="how the sessions were chosen")
    sessions_reported: int
    sessions_not_reported: int
    patterns: list[PatternOverview]


class PaginatedPatternReportList(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[PatternReportRow]


def report_row(report: PatternReport) -> PatternReportRow:
    return PatternReportRow(
        report_id=report.report_id,
        title=report.title,
        created_at=report.created_at,
        focus_area=report.inputs.focus_area,
        selection=report.inputs.selection,
        sessions_reported=report.sessions_reported,
        sessions_not_reported=len(report.not_reported),
        patterns=[
            PatternOverview(
                pattern_id=pattern.pattern_id,
                name=pattern.name,
                severity=pattern.severity,
                stats=pattern.stats,
            )
            for pattern in report.patterns
        ],
    )


def _number(pattern_id: str, position: int) -> int:
    """PostHog numbers patterns from 1; recap's ids are `p1`, `p2` …"""
    match = re.fullmatch(r"p(\d+)", pattern_id)
    return int(match[1]) if match and int(match[1]) >= 1 else position


def _event(action: PostHogKeyActionEvent) -> PatternEvent:
    return PatternEvent.model_validate(action.model_dump(include=set(PatternEvent.model_fields)))


def _example_event(example: PatternExample) -> PatternEvent:
    """The example's own facts, for an example that is no key action of its summary."""
    event, event_type = posthog_event(example.kind)
    return PatternEvent(
        event_id=example.ref,
        event_uuid=None,
        session_id=example.session_id,
        description=example.description,
        abandonment=False,
        confusion=False,
        exception=None,
        timestamp=example.timestamp,
        milliseconds_since_start=example.t_ms,
        window_id=None,
        current_url=example.url,
        event=event,
        event_type=event_type,
        event_index=event_index(example.ref),
    )


def _context(example: PatternExample, summary: PostHogSessionSummary | None) -> PatternEventContext:
    """The example in its segment: the key actions around it and the segment's outcome,
    from the session's stored summary. The target keeps the example's own description:
    what it shows of this pattern."""
    groups = summary.key_actions if summary is not None else []
    for group in groups:
        refs = [event.event_id for event in group.events]
        if example.ref not in refs:
            continue
        assert summary is not None
        at = refs.index(example.ref)
        target = _event(group.events[at]).model_copy(update={"description": example.description})
        names = {segment.index: segment.name for segment in summary.segments}
        outcomes = {item.segment_index: item for item in summary.segment_outcomes}
        index = group.segment_index
        outcome = outcomes.get(index) if index is not None else None
        return PatternEventContext(
            segment_name=names.get(index) if index is not None else None,
            segment_outcome=outcome.summary if outcome else None,
            segment_success=outcome.success if outcome else None,
            segment_index=index,
            previous_events_in_segment=[
                _event(event) for event in group.events[max(0, at - CONTEXT_EVENTS) : at]
            ],
            target_event=target,
            next_events_in_segment=[
                _event(event) for event in group.events[at + 1 : at + 1 + CONTEXT_EVENTS]
            ],
        )
    return PatternEventContext(
        segment_name=None,
        segment_outcome=None,
        segment_success=None,
        segment_index=None,
        previous_events_in_segment=[],
        target_event=_example_event(example),
        next_events_in_segment=[],
    )


def _stats(stats: PatternStats) -> PostHogPatternStats:
    affected = stats.sessions_affected
    return PostHogPatternStats(
        occurences=stats.occurrences,
        sessions_affected=affected,
        sessions_affected_ratio=stats.sessions_affected_ratio,
        # PostHog counts successful segments among the pattern's events; recap's examples
        # are one per session, so the sessions' outcomes stand in for their segments'.
        segments_success_ratio=1 - stats.sessions_failed / affected if affected else 0.0,
        sessions_failed=stats.sessions_failed,
        first_seen=stats.first_seen,
        last_seen=stats.last_seen,
        single_session=stats.single_session,
    )


def _pattern(
    pattern: Pattern, position: int, summaries: Mapping[str, PostHogSessionSummary]
) -> PostHogPattern:
    return PostHogPattern(
        pattern_id=_number(pattern.pattern_id, position),
        pattern_name=pattern.name,
        pattern_description=pattern.description,
        severity=pattern.severity,
        indicators=pattern.indicators,
        events=[
            _context(example, summaries.get(example.session_id)) for example in pattern.examples
        ],
        stats=_stats(pattern.stats),
    )


def shape_report(
    report: PatternReport,
    summaries: Mapping[str, PostHogSessionSummary],
    extra_not_reported: list[SessionNotReported] | None = None,
) -> SessionGroupPatterns:
    """`report` in PostHog's shape. `summaries` are the examples' sessions' stored summaries
    in PostHog's shape (for the segment context); `extra_not_reported` are requested ids
    that never reached the report."""
    return SessionGroupPatterns(
        patterns=[
            _pattern(pattern, position, summaries)
            for position, pattern in enumerate(report.patterns, start=1)
        ],
        report_id=report.report_id,
        title=report.title,
        created_at=report.created_at,
        sessions_reported=report.sessions_reported,
        not_reported=[*report.not_reported, *(extra_not_reported or [])],
        gate=report.gate,
        inputs=report.inputs,
        run=report.run,
    )
