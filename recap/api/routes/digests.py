"""recap's own `…/session_summaries/digests/` and `…/digests/{digest_id}/`: the digests a
digest schedule stored (a period's pattern report compared with the previous period's),
as JSON, or Markdown on `Accept: text/markdown`. PostHog has no digests."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from recap.api import errors
from recap.api.deps import RuntimeDep, TeamReader
from recap.api.responses import ERROR_RESPONSES, json_response, page_links, prefers_media
from recap.reports import render_digest_markdown
from recap.reports.models import Digest
from recap.store.reports import ReportStore

MARKDOWN = "text/markdown"
DIGEST_ID = re.compile(r"dg_[0-9a-f]{16}")
NO_DIGEST = "No digest found with this id."


class DigestRow(BaseModel):
    """A digest without its report's patterns: what changed, in counts."""

    digest_id: str
    schedule_id: str
    period_start: datetime
    period_end: datetime
    report_id: str
    sessions_reported: int
    quiet: bool
    new_patterns: int
    rising_patterns: int
    gone_patterns: int
    new_clusters: int


class PaginatedDigestList(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[DigestRow]


def _row(digest: Digest) -> DigestRow:
    def changed(kind: str) -> int:
        return sum(change.change == kind for change in digest.changes)

    return DigestRow(
        digest_id=digest.digest_id,
        schedule_id=digest.schedule_id,
        period_start=digest.period_start,
        period_end=digest.period_end,
        report_id=digest.report.report_id,
        sessions_reported=digest.report.sessions_reported,
        quiet=digest.quiet,
        new_patterns=changed("new"),
        rising_patterns=changed("rising"),
        gone_patterns=changed("gone"),
        new_clusters=len(digest.new_clusters),
    )


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        "/session_summaries/digests/",
        list_digests,
        methods=["GET"],
        response_model=PaginatedDigestList,
        summary="List the team's digests, the latest period first",
    )
    routes.add_api_route(
        "/session_summaries/digests/{digest_id}/",
        get_digest,
        methods=["GET"],
        response_model=Digest,
        summary="A stored digest with its report",
        responses={
            200: {
                "description": f"the digest; with `Accept: {MARKDOWN}`, as Markdown",
                "content": {MARKDOWN: {"schema": {"type": "string"}}},
            }
        },
    )
    return routes


async def list_digests(
    request: Request,
    caller: TeamReader,
    state: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONResponse:
    store = ReportStore(state.store)
    count, digests = await asyncio.to_thread(
        store.digests, caller.team_id, limit=limit, offset=offset
    )
    following, previous = page_links(request, count, limit, offset, state.settings.api_public_url)
    page = PaginatedDigestList(
        count=count, next=following, previous=previous, results=[_row(d) for d in digests]
    )
    return json_response(page)


async def get_digest(
    request: Request, digest_id: str, caller: TeamReader, state: RuntimeDep
) -> Response:
    if DIGEST_ID.fullmatch(digest_id) is None:
        raise errors.not_found(NO_DIGEST)
    digest = await asyncio.to_thread(ReportStore(state.store).digest, caller.team_id, digest_id)
    if digest is None:
        raise errors.not_found(NO_DIGEST)
    if prefers_media(request, MARKDOWN):
        return Response(render_digest_markdown(digest), media_type=f"{MARKDOWN}; charset=utf-8")
    return json_response(digest)
