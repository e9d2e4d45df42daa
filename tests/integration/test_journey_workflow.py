"""A person's journey end to end, on the real Temporal dev server with the worker's own
activities and a loopback model that reads its prompts: the person's twelve recordings over
three weeks (files, eleven summarized already) beside another person's recording; the
workflow selects hers, summarizes the missing one through the batch workflow, builds and
stores the journey; the API answers it as JSON and Markdown, the page shows it, and another
team gets 404 for both."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from temporalio.client import Client

from recap.core.config import Settings, get_settings
from recap.core.naming import job_team
from recap.demo.recordings import GeneratedSession
from recap.jobs.client import job_progress
from recap.jobs.journeys import journey_progress
from recap.llm.schema import SessionSummary
from recap.services.journeys import StoredJourney, latest_journey, stored_journey
from recap.services.summary import current_prompt_version
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import SummaryStore, store_for
from recap.store.users import UserStore
from recap.timeline import count_tokens, render_timeline, timeline_hash
from tests.support.api_stack import serve
from tests.support.cli import recap_cli
from tests.support.journey_fixtures import (
    APPLY_FAILED,
    COUPON_ERROR,
    DISTINCT_ID,
    FAILED_CHECKOUT,
    NOT_SUMMARIZED,
    PAY,
    PURCHASE,
    JourneyDouble,
    PersonSession,
    generate,
    person_sessions,
    ref_of,
)
from tests.support.model_double import (
    ChatServer,
    Reply,
    chat_server,
    completion_body,
    grounded_reply,
)
from tests.support.temporal import running_worker, task_queue
from worker import build_activities
from workflows.catalog import ALL_WORKFLOWS
from workflows.contracts import PersonJourneyInput
from workflows.person_journey import PersonJourneyWorkflow

OTHER_PERSON = "someone.else@example.com"
OTHER_SESSION = "019a5f00-0000-7000-8000-0000000be0f1"
# The fixture's sessions are of November 2025: a period back from today that holds them.
SINCE_SECONDS = 5 * 366 * 86_400
DAYS = [3, 5, 7, 8, 10, 11, 12, 13, 17, 18, 20, 22]
# As the fixture plans them, but the session never summarized is summarized by the batch
# (the loopback model calls it a success).
OUTCOMES = ["success"] * 4 + ["failure"] + ["success"] * 5 + ["failure", "success"]
PASSWORD = "correct horse battery"
WINDOW_TOKENS = 1500
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PersonSession]]:
    """Her twelve recordings, and another person's on the day she bought (the same visit,
    under another id and person), as files."""
    directory = tmp_path_factory.mktemp("journey-recordings")
    person = person_sessions(directory)
    same_visit = generate(PURCHASE)
    other = {
        **same_visit.person,
        "name": OTHER_PERSON,
        "distinct_id": OTHER_PERSON,
        "distinct_ids": [OTHER_PERSON],
    }
    GeneratedSession(OTHER_SESSION, other, same_visit.events, same_visit.truth).write_as(
        directory, "export"
    )
    return directory, person


def _store_summaries(store: SummaryStore, team: str, person: list[PersonSession]) -> None:
    """What earlier summaries left: each summarized session's timeline and its summary
    under the current prompt, so the batch reuses them."""
    for session in person:
        if session.summary is None:
            continue
        text = render_timeline(session.timeline)
        digest = timeline_hash(session.timeline)
        store.save_timeline(
            team_id=team,
            timeline_hash=digest,
            timeline=session.timeline,
            text=text,
            tokens=count_tokens(text),
        )
        run = session.summary.run.model_copy(
            update={"timeline_hash": digest, "prompt_version": current_prompt_version()}
        )
        summary: SessionSummary = session.summary.model_copy(update={"run": run})
        store.save_summary(team_id=team, summary=summary)


@pytest.fixture
def model_server(
    monkeypatch: pytest.MonkeyPatch, recordings: tuple[Path, list[PersonSession]]
) -> Iterator[tuple[ChatServer, JourneyDouble]]:
    """Journey prompts answered by `JourneyDouble` (it cites what the prompt shows);
    summary prompts by a grounded summary. The worker reads the recordings' directory."""
    double = JourneyDouble()

    def respond(body: dict[str, Any]) -> Reply:
        schema = body.get("response_format", {}).get("json_schema", {})
        if schema.get("name") != "person_journey":
            return grounded_reply(body)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        return Reply(body=completion_body(json.dumps(double.answer(user))))

    with chat_server() as chat:
        chat.responder = respond
        monkeypatch.setenv("RECAP_LLM_BASE_URL", chat.base_url)
        monkeypatch.setenv("RECAP_SOURCE", f"files:{recordings[0]}")
        # Small windows, so the journey is read in parts and combined, as a long one is.
        monkeypatch.setenv("RECAP_REPORT_CHUNK_TOKENS", str(WINDOW_TOKENS))
        get_settings.cache_clear()
        yield chat, double
    get_settings.cache_clear()


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _sign_in(http: httpx.Client, email: str) -> None:
    form = http.get("/ui/sign-in")
    token = _CSRF.search(form.text)
    assert token is not None
    answer = http.post(
        "/ui/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


def _serve_and_read(
    settings: Settings,
    store: SummaryStore,
    team: str,
    other_team: str,
    stored: StoredJourney,
    bought: str,
) -> httpx.Response:
    """The journey over the API (JSON, Markdown; 404 for another team) and its page (404
    for another team's member and for a person without a journey); the page's answer."""
    keys = KeyStore(store)
    token = keys.create(team_id=team, scopes=[READ_SCOPE], label="journey test")[1]
    other_token = keys.create(team_id=other_team, scopes=[READ_SCOPE], label="journey test")[1]
    users = UserStore(store)
    users.create(team_id=team, email=f"{team}@example.com", password=PASSWORD)
    users.create(team_id=other_team, email=f"{other_team}@example.com", password=PASSWORD)
    person_path = quote(DISTINCT_ID, safe="")
    api_path = f"/api/projects/{team}/persons/{person_path}/journey/"
    page_path = f"/ui/{team}/persons/{person_path}"
    with serve(settings) as url:
        with httpx.Client(base_url=url, timeout=20) as api:
            mine = {"Authorization": f"Bearer {token}"}
            answer = api.get(api_path, headers=mine)
            assert answer.status_code == 200, answer.text
            assert StoredJourney.model_validate(answer.json()) == stored
            markdown = api.get(api_path, headers={**mine, "Accept": "text/markdown"})
            assert markdown.headers["content-type"].startswith("text/markdown")
            assert "| 5 | 2025-11-10 20:00 UTC |" in markdown.text
            assert f"overcome on 2025-11-12 in `{bought}`" in markdown.text
            theirs = {"Authorization": f"Bearer {other_token}"}
            assert api.get(api_path, headers=theirs).status_code == 404
            own_path = f"/api/projects/{other_team}/persons/{person_path}/journey/"
            assert api.get(own_path, headers=theirs).status_code == 404

        with httpx.Client(base_url=url, timeout=20) as http:
            _sign_in(http, f"{team}@example.com")
            page = http.get(page_path)
            assert http.get(f"/ui/{team}/persons/nobody%40example.com").status_code == 404
        with httpx.Client(base_url=url, timeout=20) as http:
            _sign_in(http, f"{other_team}@example.com")
            assert http.get(page_path).status_code == 404

    return page


async def test_a_persons_journey_is_built_stored_and_served(
    temporal_client: Client,
    model_server: tuple[ChatServer, JourneyDouble],
    recordings: tuple[Path, list[PersonSession]],
) -> None:
    chat, _ = model_server
    directory, person = recordings
    team, other_team = f"team-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    settings = get_settings()
    store = store_for(settings.resolved_database_url)
    _store_summaries(store, team, person)
    built = build_activities(settings)
    main, llm = task_queue(), task_queue("test-llm")
    workflow_id = f"person-journey:{team}:{uuid.uuid4().hex[:12]}"
    async with (
        running_worker(
            temporal_client,
            queue=main,
            workflows=ALL_WORKFLOWS,
            activities=built.main_queue(),
            threads=8,
            max_concurrent_activities=50,
        ),
        running_worker(temporal_client, queue=llm, activities=built.model_queue()),
    ):
        result = await temporal_client.execute_workflow(
            PersonJourneyWorkflow.run,
            PersonJourneyInput(
                team_id=team,
                distinct_id=DISTINCT_ID,
                since_seconds=SINCE_SECONDS,
                source=f"files:{directory}",
                llm_task_queue=llm,
            ),
            id=workflow_id,
            task_queue=main,
        )
        progress = await journey_progress(temporal_client, workflow_id)
        # `/api/jobs/{id}` follows it, for its team (what the POST's 202 points at).
        job = await job_progress(temporal_client, workflow_id)
        assert job is not None and job_team(workflow_id) == team
        assert (job.kind, job.status, job.progress.step) == ("person_journey", "completed", "done")
        # The CLI, as a process: its own run (the team, person and period name it), the
        # summaries all stored by now.
        printed, cli_errors = await recap_cli(
            temporal_client,
            *("journey", DISTINCT_ID, "--team", team, "--since", f"{SINCE_SECONDS // 86_400}d"),
            queue=main,
            llm_queue=llm,
        )
    assert "| 5 | 2025-11-10 20:00 UTC |" in printed
    address = f"https://recap.example/ui/{team}/persons/{quote(DISTINCT_ID, safe='')}"
    assert address in cli_errors

    assert progress is not None
    assert (progress.step, progress.journey_id) == ("done", result.journey_id)
    # Eleven summaries were reused; the batch summarized the twelfth.
    assert (progress.sessions_total, progress.sessions_summarized, progress.sessions_failed) == (
        12,
        12,
        0,
    )
    assert (result.sessions, result.succeeded, result.failed, result.unknown) == (12, 10, 2, 0)
    assert not result.truncated
    summary_calls = [
        b for b in chat.bodies() if b["response_format"]["json_schema"]["name"] != "person_journey"
    ]
    assert len(summary_calls) == 1
    assert person[NOT_SUMMARIZED].session_id in json.dumps(summary_calls[0]["messages"])
    assert result.model_calls >= 2

    # The CLI's run stored the latest journey; the workflow's is stored under its id.
    latest = latest_journey(store, team, DISTINCT_ID)
    assert latest is not None and latest.journey_id != result.journey_id
    stored = stored_journey(store, team, result.journey_id)
    assert stored is not None
    assert latest.journey.sessions == stored.journey.sessions
    journey = stored.journey
    ids = [s.session_id for s in journey.sessions]
    assert ids == [p.session_id for p in person]
    assert OTHER_SESSION not in ids and OTHER_SESSION not in stored.model_dump_json()
    assert [s.outcome for s in journey.sessions] == OUTCOMES
    assert [s.start.date() for s in journey.sessions] == [date(2025, 11, d) for d in DAYS]
    assert [w for window in journey.run.windows for w in window] == ids
    assert len(journey.run.windows) >= 3
    assert journey.run.calls == len(journey.run.windows) + 1
    assert journey.run.carried == [ids[0], ids[-1]]
    failed, bought = person[FAILED_CHECKOUT], person[PURCHASE]
    (stuck,) = journey.findings.stuck_points
    assert {(c.session_id, c.ref) for c in stuck.citations} == {
        (failed.session_id, ref_of(failed.timeline, APPLY_FAILED)),
        (failed.session_id, ref_of(failed.timeline, COUPON_ERROR)),
    }
    assert stuck.overcome is not None
    over = stuck.overcome.citation
    assert (over.session_id, over.ref) == (bought.session_id, ref_of(bought.timeline, PAY))

    page = _serve_and_read(settings, store, team, other_team, latest, bought.session_id)
    assert page.status_code == 200, page.text
    assert "style=" not in page.text and "<script" not in page.text
    for session in person:
        assert f'href="/ui/{team}/sessions/{session.session_id}"' in page.text
    assert OTHER_SESSION not in page.text
    failed_apply = ref_of(failed.timeline, APPLY_FAILED)
    assert f'href="/ui/{team}/sessions/{failed.session_id}#{failed_apply}"' in page.text
    assert f'href="/ui/{team}/sessions/{bought.session_id}#{over.ref}"' in page.text
    text = _text(page.text)
    assert text.count("✗ failed") == 2 and text.count("✓ succeeded") == 10
    assert "12: 10 succeeded, 2 failed, 0 not summarized" in text
    assert "✓ overcome" in text
