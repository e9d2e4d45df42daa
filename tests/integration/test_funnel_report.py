"""FunnelReportWorkflow on the real Temporal dev server, end to end.

The planted shop sessions of `tests/support/funnel_fixtures.py` (60: 40 complete, 14 stop
after `POST /api/cart` answers 500, 6 on a 375 px phone) are written as recording files,
their timelines and model-free summaries stored as earlier summaries leave them. The real
activities run; the explain step's model is a loopback double that reads the prompt and
cites the (session, ref) pairs it shows, and adds a claim about a factor code never found.
The stored report is read back from the store, as Markdown, and on its page.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from recap.core.config import Settings, get_settings
from recap.core.naming import job_team
from recap.jobs.client import job_progress
from recap.jobs.funnels import funnel_progress
from recap.llm.gate import gate
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary
from recap.reports import render_markdown
from recap.reports.models import FunnelFactor, PatternReport
from recap.services.summary import current_prompt_version
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore, store_for
from recap.store.users import UserStore
from recap.timeline import count_tokens, render_timeline, timeline_hash
from recap.timeline.models import Timeline
from tests.support.api_stack import serve
from tests.support.cli import recap_cli
from tests.support.funnel_fixtures import STEPS, FunnelCase, funnel_cases
from tests.support.model_double import ChatServer, Reply, chat_server, completion_body
from tests.support.temporal import running_worker, task_queue
from worker import build_activities
from workflows.catalog import ALL_WORKFLOWS
from workflows.contracts import FunnelReportInput
from workflows.funnel_report import FunnelReportWorkflow

INVENTED = "s2f99"
ONLY_STOPPED = "s2f2"  # the double cites no session that went on for it: code adds one
CART_ERROR = "failed request POST /api/cart 500"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HEADER = re.compile(r"^## (s\d+f\d+) session (\S+) \((stopped|went on), ")
_LINE = re.compile(r"^(e\d+) ")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[FunnelCase]]:
    directory = tmp_path_factory.mktemp("funnel-recordings")
    return directory, funnel_cases(directory)


def _summary(case: FunnelCase, digest: str) -> SessionSummary:
    """What a model would have said of the outcome; written without a model."""
    completed = case.label == "completed"
    answer = ModelSummary.model_validate(
        {
            "title": "Shop visit",
            "segments": [],
            "key_actions": [],
            "issues": [],
            "summary_outcome": {
                "description": "Ordered." if completed else "Left without ordering.",
                "success": completed,
            },
        }
    )
    run = RunMetadata(
        model="m",
        prompt_version=current_prompt_version(),
        timeline_hash=digest,
        timeline_tokens=1,
        latency_ms=1,
    )
    return gate(answer, case.session.timeline, run, focus_area=None)


def _store_summaries(store: SummaryStore, team: str, cases: list[FunnelCase]) -> None:
    for case in cases:
        timeline = case.session.timeline
        text = render_timeline(timeline)
        digest = timeline_hash(timeline)
        store.save_timeline(
            team_id=team,
            timeline_hash=digest,
            timeline=timeline,
            text=text,
            tokens=count_tokens(text),
        )
        store.save_summary(team_id=team, summary=_summary(case, digest))


def _explain(body: dict[str, Any]) -> Reply:
    """Reads the explain prompt: per factor, the first example line of each group shown
    (the 500 line where one is shown; for `ONLY_STOPPED`, those who stopped only); and a
    claim about a factor code did not find."""
    assert body["response_format"]["json_schema"]["name"] == "explain_funnel"
    prompt = "\n".join(
        str(m.get("content", "")) for m in body["messages"] if m.get("role") == "user"
    )
    cited: dict[str, dict[str, tuple[str, str]]] = {}
    block: tuple[str, str, str] | None = None
    for line in prompt.splitlines():
        if header := _HEADER.match(line):
            block = (header.group(1), header.group(2), header.group(3))
        elif (found := _LINE.match(line)) and block is not None:
            factor_id, session_id, group = block
            if factor_id == ONLY_STOPPED and group != "stopped":
                continue
            chosen = cited.setdefault(factor_id, {})
            if group not in chosen or ("500" in line and chosen[group][0] == session_id):
                chosen[group] = (session_id, found.group(1))
    claims = [
        {
            "factor_id": factor_id,
            "explanation": f"Sessions with {factor_id} could not get past the cart.",
            "examples": [{"session_id": s, "ref": r} for s, r in groups.values()],
        }
        for factor_id, groups in cited.items()
    ]
    claims.append(
        {
            "factor_id": INVENTED,
            "explanation": "The shipping costs shown in the cart scare users away.",
            "examples": claims[0]["examples"],
        }
    )
    answer = {"overview": "Two causes stop people on the cart page.", "claims": claims}
    return Reply(body=completion_body(json.dumps(answer)))


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    with chat_server() as chat:
        chat.responder = _explain
        monkeypatch.setenv("RECAP_LLM_BASE_URL", chat.base_url)
        monkeypatch.setenv("RECAP_LLM_SCHEMA_LIMITS", "false")
        get_settings.cache_clear()
        yield chat
    get_settings.cache_clear()


def _factor(report: PatternReport, label: str) -> FunnelFactor:
    assert report.funnel is not None
    found = [f for f in report.funnel.factors if any(label in m for m in f.manifestations)]
    assert len(found) == 1, [f.manifestations for f in report.funnel.factors]
    return found[0]


def _report_page(settings: Settings, team: str, report_id: str) -> httpx.Response:
    """The report's page, read by the team's signed-in user from the app on loopback."""
    with serve(settings) as url, httpx.Client(base_url=url, timeout=20) as http:
        form = http.get("/ui/sign-in")
        token = _CSRF.search(form.text)
        assert token is not None
        signed_in = http.post(
            "/ui/sign-in",
            data={
                "csrf_token": token.group(1),
                "email": f"{team}@example.com",
                "password": PASSWORD,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        return http.get(f"/ui/{team}/reports/{report_id}")


def _timelines(cases: list[FunnelCase]) -> dict[str, Timeline]:
    return {case.session_id: case.session.timeline for case in cases}


async def test_the_funnel_report_finds_the_planted_causes_and_is_served(
    temporal_client: Client,
    model_server: ChatServer,
    planted: tuple[Path, list[FunnelCase]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory, cases = planted
    team = f"team-{uuid.uuid4().hex[:8]}"
    # The worker's own source, for the CLI's run (which names none, as a user's does).
    monkeypatch.setenv("RECAP_SOURCE", f"files:{directory}")
    get_settings.cache_clear()
    settings = get_settings()
    store = store_for(settings.resolved_database_url)
    _store_summaries(store, team, cases)
    built = build_activities(settings)
    main, llm = task_queue(), task_queue("test-llm")
    workflow_id = f"funnel-report:{team}:{uuid.uuid4().hex[:12]}"
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
            FunnelReportWorkflow.run,
            FunnelReportInput(
                team_id=team,
                steps=list(STEPS),
                session_ids=[case.session_id for case in cases],
                source=f"files:{directory}",
                llm_task_queue=llm,
            ),
            id=workflow_id,
            task_queue=main,
        )
        progress = await funnel_progress(temporal_client, workflow_id)
        job = await job_progress(temporal_client, workflow_id)
        assert job is not None and job_team(workflow_id) == team
        assert (job.kind, job.status, job.progress.step) == ("funnel_report", "completed", "done")
        explain_calls = len(model_server.bodies())
        # `recap funnel`, as a process: its own run over the same sessions, printed.
        ids = ",".join(case.session_id for case in cases)
        steps = [arg for spec in STEPS for arg in ("--step", spec)]
        printed, cli_errors = await recap_cli(
            temporal_client,
            *("funnel", *steps, "--sessions", ids, "--team", team),
            queue=main,
            llm_queue=llm,
        )
    assert progress is not None and (progress.step, progress.report_id) == (
        "done",
        result.report_id,
    )
    assert (result.sessions_reported, result.factors, result.not_reported) == (60, 2, 0)
    # Every summary was stored already: the only model call is the one explain call.
    assert explain_calls == 1
    assert len(model_server.bodies()) == 2
    assert "## Funnel" in printed
    assert f"| 2. {STEPS[1]} | 40 | 40 | 20 |" in printed.replace("\\", "")
    assert "14/20 (70%)" in printed and "Sessions that went on, for contrast:" in printed
    cli_job = re.search(r"started funnel report (funnel-report:\S+)", cli_errors)
    assert cli_job is not None and job_team(cli_job.group(1)) == team
    assert f"page: https://recap.example/ui/{team}/reports/" in cli_errors

    report = ReportStore(store).report(team, result.report_id)
    assert report is not None and report.funnel is not None
    counts = [(s.step, s.reached, s.went_on, s.stopped) for s in report.funnel.steps]
    assert counts == [(1, 60, 0, 0), (2, 40, 40, 20), (3, 40, 40, 0)]
    cart = _factor(report, CART_ERROR)
    phone = _factor(report, "viewport ≤ 480 px")
    for factor, stopped_with in ((cart, 14), (phone, 6)):
        assert (factor.step, factor.stopped_with, factor.stopped_total) == (2, stopped_with, 20)
        assert (factor.went_on_with, factor.went_on_total) == (0, 40)
        assert factor.adjusted_p < 0.05
    assert report.run.explain_calls == 1
    assert set(report.inputs.prompt_versions) == {"explain_funnel"}

    # The invented factor is dropped; the two found ones are the report's patterns.
    assert INVENTED in [dropped.name for dropped in report.gate.dropped_patterns]
    by_name = {pattern.name: pattern for pattern in report.patterns}
    assert set(by_name) == {cart.manifestations[0], phone.manifestations[0]}
    assert by_name[CART_ERROR].severity == "critical"  # 70% vs 0%
    assert by_name[phone.manifestations[0]].severity == "high"  # 30% vs 0%
    assert by_name[CART_ERROR].stats.sessions_affected == 14
    assert by_name[CART_ERROR].description.startswith("Sessions with s2f1")
    timelines = _timelines(cases)
    stopped = {case.session_id for case in cases if case.label != "completed"}
    for pattern in report.patterns:
        assert pattern.examples
        for example in pattern.examples:
            assert example.session_id in stopped
            assert timelines[example.session_id].event(example.ref) is not None

    # Both groups: the phone factor's went-on example is code's, the model cited none.
    completed = {case.session_id for case in cases if case.label == "completed"}
    for factor in (cart, phone):
        assert factor.went_on_examples
        for example in factor.went_on_examples:
            assert example.session_id in completed
            assert timelines[example.session_id].event(example.ref) is not None
    assert phone.went_on_examples[0].description.startswith("went on to step 2 without")

    markdown = render_markdown(report)
    assert "## Funnel" in markdown
    assert CART_ERROR in markdown and "14/20" in markdown and "0/40" in markdown
    assert INVENTED not in [line.strip() for line in markdown.splitlines()]

    # The report page shows the funnel table and the factors.
    UserStore(store).create(team_id=team, email=f"{team}@example.com", password=PASSWORD)
    page = await asyncio.to_thread(_report_page, settings, team, result.report_id)
    assert page.status_code == 200, page.text
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    assert 'class="funnel-steps"' in page.text
    assert 'click:"Checkout"' in text and "40 of 60 went on" in text
    assert CART_ERROR in text and "14/20 (70%)" in text and "0/40 (0%)" in text
