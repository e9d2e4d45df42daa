"""One person's journey as a page: the sessions in order with their outcomes (a mark and a
word), each a link to its session page, then what the gate kept of the model's findings,
each citation a link to the cited line of the session's timeline. Read-only, from the
store; another team's person, or a person without a stored journey, is 404."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recap.api.ui.common import duration_text, not_found, page, team_page, ui_state
from recap.api.ui.report_views import MAX_SHORT_TEXT, clip, session_href, when
from recap.journeys import JourneyCitation, JourneySession, JourneyStatement, StuckPoint
from recap.services.journeys import StoredJourney, latest_journey
from recap.timeline.render import format_clock

MAX_DISTINCT_ID = 400
# The outcome's mark and word: never colour alone.
OUTCOMES = {
    "success": ("✓", "succeeded"),
    "failure": ("✗", "failed"),
    "unknown": ("?", "not summarized"),
}


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/persons/{distinct_id}", journey_page, methods=["GET"])
    return routes


@dataclass(frozen=True)
class SessionRow:
    number: int
    session_id: str
    href: str
    start: str
    start_iso: str
    duration: str
    outcome: str
    mark: str
    word: str
    title: str
    description: str


@dataclass(frozen=True)
class CitationView:
    session_id: str
    ref: str
    href: str
    clock: str
    what: str


@dataclass(frozen=True)
class StatementView:
    description: str
    citations: list[CitationView]
    overcome: str | None = None
    overcome_citation: CitationView | None = None


def _row(team_id: str, session: JourneySession) -> SessionRow:
    mark, word = OUTCOMES[session.outcome]
    duration = session.duration_ms
    return SessionRow(
        number=session.number,
        session_id=session.session_id,
        href=session_href(team_id, session.session_id),
        start=when(session.start),
        start_iso=session.start.isoformat(),
        duration=duration_text(round(duration / 1000)) if duration is not None else "unknown",
        outcome=session.outcome,
        mark=mark,
        word=word,
        title=clip(session.title, MAX_SHORT_TEXT) if session.title else "",
        description=clip(session.outcome_description) if session.outcome_description else "",
    )


def _citation(team_id: str, citation: JourneyCitation) -> CitationView:
    what = citation.kind + (f" {citation.target}" if citation.target else "")
    return CitationView(
        session_id=citation.session_id,
        ref=citation.ref,
        href=session_href(team_id, citation.session_id, citation.ref),
        clock=format_clock(citation.t_ms),
        what=clip(what, MAX_SHORT_TEXT),
    )


def _statement(team_id: str, statement: JourneyStatement) -> StatementView:
    citations = [_citation(team_id, c) for c in statement.citations]
    if isinstance(statement, StuckPoint) and statement.overcome is not None:
        over = statement.overcome
        return StatementView(
            description=statement.description,
            citations=citations,
            overcome=f"{over.description} ({when(over.session_start)})",
            overcome_citation=_citation(team_id, over.citation),
        )
    return StatementView(description=statement.description, citations=citations)


def journey_context(team_id: str, stored: StoredJourney) -> dict[str, object]:
    journey, findings = stored.journey, stored.journey.findings
    counts = journey.counts
    return {
        "team_id": team_id,
        "stored": stored,
        "counts": counts,
        "first_seen": when(counts.first_seen),
        "last_seen": when(counts.last_seen),
        "created": when(stored.created_at),
        "total_duration": duration_text(round(counts.total_duration_ms / 1000)),
        "rows": [_row(team_id, session) for session in journey.sessions],
        "goal": _statement(team_id, findings.goal) if findings.goal else None,
        "stuck_points": [_statement(team_id, s) for s in findings.stuck_points],
        "friction": [_statement(team_id, s) for s in findings.recurring_friction],
        "current_state": (
            _statement(team_id, findings.current_state) if findings.current_state else None
        ),
        "dropped": len(findings.dropped),
        "since_days": f"{stored.since_seconds / 86_400:g}",
    }


async def journey_page(request: Request, project_id: str, distinct_id: str) -> Response:
    """`/ui/{project_id}/persons/{distinct_id}`: the person's latest stored journey."""
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    if not distinct_id.strip() or len(distinct_id) > MAX_DISTINCT_ID:
        return not_found(request, session)
    store = ui_state(request).store
    stored = await asyncio.to_thread(latest_journey, store, project_id, distinct_id)
    if stored is None:
        return not_found(request, session)
    return page(request, "journey.html", journey_context(project_id, stored), session=session)
