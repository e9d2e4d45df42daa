"""Summarizing one session from its page: the Summarize form's POST starts the session's
summary workflow as the API's `summarize/` does and redirects back to the page, which shows
the run's step; the page's script polls the JSON progress instead, and reloads when done."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from recap.api.errors import ApiProblem, failure_message
from recap.api.models import MAX_FOCUS_AREA, is_session_id
from recap.api.ui.common import (
    UiState,
    can_write,
    csrf_refused,
    not_found,
    problem,
    read_form,
    redirect,
    signed_in,
    tokens_match,
    ui_state,
)
from recap.core.logging import get_logger
from recap.core.naming import summary_workflow_id
from recap.jobs import client as jobs

log = get_logger(__name__)

# The summary workflow's steps (its `status` query) as the page names them.
STEPS: dict[str, tuple[int, str]] = {
    "starting": (0, "starting"),
    "compiling": (1, "compiling the timeline"),
    "summarizing": (2, "calling the model and checking its claims"),
    "storing": (3, "storing the summary"),
    "summarized": (3, "storing the summary"),
}
STEP_COUNT = 3

ProgressState = Literal["idle", "running", "done", "failed", "unavailable"]


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route(
        "/{project_id}/sessions/{session_id}/summarize", summarize, methods=["POST"]
    )
    routes.add_api_route("/{project_id}/sessions/{session_id}/progress", progress, methods=["GET"])
    return routes


@dataclass(frozen=True)
class Progress:
    """Where the summary of one session (for one focus area) stands, in words."""

    state: ProgressState
    detail: str
    workflow_id: str
    step: str | None = None
    # The step's place among STEP_COUNT; 0 while it starts.
    position: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "step": self.step,
            "position": self.position,
            "steps": STEP_COUNT,
            "detail": self.detail,
            "workflow_id": self.workflow_id,
        }


def focus_area(text: str | None) -> str | None:
    """A form's or address's focus area: trimmed, None when empty."""
    return (text or "").strip() or None


def page_focus(text: str | None) -> str | None:
    """The `?focus=` a page shows the summary of; one no form could send is ignored."""
    focus = focus_area(text)
    return focus if focus is None or len(focus) <= MAX_FOCUS_AREA else None


def page_url(
    project_id: str, session_id: str, *, focus: str | None = None, job: str | None = None
) -> str:
    """The session page's address, for `focus` and following the run `job`."""
    query = {name: value for name, value in (("focus", focus), ("job", job)) if value}
    path = f"/ui/{quote(project_id, safe='')}/sessions/{quote(session_id, safe='')}"
    return f"{path}?{urlencode(query)}" if query else path


def running_words(step: str | None) -> tuple[int, str]:
    position, words = STEPS.get(step or "starting", (0, "starting"))
    if position == 0:
        return 0, "Summarizing… starting"
    return position, f"Summarizing… step {position} of {STEP_COUNT}: {words}"


async def progress_of(ui: UiState, team_id: str, session_id: str, focus: str | None) -> Progress:
    """The latest run of the session's summary workflow for `focus`, or, with none, whether
    a summary is stored."""
    workflow_id = summary_workflow_id(team_id, session_id, focus)
    try:
        client = await ui.runtime.temporal()
        run = await jobs.summary_run(client, workflow_id)
    except Exception as error:
        # Temporal down or refusing (ApiProblem, or the SDK's RPCError): said on the page.
        log.warning(
            "ui progress unavailable",
            team_id=team_id,
            workflow_id=workflow_id,
            error=type(error).__name__,
        )
        return Progress(
            "unavailable",
            "Temporal is unavailable, so how far the summary got is unknown; recap asks again.",
            workflow_id,
        )
    if run is None:
        stored = await asyncio.to_thread(
            ui.store.get_summary, team_id=team_id, session_id=session_id, focus_area=focus
        )
        if stored is not None and stored.summary is not None:
            return Progress("done", "Summarized.", workflow_id)
        return Progress("idle", "Not summarized yet.", workflow_id)
    if run.status == "running":
        position, words = running_words(run.step)
        return Progress("running", words, workflow_id, run.step, position)
    if run.status == "completed":
        return Progress("done", "Summarized.", workflow_id, "summarized", STEP_COUNT)
    if run.status == "failed":
        message = failure_message(run.error_type or "workflow_failed", session_id)
        return Progress("failed", message, workflow_id, "failed")
    ended = run.status.replace("_", " ")
    return Progress(
        "failed",
        f"The summary run was {ended} before it finished; summarize again to start a new one.",
        workflow_id,
        "failed",
    )


# Routes


async def summarize(request: Request, project_id: str, session_id: str) -> Response:
    """Starts the summary of `session_id` (again, with `force`), for the form's focus area,
    and redirects to the session page following the run."""
    ui = ui_state(request)
    session, _ = await signed_in(request)
    if session is None:
        # Back to the page, not to this POST-only address, once signed in.
        return redirect(f"/ui/sign-in?next={quote(page_url(project_id, session_id), safe='/')}")
    if session.team_id != project_id or not is_session_id(session_id):
        return not_found(request, session)
    form = await read_form(request)
    if not can_write(session):
        return problem(
            request,
            403,
            "Read-only access",
            "You may read this team's summaries but not start them. Sign in as a person who"
            " may summarize, or with a recap key that has session_recording:write.",
            session,
        )
    if not tokens_match(form.get("csrf_token"), session.csrf_token):
        return csrf_refused(request, session)
    focus = focus_area(form.get("focus_area"))
    if focus is not None and len(focus) > MAX_FOCUS_AREA:
        return problem(
            request,
            400,
            "Focus area too long",
            f"The focus area has {len(focus)} characters; at most {MAX_FOCUS_AREA} fit."
            " Shorten it and send the form again.",
            session,
        )
    force = form.get("force") == "1"
    try:
        known = await ui.catalog.source_metadata(project_id, session_id)
    except ApiProblem as failure:
        return problem(request, failure.status, "Recording unavailable", failure.detail, session)
    if known is None:
        return not_found(request, session)
    if not force and await asyncio.to_thread(_summarized, ui, project_id, session_id, focus):
        # As the API: a summary this prompt wrote for this focus is not paid for twice.
        return redirect(page_url(project_id, session_id, focus=focus))
    try:
        client = await ui.runtime.temporal()
        handle = await jobs.start_summary(
            client,
            ui.settings,
            team_id=project_id,
            session_id=session_id,
            focus_area=focus,
            source=None,
        )
    except Exception as error:
        # ApiProblem when no connection can be made; the SDK's RPCError when it breaks.
        log.warning(
            "ui summary not started",
            team_id=project_id,
            session_id=session_id,
            error=type(error).__name__,
        )
        return problem(
            request,
            503,
            "Temporal is unavailable",
            "recap could not reach Temporal, so the summary was not started. Try again in a"
            " minute; if it keeps failing, ask an operator to check that Temporal and recap's"
            " worker are running (`recap doctor`).",
            session,
        )
    log.info(
        "ui summary started",
        team_id=project_id,
        session_id=session_id,
        workflow_id=handle.id,
        force=force,
        user_id=session.user_id,
        key_id=session.key_id,
    )
    return redirect(page_url(project_id, session_id, focus=focus, job=handle.id))


def _summarized(ui: UiState, team_id: str, session_id: str, focus: str | None) -> bool:
    # Loads the prompt and the summary services: imported where needed, as the jobs do.
    from recap.services.summary import current_prompt_version, summarized_sessions

    return bool(
        summarized_sessions(
            ui.store,
            team_id=team_id,
            session_ids=[session_id],
            focus_area=focus,
            prompt_version=current_prompt_version(),
        )
    )


async def progress(request: Request, project_id: str, session_id: str) -> Response:
    """`{state, step, position, steps, detail, workflow_id}` of the session's summary for
    `?focus=`, for the page's script; `state` is idle, running, done, failed or unavailable."""
    ui = ui_state(request)
    session, _ = await signed_in(request)
    if session is None:
        return _json(401, "signed_out", "You are signed out; reload the page to sign in again.")
    if session.team_id != project_id or not is_session_id(session_id):
        return _json(404, "not_found", "There is no such recording.")
    focus = focus_area(request.query_params.get("focus"))
    if focus is not None and len(focus) > MAX_FOCUS_AREA:
        return _json(400, "failed", f"A focus area has at most {MAX_FOCUS_AREA} characters.")
    report = await progress_of(ui, project_id, session_id, focus)
    status = 503 if report.state == "unavailable" else 200
    return JSONResponse(report.as_json(), status_code=status, headers=_JSON_HEADERS)


_JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _json(status: int, state: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"state": state, "detail": detail}, status_code=status, headers=_JSON_HEADERS
    )
