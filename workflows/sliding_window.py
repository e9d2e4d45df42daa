"""The sliding window both fan-out workflows use, after samples-python's
`batch_sliding_window`: at most `limit` keys in flight, each one a task of the workflow;
when the history grows long the window drains, then the workflow continues as new from the
next key, so the next run neither loses nor repeats one.

Deterministic: only `workflow.wait_condition`, `workflow.info` and `continue_as_new`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow

Work = Callable[[str], Coroutine[Any, Any, None]]


class SlidingWindow:
    """One window per fan-out; it also carries the history lengths across continue-as-new."""

    def __init__(self, on_settled: Callable[[], None] = lambda: None) -> None:
        # Keys whose work is running; `on_settled` runs each time one leaves (e.g. to show
        # progress).
        self.in_flight: set[str] = set()
        # The history length of each earlier run when it continued as new.
        self.history_lengths: list[int] = []
        self._on_settled = on_settled
        # Strong references, so a running task is never garbage-collected.
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(
        self,
        keys: Sequence[str],
        work: Work,
        *,
        limit: int,
        cursor: int = 0,
        admit: Callable[[int], Awaitable[bool]] | None = None,
        next_run: Callable[[int], BaseModel] | None = None,
        max_history_events: int = 0,
    ) -> None:
        """Runs `work(key)` for each of `keys[cursor:]`, at most `limit` at a time, and
        returns once all have settled.

        `admit(index)`, awaited before a key takes a slot, says whether it needs one (a key
        it turns away is done without work). With `next_run`, once this run has started a
        key and the history is `max_history_events` long (or Temporal suggests it), the
        window drains and the workflow continues as new with `next_run(index)`: the input
        that resumes at `keys[index]`."""
        first = cursor
        while cursor < len(keys):
            if next_run is not None and cursor > first and self._long_history(max_history_events):
                await self.drain()
                self.history_lengths.append(workflow.info().get_current_history_length())
                workflow.continue_as_new(next_run(cursor))
            if admit is not None and not await admit(cursor):
                cursor += 1
                continue
            await workflow.wait_condition(lambda: len(self.in_flight) < limit)
            key = keys[cursor]
            cursor += 1
            self.in_flight.add(key)
            task = asyncio.create_task(self._settle(key, work(key)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await self.drain()

    async def drain(self) -> None:
        """Waits until no key is in flight."""
        await workflow.wait_condition(lambda: not self.in_flight)

    async def _settle(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self.in_flight.discard(key)
            self._on_settled()

    @staticmethod
    def _long_history(max_history_events: int) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= max_history_events
            or info.is_continue_as_new_suggested()
        )
