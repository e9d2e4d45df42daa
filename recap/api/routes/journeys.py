"""One person's journey across sessions: `GET …/persons/{distinct_id}/journey/` answers the
latest stored journey of the team's person (JSON, or Markdown on `Accept: text/markdown`);
`POST` the same path builds one over `?since=` (default 30d) with the report endpoints'
bounded wait: the journey when it is stored within the wait, else its job handle (202), at
once with `?async=true` or `Prefer: respond-async`.

A distinct id holding `/` is not addressable here (use `recap journey`)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from recap.api import errors
from recap.api.deps import RuntimeDep, TeamReader, TeamWriter
from recap.api.responses import (
    ERROR_RESPONSES,
    WORKFLOW_HEADER,
    AsyncQuery,
    TimeoutQuery,
    json_response,
    prefers_media,
    wait_limit,
    wants_async,
)
from recap.core.logging import get_logger
from recap.jobs import journeys as journey_jobs
from recap.journeys import render_journey_markdown
from recap.services.journeys import StoredJourney, latest_journey, stored_journey

log = get_logger(__name__)

MARKDOWN = "text/markdown"
NO_JOURNEY = "No journey of this person is stored; POST to this path to build one."
NO_SESSIONS = "No recording of this person started in the period; check the id and `since`."
MAX_DISTINCT_ID = 400
_SINCE = re.compile(r"([1-9][0-9]{0,4})([hdw])")
_UNIT_SECONDS = {"h": 3600, "d": 86_400, "w": 7 * 86_400}
DEFAULT_SINCE = "30d"
LONGEST_SECONDS = 10 * 366 * 86_400

SinceQuery = Annotated[
    str,
    Query(
        description="the period, back from now: a number and h, d or w (`30d`, `2w`)",
        max_length=8,
    ),
]


class PersonJourneyJob(BaseModel):
    """A journey still being built: follow it at `GET /api/jobs/{workflow_id}/`, or GET this
    path once it is stored."""

    distinct_id: str
    since_seconds: int
    workflow_id: str
    status: Literal["running"] = "running"


def router() -> APIRouter:
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/persons/{distinct_id}/journey/",
        get_journey,
        methods=["GET"],
        response_model=StoredJourney,
        summary="The latest stored journey of one person across sessions",
        responses={
            200: {
                "description": f"the journey; with `Accept: {MARKDOWN}`, as Markdown",
                "content": {MARKDOWN: {"schema": {"type": "string"}}},
            }
        },
    )
    routes.add_api_route(
        "/persons/{distinct_id}/journey/",
        create_journey,
        methods=["POST"],
        response_model=StoredJourney,
        summary="Build one person's journey over their sessions of a period",
        description=(
            "Selects the person's recordings that started within `since`, summarizes the"
            " missing ones, and builds and stores the journey. Answers it when it is stored"
            " within the wait; `?async=true` or `Prefer: respond-async` answers the job"
            " handle instead (202), as does a journey still running when the wait runs out."
        ),
        responses={202: {"model": PersonJourneyJob, "description": "the journey's job"}},
    )
    return routes


def _distinct_id(distinct_id: str) -> str:
    if not distinct_id.strip() or len(distinct_id) > MAX_DISTINCT_ID:
        raise errors.not_found(NO_JOURNEY)
    return distinct_id


def since_seconds(since: str) -> int:
    """`30d` -> seconds; a 400 naming `since` otherwise."""
    found = _SINCE.fullmatch(since.strip())
    seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)] if found else 0
    if not found or seconds > LONGEST_SECONDS:
        raise errors.ApiProblem(
            400,
            "validation_error",
            "invalid_input",
            "`since` is a number and h, d or w (e.g. 30d), at most ten years",
            "since",
        )
    return seconds


def _answer(request: Request, journey: StoredJourney) -> Response:
    if prefers_media(request, MARKDOWN):
        return Response(
            render_journey_markdown(journey.journey), media_type=f"{MARKDOWN}; charset=utf-8"
        )
    return json_response(journey)


async def get_journey(
    request: Request, distinct_id: str, caller: TeamReader, state: RuntimeDep
) -> Response:
    distinct_id = _distinct_id(distinct_id)
    journey = await asyncio.to_thread(latest_journey, state.store, caller.team_id, distinct_id)
    if journey is None:
        raise errors.not_found(NO_JOURNEY)
    return _answer(request, journey)


async def create_journey(
    request: Request,
    distinct_id: str,
    caller: TeamWriter,
    state: RuntimeDep,
    since: SinceQuery = DEFAULT_SINCE,
    async_: AsyncQuery = False,
    wait_seconds: TimeoutQuery = None,
) -> Response:
    distinct_id = _distinct_id(distinct_id)
    seconds = since_seconds(since)
    client = await state.temporal()
    try:
        workflow_id = await journey_jobs.start_journey(
            client,
            state.settings,
            team_id=caller.team_id,
            distinct_id=distinct_id,
            since_seconds=seconds,
        )
    except Exception as error:
        raise errors.unavailable("Temporal", f"starting a journey: {error!r}") from None
    log.info("journey started", team_id=caller.team_id, workflow_id=workflow_id)
    result = None
    asked = wants_async(request, async_)
    if not asked:
        limit = wait_limit(wait_seconds, state.settings.api_wait_timeout_seconds)
        try:
            result = await journey_jobs.journey_result(client, workflow_id, limit)
        except journey_jobs.JourneyFailed as failure:
            raise _failed(failure, workflow_id) from None
    response: Response
    if result is None:
        job = PersonJourneyJob(
            distinct_id=distinct_id, since_seconds=seconds, workflow_id=workflow_id
        )
        response = json_response(job, 202)
        if asked:
            response.headers["Preference-Applied"] = "respond-async"
    else:
        journey = await asyncio.to_thread(
            stored_journey, state.store, caller.team_id, result.journey_id
        )
        if journey is None:
            raise errors.unavailable("The journey store", f"{result.journey_id} not found")
        response = _answer(request, journey)
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response


def _failed(failure: journey_jobs.JourneyFailed, workflow_id: str) -> errors.ApiProblem:
    """No recording of the person is a 404; any other failure is its type (never its text,
    which stays in the workflow's history)."""
    if failure.error_type == "person_has_no_sessions":
        return errors.not_found(NO_SESSIONS)
    log.warning("journey failed", workflow_id=workflow_id, error_type=failure.error_type)
    return errors.ApiProblem(
        503,
        "server_error",
        "journey_failed",
        f"The journey failed ({failure.error_type}); try again later. Operators find the"
        f" cause in workflow {workflow_id}.",
    )
