"""recap's pages for people, under `/ui/`: server-rendered Jinja2 templates, readable
without JavaScript, for a team's members signed in with a password or a recap key.

`install` adds the pages to the API's app; they are left out of the OpenAPI document.
"""

from __future__ import annotations

from fastapi import FastAPI

from recap.api.deps import Runtime
from recap.api.ui import (
    clusters_page,
    jobs_page,
    journey_page,
    pages,
    reports_pages,
    session_page,
    sessions_list,
    summarize,
)


def install(app: FastAPI, runtime: Runtime) -> None:
    """Adds the pages to `app`: sign-in, the recordings and one session's page (with its
    Summarize button), reports and digests, error clusters, jobs."""
    pages.install(app, runtime)
    app.include_router(sessions_list.router())
    app.include_router(session_page.router())
    app.include_router(summarize.router())
    app.include_router(reports_pages.router())
    app.include_router(clusters_page.router())
    app.include_router(jobs_page.router())
    app.include_router(journey_page.router())


__all__ = ["install"]
