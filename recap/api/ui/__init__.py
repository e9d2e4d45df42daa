"""recap's pages for people, under `/ui/`: server-rendered Jinja2 templates, readable
without JavaScript, for a team's members signed in with a password or a recap key.

`install` adds the pages to the API's app; they are left out of the OpenAPI document.
"""

from __future__ import annotations

from fastapi import FastAPI

from recap.api.deps import Runtime
from recap.api.ui import pages, session_page, sessions_list


def install(app: FastAPI, runtime: Runtime) -> None:
    """Adds the pages to `app`: sign-in and the sessions list, then one session's page."""
    pages.install(app, runtime)
    app.include_router(sessions_list.router())
    app.include_router(session_page.router())


__all__ = ["install"]
