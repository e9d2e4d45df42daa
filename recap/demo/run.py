"""`recap demo`: the whole product on a fresh machine, in one command.

Starts the embedded stack, generates sample sessions, summarizes them through Temporal
and the model, prints the results and stops everything it started.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress

from rich.console import Console

from recap.client import SessionOutcome, connect, summarize_sessions
from recap.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded import EmbeddedStack
from recap.report import print_outcomes


async def run_demo(
    settings: Settings, out: Console, err: Console, *, keep_running: bool = False
) -> list[SessionOutcome]:
    from worker import run_worker

    stack = EmbeddedStack(settings)
    with err.status("starting the Temporal dev server and the local model server…"):
        await stack.start()
    stop = asyncio.Event()
    worker_task = asyncio.create_task(run_worker(settings, stop))
    try:
        recordings = settings.data_dir / "demo" / "recordings"
        samples = write_sample_sessions(recordings)
        out.print(f"[bold]recap demo[/] — {len(samples)} sample sessions in {recordings}")
        for sample in samples:
            out.print(
                f"  • {sample.session_id} ({sample.scenario}): {sample.description}",
                highlight=False,
            )
        client = await connect(settings)
        with err.status(f"summarizing {len(samples)} sessions through Temporal and the model…"):
            outcomes = await summarize_sessions(
                client,
                settings,
                team_id=settings.team_id,
                session_ids=[sample.session_id for sample in samples],
                focus_area=None,
                source=f"files:{recordings.resolve()}",
            )
        print_outcomes(outcomes, settings, out, as_json=False)
        out.print(f"\nTemporal UI: {settings.temporal_ui_url}", highlight=False)
        if keep_running:
            out.print("The stack keeps running; press Ctrl+C to stop.", style="dim")
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
        else:
            out.print(
                "The dev server keeps its history: run `recap dev` to browse these workflows "
                "in the UI later.",
                style="dim",
            )
        return outcomes
    finally:
        stop.set()
        with suppress(Exception):
            await asyncio.wait_for(worker_task, timeout=30)
        stack.stop()
