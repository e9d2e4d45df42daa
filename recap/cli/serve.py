"""`recap worker`, `recap api`, `recap dev` and `recap demo`: the commands that run recap's
own processes, alone or with the embedded stack (the Temporal dev server and the local
model server)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from recap.cli.console import err, exit_now, out, run_async
from recap.cli.doctor import fail_and_diagnose
from recap.core.config import Settings, get_settings


def worker() -> None:
    """Run the Temporal worker (the same as `python worker.py`)."""
    import worker as worker_module

    worker_module.main()


def api() -> None:
    """Serve the HTTP API (RECAP_API_HOST:RECAP_API_PORT) against Temporal and the store."""
    from recap.api.server import run_api
    from recap.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings)
    run_api(settings)


async def _serve_until_signal(stack_settings: Settings) -> None:
    from recap.api.server import api_url, serve_api
    from recap.embedded.ports import ensure_port_free
    from recap.embedded.stack import EmbeddedStack
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
    out.print(
        f"  Pages:         {api_url(stack_settings)}/ui/  (sign in with a recap key, or a "
        "person's email after `recap users create`)",
        highlight=False,
    )
    out.print(f"  Task queue:    {stack_settings.task_queue}")
    out.print(f"  Database:      {stack_settings.resolved_database_url}")
    out.print("Press Ctrl+C to stop.", style="dim")
    try:
        await asyncio.gather(worker_task, api_task)
    finally:
        stop.set()
        stack.stop()


def dev() -> None:
    """Run the embedded stack in the foreground: Temporal (with UI), model server, worker,
    API."""
    from recap.embedded.errors import EmbeddedStackError

    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    try:
        run_async(lambda: _serve_until_signal(settings))
    except (EmbeddedStackError, OSError) as error:
        fail_and_diagnose(str(error), settings, provided_by_stack=("temporal",))
    exit_now(0)


def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="keep the stack up after the demo")
    ] = False,
) -> None:
    """Start the embedded stack, summarize generated sample sessions, print the results."""
    from recap.cli.demo import run_demo
    from recap.embedded.errors import EmbeddedStackError

    settings = get_settings()
    # The demo's output is its report; routine log lines would bury it unless asked for.
    from recap.core.logging import configure_logging

    configure_logging(
        settings, level=None if "log_level" in settings.model_fields_set else "WARNING"
    )
    try:
        outcomes = run_async(lambda: run_demo(settings, out, err, keep_running=keep_running))
    except (EmbeddedStackError, ConnectionError) as error:
        # The demo brings its own recordings: the configured source is not its concern.
        fail_and_diagnose(str(error), settings, provided_by_stack=("temporal", "source"))
    failed = [outcome for outcome in outcomes if outcome.error_type is not None]
    exit_now(1 if failed else 0)
