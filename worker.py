"""recap's Temporal worker: registers the workflows and activities and polls two task queues.

The main queue runs the workflows and the fetch/compile/store activities; the model queue
runs only the model call, under a worker-level rate and concurrency limit from settings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.batch import BatchActivities
from activities.clusters import ClusterActivities
from activities.delivery import DeliveryActivities
from activities.digest import DigestActivities
from activities.funnel import FunnelActivities
from activities.journey import JourneyActivities
from activities.report import ReportActivities
from activities.schedule import ScheduleActivities
from activities.summary import SummaryActivities
from recap.core import metrics
from recap.core.config import Settings, get_settings
from recap.core.heap import freeze_loaded_objects
from recap.core.logging import configure_logging, get_logger
from recap.core.tracing import flush_tracing
from recap.jobs.client import connect
from recap.services.bootstrap import chat_model, source_opener, summary_store
from recap.store.clusters import ClusterStore
from recap.store.watermarks import WatermarkStore
from workflows.catalog import ALL_WORKFLOWS

log = get_logger(__name__)

ACTIVITY_THREADS = 8
# Joining another batch's summary waits without a thread, so the main queue takes many more
# activities than it has threads; sync activities queue for a thread.
MAIN_MAX_CONCURRENT_ACTIVITIES = 200


@dataclass(frozen=True)
class WorkerActivities:
    """Every activity, built once with its dependencies, and which queue runs each."""

    summary: SummaryActivities
    batch: BatchActivities
    schedule: ScheduleActivities
    clusters: ClusterActivities
    delivery: DeliveryActivities
    report: ReportActivities
    digest: DigestActivities
    funnel: FunnelActivities
    journey: JourneyActivities

    def main_queue(self) -> list[Callable[..., Any]]:
        """Fetch, compile, store, batch and schedule bookkeeping: the workflows' own queue."""
        return [
            self.summary.compile_timeline,
            self.summary.store_summary,
            self.batch.find_existing_summaries,
            self.batch.await_summary_workflow,
            self.schedule.list_scheduled_recordings,
            self.schedule.record_schedule_handoff,
            self.clusters.list_team_sessions,
            self.clusters.extract_session_errors,
            self.clusters.cluster_team_errors,
            self.clusters.save_cluster_names,
            self.delivery.list_team_destinations,
            self.delivery.deliver,
            self.report.select_report_sessions,
            self.report.prepare_report,
            self.report.plan_assignment,
            self.report.store_report,
            self.digest.make_digest,
            self.funnel.read_funnel_metadata,
            self.journey.select_person_sessions,
        ]

    def model_queue(self) -> list[Callable[..., Any]]:
        """The model calls, on their own rate-limited queue (async: they need no thread)."""
        return [
            self.summary.summarize_session,
            self.clusters.name_error_cluster,
            self.report.find_patterns_in_chunk,
            self.report.consolidate_patterns,
            self.report.assign_chunk_events,
            self.funnel.make_funnel_report,
            self.journey.build_person_journey,
        ]


def build_activities(settings: Settings) -> WorkerActivities:
    """The activities with the process's store, source opener and model client factory."""
    store = summary_store(settings)
    open_source = source_opener(settings, store)
    new_model = partial(chat_model, settings)
    return WorkerActivities(
        summary=SummaryActivities(settings, store, open_source, new_model),
        batch=BatchActivities(settings, store),
        schedule=ScheduleActivities(settings, WatermarkStore(store), open_source),
        clusters=ClusterActivities(settings, store, ClusterStore(store), open_source, new_model),
        delivery=DeliveryActivities(settings, store, open_source),
        report=ReportActivities(settings, store, open_source, new_model),
        digest=DigestActivities(store),
        funnel=FunnelActivities(settings, store, open_source, new_model),
        journey=JourneyActivities(settings, store, open_source, new_model),
    )


def build_workers(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor,
    *,
    pipeline_activities: Sequence[Callable[..., Any]] | None = None,
    model_activities: Sequence[Callable[..., Any]] | None = None,
) -> list[Worker]:
    """The main worker and the model worker (benchmarks pass same-named stand-ins)."""
    built = build_activities(settings)
    if pipeline_activities is None:
        pipeline_activities = built.main_queue()
    if model_activities is None:
        model_activities = built.model_queue()
    with warnings.catch_warnings():
        # More activity slots than threads is intended here (see above).
        warnings.filterwarnings("ignore", "Worker max_concurrent_activities", UserWarning)
        main = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=list(ALL_WORKFLOWS),
            activities=list(pipeline_activities),
            activity_executor=executor,
            max_concurrent_activities=MAIN_MAX_CONCURRENT_ACTIVITIES,
        )
    model = Worker(
        client,
        task_queue=settings.llm_task_queue,
        activities=list(model_activities),  # async: the model call needs no thread
        max_concurrent_activities=settings.llm_max_concurrent_activities,
        max_task_queue_activities_per_second=settings.llm_max_activities_per_second,
    )
    return [main, model]


def serve_metrics(settings: Settings) -> None:
    """recap's Prometheus endpoint on RECAP_METRICS_HOST:RECAP_METRICS_PORT, when the port
    is set (the Temporal SDK's own metrics are served by the client's runtime)."""
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_host, settings.metrics_port)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Runs until `stop` is set, then shuts down cleanly (in-flight tasks finish or time out)."""
    serve_metrics(settings)
    client = await connect(settings, serve_temporal_metrics=True)
    with ThreadPoolExecutor(
        max_workers=ACTIVITY_THREADS, thread_name_prefix="recap-activity"
    ) as executor:
        workers = build_workers(client, settings, executor)
        # Everything the worker needs is loaded now: out of the collector's way.
        freeze_loaded_objects()
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            llm_task_queue=settings.llm_task_queue,
            llm_max_concurrent_activities=settings.llm_max_concurrent_activities,
            llm_max_activities_per_second=settings.llm_max_activities_per_second,
            temporal_address=settings.temporal_address,
            namespace=settings.temporal_namespace,
            metrics_port=settings.metrics_port,
            temporal_metrics_port=settings.temporal_metrics_port,
            tracing=settings.otel_enabled,
        )
        async with AsyncExitStack() as stack:
            for each in workers:
                await stack.enter_async_context(each)
            await stop.wait()
        log.info("worker stopped")


async def _main() -> None:
    settings = get_settings()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_worker(settings, stop)


def main() -> None:
    code = 0
    try:
        asyncio.run(_main())
    except OSError as error:  # Temporal unreachable (ConnectionError) or a port taken
        log.error("worker cannot start", error=str(error))
        code = 1
    # os._exit skips the exporter's own exit hook: send the last spans first.
    flush_tracing()
    # temporalio can abort at interpreter exit (sdk-python#300); leave without teardown.
    os._exit(code)


if __name__ == "__main__":
    main()
