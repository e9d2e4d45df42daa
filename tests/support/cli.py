"""`recap …` run as a user runs it, a process against the test's Temporal dev server and
task queues, for the tests that check what a command prints."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from temporalio.client import Client

PUBLIC_URL = "https://recap.example"
TIMEOUT_SECONDS = 120


async def recap_cli(
    client: Client,
    *args: str,
    queue: str,
    llm_queue: str,
    env: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """stdout and stderr of `recap ARGS` that exited 0 (the assertion names its stderr);
    pages and API addresses print under `PUBLIC_URL`."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "recap.cli", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "RECAP_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "RECAP_TASK_QUEUE": queue,
            "RECAP_LLM_TASK_QUEUE": llm_queue,
            "RECAP_API_PUBLIC_URL": PUBLIC_URL,
            **(env or {}),
        },
    )
    printed, errors = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    assert process.returncode == 0, errors.decode()
    return printed.decode(), errors.decode()
