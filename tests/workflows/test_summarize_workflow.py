"""SummarizeSessionWorkflow on the real Temporal dev server.

The compile and store activities are the real ones; the model call is replaced by a
same-named test activity (as in samples-python's hello_activity_test), which answers
like a model would and goes through recap's real gate.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.models import CompiledTimeline, CompileTimelineInput, SummarizeTimelineInput
from recap.core.config import Settings, get_settings
from recap.core.naming import summary_workflow_id
from recap.demo.generator import write_sample_sessions
from recap.jobs import client as jobs
from recap.llm.gate import gate
from recap.llm.prompts import load_prompt
from recap.llm.schema import (
    IssueKind,
    ModelIssue,
    ModelKeyAction,
    ModelSummary,
    RunMetadata,
    SessionSummary,
    SummaryOutcome,
)
from recap.sources.files import load_recording_file
from recap.store.repository import store_for
from recap.timeline import compile_timeline
from recap.timeline.models import EventKind
from tests.conftest import CHALK
from tests.support import temporal
from tests.support.model_double import chat_server, reply_with
from tests.support.temporal import activity_attempts
from worker import build_activities
from workflows.contracts import SummarizeSessionInput
from workflows.session_summary import SummarizeSessionWorkflow

CHALK_SESSION = "30497eae-825d-433d-a484-4b75074332b2"
SOURCE = f"files:{CHALK}"


def fake_model_activity(
    settings: Settings, failures_before_success: int = 0
) -> tuple[Callable[..., object], list[int]]:
    """A stand-in for the model: cites the first three clicks, like a well-behaved model."""
    attempts: list[int] = []

    @activity.defn(name="summarize_session")
    async def summarize_session(request: SummarizeTimelineInput) -> SessionSummary:
        attempts.append(activity.info().attempt)
        if len(attempts) <= failures_before_success:
            raise ApplicationError("model server unreachable (test)", type="llm_unavailable")
        stored = store_for(settings.resolved_database_url).load_timeline(request.timeline_hash)
        assert stored is not None
        clicks = [e for e in stored.timeline.events if e.kind == EventKind.CLICK][:3]
        answer = ModelSummary(
            title="User triages todos with label chips",
            segments=[],
            key_actions=[
                ModelKeyAction(ref=event.ref, description=f"Clicked {event.target}")
                for event in clicks
            ],
            issues=[],
            summary_outcome=SummaryOutcome(description="The user labelled todos.", success=True),
        )
        run = RunMetadata(
            model="fake-model",
            prompt_version=load_prompt().version,
            timeline_hash=stored.timeline_hash,
            timeline_tokens=stored.tokens,
            latency_ms=1,
            focus_area=request.focus_area,
        )
        return gate(answer, stored.timeline, run, focus_area=request.focus_area)

    return summarize_session, attempts


@asynccontextmanager
async def summary_worker(
    client: Client, model_activity: Callable[..., object]
) -> AsyncIterator[str]:
    built = build_activities(get_settings()).summary
    async with temporal.running_worker(
        client,
        workflows=[SummarizeSessionWorkflow],
        activities=[built.compile_timeline, model_activity, built.store_summary],
    ) as worker:
        yield worker.task_queue


def _request(team_id: str, session_id: str = CHALK_SESSION) -> SummarizeSessionInput:
    return SummarizeSessionInput(team_id=team_id, session_id=session_id, source=SOURCE)


async def test_happy_path_stores_a_grounded_summary(
    temporal_client: Client, settings: Settings
) -> None:
    model_activity, attempts = fake_model_activity(settings)
    team = f"team-{uuid.uuid4().hex[:8]}"
    async with summary_worker(temporal_client, model_activity) as task_queue:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            _request(team),
            id=summary_workflow_id(team, CHALK_SESSION),
            task_queue=task_queue,
        )
        result = await handle.result()

    assert attempts == [1]
    stored = result.stored
    assert stored.has_summary is True
    assert stored.summary_outcome is not None and stored.summary_outcome.success is True
    assert stored.summary is not None
    summary = stored.summary
    assert len(summary.key_actions) == 3
    timeline = store_for(settings.resolved_database_url).load_timeline(summary.run.timeline_hash)
    assert timeline is not None
    for action in summary.key_actions:
        event = timeline.timeline.event(action.event.ref)
        assert event is not None
        # Times and targets come from the timeline, not from the model.
        assert action.event.t_ms == event.t_ms
        assert action.event.target == event.target
        assert action.event.timestamp is not None
    row = store_for(settings.resolved_database_url).get_summary(
        team_id=team, session_id=CHALK_SESSION
    )
    assert row is not None and row.has_summary
    assert row.summary is not None and row.summary.run.prompt_version == load_prompt().version

    description = await handle.describe()
    assert description.typed_search_attributes is not None
    attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    assert attributes["RecapTeamId"] == team
    assert attributes["RecapSessionId"] == CHALK_SESSION
    assert attributes["RecapStatus"] == "summarized"

    history = await handle.fetch_history()
    # The model call is an activity task; fetch-compile and storing are local activities,
    # recorded as markers. Each has an operator-facing summary.
    summaries = [
        event.user_metadata.summary
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        or (
            event.HasField("marker_recorded_event_attributes")
            and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        )
    ]
    assert len(summaries) == 3
    assert all(summary.data for summary in summaries)


async def test_retries_after_one_transient_model_failure(
    temporal_client: Client, settings: Settings
) -> None:
    model_activity, attempts = fake_model_activity(settings, failures_before_success=1)
    team = f"team-{uuid.uuid4().hex[:8]}"
    async with summary_worker(temporal_client, model_activity) as task_queue:
        result = await temporal_client.execute_workflow(
            SummarizeSessionWorkflow.run,
            _request(team),
            id=summary_workflow_id(team, CHALK_SESSION),
            task_queue=task_queue,
        )
    assert attempts == [1, 2]
    assert result.stored.has_summary


async def test_missing_recording_fails_without_retrying(
    temporal_client: Client, settings: Settings
) -> None:
    model_activity, attempts = fake_model_activity(settings)
    team = f"team-{uuid.uuid4().hex[:8]}"
    missing = "00000000-0000-0000-0000-000000000000"
    async with summary_worker(temporal_client, model_activity) as task_queue:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            _request(team, missing),
            id=summary_workflow_id(team, missing),
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    # Fetch-compile is a local activity: its typed failure is the workflow's own.
    application_error = failure.value.cause
    assert isinstance(application_error, ApplicationError)
    assert application_error.type == "recording_not_found"
    assert application_error.non_retryable
    assert missing in application_error.message
    assert attempts == []  # the model is never called
    history = await handle.fetch_history()
    assert activity_attempts(history, "compile_timeline") == [1]  # final: not retried
    assert activity_attempts(history, "summarize_session") == []
    description = await handle.describe()
    assert description.typed_search_attributes is not None
    attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    assert attributes["RecapStatus"] == "failed"


async def test_rerun_replaces_the_stored_row(temporal_client: Client, settings: Settings) -> None:
    model_activity, attempts = fake_model_activity(settings)
    team = f"team-{uuid.uuid4().hex[:8]}"
    store = store_for(settings.resolved_database_url)
    async with summary_worker(temporal_client, model_activity) as task_queue:
        first = await temporal_client.execute_workflow(
            SummarizeSessionWorkflow.run,
            _request(team),
            id=summary_workflow_id(team, CHALK_SESSION),
            task_queue=task_queue,
        )
        second = await temporal_client.execute_workflow(
            SummarizeSessionWorkflow.run,
            _request(team),
            id=summary_workflow_id(team, CHALK_SESSION),
            task_queue=task_queue,
        )
    assert attempts == [1, 1]
    assert store.count_summaries(team_id=team, session_id=CHALK_SESSION) == 1
    assert second.stored.updated_at > first.stored.updated_at


async def test_duplicate_request_attaches_to_the_running_workflow(
    temporal_client: Client, settings: Settings
) -> None:
    from temporalio.common import WorkflowIDConflictPolicy

    model_activity, attempts = fake_model_activity(settings)
    team = f"team-{uuid.uuid4().hex[:8]}"
    workflow_id = summary_workflow_id(team, CHALK_SESSION)
    async with summary_worker(temporal_client, model_activity) as task_queue:
        handles = await asyncio.gather(
            *(
                temporal_client.start_workflow(
                    SummarizeSessionWorkflow.run,
                    _request(team),
                    id=workflow_id,
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
                for _ in range(3)
            )
        )
        assert len({handle.first_execution_run_id for handle in handles}) == 1
        await handles[0].result()
    assert attempts == [1]


async def test_gate_failure_then_valid_answer_stores_one_summary_with_notes(
    temporal_client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real summarize activity against a loopback model server: the first answer
    cites invented refs (over the gate's threshold), the corrected retry is valid but
    calls a failed checkout a success; one summary is stored, with the gate's note."""
    (sample,) = write_sample_sessions(tmp_path, scenarios=["checkout_failure"])
    timeline = compile_timeline(load_recording_file(sample.path))
    error = next(e for e in timeline.events if e.kind is EventKind.NETWORK_ERROR)
    submit = next(e for e in timeline.events if e.kind is EventKind.SUBMIT)
    invented = ModelSummary(
        title="Checkout",
        segments=[],
        key_actions=[ModelKeyAction(ref=f"e{900 + i}", description="x") for i in range(3)],
        issues=[],
        summary_outcome=SummaryOutcome(description="Done.", success=True),
    )
    valid = ModelSummary(
        title="Order placed",
        segments=[],
        key_actions=[ModelKeyAction(ref=submit.ref, description="Placed the order")],
        issues=[
            ModelIssue(kind=IssueKind.ERROR, ref=error.ref, description="500", severity="high")
        ],
        summary_outcome=SummaryOutcome(description="The user bought shoes.", success=True),
    )
    script = [reply_with(invented.model_dump_json()), reply_with(valid.model_dump_json())]
    team = f"team-{uuid.uuid4().hex[:8]}"
    with chat_server(*script) as double:
        monkeypatch.setenv("RECAP_LLM_BASE_URL", double.base_url)
        monkeypatch.setenv("RECAP_LLM_SCHEMA_LIMITS", "false")
        get_settings.cache_clear()
        settings = get_settings()
        built = build_activities(settings).summary
        async with temporal.running_worker(
            temporal_client,
            workflows=[SummarizeSessionWorkflow],
            activities=[built.compile_timeline, built.summarize_session, built.store_summary],
        ) as worker:
            result = await temporal_client.execute_workflow(
                SummarizeSessionWorkflow.run,
                SummarizeSessionInput(
                    team_id=team, session_id=sample.session_id, source=f"files:{tmp_path}"
                ),
                id=summary_workflow_id(team, sample.session_id),
                task_queue=worker.task_queue,
            )
    get_settings.cache_clear()
    assert len(double.bodies()) == 2
    assert "do not exist" in double.bodies()[1]["messages"][-1]["content"]
    store = store_for(settings.resolved_database_url)
    assert store.count_summaries(team_id=team, session_id=sample.session_id) == 1
    summary = result.stored.summary
    assert summary is not None
    assert summary.run.attempts == 2
    assert summary.gate.missing_refs == []
    assert summary.summary_outcome.success is True  # kept, but the conflict is noted
    assert len(summary.gate_notes) == 1 and submit.ref in summary.gate_notes[0]
    stored = store.get_summary(team_id=team, session_id=sample.session_id)
    assert stored is not None and stored.summary is not None
    assert stored.summary.gate_notes == summary.gate_notes


async def test_a_compile_longer_than_a_workflow_task_runs_once(
    temporal_client: Client, settings: Settings
) -> None:
    """Fetch-compile is a local activity inside the run's first workflow task: the worker
    keeps that task alive past its timeout, so a slow compile runs once, not again on every
    timeout, and the run's step stays readable while it runs."""
    model_activity, attempts = fake_model_activity(settings)
    built = build_activities(get_settings()).summary
    compiles: list[int] = []

    @activity.defn(name="compile_timeline")
    def slow_compile(request: CompileTimelineInput) -> CompiledTimeline:
        compiles.append(activity.info().attempt)
        time.sleep(3.5)  # past the 2 s workflow task timeout the run starts with below
        return built.compile_timeline(request)

    team = f"team-{uuid.uuid4().hex[:8]}"
    workflow_id = summary_workflow_id(team, CHALK_SESSION)
    async with temporal.running_worker(
        temporal_client,
        workflows=[SummarizeSessionWorkflow],
        activities=[slow_compile, model_activity, built.store_summary],
    ) as worker:
        handle = await temporal_client.start_workflow(
            SummarizeSessionWorkflow.run,
            _request(team),
            id=workflow_id,
            task_queue=worker.task_queue,
            task_timeout=timedelta(seconds=2),
        )
        steps: list[str | None] = []
        while (run := await jobs.summary_run(temporal_client, workflow_id)) is not None:
            if run.status != "running":
                break
            steps.append(run.step)
            await asyncio.sleep(0.5)
        result = await handle.result()

    assert "compiling" in steps
    assert compiles == [1] and attempts == [1]
    assert result.stored.has_summary
    history = await handle.fetch_history()
    assert activity_attempts(history, "compile_timeline") == [1]
    # The worker completed the first workflow task early, as a heartbeat, at least once:
    # one activity task (the model's) needs two workflow tasks, and none timed out.
    tasks = [e.event_type for e in history.events]
    assert tasks.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1
    assert tasks.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 3
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in tasks


async def test_the_step_of_a_run_no_worker_has_picked_up_is_its_search_attribute(
    temporal_client: Client, settings: Settings
) -> None:
    """Started by recap, a run is findable by team, session and status at once, and its
    progress reads that status when no worker answers the `status` query in time."""
    team = f"team-{uuid.uuid4().hex[:8]}"
    idle = settings.model_copy(update={"task_queue": temporal.task_queue("no-worker")})
    handle = await jobs.start_summary(
        temporal_client, idle, team_id=team, session_id=CHALK_SESSION, focus_area=None, source=None
    )
    try:
        run = await jobs.summary_run(temporal_client, handle.id)
        assert run is not None and (run.status, run.step) == ("running", "compiling")
        description = await handle.describe()
        attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
        assert attributes == {
            "RecapTeamId": team,
            "RecapSessionId": CHALK_SESSION,
            "RecapStatus": "compiling",
        }
    finally:
        await handle.terminate("test over")
