"""The team's running and recent jobs: batches of summaries, error-clustering runs and
pattern reports, listed from Temporal's visibility store with their progress (the
workflow's `progress` query while it runs, its result once it completed) and links to the
Temporal UI and to finished reports.

Only the team's workflows are asked for (their ids name the team, and so does the
`RecapTeamId` search attribute), and each listed one is checked again before it is shown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from recap.api.errors import ApiProblem
from recap.api.ui.common import page, problem, team_page, ui_state
from recap.core.config import Settings
from recap.core.naming import (
    BATCH_WORKFLOW,
    JOB_ID_PREFIXES,
    REPORT_WORKFLOW,
    SEARCH_ATTRIBUTE_TEAM,
    job_team,
)
from workflows.contracts import (
    BatchProgress,
    ClusterProgress,
    FunnelReportProgress,
    FunnelReportResult,
    PatternReportProgress,
    PatternReportResult,
    PersonJourneyProgress,
    PersonJourneyResult,
)

log = structlog.get_logger(__name__)

CLUSTER_WORKFLOW: Final = "ClusterErrorsWorkflow"
KINDS: Final = {
    BATCH_WORKFLOW: "Batch of summaries",
    CLUSTER_WORKFLOW: "Error clustering",
    REPORT_WORKFLOW: "Pattern report",
    "FunnelReportWorkflow": "Funnel report",
    "PersonJourneyWorkflow": "Person's journey",
}
MAX_JOBS: Final = 50
# Runs listed before de-duplication: a batch that continued as new is several runs.
_MAX_RUNS: Final = 4 * MAX_JOBS
# A query or a result waits for Temporal (a query for a worker too): a page must not.
_ASK_TIMEOUT: Final = timedelta(seconds=5)
_TEAM: Final = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_TEAM)


def router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/{project_id}/jobs", jobs_page, methods=["GET"])
    return routes


@dataclass(frozen=True)
class JobView:
    """One job as the page shows it."""

    workflow_id: str
    kind: str
    # Temporal's status, in words: running, completed, failed, canceled, terminated …
    status: str
    # What a running job is doing (its own status or step), when it says.
    step: str | None
    done: int | None
    total: int | None
    progress_text: str | None
    started: str | None
    closed: str | None
    temporal_url: str
    # The stored report a report job wrote, once it says.
    report_id: str | None


def _literal(value: str) -> str:
    """`value` as a string literal of Temporal's list filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def team_jobs_query(team_id: str, *, by_search_attribute: bool = True) -> str:
    """The visibility query for the team's batches, clustering runs and reports: by the
    team their ids name, and (when the namespace has it) by the team search attribute,
    which also finds the batches of the team's schedules and digests."""
    types = ", ".join(_literal(name) for name in KINDS)
    mine = [
        f"WorkflowId STARTS_WITH {_literal(f'{prefix}:{team_id}:')}" for prefix in JOB_ID_PREFIXES
    ]
    if by_search_attribute:
        mine.append(f"{SEARCH_ATTRIBUTE_TEAM} = {_literal(team_id)}")
    return f"WorkflowType IN ({types}) AND ({' OR '.join(mine)})"


def is_teams(execution: WorkflowExecution, team_id: str) -> bool:
    """Whether a listed workflow is the team's: its id names the team (a batch, clustering
    or report id), or else its team search attribute does; neither may name another."""
    by_attribute = execution.typed_search_attributes.get(_TEAM)
    if by_attribute is not None and by_attribute != team_id:
        return False
    by_id = job_team(execution.id)
    if by_id is not None:
        return by_id == team_id
    return by_attribute == team_id


async def _list_runs(client: Client, team_id: str) -> list[WorkflowExecution]:
    async def listed(query: str) -> list[WorkflowExecution]:
        return [
            execution
            async for execution in client.list_workflows(
                query, limit=_MAX_RUNS, rpc_timeout=timedelta(seconds=10)
            )
        ]

    try:
        return await listed(team_jobs_query(team_id))
    except RPCError as error:
        if error.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        # The namespace lacks recap's search attributes (`recap doctor` says how to add
        # them): the ids still name the team.
        log.warning("jobs listed by workflow id only", team_id=team_id, error=str(error))
        return await listed(team_jobs_query(team_id, by_search_attribute=False))


def latest_runs(executions: list[WorkflowExecution], team_id: str) -> list[WorkflowExecution]:
    """One run per workflow id (a run that continued as new gives way to its successor),
    the team's only, running first, then the most recently started; at most `MAX_JOBS`."""
    runs: dict[str, WorkflowExecution] = {}
    for execution in executions:
        if not is_teams(execution, team_id):
            continue
        known = runs.get(execution.id)
        if known is None or _newer(execution, known):
            runs[execution.id] = execution
    running = WorkflowExecutionStatus.RUNNING
    ordered = sorted(
        runs.values(),
        key=lambda e: (e.status != running, -(e.start_time.timestamp() if e.start_time else 0)),
    )
    return ordered[:MAX_JOBS]


def _newer(execution: WorkflowExecution, known: WorkflowExecution) -> bool:
    if (known.status == WorkflowExecutionStatus.CONTINUED_AS_NEW) != (
        execution.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    ):
        return known.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    epoch = datetime.min.replace(tzinfo=UTC)
    return (execution.start_time or epoch) > (known.start_time or epoch)


Progress = BatchProgress | ClusterProgress | PatternReportProgress | PatternReportResult


async def _progress(client: Client, execution: WorkflowExecution) -> Progress | None:
    """A running job's `progress` query, a completed one's result; None for others, or
    when Temporal (or a worker, for a query) does not answer in time."""
    kinds: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
        BATCH_WORKFLOW: (BatchProgress, BatchProgress),
        CLUSTER_WORKFLOW: (ClusterProgress, ClusterProgress),
        REPORT_WORKFLOW: (PatternReportProgress, PatternReportResult),
        "FunnelReportWorkflow": (FunnelReportProgress, FunnelReportResult),
        "PersonJourneyWorkflow": (PersonJourneyProgress, PersonJourneyResult),
    }
    if execution.workflow_type not in kinds:
        return None
    query_type, result_type = kinds[execution.workflow_type]
    handle = client.get_workflow_handle(
        execution.id, run_id=execution.run_id, result_type=result_type
    )
    try:
        if execution.status == WorkflowExecutionStatus.RUNNING:
            answer = await handle.query(
                "progress", result_type=query_type, rpc_timeout=_ASK_TIMEOUT
            )
        elif execution.status == WorkflowExecutionStatus.COMPLETED:
            answer = await asyncio.wait_for(
                handle.result(follow_runs=False, rpc_timeout=_ASK_TIMEOUT),
                _ASK_TIMEOUT.total_seconds(),
            )
        else:
            return None
    except (RPCError, WorkflowQueryFailedError, WorkflowFailureError, TimeoutError) as error:
        # A job without its counts is still listed.
        log.info("job progress unavailable", workflow_id=execution.id, error=repr(error))
        return None
    if isinstance(answer, (BatchProgress, ClusterProgress, PatternReportProgress)):
        return answer
    return answer if isinstance(answer, PatternReportResult) else None


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else None


def job_view(
    settings: Settings, execution: WorkflowExecution, progress: Progress | None
) -> JobView:
    """The page's view of one job, its counts from `progress` (a query's answer or the
    completed workflow's result)."""
    status = execution.status.name.lower() if execution.status else "unknown"
    step = done = total = text = report_id = None
    if isinstance(progress, BatchProgress):
        step, done, total = progress.status, progress.done, progress.total
        text = (
            f"{progress.done} of {progress.total} sessions: {progress.summarized} summarized,"
            f" {progress.skipped} skipped, {progress.failed} failed"
        )
    elif isinstance(progress, ClusterProgress):
        step, done, total = progress.status, progress.done, progress.total
        text = (
            f"{progress.done} of {progress.total} sessions read, {progress.occurrences}"
            f" errors in {progress.clusters} clusters, {progress.named} named"
        )
    elif isinstance(progress, PatternReportProgress):
        step, done, total = progress.step, progress.sessions_summarized, progress.sessions_total
        text = f"{progress.sessions_summarized} of {progress.sessions_total} sessions summarized"
        if progress.chunks_total:
            text += f", {progress.chunks_done} of {progress.chunks_total} parts read"
        report_id = progress.report_id
    elif isinstance(progress, PatternReportResult):
        text = f"{progress.sessions_reported} sessions reported, {progress.patterns} patterns"
        report_id = progress.report_id
    elif isinstance(progress, FunnelReportProgress | PersonJourneyProgress):
        step, done, total = progress.step, progress.sessions_summarized, progress.sessions_total
        text = f"{progress.sessions_summarized} of {progress.sessions_total} sessions summarized"
        report_id = progress.report_id if isinstance(progress, FunnelReportProgress) else None
    elif isinstance(progress, FunnelReportResult):
        text = f"{progress.sessions_reported} sessions reported, {progress.factors} factors"
        report_id = progress.report_id
    elif isinstance(progress, PersonJourneyResult):
        text = (
            f"{progress.sessions} sessions: {progress.succeeded} succeeded,"
            f" {progress.failed} failed, {progress.unknown} unknown"
        )
    return JobView(
        workflow_id=execution.id,
        kind=KINDS.get(execution.workflow_type, execution.workflow_type),
        status=status,
        step=step if step and step != status else None,
        done=done,
        total=total,
        progress_text=text,
        started=_when(execution.start_time),
        closed=_when(execution.close_time),
        temporal_url=settings.temporal_workflow_url(execution.id),
        report_id=report_id,
    )


async def team_jobs(client: Client, settings: Settings, team_id: str) -> list[JobView]:
    """The team's running and recent jobs, running first, with their progress."""
    runs = latest_runs(await _list_runs(client, team_id), team_id)
    answers = await asyncio.gather(*(_progress(client, run) for run in runs))
    return [job_view(settings, run, answer) for run, answer in zip(runs, answers, strict=True)]


async def jobs_page(request: Request, project_id: str) -> Response:
    """`/ui/{project_id}/jobs`: the team's batches, clustering runs and reports."""
    ui = ui_state(request)
    session = await team_page(request, project_id)
    if isinstance(session, Response):
        return session
    try:
        client = await ui.runtime.temporal()
        jobs = await team_jobs(client, ui.settings, project_id)
    except (ApiProblem, RPCError, ConnectionError, TimeoutError) as error:
        log.warning("jobs unavailable", team_id=project_id, error=str(error))
        return problem(
            request,
            503,
            "Jobs unavailable",
            "recap cannot reach Temporal, which runs and lists the jobs, so they cannot be"
            " shown now. Summaries, reports and error clusters already stored are still on"
            " their pages; try this page again in a minute, or ask an operator to check"
            " Temporal (`recap doctor`).",
            session,
        )
    return page(
        request,
        "jobs.html",
        {
            "team_id": project_id,
            "jobs": jobs,
            "running": sum(1 for job in jobs if job.status == "running"),
            "max_jobs": MAX_JOBS,
        },
        session=session,
    )
