"""Pattern reports across sessions: `POST …/session_summaries/create_session_summaries/`, as
PostHog's endpoint of the same path and body, and recap's own `…/session_summaries/reports/`
and `…/reports/{report_id}/`, which read stored reports back (JSON, or Markdown on
`Accept: text/markdown`).

The create endpoint answers the report in PostHog's shape when it is done within the wait
(RECAP_API_WAIT_TIMEOUT_SECONDS, or `?timeout=` below it). `?async=true` or
`Prefer: respond-async` answers the job handle at once (202), and so does a report still
running when the wait runs out. It needs `session_recording:read`, as PostHog's."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from recap.api import errors
from recap.api.deps import Caller, Runtime, RuntimeDep, TeamReader
from recap.api.models import SessionSummariesJob, SessionSummariesRequest, is_session_id
from recap.api.report_shape import (
    PaginatedPatternReportList,
    SessionGroupPatterns,
    report_row,
    shape_report,
)
from recap.api.responses import (
    ERROR_RESPONSES,
    WORKFLOW_HEADER,
    AsyncQuery,
    TimeoutQuery,
    job_accepted,
    json_response,
    page_links,
    prefers_media,
    wait_limit,
    wants_async,
)
from recap.api.summary_shape import shape_summaries
from recap.core.logging import get_logger
from recap.jobs import reports as report_jobs
from recap.llm.schema import SessionSummary
from recap.reports import render_markdown
from recap.reports.models import PatternReport, SessionNotReported
from recap.store.reports import ReportStore

log = get_logger(__name__)

MARKDOWN = "text/markdown"
REPORT_ID = re.compile(r"rp_[0-9a-f]{16}")
NO_REPORT = "No report found with this id."


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_summaries/create_session_summaries/",
        create_session_summaries,
        methods=["POST"],
        response_model=SessionGroupPatterns,
        summary="Find patterns across sessions (a pattern report)",
        description=(
            "Summarizes each session (reusing stored summaries), finds the patterns across"
            " them and answers PostHog's `{patterns: [...]}` with recap's report fields beside."
            " `?async=true` or `Prefer: respond-async` answers the job handle instead (202),"
            " as does a report still running when the wait runs out."
        ),
        responses={
            202: {
                "model": SessionSummariesJob,
                "description": "the report's job: asked for, or still running after the wait",
            }
        },
    )
    routes.add_api_route(
        "/session_summaries/reports/",
        list_reports,
        methods=["GET"],
        response_model=PaginatedPatternReportList,
        summary="List the team's pattern reports, newest first (without examples)",
    )
    routes.add_api_route(
        "/session_summaries/reports/{report_id}/",
        get_report,
        methods=["GET"],
        response_model=PatternReport,
        summary="A stored pattern report",
        responses={
            200: {
                "description": f"the report; with `Accept: {MARKDOWN}`, as Markdown",
                "content": {MARKDOWN: {"schema": {"type": "string"}}},
            }
        },
    )
    return routes


async def create_session_summaries(
    request: Request,
    body: SessionSummariesRequest,
    caller: TeamReader,
    state: RuntimeDep,
    async_: AsyncQuery = False,
    wait_seconds: TimeoutQuery = None,
) -> JSONResponse:
    requested = list(dict.fromkeys(body.session_ids))
    # Ids recap cannot hold start nothing; they are answered as not reported.
    session_ids = [id_ for id_ in requested if is_session_id(id_)]
    if not session_ids:
        raise errors.ApiProblem(
            400, "validation_error", "invalid_input", errors.NOT_A_RECORDING_ID, "session_ids"
        )
    client = await state.temporal()
    try:
        workflow_id = await report_jobs.start_report(
            client,
            state.settings,
            team_id=caller.team_id,
            session_ids=session_ids,
            selection=None,
            focus_area=body.focus_area,
            force=False,
            deliver=False,
        )
    except Exception as error:
        raise errors.unavailable("Temporal", f"starting a report: {error!r}") from None
    log.info(
        "report started",
        team_id=caller.team_id,
        workflow_id=workflow_id,
        sessions=len(session_ids),
        key_id=caller.key.id,
    )
    result = None
    asked = wants_async(request, async_)
    if not asked:
        limit = wait_limit(wait_seconds, state.settings.api_wait_timeout_seconds)
        try:
            result = await report_jobs.report_result(client, workflow_id, limit)
        except report_jobs.ReportFailed as failure:
            raise _failed(failure, workflow_id) from None
    if result is None:
        response = job_accepted(body, workflow_id, asked=asked)
    else:
        unheld = [
            SessionNotReported(
                session_id=id_, error="recording_not_found", error_message=errors.NOT_A_RECORDING_ID
            )
            for id_ in requested
            if not is_session_id(id_)
        ]
        answer = await asyncio.to_thread(_answer, state, caller, result.report_id, unheld)
        response = json_response(answer)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response


def _failed(failure: report_jobs.ReportFailed, workflow_id: str) -> errors.ApiProblem:
    """A failed report (a model step failed after its retries, the budget is spent …) in
    PostHog's error body: its type, never its text, which stays in the workflow's history."""
    log.warning(
        "report failed", workflow_id=workflow_id, error_type=failure.error_type, error=str(failure)
    )
    return errors.ApiProblem(
        503,
        "server_error",
        "report_failed",
        f"The report failed ({failure.error_type}); try again later. Operators find the cause"
        f" in workflow {workflow_id}.",
    )


def _answer(
    state: Runtime, caller: Caller, report_id: str, unheld: list[SessionNotReported]
) -> SessionGroupPatterns:
    report = ReportStore(state.store).report(caller.team_id, report_id)
    if report is None:
        # The workflow stores the report before it completes: a store that lost it is down.
        raise errors.unavailable("The report store", f"report {report_id} not found after its run")
    summaries: dict[str, SessionSummary] = {}
    for session_id in {example.session_id for p in report.patterns for example in p.examples}:
        stored = state.store.get_summary(
            team_id=caller.team_id, session_id=session_id, focus_area=report.inputs.focus_area
        )
        if stored is not None and stored.summary is not None:
            summaries[session_id] = stored.summary
    return shape_report(report, shape_summaries(state.store, summaries), unheld)


async def list_reports(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONResponse:
    count, reports = await asyncio.to_thread(
        ReportStore(state.store).reports, caller.team_id, limit=limit, offset=offset
    )
    following, previous = page_links(request, count, limit, offset, state.settings.api_public_url)
    page = PaginatedPatternReportList(
        count=count,
        next=following,
        previous=previous,
        results=[report_row(report) for report in reports],
    )
    return json_response(page)


async def get_report(
    request: Request, report_id: str, caller: TeamReader, state: RuntimeDep
) -> Response:
    if REPORT_ID.fullmatch(report_id) is None:
        raise errors.not_found(NO_REPORT)
    report = await asyncio.to_thread(ReportStore(state.store).report, caller.team_id, report_id)
    if report is None:
        raise errors.not_found(NO_REPORT)
    if prefers_media(request, MARKDOWN):
        return Response(render_markdown(report), media_type=f"{MARKDOWN}; charset=utf-8")
    return json_response(report)
