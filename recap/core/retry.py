"""Retries for calls recap makes outside Temporal (`recap fetch`, benchmarks, the doctor).

Inside workflows Temporal retries; these calls have no Temporal behind them, so they ride
out rate limits and outages the same way here: errors that say they are `retryable` are
tried again a bounded number of times, after the `retry_after_seconds` the server asked for
or an exponential backoff, with a one-line notice each time. Anything else, or the last
failure, is raised as it came: the typed error, unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

Notice = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay_seconds: float = 1.0
    backoff: float = 2.0
    max_delay_seconds: float = 30.0
    # A server asking for a longer pause than this is not waited for: the error is raised.
    max_retry_after_seconds: float = 120.0

    def delay(self, error: BaseException, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when `error` ends the call."""
        if not getattr(error, "retryable", False) or attempt >= self.attempts:
            return None
        asked = getattr(error, "retry_after_seconds", None)
        if isinstance(asked, int | float) and asked >= 0:
            return None if asked > self.max_retry_after_seconds else float(asked)
        return min(self.first_delay_seconds * self.backoff ** (attempt - 1), self.max_delay_seconds)


DEFAULT_POLICY = RetryPolicy()


def _notice_text(error: BaseException, delay: float, attempt: int, policy: RetryPolicy) -> str:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{reason} — trying again in {delay:.1f} s (attempt {attempt + 1} of {policy.attempts})"


def call_with_retries(
    call: Callable[[], T],
    *,
    notice: Notice,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            delay = policy.delay(error, attempt)
            if delay is None:
                raise
            notice(_notice_text(error, delay, attempt, policy))
        sleep(delay)
        attempt += 1


async def acall_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    notice: Notice,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> T:
    attempt = 1
    while True:
        try:
            return await call()
        except Exception as error:
            delay = policy.delay(error, attempt)
            if delay is None:
                raise
            notice(_notice_text(error, delay, attempt, policy))
        await asyncio.sleep(delay)
        attempt += 1
