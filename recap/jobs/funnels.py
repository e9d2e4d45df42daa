"""Funnel drop-off reports in Temporal (client side): start one, await it, follow its
progress. Failures are `ReportFailed`, as for pattern reports."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from recap.core.config import Settings
from recap.core.naming import funnel_request_key, funnel_workflow_id
from recap.funnels import parse_steps
from recap.jobs.reports import ReportFailed
from recap.jobs.waiting import QUERY_TIMEOUT, answered, bounded_result
from workflows.contracts import (
    FunnelReportInput,
    FunnelReportProgress,
    FunnelReportResult,
    ReportSelection,
)

__all__ = ["ReportFailed", "funnel_progress", "funnel_result", "start_funnel"]


async def start_funnel(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    steps: list[str],
    session_ids: list[str],
    selection: ReportSelection | None,
    focus_area: str | None = None,
    force: bool = False,
    source: str | None = None,
) -> str:
    """Starts a FunnelReportWorkflow and returns its workflow id, stable per request (the
    steps in order, the sessions in any order or the selection and the minute it was
    asked), so the same request while one runs attaches to it. Raises `FunnelStepError`
    (a ValueError) for a step that cannot be parsed, ValueError without sessions or a
    selection, or with both."""
    from workflows.funnel_report import FunnelReportWorkflow

    parse_steps(steps)
    session_ids = list(dict.fromkeys(session_ids))
    if bool(session_ids) == (selection is not None):
        raise ValueError("a funnel needs session ids or a selection (--since), not both")
    key = funnel_request_key(
        steps=steps,
        session_ids=session_ids,
        focus_area=focus_area,
        force=force,
        selection=selection.model_dump_json() if selection is not None else None,
    )
    workflow_id = funnel_workflow_id(team_id, key)
    await client.start_workflow(
        FunnelReportWorkflow.run,
        FunnelReportInput(
            team_id=team_id,
            steps=steps,
            session_ids=session_ids,
            selection=selection,
            focus_area=focus_area,
            force=force,
            max_concurrency=settings.batch_max_concurrency,
            source=source,
            llm_task_queue=settings.llm_task_queue,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Funnel report of team {team_id}: {' → '.join(steps)}"[:200],
    )
    return workflow_id


async def funnel_result(
    client: Client, workflow_id: str, wait_seconds: float
) -> FunnelReportResult | None:
    """The result once the report is stored, or None while it still runs after
    `wait_seconds`. Raises ReportFailed when the workflow failed or does not exist."""
    from workflows.funnel_report import FunnelReportWorkflow

    handle = client.get_workflow_handle_for(FunnelReportWorkflow.run, workflow_id)
    return await bounded_result(
        handle.result(),
        wait_seconds,
        failed=ReportFailed,
        failed_type="report_failed",
        missing=("report_not_found", f"there is no funnel job {workflow_id}"),
    )


async def funnel_progress(client: Client, workflow_id: str) -> FunnelReportProgress | None:
    """The run's step and counts; None when Temporal cannot say."""
    from workflows.funnel_report import FunnelReportWorkflow

    handle = client.get_workflow_handle_for(FunnelReportWorkflow.run, workflow_id)
    return await answered(handle.query(FunnelReportWorkflow.progress, rpc_timeout=QUERY_TIMEOUT))
