"""The `recap` command line: compile timelines offline, start summaries, run the stack."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recap.cli.support import absolute_source, err, out, read_session_ids, watch_progress
from recap.cli.support import exit_now as _exit
from recap.cli.support import fail as _fail
from recap.cli.support import reject as _reject
from recap.cli.support import run_async as _run
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from recap.jobs.client import SessionOutcome
    from workflows.contracts import BatchProgress

app = typer.Typer(
    name="recap",
    help="AI summaries of PostHog session recordings, on Temporal, with any OpenAI-compatible "
    "model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def timeline(
    path: Annotated[Path, typer.Argument(help="recording file (rrweb JSON/JSONL, PostHog export)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the timeline as JSON")] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="drop low-priority events to fit")
    ] = None,
) -> None:
    """Compile one recording file into the timeline the model sees (offline: no Temporal,
    no model)."""
    from recap.recording.models import RecordingError
    from recap.sources.files import load_recording_file
    from recap.timeline import budget_timeline, compile_timeline, count_tokens, render_timeline

    settings = get_settings()
    try:
        recording = load_recording_file(path, max_decoded_bytes=settings.timeline.max_decoded_bytes)
        compiled = compile_timeline(recording, settings.timeline)
    except RecordingError as error:
        _reject(str(error))
        return
    if max_tokens is not None:
        compiled = budget_timeline(compiled, max_tokens)
    text = render_timeline(compiled)
    if as_json:
        document = {
            "session": compiled.session.model_dump(mode="json"),
            "events": [event.model_dump(mode="json") for event in compiled.events],
            "text": text,
            "tokens": count_tokens(text),
            "stats": compiled.stats.model_dump(mode="json"),
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def fetch(
    session_id: Annotated[str, typer.Argument(help="the PostHog recording (session) id")],
    out: Annotated[
        Path | None, typer.Option("--out", help="file to write (default SESSION_ID.json)")
    ] = None,
) -> None:
    """Download one recording from PostHog (RECAP_POSTHOG_*) as a PostHog export file,
    which `recap timeline` and the files source read back."""
    from recap.core.retry import RetryPolicy, call_with_retries
    from recap.recording.models import RecordingError
    from recap.services.bootstrap import posthog_config
    from recap.sources.posthog import PostHogSource, export_recording

    settings = get_settings()
    target = out or Path(f"{session_id}.json")
    partial = target.with_name(f".{target.name}.partial")

    def export(source: PostHogSource) -> int:
        with partial.open("wb") as handle:  # each attempt starts the file afresh
            return export_recording(source, session_id, handle)

    try:
        config = posthog_config(settings)
        source = PostHogSource(config)
        written = call_with_retries(
            lambda: export(source),
            notice=lambda text: err.print(f"[yellow]{text}[/]", highlight=False, soft_wrap=True),
            policy=RetryPolicy(attempts=settings.retry_attempts),
        )
        partial.replace(target)  # never leave a half-written recording under the real name
    except RecordingError as error:
        partial.unlink(missing_ok=True)
        _reject(str(error))
        return
    except OSError as error:
        partial.unlink(missing_ok=True)
        _reject(f"cannot write {target}: {error.strerror or error}")
        return
    err.print(f"wrote {written} events of {session_id} to {target}", highlight=False)


@app.command()
def summarize(
    session_ids: Annotated[list[str], typer.Argument(help="session ids to summarize")],
    focus: Annotated[str | None, typer.Option("--focus", help="focus area for the model")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="posthog or files:DIR (default RECAP_SOURCE)")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="team id (default RECAP_TEAM_ID)")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="summarize again even when this prompt version already did"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print stored summaries as JSON")] = False,
) -> None:
    """Start one summary workflow per session, wait, and print each stored outcome.

    A session already summarized (same focus area, same prompt version) is shown from the
    store without a new workflow, unless --force."""
    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    from recap.jobs.client import connect, summarize_sessions

    source = absolute_source(source)

    async def go() -> list[SessionOutcome]:
        client = await connect(settings)
        return await summarize_sessions(
            client,
            settings,
            team_id=team or settings.team_id,
            session_ids=session_ids,
            focus_area=focus,
            source=source,
            force=force,
        )

    try:
        outcomes = _run(go)
    except ConnectionError as error:
        _fail(str(error))
        return
    from recap.cli.report import print_outcomes

    print_outcomes(outcomes, settings, out, as_json=as_json)
    _exit(0 if all(outcome.error_type is None for outcome in outcomes) else 1)


@app.command()
def worker() -> None:
    """Run the Temporal worker (the same as `python worker.py`)."""
    import worker as worker_module

    worker_module.main()


async def _serve_until_signal(stack_settings: Settings) -> None:
    from recap.api.server import api_url, serve_api
    from recap.embedded.stack import EmbeddedStack, ensure_port_free
    from worker import run_worker

    ensure_port_free(
        stack_settings.api_host, stack_settings.api_port, "the recap API", "RECAP_API_PORT"
    )
    stack = EmbeddedStack(stack_settings)
    with err.status("starting the Temporal dev server and the local model server…"):
        await stack.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker_task = asyncio.create_task(run_worker(stack_settings, stop))
    api_task = asyncio.create_task(serve_api(stack_settings, stop))
    out.print("[bold green]recap dev is running[/]")
    out.print(f"  Temporal:      {stack_settings.temporal_address}")
    out.print(f"  Temporal UI:   {stack_settings.temporal_ui_url}")
    out.print(f"  Model server:  {stack_settings.effective_llm_base_url}")
    out.print(f"  API:           {api_url(stack_settings)}/docs  (keys: `recap keys create`)")
    out.print(f"  Task queue:    {stack_settings.task_queue}")
    out.print(f"  Database:      {stack_settings.resolved_database_url}")
    out.print("Press Ctrl+C to stop.", style="dim")
    try:
        await asyncio.gather(worker_task, api_task)
    finally:
        stop.set()
        stack.stop()


@app.command()
def dev() -> None:
    """Run the embedded stack in the foreground: Temporal (with UI), model server, worker,
    API."""
    from recap.embedded.stack import EmbeddedStackError

    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    try:
        _run(lambda: _serve_until_signal(settings))
    except (EmbeddedStackError, OSError) as error:
        _fail_and_diagnose(str(error), settings, provided_by_stack=("temporal",))
    _exit(0)


def _fail_and_diagnose(
    message: str, settings: Settings, *, provided_by_stack: tuple[str, ...]
) -> None:
    """Fail `recap dev`/`recap demo` with the error, then what `recap doctor` finds wrong
    beyond the parts the embedded stack provides (it has just stopped them)."""
    from recap.doctor import describe, run_doctor

    err.print(f"[bold red]error:[/] {message}", highlight=False)
    try:
        report = _run(lambda: run_doctor(settings, skip=provided_by_stack))
    except Exception as error:  # the doctor must never hide the error above
        err.print(f"(recap doctor could not run: {error})", highlight=False, markup=False)
    else:
        if report.failing:
            err.print("recap doctor also finds:", highlight=False)
        for check in report.failing:
            err.print(describe(check), highlight=False, markup=False, soft_wrap=True)
    _exit(1)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="print the checks as JSON")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="seconds each network step may take")
    ] = 5.0,
) -> None:
    """Check everything recap is configured to use: Temporal, the model, PostHog or the
    recordings directory, the database, free disk. One line per check, with the fix when
    it fails; exit code 0 when none fails, 1 otherwise (docs/doctor.md)."""
    from pydantic import ValidationError
    from rich.text import Text

    from recap.doctor import MARKS, run_doctor

    try:
        settings = get_settings()
    except ValidationError as error:
        _reject(f"the settings do not load: {error}")
        return
    from recap.core.logging import configure_logging

    # The report is the output; a warning logged by a client underneath would only repeat it.
    configure_logging(settings, level="ERROR")
    report = _run(lambda: run_doctor(settings, timeout_seconds=timeout))
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        styles = {"pass": "green", "fail": "bold red", "info": "cyan", "skip": "dim"}
        for check in report.checks:
            line = Text(f"{MARKS[check.status]} ", style=styles[check.status])
            line.append(f"{check.title}: ", style="bold")
            line.append(check.value)
            if check.detail:
                line.append(f" — {check.detail}", style="dim" if check.ok else "")
            out.print(line, soft_wrap=True)
            if check.fix:
                out.print(Text(f"    fix: {check.fix}", style="yellow"), soft_wrap=True)
        failed = len(report.failing)
        out.print(
            "all checks passed" if report.ok else f"{failed} check{'s' * (failed != 1)} failed",
            style="green" if report.ok else "bold red",
        )
    _exit(0 if report.ok else 1)


@app.command()
def api() -> None:
    """Serve the HTTP API (RECAP_API_HOST:RECAP_API_PORT) against Temporal and the store."""
    from recap.api.server import run_api
    from recap.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings)
    run_api(settings)


@app.command()
def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="keep the stack up after the demo")
    ] = False,
) -> None:
    """Start the embedded stack, summarize generated sample sessions, print the results."""
    from recap.cli.demo import run_demo
    from recap.embedded.stack import EmbeddedStackError

    settings = get_settings()
    # The demo's output is its report; routine log lines would bury it unless asked for.
    from recap.core.logging import configure_logging

    configure_logging(
        settings, level=None if "log_level" in settings.model_fields_set else "WARNING"
    )
    try:
        outcomes = _run(lambda: run_demo(settings, out, err, keep_running=keep_running))
    except (EmbeddedStackError, ConnectionError) as error:
        # The demo brings its own recordings: the configured source is not its concern.
        _fail_and_diagnose(str(error), settings, provided_by_stack=("temporal", "source"))
        return
    failed = [outcome for outcome in outcomes if outcome.error_type is not None]
    _exit(1 if failed else 0)


batch_app = typer.Typer(
    help="Summarize many sessions in one batch workflow, with a live progress bar.",
    no_args_is_help=False,
)
app.add_typer(batch_app, name="batch")


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


def _watch_or_detach(settings: Settings, workflow_id: str) -> None:
    try:
        code = _run(lambda: _watch_batch(settings, workflow_id))
    except KeyboardInterrupt:
        err.print(
            f"detached; batch {workflow_id} keeps running. Check it with "
            f"`recap batch status {workflow_id}`, stop it with `recap batch cancel {workflow_id}`.",
            highlight=False,
        )
        _exit(0)
        return
    except ConnectionError as error:
        _fail(str(error))
        return
    _exit(code)


@batch_app.callback(invoke_without_command=True)
def batch(
    context: typer.Context,
    sessions: Annotated[
        list[str] | None,
        typer.Option(
            "--sessions", help="a file of session ids (one a line) or ids separated by commas"
        ),
    ] = None,
    focus: Annotated[str | None, typer.Option("--focus", help="focus area for the model")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, max=1000, help="summaries in flight at once"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="summarize again sessions that have a summary")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="posthog or files:DIR (default RECAP_SOURCE)")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="team id (default RECAP_TEAM_ID)")
    ] = None,
) -> None:
    """Start a batch (`recap batch --sessions FILE`), or check or cancel one."""
    if context.invoked_subcommand is not None:
        return
    if not sessions:
        _reject("give the sessions to summarize with --sessions FILE|ID,ID,…", 2)
        return
    _start_batch(sessions, focus, concurrency, force, source, team)


@batch_app.command("start")
def batch_start(
    sessions: Annotated[
        list[str], typer.Argument(help="files of session ids, or ids (comma-separated allowed)")
    ],
    focus: Annotated[str | None, typer.Option("--focus", help="focus area for the model")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, max=1000, help="summaries in flight at once"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="summarize again sessions that have a summary")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="posthog or files:DIR (default RECAP_SOURCE)")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="team id (default RECAP_TEAM_ID)")
    ] = None,
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
        _reject("no session ids found in --sessions", 2)
        return
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
        workflow_id = _run(go)
    except ConnectionError as error:
        _fail(str(error))
        return
    err.print(f"started batch {workflow_id} ({len(session_ids)} sessions)", highlight=False)
    _watch_or_detach(settings, workflow_id)


@batch_app.command("status")
def batch_status(
    workflow_id: Annotated[str, typer.Argument(help="the batch's workflow id")],
    watch: Annotated[bool, typer.Option("--watch", help="follow it until it ends")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the progress as JSON")] = False,
) -> None:
    """Print a batch's progress: counts and typed failures."""
    settings = get_settings()
    if watch:
        _watch_or_detach(settings, workflow_id)
        return
    from temporalio.service import RPCError

    from recap.jobs.client import batch_progress, connect

    async def go() -> str:
        client = await connect(settings)
        progress = await batch_progress(client, workflow_id)
        return progress.model_dump_json(indent=2)

    try:
        document = _run(go)
    except (ConnectionError, RPCError) as error:
        _fail(f"cannot read batch {workflow_id}: {error}")
        return
    if as_json:
        sys.stdout.write(document + "\n")
    else:
        progress = json.loads(document)
        out.print(
            f"batch {workflow_id}: {progress['status']}, {progress['done']}/{progress['total']} "
            f"done ({progress['summarized']} summarized, {progress['skipped']} skipped, "
            f"{progress['failed']} failed, {progress['in_flight']} in flight)",
            highlight=False,
        )
        for failure in progress["failures"]:
            out.print(
                f"  {failure['session_id']}: {failure['error_type']}: {failure['error']}",
                highlight=False,
            )
    _exit(0)


@batch_app.command("cancel")
def batch_cancel(
    workflow_id: Annotated[str, typer.Argument(help="the batch's workflow id")],
) -> None:
    """Stop a batch from starting more sessions (summaries already running finish)."""
    settings = get_settings()
    from temporalio.service import RPCError

    from recap.jobs.client import cancel_batch, connect

    async def go() -> None:
        client = await connect(settings)
        await cancel_batch(client, workflow_id)

    try:
        _run(go)
    except (ConnectionError, RPCError) as error:
        _fail(f"cannot cancel batch {workflow_id}: {error}")
        return
    out.print(f"cancel requested for batch {workflow_id}", highlight=False)
    _exit(0)


def _register_subcommands() -> None:
    from recap.cli.clusters import clusters_app, similar
    from recap.cli.keys import keys_app
    from recap.cli.schedule import schedule_app

    app.add_typer(schedule_app, name="schedule", help="scheduled summaries (Temporal Schedules)")
    app.add_typer(clusters_app, name="clusters", help="error clusters across sessions")
    app.command("similar")(similar)
    app.add_typer(keys_app, name="keys", help="API keys: create, list, revoke")


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
