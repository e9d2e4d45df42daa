"""`POST …/session_summaries/create_session_summaries_individually/`: one batch job that
summarizes each session on its own, as PostHog's endpoint of the same path; `?wait=true`
waits for it and answers with the summaries. As in PostHog, it needs
`session_recording:read`, and an id that names no recording is that session's
`recording_not_found` while the others are summarized."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from recap.api import errors
from recap.api.deps import Caller, Runtime, RuntimeDep, TeamReader
from recap.api.models import (
    SessionSummariesRequest,
    SessionSummariesResponse,
    SummaryError,
    is_session_id,
)
from recap.api.responses import ERROR_RESPONSES, WORKFLOW_HEADER, json_response
from recap.core.logging import get_logger
from recap.jobs import client as jobs
from recap.llm.schema import SessionSummary
from workflows.contracts import BatchProgress

log = get_logger(__name__)


def router() -> APIRouter:
    """A fresh router for each prefix: the request metrics tell prefixes apart by the
    identity of their routes (`RouteTemplates`)."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_summaries/create_session_summaries_individually/",
        create_session_summaries_individually,
        methods=["POST"],
        response_model=SessionSummariesResponse,
        summary="Summarize each session on its own (one batch job)",
        responses={
            202: {
                "model": SessionSummariesResponse,
                "description": "`?wait=true` ran out: the sessions in `pending` are still running",
            }
        },
    )
    return routes


async def create_session_summaries_individually(
    request: Request,
    body: SessionSummariesRequest,
    caller: TeamReader,
    state: RuntimeDep,
    wait: Annotated[bool, Query(description="wait for the batch and return results")] = False,
    wait_seconds: Annotated[
        float | None,
        Query(alias="timeout", gt=0, le=3600, description="seconds to wait (capped by settings)"),
    ] = None,
) -> JSONResponse:
    client = await state.temporal()
    # Ids recap cannot hold start nothing; they are answered in `results` below.
    session_ids = [id_ for id_ in dict.fromkeys(body.session_ids) if is_session_id(id_)]
    try:
        workflow_id = await jobs.start_batch(
            client,
            state.settings,
            team_id=caller.team_id,
            session_ids=session_ids,
            focus_area=body.focus_area,
            source=None,
            force=False,
            max_concurrency=None,
        )
    except Exception as error:
        raise errors.unavailable("Temporal", f"starting a batch: {error!r}") from None
    log.info(
        "batch started",
        team_id=caller.team_id,
        workflow_id=workflow_id,
        sessions=len(session_ids),
        key_id=caller.key.id,
    )
    answer = SessionSummariesResponse(
        session_ids=body.session_ids,
        focus_area=body.focus_area,
        workflow_id=workflow_id,
        status="running",
    )
    status = 200
    if wait:
        limit = min(
            wait_seconds or state.settings.api_wait_timeout_seconds,
            state.settings.api_wait_timeout_seconds,
        )
        progress = await jobs.batch_result(client, workflow_id, limit)
        results, pending = await asyncio.to_thread(_batch_results, state, caller, body, progress)
        answer.results = results
        if progress is None:
            answer.pending = pending
            status = 202
        else:
            answer.status = progress.status
    response = json_response(answer, status, exclude_none=False)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response


def _batch_results(
    state: Runtime, caller: Caller, request: SessionSummariesRequest, progress: BatchProgress | None
) -> tuple[dict[str, SessionSummary | SummaryError], list[str]]:
    """Each session's stored summary or error; with the batch still running (`progress` is
    None), the sessions without one yet are pending."""
    failures = {failure.session_id: failure for failure in progress.failures} if progress else {}
    results: dict[str, SessionSummary | SummaryError] = {}
    pending: list[str] = []
    for session_id in dict.fromkeys(request.session_ids):
        if not is_session_id(session_id):
            results[session_id] = SummaryError(
                error="recording_not_found", error_message=errors.NOT_A_RECORDING_ID
            )
            continue
        failure = failures.get(session_id)
        if failure is not None:
            results[session_id] = _summary_error(failure.error_type, session_id)
            continue
        stored = state.store.get_summary(
            team_id=caller.team_id, session_id=session_id, focus_area=request.focus_area
        )
        if stored is not None and stored.summary is not None:
            results[session_id] = stored.summary
        elif progress is None:
            pending.append(session_id)
        else:
            results[session_id] = SummaryError(
                error="summary_failed", error_message="the batch ended without a stored summary"
            )
    return results, pending


def _summary_error(error_type: str, session_id: str) -> SummaryError:
    """PostHog's two named errors as they are; any other failure as `summary_failed`."""
    message = errors.failure_message(error_type, session_id)
    if error_type in ("recording_not_found", "no_events_or_too_short"):
        return SummaryError(error=error_type, error_message=message)
    return SummaryError(error="summary_failed", error_message=message)
