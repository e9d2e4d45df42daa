"""`GET …/session_recordings/error_clusters/`: the team's error clusters, as the last
clustering run stored them, most sessions affected first."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from recap.api.deps import RuntimeDep, TeamReader
from recap.api.models import PaginatedErrorClusterList
from recap.api.responses import ERROR_RESPONSES, json_response, page_links
from recap.store.clusters import ClusterStore


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_recordings/error_clusters/",
        list_error_clusters,
        methods=["GET"],
        response_model=PaginatedErrorClusterList,
        summary="The team's error clusters, most sessions affected first",
    )
    return routes


async def list_error_clusters(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONResponse:
    clusters = await asyncio.to_thread(ClusterStore(state.store).load_clusters, caller.team_id)
    public_url = state.settings.api_public_url
    following, previous = page_links(request, len(clusters), limit, offset, public_url)
    page = PaginatedErrorClusterList(
        count=len(clusters),
        next=following,
        previous=previous,
        results=clusters[offset : offset + limit],
    )
    return json_response(page)
