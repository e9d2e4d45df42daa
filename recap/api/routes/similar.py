"""`GET …/session_recordings/{recording_id}/similar_sessions/`: the team's stored sessions
most like this one, with their titles and outcomes."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from recap.api.deps import StoreDep, TeamReader, path_session_id
from recap.api.errors import not_found
from recap.api.models import SimilarSession, SimilarSessionList
from recap.api.responses import ERROR_RESPONSES, json_response
from recap.services.similar import UnknownSession, similar_in_team


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_recordings/{recording_id}/similar_sessions/",
        similar_sessions,
        methods=["GET"],
        response_model=SimilarSessionList,
        summary="The team's stored sessions most like this one",
    )
    return routes


async def similar_sessions(
    recording_id: str,
    caller: TeamReader,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
) -> JSONResponse:
    session_id = path_session_id(recording_id)
    try:
        matches, summaries = await asyncio.to_thread(
            similar_in_team, store, caller.team_id, session_id, limit
        )
    except UnknownSession:
        raise not_found() from None
    results = [
        SimilarSession(
            session_id=match.session_id,
            score=match.score,
            title=summaries[match.session_id].title if match.session_id in summaries else None,
            summary_outcome=(
                summaries[match.session_id].summary_outcome
                if match.session_id in summaries
                else None
            ),
        )
        for match in matches
    ]
    return json_response(SimilarSessionList(session_id=session_id, results=results))
