"""Telling Temporal an activity is alive, written once: a beat every few seconds while a
long await runs (a model call, joining another workflow), and a beat per snapshot block
while a recording streams from its source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from temporalio import activity

from recap.sources.posthog import SnapshotProgress

HEARTBEAT_SECONDS = 5.0


async def _beat(every_seconds: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every_seconds)


@asynccontextmanager
async def heartbeating(every_seconds: float = HEARTBEAT_SECONDS) -> AsyncIterator[None]:
    """Heartbeats until the block ends, however it ends."""
    beating = asyncio.create_task(_beat(every_seconds))
    try:
        yield
    finally:
        beating.cancel()
        with suppress(asyncio.CancelledError):
            await beating


def beat_per_block(progress: SnapshotProgress) -> None:
    """A source's progress hook: streaming a large recording takes a while, and each block
    fetched shows the worker is alive. A local activity (the session summary's compile)
    has no heartbeat: its workflow task's timeout watches the worker instead."""
    if not activity.info().is_local:
        activity.heartbeat(progress.blocks_done, progress.blocks_total)
