"""recap's Temporal worker: registers the workflows and activities and polls the task queue."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.summary import ALL_ACTIVITIES
from recap.client import connect
from recap.config import Settings, get_settings
from recap.logging import configure_logging, get_logger
from workflows import ALL_WORKFLOWS

log = get_logger(__name__)


def build_worker(client: Client, settings: Settings, executor: ThreadPoolExecutor) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(ALL_WORKFLOWS),
        activities=list(ALL_ACTIVITIES),
        activity_executor=executor,
        max_concurrent_activities=8,
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Runs until `stop` is set, then shuts down cleanly (in-flight tasks finish or time out)."""
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="recap-activity") as executor:
        worker = build_worker(client, settings, executor)
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            temporal_address=settings.temporal_address,
            namespace=settings.temporal_namespace,
        )
        async with worker:
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
    except ConnectionError as error:
        log.error("worker cannot start", error=str(error))
        code = 1
    # temporalio can abort at interpreter exit (sdk-python#300); leave without teardown.
    os._exit(code)


if __name__ == "__main__":
    main()
