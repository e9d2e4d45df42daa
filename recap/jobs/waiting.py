"""Awaiting a job's workflow (a report, a funnel, a journey) for a bounded time, and asking
its progress query, alike for every kind of job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, TypeVar

from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.failures import failure_type

T = TypeVar("T")
# A query waits for a worker, and a progress report must not.
QUERY_TIMEOUT: Final = timedelta(seconds=5)


async def bounded_result(
    result: Awaitable[T],
    wait_seconds: float,
    *,
    failed: Callable[[str, str], Exception],
    failed_type: str,
    missing: tuple[str, str],
) -> T | None:
    """The workflow's `result` once it is there, or None while it still runs after
    `wait_seconds` (it goes on running). A failed, cancelled or terminated workflow raises
    `failed(error_type, message)` (its typed reason, else `failed_type`); a workflow that
    does not exist raises `failed(*missing)`."""
    try:
        return await asyncio.wait_for(asyncio.shield(result), wait_seconds)
    except TimeoutError:
        return None
    except WorkflowFailureError as error:
        raise failed(*failure_type(error, failed_type)) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise failed(*missing) from error
        raise


async def answered(query: Awaitable[T]) -> T | None:
    """A progress query's answer; None when there is no such workflow or Temporal (or a
    worker) cannot say in time."""
    try:
        return await query
    except (RPCError, WorkflowQueryFailedError):
        return None
