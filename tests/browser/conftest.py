"""The browser tests' stacks and browser (issue 19).

- `ui_stack`: the dev-server stack of the API tests (the real Temporal dev server, a
  `python worker.py` process with the loopback model double, the app on uvicorn), with a
  team of its own whose sample sessions were summarized through the API, all but one.
- `crowded`: the app over 1,000 recordings with 1,000 stored summaries, for the page
  weight and first-render figures.
- `browser`: one headless Chromium for the whole run, every page a first visit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _pytest.terminal import TerminalReporter
from selenium.webdriver.remote.webdriver import WebDriver

from recap.core.config import Settings
from recap.demo.generator import SCENARIOS, generate_session
from recap.jobs.client import connect, start_clustering
from recap.journeys import build_journey
from recap.llm.gate import gate
from recap.llm.schema import ModelKeyAction, ModelSummary, RunMetadata, SummaryOutcome
from recap.reports.models import PatternExample
from recap.services.journeys import save_journey
from recap.services.summary import compile_session
from recap.sources.files import DirectorySource
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore, store_for
from recap.store.users import UserStore
from recap.timeline import count_tokens
from tests.support import report_samples
from tests.support.api_stack import ApiStack, api_stack, serve
from tests.support.browser import FIGURES, chromium
from tests.support.journey_fixtures import (
    DISTINCT_ID,
    JourneyDouble,
    person_sessions,
    shuffled_inputs,
)
from tests.support.journey_samples import stored_journey
from tests.support.model_double import Reply, completion_body, grounded_reply

__all__ = ["api_stack"]

PASSWORD = "correct horse battery"
TEAM = "team-ui"
OTHER_TEAM = "team-ui-other"
FAILED_TITLE = "Checkout fails with a server error"
BATCH = "/api/projects/{team}/session_summaries/create_session_summaries_individually/"


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("browser figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass
class UiStack:
    url: str
    api: ApiStack
    email: str
    reader_email: str
    other_email: str
    summarized: list[str]
    failed: list[str]
    unsummarized: str
    report_id: str
    example: PatternExample
    clusters_job: str


def verdict_reply(body: dict[str, Any]) -> Reply:
    """The grounded summary of the model double, with a failed outcome for a timeline that
    shows a server error (the checkout scenario), so the list has failures to filter."""
    reply = grounded_reply(body)
    prompt = "\n".join(str(message.get("content", "")) for message in body.get("messages", []))
    answer = json.loads(reply.body["choices"][0]["message"]["content"])
    if "key_actions" in answer and " 500" in prompt:
        answer["title"] = FAILED_TITLE
        answer["summary_outcome"] = {
            "description": "The order could not be placed: the server answered 500.",
            "success": False,
        }
    return Reply(body=completion_body(json.dumps(answer)))


@pytest.fixture(scope="session")
async def ui_stack(api_stack: ApiStack) -> AsyncIterator[UiStack]:
    store = store_for(api_stack.settings.resolved_database_url)
    users = UserStore(store)
    users.create(team_id=TEAM, email="pm@ui.example", password=PASSWORD)
    users.create(team_id=TEAM, email="reader@ui.example", password=PASSWORD, can_write=False)
    users.create(team_id=OTHER_TEAM, email="other@ui.example", password=PASSWORD)
    _, token = KeyStore(store).create(team_id=TEAM, scopes=[READ_SCOPE, WRITE_SCOPE])
    # The last sample session (a sign-up) is left for the page's Summarize button.
    summarized, unsummarized = api_stack.session_ids[:-1], api_stack.session_ids[-1]
    previous = api_stack.model.responder
    api_stack.model.responder = verdict_reply
    try:
        async with httpx.AsyncClient(timeout=300) as http:
            answer = await http.post(
                api_stack.url + BATCH.format(team=TEAM),
                json={"session_ids": summarized},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        api_stack.model.responder = previous
    assert answer.status_code == 200, answer.text
    outcomes = {sid: item.get("session_outcome") for sid, item in answer.json().items()}
    assert all(outcomes.values()), outcomes
    failed = [sid for sid, outcome in outcomes.items() if not outcome["success"]]
    assert failed and len(failed) < len(summarized), outcomes
    report_id, example = _report_and_digest(store, failed[0])
    await _journey(store, api_stack)
    clusters_job = await _clusters(api_stack, token, summarized)
    yield UiStack(
        url=api_stack.url,
        api=api_stack,
        email="pm@ui.example",
        reader_email="reader@ui.example",
        other_email="other@ui.example",
        summarized=summarized,
        failed=failed,
        unsummarized=unsummarized,
        report_id=report_id,
        example=example,
        clusters_job=clusters_job,
    )


def _report_and_digest(store: SummaryStore, session_id: str) -> tuple[str, PatternExample]:
    """A stored report of the team (as a report workflow stores it) whose first pattern's
    example is the failed session's last cited event, and a digest of it."""
    stored = store.get_summary(team_id=TEAM, session_id=session_id, focus_area=None)
    assert stored is not None and stored.summary is not None
    event = stored.summary.key_actions[-1].event
    example = PatternExample(
        session_id=session_id,
        ref=event.ref,
        t_ms=event.t_ms,
        kind=event.kind,
        target=event.target,
        description="The order failed with a server error",
        session_failed=True,
    )
    report = report_samples.report(TEAM, report_id="rp_00aa11bb22cc33dd", patterns=3)
    first = report.patterns[0].model_copy(update={"examples": [example]})
    report = report.model_copy(update={"patterns": [first, *report.patterns[1:]]})
    reports = ReportStore(store)
    # A digest stores its own report: it is this one.
    digest = report_samples.digest(
        TEAM, digest_id="dg_00aa11bb22cc33dd", report_id=report.report_id
    )
    reports.save_digest(digest.model_copy(update={"report": report}))
    return report.report_id, example


async def _journey(store: SummaryStore, api_stack: ApiStack) -> None:
    """The 12-session person's journey of the journey tests, stored for the team as the
    journey workflow stores one (built by the reading model double, no HTTP)."""
    person = person_sessions(Path(api_stack.recordings).parent / "journey-person")
    journey = await build_journey(
        shuffled_inputs(person),
        distinct_id=DISTINCT_ID,
        ask=JourneyDouble(),
        max_tokens=6_000,
        count_tokens=count_tokens,
    )
    sample = stored_journey(TEAM, "jr_00aa11bb22cc33dd", DISTINCT_ID)
    save_journey(store, sample.model_copy(update={"journey": journey}))


async def _clusters(api_stack: ApiStack, token: str, session_ids: list[str]) -> str:
    """The team's error clusters, found by a real clustering run; its workflow id."""
    client = await connect(api_stack.settings)
    workflow_id = await start_clustering(
        client,
        api_stack.settings,
        team_id=TEAM,
        session_ids=session_ids,
        source=api_stack.settings.source,
    )
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(600):
            job = (await http.get(f"{api_stack.url}/api/jobs/{workflow_id}")).json()
            if job["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
    assert job["status"] == "completed", job
    return workflow_id


@dataclass
class Crowded:
    url: str
    team: str
    email: str
    session_ids: list[str]
    sample: str


CROWD = 1_000


def _crowd_summary(timeline_session: Any, session_id: str, failed: bool) -> Any:
    timeline, digest, tokens = timeline_session
    refs = [event.ref for event in timeline.events[:3]]
    answer = ModelSummary(
        title="Checkout fails with a server error" if failed else "Browses and signs up",
        segments=[],
        key_actions=[ModelKeyAction(ref=ref, description="Acted on the page") for ref in refs],
        issues=[],
        summary_outcome=SummaryOutcome(
            description="No order was placed." if failed else "Reached the goal.",
            success=not failed,
        ),
    )
    run = RunMetadata(
        model="m",
        prompt_version="p@1",
        timeline_hash=digest,
        timeline_tokens=tokens,
        latency_ms=5,
    )
    summary = gate(answer, timeline, run, focus_area=None)
    return summary.model_copy(update={"session_id": session_id})


@pytest.fixture(scope="session")
def crowded(api_stack: ApiStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crowded]:
    """1,000 recordings (the demo's three scenarios, seeded apart), each with a stored
    summary; the three first compiled for real and their timelines shared by the rest."""
    root = tmp_path_factory.mktemp("crowded")
    recordings = root / "recordings"
    recordings.mkdir()
    scenario_of: dict[str, str] = {}
    for number in range(CROWD):
        scenario = SCENARIOS[number % len(SCENARIOS)]
        document = generate_session(scenario, seed=1_000 + number)
        session_id = document["data"]["id"]
        scenario_of[session_id] = scenario
        (recordings / f"{session_id}.json").write_text(json.dumps(document), encoding="utf-8")
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        temporal_address=api_stack.settings.temporal_address,
        task_queue=api_stack.settings.task_queue,
        llm_task_queue=api_stack.settings.llm_task_queue,
    )
    store = store_for(settings.resolved_database_url)
    source = DirectorySource(recordings)
    ids = list(scenario_of)
    timelines: dict[str, Any] = {}
    for session_id in ids[: len(SCENARIOS)]:
        compiled = compile_session(
            team_id="team-crowd",
            session_id=session_id,
            source=source,
            store=store,
            max_tokens=settings.timeline_max_tokens,
        )
        stored = store.load_timeline(compiled.timeline_hash)
        assert stored is not None
        timelines[scenario_of[session_id]] = (stored.timeline, stored.timeline_hash, stored.tokens)
    for session_id in ids:
        scenario = scenario_of[session_id]
        summary = _crowd_summary(timelines[scenario], session_id, scenario == "checkout_failure")
        store.save_summary(team_id="team-crowd", summary=summary)
    UserStore(store).create(team_id="team-crowd", email="crowd@ui.example", password=PASSWORD)
    _, token = KeyStore(store).create(team_id="team-crowd", scopes=[READ_SCOPE])
    with serve(settings) as url:
        # The first listing after start indexes the directory (about 0.4 s for 1,000
        # files here); the pages are measured as people meet them, after that.
        warm = httpx.get(
            f"{url}/api/projects/team-crowd/session_recordings/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert warm.status_code == 200, warm.text
        yield Crowded(url, "team-crowd", "crowd@ui.example", ids, ids[0])


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    root = tmp_path_factory.mktemp("chromium")
    with chromium(root / "profile", root / "chromedriver.log") as driver:
        yield driver


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (under pytest's temporary directory); printed at the end."""
    directory = tmp_path_factory.mktemp("screenshots")
    FIGURES.append(f"BROWSER screenshots in {directory}")
    return directory
