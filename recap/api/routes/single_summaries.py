"""`GET …/single_session_summaries/` and `…/{session_id}/`: the summaries recap has stored,
read without generating one, as PostHog's endpoints of the same paths. Each session
answers with its summary without a focus area; a focused summary never stands in for it.
Read-only, like PostHog's (other methods are 405)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from recap.api.deps import RuntimeDep, TeamReader
from recap.api.errors import ApiProblem, not_found
from recap.api.models import (
    MAX_SESSION_IDS,
    PaginatedSingleSessionSummaryList,
    SingleSessionSummary,
    SingleSessionSummaryRow,
    SummaryRunMetadata,
    is_session_id,
)
from recap.api.recording_filters import parse_when
from recap.api.responses import ERROR_RESPONSES, json_response, page_links
from recap.api.summary_shape import exception_event_ids, shape_summaries
from recap.store.single_summaries import SummaryListing, default_summaries

NO_SUMMARY = "No stored summary found for this session."

SummaryOrder = Literal[
    "created_at",
    "-created_at",
    "session_start_time",
    "-session_start_time",
    "session_duration",
    "-session_duration",
]
SORT_KEYS: dict[str, Callable[[SummaryListing], Any]] = {
    "created_at": lambda row: row.created_at,
    "session_start_time": lambda row: row.session_start_time,
    "session_duration": lambda row: row.session_duration,
}


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/single_session_summaries/",
        list_single_session_summaries,
        methods=["GET"],
        response_model=PaginatedSingleSessionSummaryList,
        summary="List stored single-session summaries (without the summaries)",
    )
    routes.add_api_route(
        "/single_session_summaries/{session_id}/",
        get_single_session_summary,
        methods=["GET"],
        response_model=SingleSessionSummary,
        summary="A session's stored summary without a focus area, never generating one",
    )
    return routes


def _row(listing: SummaryListing) -> SingleSessionSummaryRow:
    return SingleSessionSummaryRow(
        id=listing.id,
        session_id=listing.session_id,
        distinct_id=listing.distinct_id,
        session_start_time=listing.session_start_time,
        session_duration=listing.session_duration,
        session_outcome=listing.session_outcome,
        exception_count=listing.exception_count,
        has_exceptions=listing.exception_count > 0,
        model_used=listing.model_used,
        created_at=listing.created_at,
    )


def _outcome(listing: SummaryListing) -> str:
    if listing.session_outcome is None:
        return "unknown"
    return "success" if listing.session_outcome.success else "failure"


def _ordered(rows: list[SummaryListing], order: str) -> list[SummaryListing]:
    """Sorted by `order` (`-` for descending), rows without the value last either way."""
    descending = order.startswith("-")
    key = SORT_KEYS[order.removeprefix("-")]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    return sorted(known, key=key, reverse=descending) + unknown


async def list_single_session_summaries(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    date_from: Annotated[
        str | None,
        Query(
            max_length=64,
            description="summaries created at or after: ISO date or time (UTC unless it"
            " says), or relative like `-30d`, `-24h`",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(max_length=64, description="summaries created at or before; a bare date: its end"),
    ] = None,
    distinct_id: Annotated[str | None, Query(max_length=400)] = None,
    session_ids: Annotated[
        str | None,
        Query(
            max_length=12_000,
            pattern="^[ -~]*$",
            description=f"comma-separated, at most {MAX_SESSION_IDS}",
        ),
    ] = None,
    outcome: Literal["success", "failure", "unknown"] | None = None,
    has_exceptions: bool | None = None,
    order: Annotated[
        SummaryOrder, Query(description="`-` first for descending; rows without the value last")
    ] = "-created_at",
) -> JSONResponse:
    now = datetime.now(UTC)
    created_from = parse_when(date_from, "date_from", now=now) if date_from else None
    created_to = parse_when(date_to, "date_to", now=now, end_of_day=True) if date_to else None
    wanted = None
    if session_ids is not None:
        wanted = [part.strip() for part in session_ids.split(",") if part.strip()]
        if len(wanted) > MAX_SESSION_IDS:
            raise ApiProblem(
                400,
                "validation_error",
                "invalid_input",
                f"session_ids may list at most {MAX_SESSION_IDS} session ids.",
                "session_ids",
            )
    rows = await asyncio.to_thread(
        default_summaries,
        state.store,
        caller.team_id,
        created_from=created_from,
        created_to=created_to,
        session_ids=wanted,
    )
    rows = [
        row
        for row in rows
        if (distinct_id is None or row.distinct_id == distinct_id)
        and (outcome is None or _outcome(row) == outcome)
        and (has_exceptions is None or (row.exception_count > 0) == has_exceptions)
    ]
    rows = _ordered(rows, order)
    following, previous = page_links(
        request, len(rows), limit, offset, state.settings.api_public_url
    )
    page = PaginatedSingleSessionSummaryList(
        count=len(rows),
        next=following,
        previous=previous,
        results=[_row(row) for row in rows[offset : offset + limit]],
    )
    return json_response(page)


async def get_single_session_summary(
    session_id: str, caller: TeamReader, state: RuntimeDep
) -> JSONResponse:
    if not is_session_id(session_id):
        raise not_found(NO_SUMMARY)
    rows = await asyncio.to_thread(
        default_summaries, state.store, caller.team_id, session_ids=[session_id]
    )
    stored = await asyncio.to_thread(
        state.store.get_summary, team_id=caller.team_id, session_id=session_id
    )
    if not rows or stored is None or stored.summary is None:
        raise not_found(NO_SUMMARY)
    (listing,) = rows
    summary = stored.summary
    shaped = (await asyncio.to_thread(shape_summaries, state.store, {session_id: summary}))[
        session_id
    ]
    run = summary.run
    answer = SingleSessionSummary(
        id=listing.id,
        session_id=session_id,
        distinct_id=listing.distinct_id,
        session_start_time=listing.session_start_time,
        session_duration=listing.session_duration,
        summary=shaped,
        exception_event_ids=exception_event_ids(shaped),
        run_metadata=SummaryRunMetadata(
            model_used=run.model,
            prompt_version=run.prompt_version,
            timeline_hash=run.timeline_hash,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            latency_ms=run.latency_ms,
        ),
        created_at=listing.created_at,
    )
    return json_response(answer)
