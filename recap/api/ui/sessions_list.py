"""The team's recordings, a page at a time, each with its summary's title and outcome."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recap.api.ui.common import duration_text, page, page_number, team_page, ui_state

PAGE_SIZE = 25


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/sessions", sessions_page, methods=["GET"])
    return routes


async def sessions_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/sessions`: the team's recordings with their summary's outcome."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    number = page_number(request.query_params.get("page"))
    listing = await ui.catalog.listing(
        project_id,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
        has_summary=None,
        success=None,
    )
    summaries = await asyncio.to_thread(
        ui.store.recording_summaries,
        team_id=project_id,
        session_ids=[recording.id for recording in listing.results],
    )
    rows = []
    for recording in listing.results:
        stored = summaries.get(recording.id)
        outcome = stored.summary_outcome if stored else None
        rows.append(
            {
                "id": recording.id,
                "title": stored.summary.title if stored and stored.summary else None,
                "outcome": None
                if outcome is None
                else ("success" if outcome.success else "failure"),
                "outcome_text": outcome.description if outcome else None,
                "duration": duration_text(recording.recording_duration),
                "start_url": recording.start_url,
                "start_time": recording.start_time,
            }
        )
    pages = max(1, -(-listing.count // PAGE_SIZE))
    return page(
        request,
        "sessions.html",
        {
            "team_id": project_id,
            "rows": rows,
            "count": listing.count,
            "page": number,
            "pages": pages,
        },
        session=session,
    )
