"""`create_session_summaries_individually` answers as PostHog's does (issue 17, gap 1): by
default one entry per requested session, bounded by the wait, with the sessions still
running named `summary_pending` instead of left out; the job handle only when the caller
opts in with `?async=true` or `Prefer: respond-async`.

Through the app, the Temporal dev server and a worker process (the shared `api_stack`)."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.api_stack import ApiStack, api_stack

__all__ = ["api_stack"]

BATCH = "/api/projects/team-a/session_summaries/create_session_summaries_individually/"


async def test_the_job_handle_is_an_explicit_opt_in(api_stack: ApiStack) -> None:
    session_id = api_stack.session_ids[0]
    opt_ins: dict[str, dict[str, dict[str, str]]] = {
        "query": {"params": {"async": "true"}},
        "prefer": {"headers": {"Prefer": "wait=10, respond-async"}},
    }
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=60) as http:
        for label, opt_in in opt_ins.items():
            body = {"session_ids": [session_id], "focus_area": f"opt-in {label}"}
            answer = await http.post(f"{api_stack.url}{BATCH}", json=body, **opt_in)
            assert answer.status_code == 202, answer.text
            assert answer.headers["Preference-Applied"] == "respond-async"
            workflow_id = answer.headers["Recap-Workflow-Id"]
            assert answer.json() == {
                "session_ids": [session_id],
                "focus_area": f"opt-in {label}",
                "workflow_id": workflow_id,
                "status": "running",
            }
        # Another preference alone is no opt-in: the summaries come back, keyed by id.
        plain = await http.post(
            f"{api_stack.url}{BATCH}",
            json={"session_ids": [session_id]},
            headers={"Prefer": "return=minimal"},
        )
    assert plain.status_code == 200, plain.text
    assert "Preference-Applied" not in plain.headers
    assert list(plain.json()) == [session_id]
    assert plain.json()[session_id]["session_outcome"]["description"]


async def test_a_wait_that_runs_out_names_the_pending_sessions(api_stack: ApiStack) -> None:
    good = api_stack.session_ids[1:3]
    request = {"session_ids": [*good, "bad id!"], "focus_area": "pending sessions"}
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=120) as http:
        short = await http.post(f"{api_stack.url}{BATCH}", json=request, params={"timeout": 0.001})
        assert short.status_code == 200, short.text
        workflow_id = short.headers["Recap-Workflow-Id"]
        answers = short.json()
        assert list(answers) == request["session_ids"]
        for session_id in good:
            pending = answers[session_id]
            assert pending["error"] == "summary_pending", pending
            assert pending["workflow_id"] == workflow_id
            assert f"/api/jobs/{workflow_id}" in pending["error_message"]
        assert answers["bad id!"]["error"] == "recording_not_found"
        assert "workflow_id" not in answers["bad id!"]

        # The batch went on; once it is done, asking again answers the summaries.
        for _ in range(600):
            job = (await http.get(f"{api_stack.url}/api/jobs/{workflow_id}")).json()
            if job["status"] != "running":
                break
            await asyncio.sleep(0.2)
        assert job["status"] == "completed", job
        again = (await http.post(f"{api_stack.url}{BATCH}", json=request)).json()
    for session_id in good:
        assert again[session_id]["session_id"] == session_id
        assert again[session_id]["run"]["focus_area"] == "pending sessions"
        assert isinstance(again[session_id]["session_outcome"]["success"], bool)
