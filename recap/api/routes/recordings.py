"""`…/session_recordings/`: the team's recordings with their summary state, one recording
(optionally with its summary), and summarizing one recording while the caller waits."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from recap.api.deps import RuntimeDep, TeamReader, TeamWriter, path_session_id
from recap.api.errors import ApiProblem, failure_message, not_found
from recap.api.models import (
    PaginatedSessionRecordingList,
    SessionRecording,
    SummarizeRecordingRequest,
)
from recap.api.responses import ERROR_RESPONSES, WORKFLOW_HEADER, json_response, page_links
from recap.core.naming import summary_workflow_id
from recap.jobs import client as jobs


def listing_router() -> APIRouter:
    """`GET …/session_recordings/`. A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_recordings/",
        list_session_recordings,
        methods=["GET"],
        response_model=PaginatedSessionRecordingList,
        summary="List recordings with their summary state",
    )
    return routes


def recording_router() -> APIRouter:
    """`…/session_recordings/{recording_id}/…`; included after the fixed paths under
    `session_recordings/` (`error_clusters/`), which `{recording_id}` would otherwise take."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_recordings/{recording_id}/",
        get_session_recording,
        methods=["GET"],
        response_model=SessionRecording,
        summary="One recording with has_summary and summary_outcome",
    )
    routes.add_api_route(
        "/session_recordings/{recording_id}/summarize/",
        summarize_session_recording,
        methods=["POST"],
        response_model=SessionRecording,
        summary="Summarize one recording and return it with its summary",
        responses={202: {"model": SessionRecording, "description": "still summarizing"}},
    )
    return routes


async def list_session_recordings(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    has_summary: bool | None = None,
    outcome: Literal["success", "failure"] | None = None,
) -> JSONResponse:
    listing = await state.catalog.listing(
        caller.team_id,
        limit=limit,
        offset=offset,
        has_summary=has_summary,
        success=None if outcome is None else outcome == "success",
    )
    public_url = state.settings.api_public_url
    following, previous = page_links(request, listing.count, limit, offset, public_url)
    page = PaginatedSessionRecordingList(
        count=listing.count, next=following, previous=previous, results=listing.results
    )
    return json_response(page, exclude={"results": {"__all__": {"summary"}}})


async def get_session_recording(
    recording_id: str,
    caller: TeamReader,
    state: RuntimeDep,
    include: Annotated[
        Literal["summary"] | None, Query(description="`summary` adds the full summary")
    ] = None,
) -> JSONResponse:
    recording = await state.catalog.recording(
        caller.team_id, path_session_id(recording_id), with_summary=include == "summary"
    )
    if recording is None:
        raise not_found()
    exclude = None if include == "summary" else {"summary"}
    return json_response(recording, exclude=exclude)


async def summarize_session_recording(
    recording_id: str,
    caller: TeamWriter,
    state: RuntimeDep,
    body: SummarizeRecordingRequest | None = None,
) -> JSONResponse:
    session_id = path_session_id(recording_id)
    focus_area = body.focus_area if body else None
    if await state.catalog.source_metadata(caller.team_id, session_id) is None:
        raise not_found(f"Recording {session_id} not found in the configured source.")
    client = await state.temporal()
    task = asyncio.ensure_future(
        jobs.summarize_sessions(
            client,
            state.settings,
            team_id=caller.team_id,
            session_ids=[session_id],
            focus_area=focus_area,
            source=None,
            # A stored summary for this focus area and prompt is reused: a model call costs.
            force=body.force if body else False,
        )
    )
    workflow_id = summary_workflow_id(caller.team_id, session_id, focus_area)
    status = 200
    try:
        # Shielded: running out of time ends the wait, not the summary.
        (outcome,) = await asyncio.wait_for(
            asyncio.shield(task), state.settings.api_wait_timeout_seconds
        )
    except TimeoutError:
        status = 202
    else:
        if outcome.error_type == "recording_not_found":
            raise not_found(f"Recording {session_id} not found in the configured source.")
        if outcome.error_type == "no_events_or_too_short":
            detail = failure_message(outcome.error_type, session_id)
            raise ApiProblem(400, "validation_error", "no_events_or_too_short", detail)
        if outcome.error_type == "budget_exceeded":
            detail = failure_message(outcome.error_type, session_id)
            raise ApiProblem(429, "throttled_error", "budget_exceeded", detail)
        if outcome.error_type is not None:
            detail = failure_message(outcome.error_type, session_id)
            raise ApiProblem(502, "server_error", "summary_failed", detail)
    recording = await state.catalog.recording(caller.team_id, session_id, with_summary=True)
    assert recording is not None
    if focus_area:
        # The focused summary, not the default one the recording object speaks for.
        stored = state.store.get_summary(
            team_id=caller.team_id, session_id=session_id, focus_area=focus_area
        )
        if stored is not None:
            recording.summary = stored.summary
    response = json_response(recording, status)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response
