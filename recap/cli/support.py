"""What every `recap` command module shares: the consoles, how a command fails or ends,
running one coroutine, reading session ids and `--source`, and the live progress bar of a
fan-out workflow."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import typer
from rich.console import Console

from recap.sources.spec import SourceSpec, SourceSpecError

if TYPE_CHECKING:
    from temporalio.client import Client

    from recap.core.config import Settings
    from workflows.contracts import SessionFailure

out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def exit_now(code: int) -> None:
    # temporalio can abort at interpreter exit (sdk-python#300): flush, then leave at once.
    from recap.core.tracing import flush_tracing

    flush_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fail(message: str, code: int = 1) -> None:
    """Fail a command that may have started temporalio: print, then leave at once."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    exit_now(code)


def reject(message: str, code: int = 1) -> None:
    """Fail a command that never started temporalio: a normal exit, safe in-process."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


class WorkflowProgress(Protocol):
    """What a fan-out workflow's progress query answers (a batch's or a clustering run's)."""

    @property
    def failures(self) -> Sequence[SessionFailure]: ...


P = TypeVar("P", bound=WorkflowProgress)


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from recap.jobs.client import batch_is_running, connect

    client = await connect(settings)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    with Progress(*columns, console=err, transient=False) as bar:
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
            f"[red]failed[/] {failure.session_id}: {failure.error_type}: {failure.error}",
            highlight=False,
        )
    return progress


def read_session_ids(values: list[str]) -> list[str]:
    """Each value is a file of ids (one a line, `#` comments) or ids separated by commas."""
    ids: list[str] = []
    for value in values:
        path = Path(value).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long comma-separated list is no file name at all
            is_file = False
        if is_file:
            lines = path.read_text(encoding="utf-8").splitlines()
            ids.extend(line.strip() for line in lines if line.strip() and not line.startswith("#"))
        else:
            ids.extend(part.strip() for part in value.split(",") if part.strip())
    return list(dict.fromkeys(ids))


def absolute_source(source: str | None) -> str | None:
    """`--source` checked (exit 2 when it is neither form) and, for files, made absolute."""
    if source is None:
        return None
    try:
        spec = SourceSpec.parse(source)
    except SourceSpecError:
        reject("--source must be 'posthog' or 'files:DIR'", 2)
    # The worker resolves the path, possibly from another directory: make it absolute.
    return str(spec.absolute())
