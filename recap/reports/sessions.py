"""The per-session input of a pattern report: what one stored summary says, cut down to the
events it cites, and the split of many sessions into chunks that fit the model's context.

Built from plain data (a stored summary and its stored timeline); the caller reads the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from recap.llm.gate import _clean
from recap.llm.schema import SessionSummary
from recap.timeline.models import Timeline
from recap.timeline.render import format_clock, render_event

# A cited event's timeline line is cut here: an error message's first words say enough.
LINE_MAX_CHARS = 240
NOTE_MAX_CHARS = 200

CountTokens = Callable[[str], int]


class ReportEvent(BaseModel):
    """One event a session's summary cites, as the pattern steps see it."""

    ref: str
    t_ms: int
    kind: str
    line: str = Field(description="the event's timeline line, as the summary's model saw it")
    notes: list[str] = Field(
        default_factory=list, description="what the summary said about the event"
    )


class ReportSession(BaseModel):
    """One summarized session, compact: its outcome, title and cited events in time order."""

    session_id: str
    success: bool
    outcome: str
    title: str
    events: list[ReportEvent]

    @property
    def refs(self) -> set[str]:
        return {event.ref for event in self.events}


def report_session(summary: SessionSummary, timeline: Timeline) -> ReportSession:
    """The report's view of one stored summary; each cited event's line comes from the
    stored timeline (the summary's copy of the event where the timeline lacks it)."""
    notes: dict[str, list[str]] = {}

    def note(ref: str, text: str) -> None:
        notes.setdefault(ref, []).append(_clean(text)[:NOTE_MAX_CHARS])

    for action in summary.key_actions:
        flags = f" [{', '.join(flag.value for flag in action.flags)}]" if action.flags else ""
        note(action.event.ref, f"key action{flags}: {action.description}")
    for issue in summary.issues:
        note(issue.event.ref, f"issue {issue.kind.value} ({issue.severity}): {issue.description}")
    for segment in summary.segments:
        state = "succeeded" if segment.outcome.success else "failed"
        note(segment.start.ref, f"start of task {segment.name!r} ({state})")
        note(segment.end.ref, f"end of task {segment.name!r}: {segment.outcome.summary}")
    for finding in summary.focus_area_findings or []:
        note(finding.event.ref, f"focus area: {finding.finding}")

    by_ref = {event.ref: event for event in timeline.events}
    events = []
    for cited in summary.cited_events():
        found = by_ref.get(cited.ref)
        if found is not None:
            line = render_event(found, show_window=False)
        else:
            target = f" {cited.target}" if cited.target else ""
            line = f"{cited.ref} {format_clock(cited.t_ms)} {cited.kind}{target}"
        events.append(
            ReportEvent(
                ref=cited.ref,
                t_ms=cited.t_ms,
                kind=cited.kind,
                line=_clean(line)[:LINE_MAX_CHARS],
                notes=notes.get(cited.ref, []),
            )
        )
    return ReportSession(
        session_id=summary.session_id,
        success=summary.summary_outcome.success,
        outcome=_clean(summary.summary_outcome.description),
        title=_clean(summary.title),
        events=events,
    )


def render_session(session: ReportSession) -> str:
    """The block one session takes in a prompt (it goes inside an untrusted fence)."""
    state = "succeeded" if session.success else "failed"
    lines = [
        f"## Session {session.session_id}",
        f"Outcome: {state}: {session.outcome}",
        f"Title: {session.title}",
    ]
    for event in session.events:
        lines.append(event.line)
        lines.extend(f"  - {text}" for text in event.notes)
    if not session.events:
        lines.append("(the summary cites no events)")
    return "\n".join(lines)


def render_sessions(sessions: Sequence[ReportSession]) -> str:
    return "\n\n".join(render_session(session) for session in sessions)


def chunks(
    sessions: Sequence[ReportSession],
    *,
    max_tokens: int,
    count_tokens: CountTokens,
    fixed_tokens: int = 0,
) -> list[list[ReportSession]]:
    """Sessions in order, split so each chunk's blocks plus `fixed_tokens` (the prompt
    around them) stay within `max_tokens`. A session too big for any chunk gets one of its
    own: a summary is bounded (a few actions and issues), so this only happens when the
    budget is set below one session's size."""
    budget = max_tokens - fixed_tokens
    result: list[list[ReportSession]] = []
    current: list[ReportSession] = []
    used = 0
    for session in sessions:
        # the blank line between blocks is counted with each block
        size = count_tokens(render_session(session)) + 2
        if current and used + size > budget:
            result.append(current)
            current, used = [], 0
        current.append(session)
        used += size
    if current:
        result.append(current)
    return result
