"""The team's pattern reports and digests as pages: a list of each, newest first, and one
report or digest with its patterns, their share of the sessions and their examples, each
example a link to the cited line of the session's timeline. Read-only, from the store."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recap.api.routes.digests import DIGEST_ID
from recap.api.routes.reports import REPORT_ID
from recap.api.ui.common import not_found, page, page_number, team_page, ui_state
from recap.api.ui.report_views import (
    MAX_SHORT_TEXT,
    change_counts,
    clip,
    digest_context,
    report_context,
    report_status,
    when,
)
from recap.store.reports import ReportStore

PAGE_SIZE = 25


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/reports", reports_page, methods=["GET"])
    routes.add_api_route("/{project_id}/reports/{report_id}", report_page, methods=["GET"])
    routes.add_api_route("/{project_id}/digests", digests_page, methods=["GET"])
    routes.add_api_route("/{project_id}/digests/{digest_id}", digest_page, methods=["GET"])
    return routes


def _pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


async def reports_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/reports`: the team's stored reports, newest first."""
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    number = page_number(request.query_params.get("page"))
    store = ReportStore(ui_state(request).store)
    count, reports = await asyncio.to_thread(
        store.reports, project_id, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    rows = [
        {
            "id": report.report_id,
            "title": clip(report.title, MAX_SHORT_TEXT),
            "focus_area": clip(report.inputs.focus_area, MAX_SHORT_TEXT)
            if report.inputs.focus_area
            else None,
            "created_at": report.created_at,
            "sessions": report.sessions_reported,
            "sessions_failed": report.sessions_failed,
            "patterns": len(report.patterns),
            "status": report_status(report),
        }
        for report in reports
    ]
    return page(
        request,
        "reports.html",
        {
            "team_id": project_id,
            "rows": rows,
            "count": count,
            "page": number,
            "pages": _pages(count),
            "when": when,
        },
        session=session,
    )


async def report_page(request: Request, project_id: str, report_id: str) -> Response:
    """`/ui/{project_id}/reports/{report_id}`: one report's patterns and examples."""
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    if REPORT_ID.fullmatch(report_id) is None:
        return not_found(request, session)
    store = ReportStore(ui_state(request).store)
    report = await asyncio.to_thread(store.report, project_id, report_id)
    if report is None:
        return not_found(request, session)
    return page(
        request,
        "report.html",
        {"team_id": project_id, **report_context(report)},
        session=session,
    )


async def digests_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/digests`: the team's digests, the latest period first."""
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    number = page_number(request.query_params.get("page"))
    store = ReportStore(ui_state(request).store)
    count, digests = await asyncio.to_thread(
        store.digests, project_id, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    rows = [
        {
            "id": digest.digest_id,
            "schedule_id": digest.schedule_id,
            "period_start": digest.period_start,
            "period_end": digest.period_end,
            "sessions": digest.report.sessions_reported,
            "patterns": len(digest.report.patterns),
            "quiet": digest.quiet,
            "changes": [(kind, n) for kind, n in change_counts(digest) if n],
            "new_clusters": len(digest.new_clusters),
        }
        for digest in digests
    ]
    return page(
        request,
        "digests.html",
        {
            "team_id": project_id,
            "rows": rows,
            "count": count,
            "page": number,
            "pages": _pages(count),
            "when": when,
        },
        session=session,
    )


async def digest_page(request: Request, project_id: str, digest_id: str) -> Response:
    """`/ui/{project_id}/digests/{digest_id}`: a period's report and how it changed."""
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    if DIGEST_ID.fullmatch(digest_id) is None:
        return not_found(request, session)
    store = ReportStore(ui_state(request).store)
    digest = await asyncio.to_thread(store.digest, project_id, digest_id)
    if digest is None:
        return not_found(request, session)
    return page(
        request,
        "digest.html",
        {"team_id": project_id, **digest_context(digest)},
        session=session,
    )
