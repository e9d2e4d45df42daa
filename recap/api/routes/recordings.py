"""`…/session_recordings/{recording_id}/`: one recording (optionally with its summary), and
summarizing one recording while the caller waits. The listing is `routes.listing`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from recap.api.deps import Caller, Runtime, RuntimeDep, TeamReader, TeamWriter, path_session_id
from recap.api.errors import ApiProblem, failure_message, not_found
from recap.api.models import (
    SessionRecording,
    SummarizeRecordingRequest,
)
from recap.api.responses import ERROR_RESPONSES, WORKFLOW_HEADER, json_response
from recap.api.summary_shape import shape_summaries
from recap.api.summary_stream import EVENT_STREAM, summary_events, wants_event_stream
from recap.core.naming import summary_workflow_id
from recap.jobs import client as jobs


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
        responses={
            200: {
                "description": "the recording with its summary; with `Accept: "
                f"{EVENT_STREAM}`, a stream of `progress` events, then `summary` (this "
                "body) or `error` (PostHog's error body)",
                "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            },
            202: {"model": SessionRecording, "description": "still summarizing"},
        },
    )
    return routes


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
    request: Request,
    body: SummarizeRecordingRequest | None = None,
) -> Response:
    """JSON by default; a server-sent event stream of the same answer when the caller's
    `Accept` asks for one (`recap.api.summary_stream`)."""
    session_id = path_session_id(recording_id)
    if await state.catalog.source_metadata(caller.team_id, session_id) is None:
        raise not_found(f"Recording {session_id} not found in the configured source.")
    answer = summarized_recording(session_id, caller, state, body)
    if wants_event_stream(request):
        focus_area = body.focus_area if body else None
        workflow_id = summary_workflow_id(caller.team_id, session_id, focus_area)
        return summary_events(answer, state, session_id, workflow_id)
    return await answer


async def summarized_recording(
    session_id: str, caller: Caller, state: Runtime, body: SummarizeRecordingRequest | None
) -> JSONResponse:
    """Summarizes a recording known to the team's source, waiting at most
    RECAP_API_WAIT_TIMEOUT_SECONDS: 200 with the summary, or 202 while it runs on."""
    focus_area = body.focus_area if body else None
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
        if stored is not None and stored.summary is not None:
            shaped = await asyncio.to_thread(
                shape_summaries, state.store, {session_id: stored.summary}
            )
            recording.summary = shaped[session_id]
    response = json_response(recording, status)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response
