"""`GET /api/jobs/{workflow_id}`: a batch's, a clustering run's or a pattern report's
progress, for the team whose key asks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from recap.api.deps import KeyReader, RuntimeDep
from recap.api.errors import failure_message, not_found
from recap.api.models import JobStatus
from recap.api.responses import ERROR_RESPONSES, json_response
from recap.core.naming import job_team
from recap.jobs import client as jobs


def router() -> APIRouter:
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/api/jobs/{workflow_id}",
        job_status,
        methods=["GET"],
        response_model=JobStatus,
        summary="A job's progress",
    )
    return routes


async def job_status(workflow_id: str, caller: KeyReader, state: RuntimeDep) -> JSONResponse:
    # Job ids name their team (`session-batch:{team}:…`): another team's is not found.
    if job_team(workflow_id) != caller.team_id:
        raise not_found()
    job = await jobs.job_progress(await state.temporal(), workflow_id)
    if job is None:
        raise not_found()
    for failure in getattr(job.progress, "failures", []):
        # The type in words; the text stays with operators.
        failure.error = failure_message(failure.error_type, failure.session_id)
    return json_response(
        JobStatus(workflow_id=workflow_id, kind=job.kind, status=job.status, progress=job.progress)
    )
