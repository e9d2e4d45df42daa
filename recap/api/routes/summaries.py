"""`POST …/session_summaries/create_session_summaries_individually/`: one batch job that
summarizes each session on its own, as PostHog's endpoint of the same path.

As PostHog, it answers 200 with one entry per requested session: the summary in PostHog's
shape, or `{error, error_message}`. The wait is bounded (RECAP_API_WAIT_TIMEOUT_SECONDS,
or `?timeout=` below it); a session still running then is `summary_pending` with the
workflow to follow, so no session is silently missing. `?async=true` or
`Prefer: respond-async` answers the job handle at once instead (202). It needs
`session_recording:read`, as PostHog's."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from recap.api import errors
from recap.api.deps import Caller, Runtime, RuntimeDep, TeamReader
from recap.api.models import (
    SessionSummariesJob,
    SessionSummariesRequest,
    SummaryError,
    SummaryErrorType,
    is_session_id,
)
from recap.api.responses import (
    ERROR_RESPONSES,
    WORKFLOW_HEADER,
    AsyncQuery,
    TimeoutQuery,
    job_accepted,
    wait_limit,
    wants_async,
)
from recap.api.summary_shape import PostHogSessionSummary, shape_summaries
from recap.core.logging import get_logger
from recap.jobs import client as jobs
from recap.llm.schema import SessionSummary
from workflows.contracts import BatchProgress

log = get_logger(__name__)

# PostHog's two named errors pass through; any other failure is its catch-all.
_POSTHOG_ERRORS: dict[str, SummaryErrorType] = {
    "recording_not_found": "recording_not_found",
    "no_events_or_too_short": "no_events_or_too_short",
}


def router() -> APIRouter:
    """A fresh router for each prefix: the request metrics tell prefixes apart by the
    identity of their routes (`RouteTemplates`)."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_summaries/create_session_summaries_individually/",
        create_session_summaries_individually,
        methods=["POST"],
        response_model=dict[str, PostHogSessionSummary | SummaryError],
        summary="Summarize each session on its own (one batch job)",
        description=(
            "Answers one entry per requested session, keyed by its id: the summary, or"
            " `{error, error_message}`. `?async=true` or `Prefer: respond-async` answers the"
            " batch's job handle instead (202)."
        ),
        responses={
            202: {
                "model": SessionSummariesJob,
                "description": "`?async=true` or `Prefer: respond-async`: the batch's job",
            }
        },
    )
    return routes


async def create_session_summaries_individually(
    request: Request,
    body: SessionSummariesRequest,
    caller: TeamReader,
    state: RuntimeDep,
    async_: AsyncQuery = False,
    wait_seconds: TimeoutQuery = None,
) -> JSONResponse:
    client = await state.temporal()
    # Ids recap cannot hold start nothing; they are answered `recording_not_found`.
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
    if wants_async(request, async_):
        response: JSONResponse = job_accepted(body, workflow_id)
    else:
        limit = wait_limit(wait_seconds, state.settings.api_wait_timeout_seconds)
        progress = await jobs.batch_result(client, workflow_id, limit)
        results = await asyncio.to_thread(batch_results, state, caller, body, progress, workflow_id)
        response = JSONResponse(results)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response


def batch_results(
    state: Runtime,
    caller: Caller,
    request: SessionSummariesRequest,
    progress: BatchProgress | None,
    workflow_id: str,
) -> dict[str, Any]:
    """Each requested session's stored summary in PostHog's shape, or its error. With the
    batch still running (`progress` is None), a session without a summary yet is pending."""
    failures = {failure.session_id: failure for failure in progress.failures} if progress else {}
    answers: dict[str, SummaryError] = {}
    summaries: dict[str, SessionSummary] = {}
    for session_id in dict.fromkeys(request.session_ids):
        if not is_session_id(session_id):
            answers[session_id] = SummaryError(
                error="recording_not_found", error_message=errors.NOT_A_RECORDING_ID
            )
            continue
        failure = failures.get(session_id)
        if failure is not None:
            answers[session_id] = SummaryError(
                error=_POSTHOG_ERRORS.get(failure.error_type, "summary_failed"),
                error_message=errors.failure_message(failure.error_type, session_id),
            )
            continue
        stored = state.store.get_summary(
            team_id=caller.team_id, session_id=session_id, focus_area=request.focus_area
        )
        if stored is not None and stored.summary is not None:
            summaries[session_id] = stored.summary
        elif progress is None:
            answers[session_id] = SummaryError(
                error="summary_pending",
                error_message=(
                    f"Session {session_id} is still being summarized; follow the batch at"
                    f" /api/jobs/{workflow_id} or ask again."
                ),
                workflow_id=workflow_id,
            )
        else:
            answers[session_id] = SummaryError(
                error="summary_failed", error_message="the batch ended without a stored summary"
            )
    shaped = shape_summaries(state.store, summaries)
    return {
        session_id: (
            shaped[session_id].model_dump(mode="json")
            if session_id in shaped
            else answers[session_id].model_dump(mode="json", exclude_none=True)
        )
        for session_id in dict.fromkeys(request.session_ids)
    }
