"""The `recap` command line: compile timelines offline, start summaries, run the stack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from recap.config import Settings, get_settings

if TYPE_CHECKING:
    from recap.client import SessionOutcome

app = typer.Typer(
    name="recap",
    help="AI summaries of PostHog session recordings, on Temporal, with any OpenAI-compatible "
    "model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def _exit(code: int) -> None:
    # temporalio can abort at interpreter exit (sdk-python#300): flush, then leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    _exit(code)


def _reject(message: str, code: int = 1) -> None:
    """Fail a command that never started temporalio: a normal exit, safe in-process."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


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
    from recap.sources.base import RecordingError
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
    from recap.sources.base import RecordingError
    from recap.sources.posthog import PostHogConfig, PostHogSource, export_recording

    settings = get_settings()
    target = out or Path(f"{session_id}.json")
    partial = target.with_name(f".{target.name}.partial")
    try:
        config = PostHogConfig.from_settings(
            settings,
            blocks_per_request=settings.posthog_blocks_per_request,
            timeout_seconds=settings.posthog_timeout_seconds,
        )
        with partial.open("wb") as handle:
            written = export_recording(PostHogSource(config), session_id, handle)
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
    as_json: Annotated[bool, typer.Option("--json", help="print stored summaries as JSON")] = False,
) -> None:
    """Start one summary workflow per session, wait, and print each stored outcome."""
    settings = get_settings()
    from recap.logging import configure_logging

    configure_logging(settings)
    from recap.client import connect, summarize_sessions

    if source is not None and source != "posthog" and not source.startswith("files:"):
        _fail("--source must be 'posthog' or 'files:DIR'", 2)
    if source and source.startswith("files:"):
        # The worker resolves the path, possibly from another directory: make it absolute.
        source = "files:" + str(Path(source.removeprefix("files:")).expanduser().resolve())

    async def go() -> list[SessionOutcome]:
        client = await connect(settings)
        return await summarize_sessions(
            client,
            settings,
            team_id=team or settings.team_id,
            session_ids=session_ids,
            focus_area=focus,
            source=source,
        )

    try:
        outcomes = _run(go)
    except ConnectionError as error:
        _fail(str(error))
        return
    from recap.report import print_outcomes

    print_outcomes(outcomes, settings, out, as_json=as_json)
    _exit(0 if all(outcome.error_type is None for outcome in outcomes) else 1)


@app.command()
def worker() -> None:
    """Run the Temporal worker (the same as `python worker.py`)."""
    import worker as worker_module

    worker_module.main()


async def _serve_until_signal(stack_settings: Settings) -> None:
    from recap.embedded import EmbeddedStack
    from worker import run_worker

    stack = EmbeddedStack(stack_settings)
    with err.status("starting the Temporal dev server and the local model server…"):
        await stack.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker_task = asyncio.create_task(run_worker(stack_settings, stop))
    out.print("[bold green]recap dev is running[/]")
    out.print(f"  Temporal:      {stack_settings.temporal_address}")
    out.print(f"  Temporal UI:   {stack_settings.temporal_ui_url}")
    out.print(f"  Model server:  {stack_settings.effective_llm_base_url}")
    out.print(f"  Task queue:    {stack_settings.task_queue}")
    out.print(f"  Database:      {stack_settings.resolved_database_url}")
    out.print("Press Ctrl+C to stop.", style="dim")
    try:
        await worker_task
    finally:
        stack.stop()


@app.command()
def dev() -> None:
    """Run the embedded stack in the foreground: Temporal (with UI), model server, worker."""
    from recap.embedded import EmbeddedStackError

    settings = get_settings()
    from recap.logging import configure_logging

    configure_logging(settings)
    try:
        _run(lambda: _serve_until_signal(settings))
    except (EmbeddedStackError, ConnectionError) as error:
        _fail(str(error))
    _exit(0)


@app.command()
def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="keep the stack up after the demo")
    ] = False,
) -> None:
    """Start the embedded stack, summarize generated sample sessions, print the results."""
    from recap.demo.run import run_demo
    from recap.embedded import EmbeddedStackError

    settings = get_settings()
    # The demo's output is its report; routine log lines would bury it unless asked for.
    from recap.logging import configure_logging

    configure_logging(
        settings, level=None if "log_level" in settings.model_fields_set else "WARNING"
    )
    try:
        outcomes = _run(lambda: run_demo(settings, out, err, keep_running=keep_running))
    except (EmbeddedStackError, ConnectionError) as error:
        _fail(str(error))
        return
    failed = [outcome for outcome in outcomes if outcome.error_type is not None]
    _exit(1 if failed else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
