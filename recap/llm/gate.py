"""The grounding gate: keeps only what the model said about events that exist.

Code writes the facts (times, URLs, targets, flags); the model's text survives only
when it cites a ref that is in the timeline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from recap.llm.schema import (
    OUTCOME_MAX_WORDS,
    TITLE_MAX_WORDS,
    CitedEvent,
    DroppedClaim,
    FocusFinding,
    GateReport,
    Issue,
    IssueKind,
    KeyAction,
    KeyActionFlag,
    ModelSummary,
    RunMetadata,
    Segment,
    SegmentOutcome,
    SessionSummary,
    SummaryOutcome,
)
from recap.timeline.models import (
    ACTION_KINDS,
    ERROR_KINDS,
    EventKind,
    Flag,
    Timeline,
    TimelineEvent,
)

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


def _words(text: str, limit: int) -> str:
    """At most `limit` words; a longer answer is cut, with an ellipsis."""
    words = _clean(text).split(" ")
    return " ".join(words) if len(words) <= limit else " ".join(words[:limit]) + "…"


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
        duration_ms=event.duration_ms,
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


# Friction a model may only claim where code raised the matching flag (spoiler's rule).
_FRICTION_FLAGS: Final = {
    IssueKind.RAGE_CLICK: Flag.RAGE,
    IssueKind.DEAD_CLICK: Flag.DEAD,
    IssueKind.SLOW: Flag.SLOW,
}
_DEAD_WORDS: Final = r"\bdead[- ]?click|\bno (visible )?(effect|response|reaction)\b"
_FRICTION_WORDS: Final = (
    (re.compile(r"\brage[- ]?click", re.IGNORECASE), Flag.RAGE),
    (re.compile(_DEAD_WORDS, re.IGNORECASE), Flag.DEAD),
)
_ERROR_FLAGS: Final = frozenset({Flag.ERROR_AFTER, Flag.ERROR_SHOWN})
_EXCEPTION_FLAGS: Final = frozenset(
    {KeyActionFlag.EXCEPTION_BLOCKING, KeyActionFlag.EXCEPTION_NON_BLOCKING}
)


def has_error(event: TimelineEvent) -> bool:
    """An error line, or an action an error followed or that showed one."""
    if event.kind in ERROR_KINDS:
        return Flag.SLOW not in event.flags  # a slow request is not an error
    return bool(_ERROR_FLAGS & set(event.flags))


def _unsupported_friction(text: str, event: TimelineEvent) -> Flag | None:
    """The friction a text claims of an event that lacks the flag for it, if any."""
    for pattern, flag in _FRICTION_WORDS:
        if pattern.search(text) and flag not in event.flags:
            return flag
    return None


class _Gate:
    def __init__(self, timeline: Timeline, report: GateReport) -> None:
        self.events = {event.ref: event for event in timeline.events}
        self.start_ms = timeline.session.start_timestamp_ms
        self.report = report

    def drop(self, part: str, ref: str | None, text: str, reason: str) -> None:
        self.report.dropped.append(
            DroppedClaim(part=part, ref=ref, text=_clean(text)[:200], reason=reason)
        )

    def event(self, part: str, ref: str, text: str) -> TimelineEvent | None:
        event = self.events.get(ref)
        if event is None:
            self.drop(part, ref, text, f"{ref} is not in the timeline")
        return event

    def cite(self, event: TimelineEvent) -> CitedEvent:
        return _cite(event, self.start_ms)

    def key_actions(self, answer: ModelSummary) -> list[KeyAction]:
        kept: list[KeyAction] = []
        for action in answer.key_actions:
            event = self.event("key_action", action.ref, action.description)
            if event is None:
                continue
            friction = _unsupported_friction(action.description, event)
            if friction is not None:
                self.drop(
                    "key_action",
                    action.ref,
                    action.description,
                    f"{action.ref} has no {friction} flag",
                )
                continue
            flags: list[KeyActionFlag] = []
            for flag in dict.fromkeys(action.flags):
                if flag in _EXCEPTION_FLAGS and not has_error(event):
                    self.drop("flag", action.ref, flag.value, f"no error at {action.ref}")
                    continue
                if (
                    flag is KeyActionFlag.ABANDONMENT
                    and Flag.ABANDONED not in event.flags
                    and (event.kind not in (EventKind.INPUT, EventKind.NAVIGATION))
                ):
                    self.drop(
                        "flag", action.ref, flag.value, f"{action.ref} is not where a form was left"
                    )
                    continue
                flags.append(flag)
            kept.append(
                KeyAction(
                    event=self.cite(event), description=_clean(action.description), flags=flags
                )
            )
        return sorted(kept, key=lambda action: action.event.t_ms)

    def segments(self, answer: ModelSummary) -> list[Segment]:
        kept: list[Segment] = []
        for segment in answer.segments:
            start = self.event("segment", segment.start_ref, segment.name)
            end = self.event("segment", segment.end_ref, segment.name)
            if start is None or end is None:
                continue
            if end.t_ms < start.t_ms:
                start, end = end, start
            kept.append(
                Segment(
                    name=_clean(segment.name),
                    start=self.cite(start),
                    end=self.cite(end),
                    outcome=SegmentOutcome(
                        success=segment.outcome.success, summary=_clean(segment.outcome.summary)
                    ),
                    duration_ms=end.t_ms - start.t_ms,
                )
            )
        return sorted(kept, key=lambda segment: segment.start.t_ms)

    def issues(self, answer: ModelSummary) -> list[Issue]:
        kept: list[Issue] = []
        for issue in answer.issues:
            event = self.event("issue", issue.ref, issue.description)
            if event is None:
                continue
            needed = _FRICTION_FLAGS.get(issue.kind)
            if needed is not None and needed not in event.flags:
                self.drop(
                    "issue", issue.ref, issue.description, f"{issue.ref} has no {needed} flag"
                )
                continue
            if issue.kind is IssueKind.ERROR and not has_error(event):
                self.drop("issue", issue.ref, issue.description, f"no error at {issue.ref}")
                continue
            friction = _unsupported_friction(issue.description, event)
            if friction is not None:
                self.drop(
                    "issue", issue.ref, issue.description, f"{issue.ref} has no {friction} flag"
                )
                continue
            kept.append(
                Issue(
                    kind=issue.kind,
                    event=self.cite(event),
                    description=_clean(issue.description),
                    severity=issue.severity,
                )
            )
        return kept

    def findings(self, answer: ModelSummary) -> list[FocusFinding]:
        kept: list[FocusFinding] = []
        for finding in answer.focus_area_findings:
            event = self.event("focus_area_finding", finding.ref, finding.finding)
            if event is not None:
                kept.append(FocusFinding(event=self.cite(event), finding=_clean(finding.finding)))
        return kept


_FAILED_ACTION_FLAGS: Final = frozenset({Flag.DEAD, Flag.RAGE, Flag.ERROR_AFTER, Flag.ERROR_SHOWN})


def blocking_error(timeline: Timeline) -> TimelineEvent | None:
    """The first error after the user's last action that worked: nothing they did after it
    got anywhere (no action, or only dead, raging or erroring ones)."""
    events = timeline.events
    last_good = -1
    for index, event in enumerate(events):
        if event.kind in ACTION_KINDS and not _FAILED_ACTION_FLAGS & set(event.flags):
            last_good = index
    return next((e for e in events[last_good + 1 :] if has_error(e)), None)


def gate(
    answer: ModelSummary,
    timeline: Timeline,
    run: RunMetadata,
    *,
    focus_area: str | None,
) -> SessionSummary:
    """Turns a model answer into a stored summary, or raises `SummaryInvalid`.

    Claims citing refs that do not exist are removed; friction claims (rage, dead, slow,
    errors) without the matching code flag are dropped; times, URLs and durations are
    copied from the timeline. What was dropped is kept in `gate.dropped`.
    """
    report = check_refs(answer, timeline)
    if report.missing_ratio > MAX_MISSING_REF_RATIO:
        raise SummaryInvalid(report)
    checker = _Gate(timeline, report)
    key_actions = checker.key_actions(answer)
    segments = checker.segments(answer)
    issues = checker.issues(answer)
    findings = checker.findings(answer) if focus_area else None
    if not focus_area and answer.focus_area_findings:
        for finding in answer.focus_area_findings:
            checker.drop(
                "focus_area_finding", finding.ref, finding.finding, "no focus area was given"
            )
    notes: list[str] = []
    blocker = blocking_error(timeline)
    if answer.summary_outcome.success and blocker is not None:
        notes.append(
            f"the model calls the session a success, but {blocker.ref} ({blocker.kind.value}) is"
            " an error after the user's last action"
        )
    report.dropped_claims = len(report.dropped)
    return SessionSummary(
        session_id=timeline.session.session_id,
        ongoing=timeline.session.ongoing,
        title=_words(answer.title, TITLE_MAX_WORDS),
        segments=segments,
        key_actions=key_actions,
        issues=issues,
        focus_area_findings=findings,
        summary_outcome=SummaryOutcome(
            description=_words(answer.summary_outcome.description, OUTCOME_MAX_WORDS),
            success=answer.summary_outcome.success,
        ),
        gate=report,
        gate_notes=notes,
        run=run,
    )
