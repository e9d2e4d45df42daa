"""The Summarize button on a session's page: a person who may write starts the session's
summary workflow (with a focus area, or again) by a form with its CSRF token, and follows
its progress as JSON until the page shows the summary; a read-only person, a form without
its token and another team start nothing.

Through the real stack: the app, the Temporal dev server and a worker process."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.store.repository import store_for
from recap.store.users import UserStore
from tests.support.api_stack import TOO_SHORT, ApiStack, api_stack, serve

__all__ = ["api_stack"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FOCUS = "checkout errors"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def fresh(api_stack: ApiStack) -> list[str]:
    """Sessions no other test summarizes: the stack's source reads new files as they come."""
    ids: list[str] = []
    for seed in (9191, 9192):
        ids.extend(s.session_id for s in write_sample_sessions(api_stack.recordings, seed=seed))
    return ids


async def _person(stack: ApiStack, team: str = "team-a", scopes: str = "rw") -> httpx.AsyncClient:
    """A browser signed in to the pages with a recap key of `team` and `scopes`."""
    http = httpx.AsyncClient(base_url=stack.url, follow_redirects=False, timeout=30)
    form = await http.get("/ui/sign-in")
    token = _CSRF.search(form.text)
    assert token is not None
    key = stack.tokens[team][scopes]
    answer = await http.post("/ui/sign-in", data={"csrf_token": token.group(1), "key": key})
    assert answer.status_code == 303, answer.text
    return http


@pytest.fixture
async def writer(api_stack: ApiStack) -> AsyncIterator[httpx.AsyncClient]:
    http = await _person(api_stack)
    yield http
    await http.aclose()


def _path(session_id: str) -> str:
    return f"/ui/team-a/sessions/{session_id}"


async def _page(http: httpx.AsyncClient, url: str) -> tuple[str, str]:
    """The page's HTML and its form token."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    token = _CSRF.search(page.text)
    assert token is not None
    return page.text, token.group(1)


async def _until_done(
    http: httpx.AsyncClient, session_id: str, focus: str | None = None
) -> list[dict[str, Any]]:
    """Each progress report, polled as the page's script does, until the run ends."""
    params = {"focus": focus} if focus else {}
    reports: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = await http.get(f"{_path(session_id)}/progress", params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        reports.append(answer.json())
        if reports[-1]["state"] != "running":
            return reports
        await asyncio.sleep(0.5)
    raise AssertionError(f"the summary did not finish: {reports[-3:]}")


async def test_a_writer_summarizes_and_follows_the_progress_to_the_summary(
    api_stack: ApiStack, fresh: list[str], writer: httpx.AsyncClient
) -> None:
    session_id = fresh[0]
    before, token = await _page(writer, _path(session_id))
    assert 'id="summarize-form"' in before
    assert f'action="{_path(session_id)}/summarize"' in before
    assert '<button id="summarize-button" type="submit">Summarize</button>' in before
    assert 'maxlength="500"' in before and 'name="force"' not in before
    idle = await writer.get(f"{_path(session_id)}/progress")
    assert idle.json()["state"] == "idle"

    started = await writer.post(f"{_path(session_id)}/summarize", data={"csrf_token": token})
    assert started.status_code == 303, started.text
    workflow_id = f"session-summary:team-a:{session_id}"
    assert started.headers["location"] == f"{_path(session_id)}?job={quote(workflow_id, safe='')}"
    # Without the script, the page itself says how far the run is, with a Refresh link.
    following = await writer.get(started.headers["location"])
    assert following.status_code == 200
    assert 'id="summarize-status"' in following.text and 'aria-live="polite"' in following.text
    state = re.search(r'id="summarize-status"[^>]*data-state="(\w+)"', following.text)
    assert state is not None and state.group(1) in ("running", "done")
    if state.group(1) == "running":
        assert "Summarizing…" in following.text and '<a id="summarize-refresh"' in following.text

    reports = await _until_done(writer, session_id)
    assert reports[-1]["state"] == "done", reports[-1]
    assert reports[-1]["workflow_id"] == workflow_id
    for report in reports[:-1]:
        assert report["detail"].startswith("Summarizing…") and report["steps"] == 3

    stored = store_for(api_stack.settings.resolved_database_url).get_summary(
        team_id="team-a", session_id=session_id
    )
    assert stored is not None and stored.summary is not None
    after, _ = await _page(writer, _path(session_id))
    assert f"<h1>{stored.summary.title}</h1>".replace('"', "&#34;") in after.replace('"', "&#34;")
    assert ">Summarize again</button>" in after
    assert '<input type="hidden" name="force" value="1">' in after


async def test_a_form_without_its_token_starts_nothing(
    api_stack: ApiStack, fresh: list[str], writer: httpx.AsyncClient
) -> None:
    session_id = fresh[1]
    _, token = await _page(writer, _path(session_id))
    missing = await writer.post(f"{_path(session_id)}/summarize", data={"focus_area": ""})
    wrong = await writer.post(f"{_path(session_id)}/summarize", data={"csrf_token": token[::-1]})
    assert missing.status_code == wrong.status_code == 403
    assert "The form has expired" in missing.text
    progress = await writer.get(f"{_path(session_id)}/progress")
    assert progress.status_code == 200 and progress.json()["state"] == "idle"
    store = store_for(api_stack.settings.resolved_database_url)
    assert store.get_summary(team_id="team-a", session_id=session_id) is None


async def test_a_read_only_person_sees_no_button_and_cannot_post(
    api_stack: ApiStack, fresh: list[str]
) -> None:
    session_id = fresh[2]
    reader = await _person(api_stack, scopes="read")
    try:
        page, token = await _page(reader, _path(session_id))
        answer = await reader.post(f"{_path(session_id)}/summarize", data={"csrf_token": token})
        progress = await reader.get(f"{_path(session_id)}/progress")
    finally:
        await reader.aclose()
    assert 'id="summarize-form"' not in page and "summarize-button" not in page
    assert answer.status_code == 403 and "Read-only access" in answer.text
    assert progress.status_code == 200 and progress.json()["state"] == "idle"


async def test_another_teams_summarize_and_progress_answer_404(
    api_stack: ApiStack, fresh: list[str]
) -> None:
    session_id = fresh[2]
    other = await _person(api_stack, team="team-b")
    try:
        _, token = await _page(other, f"/ui/team-b/sessions/{session_id}")
        posted = await other.post(f"{_path(session_id)}/summarize", data={"csrf_token": token})
        progress = await other.get(f"{_path(session_id)}/progress")
    finally:
        await other.aclose()
    assert posted.status_code == 404 and progress.status_code == 404
    assert "workflow_id" not in progress.text
    store = store_for(api_stack.settings.resolved_database_url)
    assert store.get_summary(team_id="team-a", session_id=session_id) is None


async def test_the_focus_area_reaches_the_stored_summary(
    api_stack: ApiStack, fresh: list[str], writer: httpx.AsyncClient
) -> None:
    session_id = fresh[3]
    _, token = await _page(writer, _path(session_id))
    too_long = await writer.post(
        f"{_path(session_id)}/summarize", data={"csrf_token": token, "focus_area": "x" * 501}
    )
    assert too_long.status_code == 400 and "Focus area too long" in too_long.text

    started = await writer.post(
        f"{_path(session_id)}/summarize", data={"csrf_token": token, "focus_area": FOCUS}
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert "focus=checkout+errors" in location and "job=session-summary" in location
    reports = await _until_done(writer, session_id, FOCUS)
    assert reports[-1]["state"] == "done", reports[-1]

    store = store_for(api_stack.settings.resolved_database_url)
    focused = store.get_summary(team_id="team-a", session_id=session_id, focus_area=FOCUS)
    assert focused is not None and focused.summary is not None
    assert focused.summary.run.focus_area == FOCUS
    # A focus area is its own summary: the one without stays unwritten.
    assert store.get_summary(team_id="team-a", session_id=session_id) is None
    page, _ = await _page(writer, location)
    assert "Focus area: <q>checkout errors</q>" in page
    assert f'value="{FOCUS}"' in page and ">Summarize again</button>" in page


async def test_a_failed_run_shows_its_typed_error(
    api_stack: ApiStack, writer: httpx.AsyncClient
) -> None:
    path = f"/ui/team-a/sessions/{TOO_SHORT}"
    _, token = await _page(writer, path)
    started = await writer.post(f"{path}/summarize", data={"csrf_token": token})
    assert started.status_code == 303, started.text
    reports = await _until_done(writer, TOO_SHORT)
    assert reports[-1]["state"] == "failed", reports[-1]
    assert "has no events to summarize, or is too short" in reports[-1]["detail"]
    page, _ = await _page(writer, started.headers["location"])
    assert 'class="summarize-status failed"' in page
    assert "has no events to summarize, or is too short" in page


def test_with_temporal_down_the_form_answers_503_and_starts_nothing(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    (sample, *_) = write_sample_sessions(recordings, seed=0)
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    users = UserStore(store_for(settings.resolved_database_url))
    users.create(team_id="team-a", email="ada@example.com", password=PASSWORD)
    path = _path(sample.session_id)
    with serve(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        form = http.get("/ui/sign-in")
        token = _CSRF.search(form.text)
        assert token is not None
        fields = {"csrf_token": token.group(1), "email": "ada@example.com", "password": PASSWORD}
        assert http.post("/ui/sign-in", data=fields).status_code == 303
        page = http.get(path)
        assert ">Summarize</button>" in page.text
        page_token = _CSRF.search(page.text)
        assert page_token is not None
        started = http.post(f"{path}/summarize", data={"csrf_token": page_token.group(1)})
        progress = http.get(f"{path}/progress")
    assert started.status_code == 503 and "Temporal is unavailable" in started.text
    assert "the summary was not started" in started.text
    assert progress.status_code == 503 and progress.json()["state"] == "unavailable"
