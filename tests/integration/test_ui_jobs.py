"""The jobs page (issue 19): the team's batches, clustering runs and reports, listed from
Temporal with their status, progress and a Temporal UI link; never another team's; a
problem page, not a stack trace, when Temporal cannot be reached.

The listing runs through the app, the Temporal dev server and a worker process (the
shared `api_stack`); the unreachable case needs no Temporal at all."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

from recap.api.ui.jobs_page import team_jobs_query
from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.store.repository import store_for
from recap.store.users import UserStore
from tests.support.api_stack import ApiStack, api_stack, serve

__all__ = ["api_stack"]

BATCH = "/api/projects/team-a/session_summaries/create_session_summaries_individually/"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def _signed_in(url: str, **fields: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=30) as http:
        token = _CSRF.search((await http.get("/ui/sign-in")).text)
        assert token is not None
        answer = await http.post("/ui/sign-in", data={"csrf_token": token.group(1), **fields})
        assert answer.status_code == 303, answer.text
        yield http


def _job_row(page: str, workflow_id: str) -> str | None:
    rows = [row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if workflow_id in row]
    assert len(rows) <= 1
    return rows[0] if rows else None


async def test_the_jobs_page_shows_the_teams_batch_and_only_to_its_team(
    api_stack: ApiStack,
) -> None:
    async with httpx.AsyncClient(headers=api_stack.headers(), timeout=60) as api:
        started = await api.post(
            f"{api_stack.url}{BATCH}",
            json={"session_ids": [api_stack.session_ids[3]], "focus_area": "jobs page"},
            params={"async": "true"},
        )
        assert started.status_code == 202, started.text
        workflow_id = started.headers["Recap-Workflow-Id"]
        for _ in range(600):
            job = (await api.get(f"{api_stack.url}/api/jobs/{workflow_id}")).json()
            if job["status"] != "running":
                break
            await asyncio.sleep(0.2)
    assert job["status"] == "completed", job

    async with _signed_in(api_stack.url, key=api_stack.tokens["team-a"]["read"]) as ada:
        row = None
        for _ in range(100):  # Temporal's visibility store follows the run closely, not at once
            answer = await ada.get("/ui/team-a/jobs")
            assert answer.status_code == 200, answer.text
            row = _job_row(answer.text, workflow_id)
            if row is not None and "completed" in row:
                break
            await asyncio.sleep(0.2)
    assert row is not None, answer.text
    assert "<h1>Jobs</h1>" in answer.text and "style=" not in answer.text
    assert "Batch of summaries" in row
    assert '<span class="status completed">completed</span>' in row
    # The completed batch's counts, from its result.
    assert "1 of 1 sessions: 1 summarized, 0 skipped, 0 failed" in row
    temporal = f"{api_stack.settings.temporal_ui_url}/namespaces/default/workflows/"
    assert f'href="{temporal}{quote(workflow_id, safe="")}"' in row

    async with _signed_in(api_stack.url, key=api_stack.tokens["team-b"]["read"]) as bo:
        theirs = await bo.get("/ui/team-b/jobs")
        other = await bo.get("/ui/team-a/jobs")
    assert theirs.status_code == 200
    assert workflow_id not in theirs.text and "team-a" not in theirs.text.split("<main")[1]
    assert other.status_code == 404 and workflow_id not in other.text


def test_the_query_asks_for_the_teams_jobs_only() -> None:
    query = team_jobs_query("team-a")
    assert 'WorkflowId STARTS_WITH "session-batch:team-a:"' in query
    assert 'WorkflowId STARTS_WITH "error-clusters:team-a:"' in query
    assert 'WorkflowId STARTS_WITH "pattern-report:team-a:"' in query
    # Funnel reports and journeys too (issue 20).
    assert 'WorkflowId STARTS_WITH "funnel-report:team-a:"' in query
    assert 'WorkflowId STARTS_WITH "person-journey:team-a:"' in query
    assert '"FunnelReportWorkflow"' in query and '"PersonJourneyWorkflow"' in query
    assert 'RecapTeamId = "team-a"' in query
    assert "RecapTeamId" not in team_jobs_query("team-a", by_search_attribute=False)
    # A team id cannot end the string literal early.
    assert 'RecapTeamId = "x\\" OR \\"1"' in team_jobs_query('x" OR "1')


def test_without_temporal_the_page_says_so(tmp_path: Path) -> None:
    settings = Settings(
        source=f"files:{tmp_path}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    UserStore(store_for(settings.resolved_database_url)).create(
        team_id="team-a", email="ada@example.com", password="correct horse battery"
    )
    with serve(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        token = _CSRF.search(http.get("/ui/sign-in").text)
        assert token is not None
        http.post(
            "/ui/sign-in",
            data={
                "csrf_token": token.group(1),
                "email": "ada@example.com",
                "password": "correct horse battery",
            },
        )
        answer = http.get("/ui/team-a/jobs")
    assert answer.status_code == 503
    assert "<h1>Jobs unavailable</h1>" in answer.text
    assert "cannot reach Temporal" in answer.text and "Traceback" not in answer.text
    assert settings.temporal_address not in answer.text
