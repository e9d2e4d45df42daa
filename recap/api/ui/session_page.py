"""The page of one session: its stored summary beside the compiled timeline it cites, each
cited ref a link to its timeline line, and links out to the PostHog replay and to the
workflow in the Temporal UI. A session without a summary shows its recording's metadata.

`?focus=` shows the summary for that focus area; `?job=` (the summary workflow's id, as the
Summarize form redirects with) shows how far its run got. People who may write see the
Summarize form (`recap.api.ui.summarize`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recap.api.errors import ApiProblem
from recap.api.models import MAX_FOCUS_AREA, is_session_id
from recap.api.ui.clusters_page import similar_sessions
from recap.api.ui.common import (
    UiState,
    can_write,
    not_found,
    page,
    problem,
    team_page,
    ui_state,
)
from recap.api.ui.summarize import STEP_COUNT, page_focus, page_url, progress_of
from recap.core.naming import summary_workflow_id
from recap.delivery.links import Links
from recap.services.delivery import delivery_links
from recap.timeline.models import SIGNAL_FLAGS, EventKind, Timeline
from recap.timeline.render import format_clock, format_duration, origin_of, render_event

_JS = files("recap.api.ui").joinpath("static", "session.js").read_bytes()


def router() -> APIRouter:
    """The session page's routes, under `/ui/` and out of the OpenAPI document as the
    other pages are."""
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/static/session.js", script, methods=["GET"])
    routes.add_api_route("/{project_id}/sessions/{session_id}", session_page, methods=["GET"])
    return routes


@dataclass(frozen=True)
class TimelineLine:
    """One timeline event as the page shows it: its ref (the line's anchor), the text
    recap's text timeline gives it, and the signals it carries."""

    ref: str
    text: str
    signals: list[str]
    cited: bool


async def script() -> Response:
    return Response(
        _JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


async def session_page(request: Request, project_id: str, session_id: str) -> Response:
    """`/ui/{project_id}/sessions/{session_id}`: the summary and its timeline; for people
    who may write, the Summarize form and how far its run got."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    if not is_session_id(session_id):
        return not_found(request, session)
    focus = page_focus(request.query_params.get("focus"))
    stored = await asyncio.to_thread(
        ui.store.get_summary, team_id=project_id, session_id=session_id, focus_area=focus
    )
    summary = stored.summary if stored is not None else None
    links = await asyncio.to_thread(_replay_links, ui, project_id)
    workflow_id = summary_workflow_id(project_id, session_id, focus)
    job = request.query_params.get("job")
    # Only the run this page's summary comes from: nothing else is asked of Temporal.
    progress = await progress_of(ui, project_id, session_id, focus) if job == workflow_id else None
    context: dict[str, object] = {
        "team_id": project_id,
        "session_id": session_id,
        "replay_url": links.session(session_id) if links is not None else None,
        "workflow_url": ui.settings.temporal_workflow_url(workflow_id),
        "clock": format_clock,
        "duration": format_duration,
        "focus": focus,
        "can_write": can_write(session),
        "max_focus_area": MAX_FOCUS_AREA,
        "step_count": STEP_COUNT,
        "progress": progress,
        "summarize_url": f"{page_url(project_id, session_id)}/summarize",
        "progress_url": f"{page_url(project_id, session_id)}/progress",
        "refresh_url": page_url(project_id, session_id, focus=focus, job=workflow_id),
        "unfocused_url": page_url(project_id, session_id),
    }
    if summary is None:
        try:
            recording = await ui.catalog.recording(project_id, session_id)
        except ApiProblem as failure:
            # The source is unset or down: say so on a page, not in the API's JSON.
            return problem(
                request, failure.status, "Recording unavailable", failure.detail, session
            )
        if recording is None:
            return not_found(request, session)
        return page(
            request,
            "session.html",
            {**context, "summary": None, "recording": recording},
            session=session,
        )
    stored_timeline = await asyncio.to_thread(ui.store.load_timeline, summary.run.timeline_hash)
    timeline = stored_timeline.timeline if stored_timeline is not None else None
    cited = {event.ref for event in summary.cited_events()}
    times = {event.ref: event.t_ms for event in summary.cited_events()}
    similar = await similar_sessions(ui, project_id, session_id)
    context.update(
        summary=summary,
        similar=similar,
        recording=None,
        lines=_lines(timeline, cited) if timeline is not None else [],
        known_refs={event.ref for event in timeline.events} if timeline is not None else set(),
        replays={ref: links.session(session_id, t_ms) for ref, t_ms in times.items()}
        if links is not None
        else {},
    )
    return page(request, "session.html", context, session=session)


def _replay_links(ui: UiState, team_id: str) -> Links | None:
    """The team's PostHog replay links; None when the team reads no PostHog project, as
    recap's own recording endpoint is no replay."""
    links = delivery_links(ui.settings, ui.catalog.sources, team_id)
    if links.posthog_host is None or links.posthog_project_id is None:
        return None
    return links


def _lines(timeline: Timeline, cited: set[str]) -> list[TimelineLine]:
    """The events as recap's text timeline renders them, one line each."""
    show_window = timeline.session.windows > 1
    origins: dict[str, str] = {}
    lines = []
    for event in timeline.events:
        text = render_event(event, show_window, origins.get(event.window))
        if event.kind is EventKind.NAVIGATION and event.url:
            origins[event.window] = origin_of(event.url)
        signals = [flag for flag in event.flags if flag in SIGNAL_FLAGS]
        lines.append(TimelineLine(event.ref, text, signals, event.ref in cited))
    return lines
