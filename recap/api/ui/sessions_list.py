"""The team's recordings, a page at a time, each with its summary's title, outcome and the
signals code found in it, narrowed by the filter form (see `session_filters` for what each
means).

The filters live in the query string, so a filtered list is a link to keep. A value the list
cannot filter by (`date_from=banana`, `outcome=maybe`) is answered 400 with the form, the
values as sent and a message beside it, and no recordings: a list that silently dropped a
filter the reader believes applied would mislead more than an error does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recap.api.catalog import Listing
from recap.api.errors import ApiProblem
from recap.api.models import SessionRecording
from recap.api.ui.common import (
    UiState,
    duration_text,
    page,
    page_number,
    problem,
    team_page,
    ui_state,
)
from recap.api.ui.session_filters import (
    SIGNAL_LABELS,
    SIGNALS,
    SessionFilters,
    Signal,
    parse_filters,
    signals_of,
)
from recap.store.repository import SignalCounts, StoredSummary

PAGE_SIZE = 25


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/sessions", sessions_page, methods=["GET"])
    return routes


async def sessions_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/sessions`: the team's recordings that pass the filters."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    filters, problems = parse_filters(request.query_params.multi_items(), now=datetime.now(UTC))
    number = page_number(request.query_params.get("page"))
    context: dict[str, Any] = {
        "team_id": project_id,
        "filters": filters,
        "problems": {problem.name: problem.message for problem in problems},
        "signals": [(signal, SIGNAL_LABELS[signal]) for signal in SIGNALS],
        "signal_labels": SIGNAL_LABELS,
        "rows": [],
        "count": 0,
        "page": number,
        "pages": 1,
    }
    if problems:
        return page(request, "sessions.html", context, status=400, session=session)
    # Filtering by signals reads the team's counts once, not each recording's.
    counted = (
        await asyncio.to_thread(ui.store.signal_counts, team_id=project_id, session_ids=None)
        if filters.signals
        else {}
    )
    try:
        listing = await _listing(ui, project_id, filters, number, counted)
    except ApiProblem as failure:
        # The team's source is unset or down: say so on a page, not in the API's JSON.
        return problem(request, failure.status, "Recordings unavailable", failure.detail, session)
    shown = [recording.id for recording in listing.results]
    # The listing read every summary to filter; the rows need the page's full ones only.
    summaries = await asyncio.to_thread(
        ui.store.recording_summaries, team_id=project_id, session_ids=shown
    )
    counts = await asyncio.to_thread(ui.store.signal_counts, team_id=project_id, session_ids=shown)
    context.update(
        rows=[
            _row(recording, summaries.get(recording.id), signals_of(counts.get(recording.id)))
            for recording in listing.results
        ],
        count=listing.count,
        pages=max(1, -(-listing.count // PAGE_SIZE)),
    )
    return page(request, "sessions.html", context, session=session)


def _row(
    recording: SessionRecording, stored: StoredSummary | None, signals: frozenset[Signal]
) -> dict[str, Any]:
    outcome = stored.summary_outcome if stored else None
    start = recording.start_time
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)  # sources' times are UTC
    return {
        "id": recording.id,
        "title": stored.summary.title if stored and stored.summary else None,
        "outcome": None if outcome is None else ("success" if outcome.success else "failure"),
        "outcome_text": outcome.description if outcome else None,
        "duration": duration_text(recording.recording_duration),
        "signals": [signal for signal in SIGNALS if signal in signals],
        "start_url": recording.start_url,
        "start_time": start.astimezone(UTC) if start is not None else None,
    }


async def _listing(
    ui: UiState,
    project_id: str,
    filters: SessionFilters,
    number: int,
    counted: dict[str, SignalCounts],
) -> Listing:
    return await ui.catalog.listing(
        project_id,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
        has_summary=None,
        success=None,
        filters=filters.dates,
        summary_filter=(
            (lambda sid, stored: filters.matches(sid, stored, signals_of(counted.get(sid))))
            if filters.active
            else None
        ),
    )
