"""Starting and awaiting recap's workflows: the one place in `recap/` that uses temporalio."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Literal

from temporalio.client import Client, Interceptor, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.failures import failure_type
from recap.core.config import Settings
from recap.core.naming import batch_workflow_id, cluster_workflow_id, summary_workflow_id
from recap.core.tracing import configure_tracing
from workflows.contracts import (
    BatchProgress,
    ClusterErrorsInput,
    ClusterProgress,
    SummarizeSessionInput,
    SummarizeSessionResult,
    SummarizeSessionsInput,
)
from workflows.contracts import SessionOutcome as SessionOutcome

TemporalClient = Client


async def connect(settings: Settings, *, serve_temporal_metrics: bool = False) -> Client:
    """The Temporal client, traced when RECAP_OTEL_ENABLED is set (workers built from it are
    traced too). `serve_temporal_metrics`: the worker's client, whose runtime serves the
    SDK's Prometheus metrics on RECAP_TEMPORAL_METRICS_PORT when that is set."""
    interceptors: list[Interceptor] = []
    if configure_tracing(settings):
        from temporalio.contrib.opentelemetry import TracingInterceptor

        interceptors.append(TracingInterceptor())
    runtime = temporal_runtime(settings) if serve_temporal_metrics else None
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            interceptors=interceptors,
            runtime=runtime,
        )
    except RuntimeError as error:
        raise ConnectionError(
            f"cannot reach Temporal at {settings.temporal_address} ({error}); start it with "
            "`recap dev` or set RECAP_TEMPORAL_ADDRESS"
        ) from error


_runtimes: dict[str, Runtime] = {}


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A runtime whose Prometheus endpoint serves the SDK's metrics (polls, task latencies,
    requests), or None (the default runtime) when RECAP_TEMPORAL_METRICS_PORT is unset.

    A runtime owns a thread pool and binds its port, so there is one per process and address.
    """
    if settings.temporal_metrics_port is None:
        return None
    address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
    if address not in _runtimes:
        try:
            _runtimes[address] = Runtime(
                telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address))
            )
        except ValueError as error:  # the SDK's report of a port it cannot bind
            raise OSError(
                f"cannot serve the Temporal SDK's metrics on {address} ({error}); free the "
                "port or change RECAP_TEMPORAL_METRICS_PORT"
            ) from error
    return _runtimes[address]


async def summarize_sessions(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    session_ids: list[str],
    focus_area: str | None,
    source: str | None,
    force: bool = True,
) -> list[SessionOutcome]:
    """Summarizes each session through its workflow and waits. Without `force`, a session
    whose summary for this focus area was written by the current prompt version is not
    summarized again: its stored summary is the outcome."""
    # The workflow modules and the summary services load the model client and the timeline
    # compiler: imported where needed, so the commands that only connect stay quick.
    from recap.services.bootstrap import summary_store
    from recap.services.summary import current_prompt_version, summarized_sessions
    from workflows.session_summary import SummarizeSessionWorkflow

    store = summary_store(settings)
    done: set[str] = set()
    if not force:
        done = set(
            await asyncio.to_thread(
                summarized_sessions,
                store,
                team_id=team_id,
                session_ids=list(dict.fromkeys(session_ids)),
                focus_area=focus_area,
                prompt_version=current_prompt_version(),
            )
        )

    async def one(session_id: str) -> SessionOutcome:
        workflow_id = summary_workflow_id(team_id, session_id, focus_area)
        summarized = SessionOutcome(
            session_id=session_id, status="summarized", workflow_id=workflow_id
        )
        stored = (
            store.get_summary(team_id=team_id, session_id=session_id, focus_area=focus_area)
            if session_id in done
            else None
        )
        if stored is not None:
            result = SummarizeSessionResult(workflow_id=workflow_id, stored=stored)
            return summarized.model_copy(update={"result": result})
        handle = await client.start_workflow(
            SummarizeSessionWorkflow.run,
            SummarizeSessionInput(
                team_id=team_id,
                session_id=session_id,
                focus_area=focus_area,
                source=source,
                llm_task_queue=settings.llm_task_queue,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"Summarize session {session_id}",
        )
        try:
            result = await handle.result()
        except WorkflowFailureError as error:
            error_type, message = failure_type(error, "workflow_failed")
            return summarized.model_copy(
                update={"status": "failed", "error_type": error_type, "error": message}
            )
        return summarized.model_copy(update={"result": result})

    return list(await asyncio.gather(*(one(session_id) for session_id in session_ids)))


def _run_key() -> str:
    """Tells one team's batches, or its clustering runs, apart in their workflow ids."""
    return uuid.uuid4().hex[:12]


async def start_batch(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    session_ids: list[str],
    focus_area: str | None,
    source: str | None,
    force: bool,
    max_concurrency: int | None,
) -> str:
    """Starts a SummarizeSessionsIndividuallyWorkflow and returns its workflow id."""
    from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow

    workflow_id = batch_workflow_id(team_id, _run_key())
    await client.start_workflow(
        SummarizeSessionsIndividuallyWorkflow.run,
        SummarizeSessionsInput(
            team_id=team_id,
            session_ids=session_ids,
            focus_area=focus_area,
            force=force,
            max_concurrency=max_concurrency or settings.batch_max_concurrency,
            source=source,
            llm_task_queue=settings.llm_task_queue,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        static_summary=f"Summarize {len(session_ids)} sessions of team {team_id}",
    )
    return workflow_id


async def batch_progress(client: Client, workflow_id: str) -> BatchProgress:
    """The latest run's progress (a batch continues as new, so no run id is pinned)."""
    from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow

    handle = client.get_workflow_handle_for(SummarizeSessionsIndividuallyWorkflow.run, workflow_id)
    return await handle.query(SummarizeSessionsIndividuallyWorkflow.progress)


async def batch_is_running(client: Client, workflow_id: str) -> bool:
    from temporalio.client import WorkflowExecutionStatus

    description = await client.get_workflow_handle(workflow_id).describe()
    return description.status in (
        WorkflowExecutionStatus.RUNNING,
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
    )


async def cancel_batch(client: Client, workflow_id: str) -> None:
    """Stops starting new sessions; summaries already running finish (others may share them)."""
    await client.get_workflow_handle(workflow_id).cancel()


async def start_clustering(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    session_ids: list[str] | None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    focus_area: str | None = None,
    source: str | None = None,
    max_concurrency: int | None = None,
    max_named_clusters: int | None = None,
) -> str:
    """Starts a ClusterErrorsWorkflow and returns its workflow id."""
    from workflows.cluster_errors import ClusterErrorsWorkflow

    workflow_id = cluster_workflow_id(team_id, _run_key())
    request = ClusterErrorsInput(
        team_id=team_id,
        session_ids=session_ids,
        date_from=date_from,
        date_to=date_to,
        focus_area=focus_area,
        source=source,
        max_concurrency=max_concurrency or settings.batch_max_concurrency,
        llm_task_queue=settings.llm_task_queue,
    )
    if max_named_clusters is not None:
        request.max_named_clusters = max_named_clusters
    what = f"{len(session_ids)} sessions" if session_ids is not None else "stored sessions"
    await client.start_workflow(
        ClusterErrorsWorkflow.run,
        request,
        id=workflow_id,
        task_queue=settings.task_queue,
        static_summary=f"Cluster the errors of {what} of team {team_id}",
    )
    return workflow_id


async def clustering_progress(client: Client, workflow_id: str) -> ClusterProgress:
    """The latest run's progress (extraction continues as new, so no run id is pinned)."""
    from workflows.cluster_errors import ClusterErrorsWorkflow

    handle = client.get_workflow_handle_for(ClusterErrorsWorkflow.run, workflow_id)
    return await handle.query(ClusterErrorsWorkflow.progress)


async def batch_result(
    client: Client, workflow_id: str, wait_seconds: float
) -> BatchProgress | None:
    """The batch's final progress once it ends (across continue-as-new runs), or None when
    it is still running after `wait_seconds`; it goes on running either way."""
    from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow

    handle = client.get_workflow_handle_for(SummarizeSessionsIndividuallyWorkflow.run, workflow_id)
    try:
        return await asyncio.wait_for(asyncio.shield(handle.result()), wait_seconds)
    except TimeoutError:
        return None


JobKind = Literal["session_summaries", "error_clusters"]


async def job_progress(
    client: Client, workflow_id: str
) -> tuple[JobKind, BatchProgress | ClusterProgress] | None:
    """The progress of a batch or clustering job, from its workflow's query; None when
    there is no such job."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if description.workflow_type == "SummarizeSessionsIndividuallyWorkflow":
        return "session_summaries", await batch_progress(client, workflow_id)
    if description.workflow_type == "ClusterErrorsWorkflow":
        return "error_clusters", await clustering_progress(client, workflow_id)
    return None


async def check_temporal(client: Client, within_seconds: float = 5.0) -> None:
    """Raises when the Temporal frontend does not answer a health check in time."""
    healthy = await client.service_client.check_health(timeout=timedelta(seconds=within_seconds))
    if not healthy:
        raise ConnectionError("Temporal answered its health check with NOT_SERVING")
