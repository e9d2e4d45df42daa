"""Starting and awaiting recap's workflows: the one place in `recap/` that uses temporalio."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.client import Client, Interceptor, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from activities.failures import failure_type
from recap.core.config import Settings
from recap.core.naming import (
    REPORT_WORKFLOW,
    batch_workflow_id,
    cluster_workflow_id,
    summary_workflow_id,
)
from recap.core.tracing import configure_tracing
from workflows.contracts import (
    BatchProgress,
    ClusterErrorsInput,
    ClusterProgress,
    FunnelReportProgress,
    PatternReportProgress,
    PersonJourneyProgress,
    SummarizeSessionInput,
    SummarizeSessionResult,
    SummarizeSessionsInput,
)
from workflows.contracts import SessionOutcome as SessionOutcome

TemporalClient = Client


class TemporalSettingsError(ConnectionError):
    """The TLS settings cannot make a connection (a certificate without its key, a file
    that cannot be read): nothing was sent. A ConnectionError, so every part reports it
    the way it reports an unreachable Temporal."""


async def connect(settings: Settings, *, serve_temporal_metrics: bool = False) -> Client:
    """The Temporal client, traced when RECAP_OTEL_ENABLED is set (workers built from it are
    traced too). `serve_temporal_metrics`: the worker's client, whose runtime serves the
    SDK's Prometheus metrics on RECAP_TEMPORAL_METRICS_PORT when that is set.

    Over TLS, with a client certificate (mTLS) and/or an API key when the settings ask for
    them (Temporal Cloud, a secured cluster): see `temporal_tls`."""
    tls = temporal_tls(settings)
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    interceptors: list[Interceptor] = []
    if configure_tracing(settings):
        from temporalio.contrib.opentelemetry import TracingInterceptor

        interceptors.append(TracingInterceptor())
    runtime = temporal_runtime(settings) if serve_temporal_metrics else None
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            api_key=api_key,
            # Explicit either way: False keeps a dev server's plain gRPC, and the SDK's own
            # default (TLS whenever an API key is set) is already folded into `tls`.
            tls=tls if tls is not None else False,
            data_converter=pydantic_data_converter,
            interceptors=interceptors,
            runtime=runtime,
        )
    except RuntimeError as error:
        # The SDK's words name the address and the TLS failure; the key is never among
        # them, but the message is scrubbed anyway, as it is printed and logged.
        reason = _without_secret(str(error), api_key)
        if tls is None:
            message = (
                f"cannot reach Temporal at {settings.temporal_address} ({reason}); start it "
                "with `recap dev` or set RECAP_TEMPORAL_ADDRESS (Temporal Cloud or a secured "
                "cluster also needs RECAP_TEMPORAL_TLS or RECAP_TEMPORAL_API_KEY)"
            )
        else:
            message = (
                f"cannot reach Temporal at {settings.temporal_address} over TLS ({reason}); "
                "check RECAP_TEMPORAL_ADDRESS and the TLS settings: "
                "RECAP_TEMPORAL_TLS_SERVER_CA_PATH and RECAP_TEMPORAL_TLS_SERVER_NAME (the "
                "server's certificate), RECAP_TEMPORAL_TLS_CERT_PATH and "
                "RECAP_TEMPORAL_TLS_KEY_PATH (mTLS), RECAP_TEMPORAL_API_KEY; `recap dev` "
                "serves plain gRPC, without TLS"
            )
        # An error that held the key is not chained: a traceback would print it.
        raise ConnectionError(message) from (error if reason == str(error) else None)


def temporal_tls(settings: Settings) -> TLSConfig | None:
    """The TLS configuration the settings ask for, or None for plain gRPC (a dev server).

    TLS is on with RECAP_TEMPORAL_TLS, or whenever a server CA, a client certificate, a
    server name or an API key is set: each means nothing without TLS, and an API key sent
    in the clear would be readable by anyone on the path (Temporal Cloud requires TLS).
    Without a server CA the system's trusted roots verify the server, as for Temporal Cloud.
    """
    cert_path, key_path = settings.temporal_tls_cert_path, settings.temporal_tls_key_path
    if (cert_path is None) != (key_path is None):
        raise TemporalSettingsError(
            "RECAP_TEMPORAL_TLS_CERT_PATH and RECAP_TEMPORAL_TLS_KEY_PATH go together: mTLS "
            "needs the client certificate and its private key; set both, or neither"
        )
    if not uses_tls(settings):
        return None
    return TLSConfig(
        server_root_ca_cert=_pem(
            settings.temporal_tls_server_ca_path,
            "RECAP_TEMPORAL_TLS_SERVER_CA_PATH",
            b"CERTIFICATE-----",
            "a PEM certificate",
        ),
        domain=settings.temporal_tls_server_name,
        client_cert=_pem(
            cert_path, "RECAP_TEMPORAL_TLS_CERT_PATH", b"CERTIFICATE-----", "a PEM certificate"
        ),
        client_private_key=_pem(
            key_path, "RECAP_TEMPORAL_TLS_KEY_PATH", b"PRIVATE KEY-----", "a PEM private key"
        ),
    )


def uses_tls(settings: Settings) -> bool:
    """Whether the settings ask for TLS (see `temporal_tls`)."""
    return bool(
        settings.temporal_tls
        or settings.temporal_tls_server_ca_path
        or settings.temporal_tls_cert_path
        or settings.temporal_tls_key_path
        or settings.temporal_tls_server_name
        or settings.temporal_api_key
    )


def _pem(path: Path | None, setting: str, marker: bytes, what: str) -> bytes | None:
    """The file a TLS setting names, read now so that a wrong path is reported by its
    setting rather than as a failed handshake. Errors name the path, never the content."""
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TemporalSettingsError(
            f"cannot read {setting} ({path}): {error.strerror or error}; point it at "
            f"{what} file that recap may read"
        ) from None
    if marker not in content:
        raise TemporalSettingsError(
            f"{setting} ({path}) does not hold {what}; point it at {what} file"
        )
    return content


def _without_secret(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def connection_security(settings: Settings) -> str:
    """How recap talks to Temporal, for `recap doctor`: plain gRPC, TLS, mTLS, with or
    without an API key (never the key). Assumes `temporal_tls(settings)` succeeded."""
    if not uses_tls(settings):
        return "plain gRPC without TLS"
    extras = []
    if settings.temporal_tls_server_ca_path is not None:
        extras.append("a private server CA")
    if settings.temporal_tls_cert_path is not None:
        extras.append("a client certificate (mTLS)")
    if settings.temporal_api_key:
        extras.append("an API key")
    if not extras:
        return "TLS"
    listed = extras[0] if len(extras) == 1 else f"{', '.join(extras[:-1])} and {extras[-1]}"
    return f"TLS with {listed}"


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
        handle = await start_summary(
            client,
            settings,
            team_id=team_id,
            session_id=session_id,
            focus_area=focus_area,
            source=source,
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


async def start_summary(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    session_id: str,
    focus_area: str | None,
    source: str | None,
) -> WorkflowHandle[Any, SummarizeSessionResult]:
    """Starts a session's summary workflow, or attaches to the one running under its id
    (`summary_workflow_id`), without waiting for it; a finished run's id is run again."""
    from workflows.search_attributes import SESSION, STATUS, TEAM
    from workflows.session_summary import SummarizeSessionWorkflow

    return await client.start_workflow(
        SummarizeSessionWorkflow.run,
        SummarizeSessionInput(
            team_id=team_id,
            session_id=session_id,
            focus_area=focus_area,
            source=source,
            llm_task_queue=settings.llm_task_queue,
        ),
        id=summary_workflow_id(team_id, session_id, focus_area),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        # Findable from its first moment, and one update fewer in the run (as a batch does).
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(TEAM, team_id),
                SearchAttributePair(SESSION, session_id),
                SearchAttributePair(STATUS, "compiling"),
            ]
        ),
        static_summary=f"Summarize session {session_id}",
    )


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


JobKind = Literal[
    "session_summaries", "error_clusters", "pattern_report", "funnel_report", "person_journey"
]


class Job(BaseModel):
    kind: JobKind
    # The workflow's status, lower case: running, completed, failed, terminated …
    status: str
    progress: (
        BatchProgress
        | ClusterProgress
        | PatternReportProgress
        | FunnelReportProgress
        | PersonJourneyProgress
    )


async def job_progress(client: Client, workflow_id: str) -> Job | None:
    """The progress of a batch, clustering, pattern or funnel report or journey job, from
    its workflow's query; None when there is no such job."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = description.status.name.lower() if description.status else "unknown"
    if description.workflow_type == "SummarizeSessionsIndividuallyWorkflow":
        batch = await batch_progress(client, workflow_id)
        return Job(kind="session_summaries", status=batch.status, progress=batch)
    if description.workflow_type == "ClusterErrorsWorkflow":
        clustering = await clustering_progress(client, workflow_id)
        return Job(kind="error_clusters", status=clustering.status, progress=clustering)
    if description.workflow_type == REPORT_WORKFLOW:
        from recap.jobs.reports import report_progress

        report = await report_progress(client, workflow_id)
        if report is None:
            return None
        return Job(kind="pattern_report", status=status, progress=report)
    if description.workflow_type == "FunnelReportWorkflow":
        from recap.jobs.funnels import funnel_progress

        funnel = await funnel_progress(client, workflow_id)
        if funnel is None:
            return None
        return Job(kind="funnel_report", status=status, progress=funnel)
    if description.workflow_type == "PersonJourneyWorkflow":
        from recap.jobs.journeys import journey_progress

        journey = await journey_progress(client, workflow_id)
        if journey is None:
            return None
        return Job(kind="person_journey", status=status, progress=journey)
    return None


async def summary_status(client: Client, workflow_id: str) -> str | None:
    """The step a session's summary workflow is at (`compiling`, `summarizing`, `storing`,
    `summarized`, `failed` …), from its `status` query; None while there is no such
    workflow yet (or Temporal cannot say)."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from workflows.session_summary import SummarizeSessionWorkflow

    handle = client.get_workflow_handle_for(SummarizeSessionWorkflow.run, workflow_id)
    try:
        # Bounded: a query waits for a worker, and a progress report must not.
        return await handle.query(SummarizeSessionWorkflow.status, rpc_timeout=timedelta(seconds=5))
    except (RPCError, WorkflowQueryFailedError):
        return None


class SummaryRun(BaseModel):
    """The latest run of a session's summary workflow, as a progress report sees it."""

    # The workflow's status, lower case: running, completed, failed, terminated …
    status: str
    # While it runs: its `status` query's step, else its status search attribute.
    step: str | None = None
    # When it failed: the typed reason (`recording_not_found` …), for `failure_message`.
    error_type: str | None = None


async def summary_run(client: Client, workflow_id: str) -> SummaryRun | None:
    """The latest run of the summary workflow `workflow_id`; None when there is none."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = description.status
    name = status.name.lower() if status else "unknown"
    if status == WorkflowExecutionStatus.RUNNING:
        # A query waits for the run's workflow task, which the worker holds while it fetches
        # and compiles (a local activity): the status search attribute answers meanwhile.
        from workflows.search_attributes import STATUS

        step = await summary_status(client, workflow_id)
        return SummaryRun(status=name, step=step or description.typed_search_attributes.get(STATUS))
    if status != WorkflowExecutionStatus.FAILED:
        return SummaryRun(status=name)
    try:
        await handle.result()
    except WorkflowFailureError as error:
        return SummaryRun(status=name, error_type=failure_type(error, "workflow_failed")[0])
    return SummaryRun(status=name, error_type="workflow_failed")


async def check_temporal(client: Client, within_seconds: float = 5.0) -> None:
    """Raises when the Temporal frontend does not answer a health check in time."""
    healthy = await client.service_client.check_health(timeout=timedelta(seconds=within_seconds))
    if not healthy:
        raise ConnectionError("Temporal answered its health check with NOT_SERVING")


# -- pattern reports ---------------------------------------------------------------------
