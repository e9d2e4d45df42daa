"""The grounding gate: keeps only what the model said about events that exist.

Code writes the facts (times, URLs, targets, flags); the model's text survives only
when it cites a ref that is in the timeline.
"""

from __future__ import annotations

from datetime import UTC, datetime

from recap.llm.schema import (
    CitedEvent,
    FocusFinding,
    GateReport,
    Issue,
    KeyAction,
    ModelSummary,
    RunMetadata,
    Segment,
    SessionSummary,
    SummaryOutcome,
)
from recap.timeline.models import Timeline, TimelineEvent

# Above this share of invented refs the answer is not trusted at all (PostHog's threshold).
MAX_MISSING_REF_RATIO = 0.15


class SummaryInvalid(Exception):
    """The model's answer cites too many events that do not exist."""

    code = "summary_invalid"

    def __init__(self, report: GateReport) -> None:
        self.report = report
        super().__init__(
            f"{len(report.missing_refs)} of {report.cited_refs} cited refs do not exist "
            f"in the timeline: {', '.join(report.missing_refs[:10])}"
        )


def _clean(text: str) -> str:
    """Model text is shown on one line: collapse whitespace, drop control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _cite(event: TimelineEvent, start_ms: int | None) -> CitedEvent:
    timestamp = None
    if start_ms is not None:
        moment = datetime.fromtimestamp((start_ms + event.t_ms) / 1000, tz=UTC)
        timestamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return CitedEvent(
        ref=event.ref,
        t_ms=event.t_ms,
        timestamp=timestamp,
        kind=event.kind.value,
        window=event.window,
        target=event.target,
        url=event.url,
        flags=list(event.flags),
    )


def check_refs(answer: ModelSummary, timeline: Timeline) -> GateReport:
    """Counts cited refs and lists the ones missing from the timeline."""
    cited: list[str] = [action.ref for action in answer.key_actions]
    for segment in answer.segments:
        cited += [segment.start_ref, segment.end_ref]
    cited += [issue.ref for issue in answer.issues]
    cited += [finding.ref for finding in answer.focus_area_findings]
    known = timeline.refs
    return GateReport(cited_refs=len(cited), missing_refs=[r for r in cited if r not in known])


def gate(
    answer: ModelSummary,
    timeline: Timeline,
    run: RunMetadata,
    *,
    focus_area: str | None,
) -> SessionSummary:
    """Turns a model answer into a stored summary, or raises `SummaryInvalid`."""
    report = check_refs(answer, timeline)
    if report.missing_ratio > MAX_MISSING_REF_RATIO:
        raise SummaryInvalid(report)
    events = {event.ref: event for event in timeline.events}
    start_ms = timeline.session.start_timestamp_ms
    dropped = 0

    key_actions: list[KeyAction] = []
    for action in answer.key_actions:
        event = events.get(action.ref)
        if event is None:
            dropped += 1
            continue
        key_actions.append(
            KeyAction(event=_cite(event, start_ms), description=_clean(action.description))
        )
    key_actions.sort(key=lambda action: action.event.t_ms)

    segments: list[Segment] = []
    for segment in answer.segments:
        start, end = events.get(segment.start_ref), events.get(segment.end_ref)
        if start is None or end is None:
            dropped += 1
            continue
        if end.t_ms < start.t_ms:
            start, end = end, start
        segments.append(
            Segment(
                name=_clean(segment.name),
                start=_cite(start, start_ms),
                end=_cite(end, start_ms),
                success=segment.success,
                summary=_clean(segment.summary),
            )
        )

    issues: list[Issue] = []
    for issue in answer.issues:
        event = events.get(issue.ref)
        if event is None:
            dropped += 1
            continue
        issues.append(
            Issue(
                kind=issue.kind,
                event=_cite(event, start_ms),
                description=_clean(issue.description),
                severity=issue.severity,
            )
        )

    findings: list[FocusFinding] | None = None
    if focus_area:
        findings = []
        for finding in answer.focus_area_findings:
            event = events.get(finding.ref)
            if event is None:
                dropped += 1
                continue
            findings.append(
                FocusFinding(event=_cite(event, start_ms), finding=_clean(finding.finding))
            )

    report.dropped_claims = dropped
    return SessionSummary(
        session_id=timeline.session.session_id,
        title=_clean(answer.title),
        segments=segments,
        key_actions=key_actions,
        issues=issues,
        focus_area_findings=findings,
        summary_outcome=SummaryOutcome(
            description=_clean(answer.summary_outcome.description),
            success=answer.summary_outcome.success,
        ),
        gate=report,
        run=run,
    )
