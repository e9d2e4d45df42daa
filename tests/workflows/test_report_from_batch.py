"""A pattern report over a stored batch (issue 18) on the real Temporal dev server:
`batch_session_ids` reads the sessions a batch job was started with from its first run,
and a report over them records the batch as its selection.

The report stack (real batch, compile, store and report activities; the model steps
answered by doubles) is the one of test_report_workflow.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client

from recap.core.config import get_settings
from recap.core.naming import batch_workflow_id
from recap.jobs.reports import batch_session_ids, report_result, start_report
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support.model_double import ChatServer
from tests.support.report_fixtures import PatternDouble, ReportCase
from tests.support.temporal import running_worker, task_queue
from tests.workflows.test_report_workflow import (
    _labels,
    _team,
    labelled,
    model_server,
    running_stack,
)
from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
from workflows.contracts import PatternReportInput, SummarizeSessionsInput
from workflows.pattern_report import PatternReportWorkflow

__all__ = ["labelled", "model_server"]


@workflow.defn(name="SummarizeSessionsIndividuallyWorkflow", sandboxed=False)
class ShrinkingBatchWorkflow:
    """Takes the batch's place: each run hands the next only the sessions left, so only the
    first run's input names them all."""

    @workflow.run
    async def run(self, request: SummarizeSessionsInput) -> None:
        if len(request.session_ids) > 1:
            workflow.continue_as_new(
                request.model_copy(update={"session_ids": request.session_ids[1:]})
            )


async def test_batch_session_ids_are_those_the_first_run_was_given(
    temporal_client: Client,
) -> None:
    team = _team()
    ids = [f"s{n}" for n in range(4)]
    batch = batch_workflow_id(team, uuid.uuid4().hex[:12])
    async with running_worker(temporal_client, workflows=[ShrinkingBatchWorkflow]) as worker:
        await temporal_client.execute_workflow(
            ShrinkingBatchWorkflow.run,
            SummarizeSessionsInput(team_id=team, session_ids=ids),
            id=batch,
            task_queue=worker.task_queue,
        )
    description = await temporal_client.get_workflow_handle(batch).describe()
    first_run = description.raw_description.workflow_execution_info.first_run_id
    assert first_run and first_run != description.run_id  # it continued as new
    assert await batch_session_ids(temporal_client, batch) == ids

    # No such workflow, or one that is not a batch: None.
    assert await batch_session_ids(temporal_client, f"session-batch:{team}:none") is None
    report = f"pattern-report:{team}:{uuid.uuid4().hex[:12]}"
    await temporal_client.start_workflow(
        PatternReportWorkflow.run,
        PatternReportInput(team_id=team, session_ids=ids),
        id=report,
        task_queue=task_queue("nobody-polls"),
    )
    assert await batch_session_ids(temporal_client, report) is None
    await temporal_client.get_workflow_handle(report).terminate("test done")


async def test_a_report_over_a_batch_covers_exactly_its_sessions(
    temporal_client: Client,
    model_server: tuple[ChatServer, PatternDouble],
    labelled: tuple[Path, list[ReportCase]],
) -> None:
    directory, cases = labelled
    chat, double = model_server
    team = _team()
    session_ids = [case.session_id for case in cases[:12]]
    batch = batch_workflow_id(team, uuid.uuid4().hex[:12])
    async with running_stack(temporal_client, chat, double, _labels(cases)) as stack:
        # The real batch, made to continue as new more than once.
        progress = await temporal_client.execute_workflow(
            SummarizeSessionsIndividuallyWorkflow.run,
            SummarizeSessionsInput(
                team_id=team,
                session_ids=session_ids,
                source=f"files:{directory}",
                llm_task_queue=stack.llm,
                max_concurrency=3,
                max_history_events=20,
            ),
            id=batch,
            task_queue=stack.main,
        )
        assert len(progress.history_lengths) >= 2 and progress.summarized == 12
        from_batch = await batch_session_ids(temporal_client, batch)
        assert from_batch == session_ids

        settings = get_settings().model_copy(
            update={"task_queue": stack.main, "llm_task_queue": stack.llm}
        )
        workflow_id = await start_report(
            temporal_client,
            settings,
            team_id=team,
            session_ids=from_batch,
            selection=None,
            focus_area=None,
            force=False,
            deliver=False,
            source=f"files:{directory}",
            source_batch=batch,
        )
        result = await report_result(temporal_client, workflow_id, wait_seconds=120)
    assert result is not None
    # The batch's summaries were reused: the model summarized each session once, in it.
    assert stack.summaries.calls == Counter(session_ids)
    report = ReportStore(store_for(settings.resolved_database_url)).report(team, result.report_id)
    assert report is not None
    assert report.inputs.session_ids == session_ids
    assert report.sessions_reported == 12 and not report.not_reported
    assert report.inputs.selection == {"batch": batch}
