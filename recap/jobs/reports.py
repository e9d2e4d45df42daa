"""Pattern reports in Temporal (client side): start a report, await it, follow its
progress, and read which sessions an earlier batch was started with."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from recap.core.config import Settings
from recap.core.naming import BATCH_WORKFLOW, report_request_key, report_workflow_id
from recap.jobs.waiting import QUERY_TIMEOUT, answered, bounded_result
from workflows.contracts import (
    PatternReportInput,
    PatternReportProgress,
    PatternReportResult,
    ReportSelection,
    SummarizeSessionsInput,
)


class ReportFailed(Exception):
    """A report's workflow failed (or there is no such report): `error_type` is the typed
    reason (`budget_exceeded`, `llm_auth`, `source_unavailable`, `report_not_found` …) and
    `message` says what went wrong, for the API and the CLI to show."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


async def start_report(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    session_ids: list[str],
    selection: ReportSelection | None,
    focus_area: str | None,
    force: bool,
    deliver: bool,
    source: str | None = None,
    source_batch: str | None = None,
) -> str:
    """Starts a PatternReportWorkflow over the sessions, or over a selection, and returns
    its workflow id. The id is stable per request (the sessions in any order, or the
    selection and the minute it was asked; the focus area; force), so the same request
    while one runs attaches to it; after it ended, the same request makes the report again
    (its stored summaries are reused). Raises ValueError without sessions or a selection,
    or with both. `source_batch`: the batch job the ids are from, kept in the report's
    inputs."""
    from workflows.pattern_report import PatternReportWorkflow

    session_ids = list(dict.fromkeys(session_ids))
    if bool(session_ids) == (selection is not None):
        raise ValueError("a report needs session ids or a selection (--since), not both")
    key = report_request_key(
        session_ids=session_ids,
        focus_area=focus_area,
        force=force,
        selection=selection.model_dump_json() if selection is not None else None,
    )
    workflow_id = report_workflow_id(team_id, key)
    what = f"{len(session_ids)} sessions" if session_ids else "the selected sessions"
    await client.start_workflow(
        PatternReportWorkflow.run,
        PatternReportInput(
            team_id=team_id,
            session_ids=session_ids,
            selection=selection,
            focus_area=focus_area,
            force=force,
            max_concurrency=settings.batch_max_concurrency,
            deliver=deliver,
            source=source,
            llm_task_queue=settings.llm_task_queue,
            source_batch=source_batch,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Pattern report over {what} of team {team_id}",
    )
    return workflow_id


async def report_result(
    client: Client, workflow_id: str, wait_seconds: float
) -> PatternReportResult | None:
    """The report's result once it is stored, or None while it is still running after
    `wait_seconds` (it goes on running). Raises ReportFailed when the workflow failed, was
    cancelled or terminated, or does not exist."""
    from workflows.pattern_report import PatternReportWorkflow

    handle = client.get_workflow_handle_for(PatternReportWorkflow.run, workflow_id)
    return await bounded_result(
        handle.result(),
        wait_seconds,
        failed=ReportFailed,
        failed_type="report_failed",
        missing=("report_not_found", f"there is no report job {workflow_id}"),
    )


async def report_progress(client: Client, workflow_id: str) -> PatternReportProgress | None:
    """The report's step and counts, from its workflow's query; None when there is no such
    report job (or Temporal cannot say)."""
    from workflows.pattern_report import PatternReportWorkflow

    handle = client.get_workflow_handle_for(PatternReportWorkflow.run, workflow_id)
    return await answered(handle.query(PatternReportWorkflow.progress, rpc_timeout=QUERY_TIMEOUT))


async def batch_session_ids(client: Client, workflow_id: str) -> list[str] | None:
    """The session ids a batch job (`recap batch`, the API's individual summaries) was
    started with, for a report over them; None when there is no such workflow or it is not
    a batch. Read from its first run's input: that is what the batch was asked, whatever a
    later run (after continue-as-new) carries."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
        if description.workflow_type != BATCH_WORKFLOW:
            return None
        first_run = description.raw_description.workflow_execution_info.first_run_id
        first = client.get_workflow_handle(workflow_id, run_id=first_run or None)
        # A run's first event is its start, with the input.
        started = await anext(aiter(first.fetch_history_events(page_size=1)), None)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if started is None or not started.HasField("workflow_execution_started_event_attributes"):
        return None
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    decoded = await client.data_converter.decode(payloads, [SummarizeSessionsInput])
    request: SummarizeSessionsInput = decoded[0]
    return list(dict.fromkeys(request.session_ids))
