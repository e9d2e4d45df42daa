"""The inputs of a journey, one per session, and what code computes from them: the sessions
in start order with their outcomes, dates, durations and signal counts, and the counts of
the whole journey. Also each session's block, the compact text the model reads about it.

Built from plain data (stored summaries and timelines); the caller reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from recap.journeys.models import JourneyCounts, JourneySession, SessionOutcome, SignalCounts
from recap.llm.gate import _clean
from recap.llm.schema import SessionSummary
from recap.reports.sessions import ReportSession, report_session
from recap.timeline.models import Timeline
from recap.timeline.render import format_duration


class JourneyInput(BaseModel):
    """One of the person's sessions: its stored summary (None when it has none yet) and its
    stored timeline (None when it was never compiled), which the gate checks refs against."""

    session_id: str
    distinct_id: str | None = None
    start_timestamp_ms: int = Field(description="ms since the epoch, UTC")
    summary: SessionSummary | None = None
    timeline: Timeline | None = None
    duration_ms: int | None = Field(
        default=None, description="from the listing, when there is no stored timeline"
    )
    start_url: str | None = None


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _outcome(summary: SessionSummary | None) -> SessionOutcome:
    if summary is None:
        return "unknown"
    return "success" if summary.summary_outcome.success else "failure"


def _signals(timeline: Timeline) -> SignalCounts:
    stats = timeline.stats
    return SignalCounts(
        clicks=stats.clicks,
        page_views=stats.navigations,
        rage_clicks=stats.rage_clicks,
        dead_clicks=stats.dead_clicks,
        slow_clicks=stats.slow_clicks,
        console_errors=stats.console_errors,
        exceptions=stats.exceptions,
        network_errors=stats.network_errors,
    )


def ordered(inputs: Sequence[JourneyInput]) -> list[JourneyInput]:
    """The inputs in start order (ties by session id); a session given twice, or a summary
    or timeline of another session, raises `ValueError`."""
    seen: set[str] = set()
    for item in inputs:
        if item.session_id in seen:
            raise ValueError(f"session {item.session_id} is given twice; pass each session once")
        seen.add(item.session_id)
        owners = {
            "summary": item.summary.session_id if item.summary else None,
            "timeline": item.timeline.session.session_id if item.timeline else None,
        }
        for name, found in owners.items():
            if found is not None and found != item.session_id:
                raise ValueError(
                    f"the {name} given for session {item.session_id} is of session {found}"
                )
    return sorted(inputs, key=lambda item: (item.start_timestamp_ms, item.session_id))


def journey_session(number: int, item: JourneyInput) -> JourneySession:
    timeline, summary = item.timeline, item.summary
    duration = timeline.session.duration_ms if timeline is not None else item.duration_ms
    start_url = item.start_url or (timeline.session.start_url if timeline is not None else None)
    return JourneySession(
        number=number,
        session_id=item.session_id,
        distinct_id=item.distinct_id,
        start=moment(item.start_timestamp_ms),
        start_timestamp_ms=item.start_timestamp_ms,
        duration_ms=duration,
        start_url=start_url,
        outcome=_outcome(summary),
        outcome_description=_clean(summary.summary_outcome.description) if summary else None,
        title=_clean(summary.title) if summary else None,
        signals=_signals(timeline) if timeline is not None else None,
    )


def journey_sessions(inputs: Sequence[JourneyInput]) -> list[JourneySession]:
    """The sessions in start order, numbered from 1."""
    return [journey_session(number, item) for number, item in enumerate(ordered(inputs), 1)]


def journey_counts(sessions: Sequence[JourneySession]) -> JourneyCounts:
    ends = [session.start_timestamp_ms + (session.duration_ms or 0) for session in sessions]
    return JourneyCounts(
        sessions=len(sessions),
        succeeded=sum(session.outcome == "success" for session in sessions),
        failed=sum(session.outcome == "failure" for session in sessions),
        unknown=sum(session.outcome == "unknown" for session in sessions),
        total_duration_ms=sum(session.duration_ms or 0 for session in sessions),
        first_seen=sessions[0].start if sessions else None,
        last_seen=moment(max(ends)) if ends else None,
    )


# --- the block the model reads about one session --------------------------------------------


def format_day(when: datetime) -> str:
    """`2025-11-10 (Monday) 09:00 UTC`."""
    return when.strftime("%Y-%m-%d (%A) %H:%M UTC")


@dataclass(frozen=True)
class SessionBlock:
    """One session as the journey prompt shows it, and the refs its block cites."""

    session: JourneySession
    report: ReportSession | None
    text: str

    @property
    def session_id(self) -> str:
        return self.session.session_id


def _signal_line(signals: SignalCounts | None) -> str:
    if signals is None:
        return "Signals: unknown (no stored timeline)"
    counts = {
        "clicks": signals.clicks,
        "page views": signals.page_views,
        "rage clicks": signals.rage_clicks,
        "dead clicks": signals.dead_clicks,
        "slow reactions": signals.slow_clicks,
        "console errors": signals.console_errors,
        "exceptions": signals.exceptions,
        "failed requests": signals.network_errors,
    }
    return "Signals: " + ", ".join(f"{value} {name}" for name, value in counts.items())


def session_block(session: JourneySession, item: JourneyInput, total: int) -> SessionBlock:
    """The session's header (from code), then the events its summary cites, one line each
    with what the summary wrote about them (as pattern reports show them)."""
    duration = format_duration(session.duration_ms) if session.duration_ms is not None else "?"
    lines = [
        f"## Session {session.session_id}",
        f"Session {session.number} of {total}, {format_day(session.start)}, lasted {duration}",
    ]
    report = None
    if item.summary is None:
        lines.append("Outcome: unknown (not summarized; nothing in it can be cited)")
    else:
        state = "succeeded" if session.outcome == "success" else "failed"
        lines += [f"Outcome: {state}: {session.outcome_description}", f"Title: {session.title}"]
    lines.append(_signal_line(session.signals))
    if item.summary is not None and item.timeline is not None:
        report = report_session(item.summary, item.timeline)
        for event in report.events:
            lines.append(event.line)
            lines.extend(f"  - {text}" for text in event.notes)
        if not report.events:
            lines.append("(the summary cites no events)")
    elif item.summary is not None:
        lines.append("(no stored timeline; nothing in it can be cited)")
    return SessionBlock(session, report, "\n".join(lines))


def session_blocks(inputs: Sequence[JourneyInput]) -> list[SessionBlock]:
    """Every session's block, in start order."""
    items = ordered(inputs)
    sessions = [journey_session(number, item) for number, item in enumerate(items, 1)]
    return [session_block(s, item, len(items)) for s, item in zip(sessions, items, strict=True)]
