"""`POST …/session_recordings/{id}/summarize/` as a server-sent event stream, for a caller
whose `Accept` asks for `text/event-stream` (as PostHog's current clients do): `progress`
events while the summary workflow runs, then `summary` with the very body the JSON answer
has, or `error` with PostHog's error body. Comments keep idle connections open."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from recap.api import errors
from recap.api.deps import Runtime
from recap.api.responses import WORKFLOW_HEADER, prefers_media
from recap.core.logging import get_logger
from recap.jobs import client as jobs

log = get_logger(__name__)

EVENT_STREAM = "text/event-stream"
# How often the workflow's step is asked for, and how long a connection stays silent
# before a comment: proxies commonly close connections idle for 30 to 60 seconds.
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0


def wants_event_stream(request: Request) -> bool:
    """Whether the caller asks for the stream: `text/event-stream` accepted, and not below
    JSON (a caller accepting both alike gets the stream it named)."""
    return prefers_media(request, EVENT_STREAM)


def event(name: str, data: Any) -> bytes:
    """One server-sent event; its data is one line of JSON."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _step(state: Runtime, workflow_id: str) -> str | None:
    try:
        client = await state.temporal()
        return await jobs.summary_status(client, workflow_id)
    except errors.ApiProblem:
        return None


def _forget(task: asyncio.Future[Response]) -> None:
    """A caller that hangs up leaves the summary running; its outcome is read here so it
    is not reported as an exception nobody retrieved."""
    if not task.cancelled():
        task.exception()


async def _events(
    answer: Awaitable[Response], state: Runtime, session_id: str, workflow_id: str
) -> AsyncIterator[bytes]:
    task: asyncio.Future[Response] = asyncio.ensure_future(answer)
    task.add_done_callback(_forget)
    loop = asyncio.get_running_loop()
    step = "starting"
    yield event("progress", {"status": "running", "step": step, "workflow_id": workflow_id})
    quiet_since = loop.time()
    while not task.done():
        await asyncio.wait({task}, timeout=POLL_SECONDS)
        if task.done():
            break
        now = await _step(state, workflow_id)
        if now is not None and now != step and now not in ("summarized", "failed"):
            step = now
            yield event("progress", {"status": "running", "step": step, "workflow_id": workflow_id})
            quiet_since = loop.time()
        elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
            yield b": keep-alive\n\n"
            quiet_since = loop.time()
    try:
        response = task.result()
    except errors.ApiProblem as problem:
        yield event("error", errors.body(problem.type, problem.code, problem.detail, problem.attr))
        return
    except Exception as error:
        log.error("summary stream failed", session_id=session_id, error=type(error).__name__)
        yield event("error", errors.body("server_error", "error", "A server error occurred."))
        return
    if response.status_code == 202:
        # The wait bound ran out; the workflow goes on, and its summary is read later.
        detail = (
            f"The summary of {session_id} is still running (workflow {workflow_id}); read it"
            " later with GET …/single_session_summaries/{session_id}/, or ask again."
        )
        yield event("error", errors.body("server_error", "summary_pending", detail))
        return
    yield event("summary", json.loads(bytes(response.body)))


def summary_events(
    answer: Awaitable[Response], state: Runtime, session_id: str, workflow_id: str
) -> StreamingResponse:
    """The stream of `answer` (the JSON answer, still to be awaited) for one session."""
    stream = _events(answer, state, session_id, workflow_id)
    response = StreamingResponse(stream, media_type=EVENT_STREAM)
    response.headers["Cache-Control"] = "no-cache"
    # Proxies that buffer (nginx) would hold the progress events back.
    response.headers["X-Accel-Buffering"] = "no"
    response.headers[WORKFLOW_HEADER] = workflow_id
    return response
