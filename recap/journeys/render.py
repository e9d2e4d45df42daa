"""Markdown for a journey (`Accept: text/markdown`, the CLI): the counts and the sessions
table from code first, then the model's statements that the gate kept, each with its
citations by session, ref, time and URL.

Model and page text is put on one line with its Markdown control characters escaped, as
pattern reports do, so it cannot add links, headings or tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from recap.journeys.models import (
    Journey,
    JourneyCitation,
    JourneySession,
    JourneyStatement,
    StuckPoint,
)
from recap.reports.render import _url, escape
from recap.timeline.render import format_clock, format_duration

SESSION_LINK = "/sessions/{session_id}"
_OUTCOMES = {"success": "succeeded", "failure": "failed", "unknown": "not summarized"}


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "unknown"


def _duration(ms: int | None) -> str:
    return format_duration(ms) if ms is not None else "unknown"


def _citation(citation: JourneyCitation, numbers: dict[str, int]) -> str:
    number = numbers.get(citation.session_id)
    where = f"session {number}" if number else "session"
    target = f" {escape(citation.target)}" if citation.target else ""
    url = f" {_url(citation.url)}" if citation.url else ""
    return (
        f"{where} `{citation.session_id}` {citation.ref} at {format_clock(citation.t_ms)}"
        f" ({citation.kind}{target}){url}"
    )


def _statement(statement: JourneyStatement, numbers: dict[str, int]) -> list[str]:
    lines = [f"- {escape(statement.description)}"]
    lines += [f"  - cites {_citation(c, numbers)}" for c in statement.citations]
    if isinstance(statement, StuckPoint) and statement.overcome is not None:
        over = statement.overcome
        session = over.citation.session_id
        lines.append(
            f"  - overcome on {_day(over.session_start)} in `{session}`: "
            f"{escape(over.description)} (cites {_citation(over.citation, numbers)})"
        )
    elif isinstance(statement, StuckPoint):
        lines.append("  - not overcome in a later session")
    return lines


def _table(sessions: Sequence[JourneySession], link: str) -> list[str]:
    lines = [
        "| # | Date | Duration | Outcome | Title | Session |",
        "|---|---|---|---|---|---|",
    ]
    for session in sessions:
        title = escape(session.title) if session.title else ""
        href = link.format(session_id=session.session_id)
        lines.append(
            f"| {session.number} | {session.start:%Y-%m-%d %H:%M} UTC | "
            f"{_duration(session.duration_ms)} | {_OUTCOMES[session.outcome]} | {title} | "
            f"[`{session.session_id}`]({_url(href)[1:-1]}) |"
        )
    return lines


def render_journey_markdown(journey: Journey, *, session_link: str = SESSION_LINK) -> str:
    """The journey as Markdown; `session_link` is a template with `{session_id}`."""
    counts, findings = journey.counts, journey.findings
    numbers = {session.session_id: session.number for session in journey.sessions}
    lines = [
        f"# Journey of {escape(journey.distinct_id)}",
        "",
        f"{counts.sessions} sessions from {_day(counts.first_seen)} to "
        f"{_day(counts.last_seen)}: {counts.succeeded} succeeded, {counts.failed} failed, "
        f"{counts.unknown} not summarized; {_duration(counts.total_duration_ms)} in all.",
        "",
        "## Sessions",
        "",
        *_table(journey.sessions, session_link),
        "",
        "## Goal",
        "",
    ]
    lines += _statement(findings.goal, numbers) if findings.goal else ["Not established."]
    sections: list[tuple[str, Sequence[JourneyStatement], str]] = [
        ("Stuck points", findings.stuck_points, "None found."),
        ("Recurring friction", findings.recurring_friction, "None found."),
    ]
    for title, statements, empty in sections:
        lines += ["", f"## {title}", ""]
        for statement in statements:
            lines += _statement(statement, numbers)
        if not statements:
            lines.append(empty)
    lines += ["", "## Current state", ""]
    state = findings.current_state
    lines += _statement(state, numbers) if state else ["Not established."]
    if findings.dropped:
        lines += [
            "",
            "## Not kept",
            "",
            f"{len(findings.dropped)} claims or citations did not check out against the "
            "sessions' timelines.",
        ]
        lines += [f"- {drop.step}, {drop.part}: {escape(drop.reason)}" for drop in findings.dropped]
    return "\n".join(lines) + "\n"
