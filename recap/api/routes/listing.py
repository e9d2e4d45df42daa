"""`GET …/session_recordings/`: the team's recordings with their summary state, narrowed
by the filters of PostHog's recordings query that recap implements (`recording_filters`),
in both of PostHog's listing shapes at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from recap.api.deps import RuntimeDep, TeamReader
from recap.api.models import PaginatedSessionRecordingList
from recap.api.recording_filters import (
    OrderDirection,
    RecordingOrder,
    recording_filters,
    refuse_unimplemented,
)
from recap.api.responses import ERROR_RESPONSES, json_response, page_links

# PostHog's SESSION_RECORDINGS_DEFAULT_LIMIT.
DEFAULT_LIMIT = 50
# Filter values are documented as printable ASCII (JSON escapes the rest), with lengths
# that keep a URL carrying all of them, percent-encoded, within the request head the
# server reads (`MAX_REQUEST_HEAD_BYTES`): about 300 session ids.
_ASCII: dict[str, Any] = {"pattern": "^[ -~]*$"}

_LISTING_DESCRIPTION = """The team's recordings with `has_summary` and `summary_outcome`.

Filters are PostHog's `RecordingsQuery` parameters; list values are JSON arrays
(`session_ids=["a","b"]`). A PostHog filter recap does not implement (`properties`,
`events`, `actions`, `console_log_filters`, `comment_text`, `filter_test_accounts`,
`operand`, `kind`, `session_recording_id`, `after`, `modifiers`) answers 400 naming it,
unless its value is empty or PostHog's default; other unknown parameters are ignored.
A PostHog source lists PostHog's default window (the last 3 days) unless `date_from` is
given; a files source lists every file. Without `order`, a files source lists by id and a
PostHog source in PostHog's order (newest first)."""


def listing_router() -> APIRouter:
    """`GET …/session_recordings/`. A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_recordings/",
        list_session_recordings,
        methods=["GET"],
        response_model=PaginatedSessionRecordingList,
        summary="List recordings with their summary state",
        description=_LISTING_DESCRIPTION,
    )
    return routes


async def list_session_recordings(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    has_summary: bool | None = None,
    outcome: Literal["success", "failure"] | None = None,
    date_from: Annotated[
        str | None,
        Query(
            max_length=40,
            json_schema_extra=_ASCII,
            description="recordings that started at or after: ISO date or time (UTC unless"
            " it says), or relative like `-7d`, `-24h`, `-30M` (minutes), `-1m` (months)",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            max_length=40,
            json_schema_extra=_ASCII,
            description="recordings that started at or before; a bare date means its end",
        ),
    ] = None,
    session_ids: Annotated[
        str | None,
        Query(
            max_length=12_000,
            json_schema_extra=_ASCII,
            description='JSON list of recording ids: `["a","b"]`',
        ),
    ] = None,
    distinct_ids: Annotated[
        str | None,
        Query(
            max_length=4000,
            json_schema_extra=_ASCII,
            description='JSON list of distinct ids: `["user-1"]` (JSON escapes other characters)',
        ),
    ] = None,
    person_uuid: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra=_ASCII,
            description="recordings of the person with this uuid (a files source knows no"
            " persons: none match)",
        ),
    ] = None,
    having_predicates: Annotated[
        str | None,
        Query(
            max_length=400,
            json_schema_extra=_ASCII,
            description='JSON list, e.g. `[{"type":"recording","key":"duration",'
            '"operator":"gt","value":60}]`: keys duration, active_seconds,'
            " inactive_seconds; operators gt, gte, lt, lte, exact (seconds)",
        ),
    ] = None,
    order: Annotated[
        RecordingOrder | None, Query(description="sort key (`duration` is recording_duration)")
    ] = None,
    order_direction: Annotated[
        OrderDirection, Query(description="with `order`; recordings without the value last")
    ] = "DESC",
) -> JSONResponse:
    refuse_unimplemented(request.query_params)
    filters = recording_filters(
        date_from=date_from,
        date_to=date_to,
        session_ids=session_ids,
        distinct_ids=distinct_ids,
        person_uuid=person_uuid,
        having_predicates=having_predicates,
        order=order,
        order_direction=order_direction,
        now=datetime.now(UTC),
    )
    listing = await state.catalog.listing(
        caller.team_id,
        limit=limit,
        offset=offset,
        has_summary=has_summary,
        success=None if outcome is None else outcome == "success",
        filters=filters,
    )
    public_url = state.settings.api_public_url
    following, previous = page_links(request, listing.count, limit, offset, public_url)
    page = PaginatedSessionRecordingList(
        count=listing.count,
        next=following,
        previous=previous,
        results=listing.results,
        has_next=following is not None,
    )
    return json_response(page, exclude={"results": {"__all__": {"summary"}}})
