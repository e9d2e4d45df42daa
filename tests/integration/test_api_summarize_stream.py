"""`POST …/session_recordings/{id}/summarize/` as a server-sent event stream when the caller
asks for `text/event-stream` (issue 17, gap 8): progress events while the workflow runs,
then the JSON answer's body as `summary`, or PostHog's error body as `error`. JSON stays
the default.

Through the real stack: the app, the Temporal dev server and a worker process."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx

from tests.support.api_stack import TOO_SHORT, ApiStack, api_stack
from tests.support.model_double import grounded_reply

__all__ = ["api_stack"]

A = "/api/projects/team-a"
STREAM = {"Accept": "text/event-stream"}


async def _events(
    http: httpx.AsyncClient, url: str, payload: dict[str, Any]
) -> tuple[httpx.Response, list[tuple[str, Any]]]:
    """The stream's events as (name, data), comments left out."""
    events: list[tuple[str, Any]] = []
    async with http.stream("POST", url, json=payload, headers=STREAM) as response:
        name, data = "message", ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data += line.removeprefix("data:").strip()
            elif line == "" and data:
                events.append((name, json.loads(data)))
                name, data = "message", ""
    return response, events


async def test_the_stream_sends_progress_then_the_json_answer(api_stack: ApiStack) -> None:
    session_id = api_stack.session_ids[-1]
    url = f"{api_stack.url}{A}/session_recordings/{session_id}/summarize/"
    # A model that takes its time, so the workflow is seen at its steps.
    api_stack.model.responder = lambda body: dataclasses.replace(grounded_reply(body), delay=2.5)
    try:
        async with httpx.AsyncClient(headers=api_stack.headers(), timeout=180) as http:
            response, events = await _events(http, url, {"force": True})
            # No force: the stored summary the stream ended with, as JSON.
            plain = await http.post(url, json={}, headers={"Accept": "application/json"})
            default = await http.post(url, json={})
    finally:
        api_stack.model.responder = grounded_reply
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["Recap-Workflow-Id"].startswith(f"session-summary:team-a:{session_id}")
    names = [name for name, _ in events]
    assert names[-1] == "summary", names
    assert names[:-1] and set(names[:-1]) == {"progress"}, names
    progress = [data for name, data in events if name == "progress"]
    assert all(data["status"] == "running" for data in progress)
    assert "summarizing" in [data["step"] for data in progress]
    summary = events[-1][1]
    # The very body the JSON answer has.
    assert plain.status_code == default.status_code == 200
    assert plain.headers["content-type"] == default.headers["content-type"] == "application/json"
    assert summary == plain.json() == default.json()
    assert summary["id"] == session_id and summary["summary"]["session_outcome"]["description"]


async def test_a_failure_is_the_streams_error_event(api_stack: ApiStack) -> None:
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=180) as http:
        url = f"{api_stack.url}{A}/session_recordings/{TOO_SHORT}/summarize/"
        response, events = await _events(http, url, {"force": True})
        missing = await http.post(
            f"{api_stack.url}{A}/session_recordings/no-such-recording/summarize/",
            json={},
            headers=STREAM,
        )
    assert response.status_code == 200
    name, data = events[-1]
    assert name == "error"
    assert set(data) == {"type", "code", "detail", "attr"}
    assert data["code"] == "no_events_or_too_short"
    assert "summary" not in [name for name, _ in events]
    # A recording the source lacks is refused before any stream starts.
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
