"""`recap batch …`: many sessions summarized by one batch workflow, started, watched with a
live progress bar, checked or cancelled."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape

from recap.cli.console import err, exit_now, fail, out, reject, run_async
from recap.cli.options import (
    FocusOption,
    SourceOption,
    TeamOption,
    absolute_source,
    read_session_ids,
)
from recap.cli.progress import watch_progress
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from workflows.contracts import BatchProgress

batch_app = typer.Typer(
    help="Summarize many sessions in one batch workflow, with a live progress bar.",
    no_args_is_help=False,
)

ConcurrencyOption = Annotated[
    int | None,
    typer.Option("--concurrency", min=1, max=1000, help="summaries in flight at once"),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="summarize again sessions that have a summary")
]
WorkflowIdArgument = Annotated[str, typer.Argument(help="the batch's workflow id")]


async def _watch_batch(settings: Settings, workflow_id: str) -> int:
    """Shows the batch's progress until it ends; the exit code says whether any failed."""
    from recap.jobs.client import batch_progress

    def show(progress: BatchProgress) -> tuple[str, int | None, int, str]:
        counts = (
            f"{progress.summarized} summarized, {progress.skipped} skipped, "
            f"{progress.failed} failed, {progress.in_flight} in flight"
        )
        return "batch", progress.total, progress.done, counts

    progress = await watch_progress(settings, workflow_id, read=batch_progress, show=show)
    out.print(f"batch {workflow_id}: {progress.status}", highlight=False)
    return 0 if progress.status == "completed" and progress.failed == 0 else 1


def _watch_or_detach(settings: Settings, workflow_id: str) -> NoReturn:
    try:
        code = run_async(lambda: _watch_batch(settings, workflow_id))
    except KeyboardInterrupt:
        err.print(
            f"detached; batch {workflow_id} keeps running. Check it with "
            f"`recap batch status {workflow_id}`, stop it with `recap batch cancel {workflow_id}`.",
            highlight=False,
        )
        exit_now(0)
    except ConnectionError as error:
        fail(str(error))
    exit_now(code)


@batch_app.callback(invoke_without_command=True)
def batch(
    context: typer.Context,
    sessions: Annotated[
        list[str] | None,
        typer.Option(
            "--sessions", help="a file of session ids (one a line) or ids separated by commas"
        ),
    ] = None,
    focus: FocusOption = None,
    concurrency: ConcurrencyOption = None,
    force: ForceOption = False,
    source: SourceOption = None,
    team: TeamOption = None,
) -> None:
    """Start a batch (`recap batch --sessions FILE`), or check or cancel one."""
    if context.invoked_subcommand is not None:
        return
    if not sessions:
        reject("give the sessions to summarize with --sessions FILE|ID,ID,…", 2)
    _start_batch(sessions, focus, concurrency, force, source, team)


@batch_app.command("start")
def batch_start(
    sessions: Annotated[
        list[str], typer.Argument(help="files of session ids, or ids (comma-separated allowed)")
    ],
    focus: FocusOption = None,
    concurrency: ConcurrencyOption = None,
    force: ForceOption = False,
    source: SourceOption = None,
    team: TeamOption = None,
) -> None:
    """Start a batch and show its progress (Ctrl-C detaches; the batch keeps running)."""
    _start_batch(sessions, focus, concurrency, force, source, team)


def _start_batch(
    values: list[str],
    focus: str | None,
    concurrency: int | None,
    force: bool,
    source: str | None,
    team: str | None,
) -> None:
    settings = get_settings()
    session_ids = read_session_ids(values)
    if not session_ids:
        reject("no session ids found in --sessions", 2)
    source = absolute_source(source)
    from recap.core.logging import configure_logging

    configure_logging(settings)
    from recap.jobs.client import connect, start_batch

    async def go() -> str:
        client = await connect(settings)
        return await start_batch(
            client,
            settings,
            team_id=team or settings.team_id,
            session_ids=session_ids,
            focus_area=focus,
            source=source,
            force=force,
            max_concurrency=concurrency,
        )

    try:
        workflow_id = run_async(go)
    except ConnectionError as error:
        fail(str(error))
    err.print(f"started batch {workflow_id} ({len(session_ids)} sessions)", highlight=False)
    _watch_or_detach(settings, workflow_id)


@batch_app.command("status")
def batch_status(
    workflow_id: WorkflowIdArgument,
    watch: Annotated[bool, typer.Option("--watch", help="follow it until it ends")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the progress as JSON")] = False,
) -> None:
    """Print a batch's progress: counts and typed failures."""
    settings = get_settings()
    if watch:
        _watch_or_detach(settings, workflow_id)
    from temporalio.service import RPCError

    from recap.jobs.client import batch_progress, connect

    async def go() -> str:
        client = await connect(settings)
        progress = await batch_progress(client, workflow_id)
        return progress.model_dump_json(indent=2)

    try:
        document = run_async(go)
    except (ConnectionError, RPCError) as error:
        fail(f"cannot read batch {workflow_id}: {error}")
    if as_json:
        sys.stdout.write(document + "\n")
    else:
        _print_progress(workflow_id, json.loads(document))
    exit_now(0)


def _print_progress(workflow_id: str, progress: dict[str, Any]) -> None:
    """A batch's counts on one line, then each typed failure on its own."""
    out.print(
        f"batch {workflow_id}: {progress['status']}, {progress['done']}/{progress['total']} "
        f"done ({progress['summarized']} summarized, {progress['skipped']} skipped, "
        f"{progress['failed']} failed, {progress['in_flight']} in flight)",
        highlight=False,
    )
    for failure in progress["failures"]:
        out.print(
            f"  {escape(str(failure['session_id']))}: {escape(str(failure['error_type']))}:"
            f" {escape(str(failure['error']))}",
            highlight=False,
        )


@batch_app.command("cancel")
def batch_cancel(workflow_id: WorkflowIdArgument) -> None:
    """Stop a batch from starting more sessions (summaries already running finish)."""
    settings = get_settings()
    from temporalio.service import RPCError

    from recap.jobs.client import cancel_batch, connect

    async def go() -> None:
        client = await connect(settings)
        await cancel_batch(client, workflow_id)

    try:
        run_async(go)
    except (ConnectionError, RPCError) as error:
        fail(f"cannot cancel batch {workflow_id}: {error}")
    out.print(f"cancel requested for batch {workflow_id}", highlight=False)
    exit_now(0)
