"""`recap report create --batch ID` (issue 18): a report over the sessions of an earlier
batch job. Its refusals before anything starts run in-process; those that ask Temporal, and
one report made over a real batch, run as real processes (they leave through os._exit)
against the dev server and the API stack's worker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from temporalio.client import Client
from typer.testing import CliRunner

from recap.core.naming import batch_workflow_id
from recap.jobs.client import batch_result, start_batch
from recap.reports.models import PatternReport
from tests.support.api_stack import ApiStack, api_stack
from tests.support.report_fixtures import answering_reports
from tests.support.temporal import task_queue
from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
from workflows.contracts import SummarizeSessionsInput

__all__ = ["api_stack"]

runner = CliRunner()
BATCH = "session-batch:team-a:0123456789ab"


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", BATCH, "--sessions", "a,b"], "exactly one of --sessions"),
        (["--batch", BATCH, "--since", "7d"], "exactly one of --sessions"),
        (["--batch", BATCH, "--playlist", "x1", "--team", "team-a"], "go with --since"),
        (["--batch", BATCH, "--team", "team-b"], f"{BATCH} is not a batch job of team team-b"),
        (["--batch", "nonsense", "--team", "team-a"], "is not a batch job of team team-a"),
    ],
)
def test_create_refuses_a_batch_before_starting_anything(args: list[str], message: str) -> None:
    from recap.cli.commands import app

    result = runner.invoke(app, ["report", "create", *args])
    assert result.exit_code == 2
    assert message in words(result.stderr)


def _recap(stack: ApiStack, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "RECAP_TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "RECAP_TASK_QUEUE": stack.settings.task_queue,
        "RECAP_LLM_TASK_QUEUE": stack.settings.llm_task_queue,
        "RECAP_DATABASE_URL": stack.settings.resolved_database_url,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "recap.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=240,
    )


async def test_create_refuses_an_unknown_batch_and_one_too_big(
    api_stack: ApiStack, temporal_client: Client
) -> None:
    unknown = batch_workflow_id("team-a", uuid.uuid4().hex[:12])
    ran = _recap(api_stack, "report", "create", "--batch", unknown, "--team", "team-a")
    assert ran.returncode == 1
    assert f"there is no batch job {unknown}" in words(ran.stderr)
    assert "started report" not in ran.stderr

    # A batch of 301 sessions that no worker runs: its input is all that is read.
    too_big = batch_workflow_id("team-a", uuid.uuid4().hex[:12])
    handle = await temporal_client.start_workflow(
        SummarizeSessionsIndividuallyWorkflow.run,
        SummarizeSessionsInput(team_id="team-a", session_ids=[f"s{n}" for n in range(301)]),
        id=too_big,
        task_queue=task_queue("nobody-polls"),
    )
    try:
        ran = _recap(api_stack, "report", "create", "--batch", too_big, "--team", "team-a")
    finally:
        await handle.terminate("test done")
    assert ran.returncode == 2
    assert "has 301 sessions and a report is over at most 300" in words(ran.stderr)
    assert "started report" not in ran.stderr


async def test_create_reports_over_exactly_the_batchs_sessions(
    api_stack: ApiStack, temporal_client: Client
) -> None:
    sessions = api_stack.session_ids[:3]
    batch = await start_batch(
        temporal_client,
        api_stack.settings,
        team_id="team-a",
        session_ids=sessions,
        focus_area=None,
        source=None,
        force=False,
        max_concurrency=None,
    )
    assert await batch_result(temporal_client, batch, wait_seconds=120) is not None
    with answering_reports(api_stack.model):
        ran = _recap(api_stack, "report", "create", "--batch", batch, "--team", "team-a", "--json")
    assert ran.returncode == 0, ran.stderr
    assert f"(3 sessions of batch {batch})" in words(ran.stderr)
    report = PatternReport.model_validate_json(ran.stdout)
    assert report.inputs.session_ids == sessions
    assert report.inputs.selection == {"batch": batch}
    assert report.sessions_reported == 3 and not report.not_reported
