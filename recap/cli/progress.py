"""The live progress bar of a workflow, and a fan-out workflow's (a batch or a clustering
run) watched until it ends, then its typed failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from rich.markup import escape

from recap.cli.console import err, out

if TYPE_CHECKING:
    from rich.progress import Progress
    from temporalio.client import Client

    from recap.core.config import Settings
    from workflows.contracts import SessionFailure


class WorkflowProgress(Protocol):
    """What a fan-out workflow's progress query answers (a batch's or a clustering run's)."""

    @property
    def failures(self) -> Sequence[SessionFailure]: ...


P = TypeVar("P", bound=WorkflowProgress)


def progress_bar() -> Progress:
    """The live bar of a workflow on stderr: its step, the bar, done of total, and a
    task's `counts` field."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    return Progress(*columns, console=err, transient=False)


async def watch_progress(
    settings: Settings,
    workflow_id: str,
    *,
    read: Callable[[Client, str], Awaitable[P]],
    show: Callable[[P], tuple[str, int | None, int, str]],
) -> P:
    """A live progress bar for a fan-out workflow until it ends, then its typed failures;
    returns the last progress. `show` turns a progress into the bar's description, total,
    completed count and counts text."""
    from recap.jobs.client import batch_is_running, connect

    client = await connect(settings)
    with progress_bar() as bar:
        task = bar.add_task("", total=None, counts="")
        while True:
            description, total, done, counts = show(await read(client, workflow_id))
            bar.update(task, description=description, total=total, completed=done, counts=counts)
            if not await batch_is_running(client, workflow_id):
                break
            await asyncio.sleep(1.0)
    progress = await read(client, workflow_id)
    for failure in progress.failures:
        out.print(
            f"[red]failed[/] {escape(failure.session_id)}: {escape(failure.error_type)}:"
            f" {escape(failure.error)}",
            highlight=False,
        )
    return progress


Q = TypeVar("Q")
R = TypeVar("R")
# How often a watched job's progress is asked while its result is awaited.
POLL_SECONDS = 1.0


async def watch_result(
    settings: Settings,
    workflow_id: str,
    *,
    progress: Callable[[Client, str], Awaitable[Q | None]],
    result: Callable[[Client, str, float], Awaitable[R | None]],
    show: Callable[[Q | None], tuple[str, int | None, int, str]],
) -> R:
    """A live progress bar for a job (a report, a funnel, a journey) until its result is
    there; returns it. `show` turns a progress (None before the first) into the bar's
    description, total, completed count and counts text."""
    from recap.jobs.client import connect

    client = await connect(settings)
    with progress_bar() as bar:
        task = bar.add_task("starting", total=None, counts="")
        while True:
            step, total, done, counts = show(await progress(client, workflow_id))
            bar.update(task, description=step, total=total, completed=done, counts=counts)
            started = asyncio.get_running_loop().time()
            # The wait for the result is the poll's pause; a quick None still pauses.
            answer = await result(client, workflow_id, POLL_SECONDS)
            if answer is not None:
                bar.update(task, description="done", total=total or 1, completed=total or 1)
                return answer
            waited = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, POLL_SECONDS - waited))
