"""Retries outside Temporal: what is retried, how long it waits, when it stops."""

from __future__ import annotations

import pytest

from recap.core.retry import RetryPolicy, acall_with_retries, call_with_retries
from recap.llm.client import LLMAuthFailed, LLMRateLimited
from recap.sources.posthog import PostHogAuthError, PostHogRateLimited, PostHogUnavailable


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_waits_as_retry_after_asks_then_backs_off() -> None:
    call = Flaky(
        PostHogRateLimited("slow down", retry_after_seconds=7.0),
        PostHogUnavailable("503"),
        PostHogUnavailable("503"),
    )
    waits: list[float] = []
    notices: list[str] = []
    assert call_with_retries(call, notice=notices.append, sleep=waits.append) == "done"
    assert waits == [7.0, 2.0, 4.0]  # asked, then 1 s doubling from the third attempt
    assert call.calls == 4
    assert notices[0] == "slow down — trying again in 7.0 s (attempt 2 of 5)"


def test_the_last_failure_is_raised_unchanged() -> None:
    last = PostHogUnavailable("still down")
    call = Flaky(PostHogUnavailable("down"), last)
    with pytest.raises(PostHogUnavailable) as error:
        call_with_retries(
            call, notice=lambda _: None, policy=RetryPolicy(attempts=2), sleep=lambda _: None
        )
    assert error.value is last and call.calls == 2


@pytest.mark.parametrize("fatal", [PostHogAuthError("401"), LLMAuthFailed("401"), ValueError()])
def test_errors_that_retrying_cannot_fix_end_at_once(fatal: Exception) -> None:
    call = Flaky(fatal)
    notices: list[str] = []
    with pytest.raises(type(fatal)):
        call_with_retries(call, notice=notices.append, sleep=lambda _: None)
    assert call.calls == 1 and notices == []


def test_a_pause_longer_than_the_policy_allows_is_not_waited_for() -> None:
    call = Flaky(LLMRateLimited("quota", retry_after_seconds=3600.0))
    with pytest.raises(LLMRateLimited):
        call_with_retries(call, notice=lambda _: None, sleep=lambda _: None)
    assert call.calls == 1


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=20, max_delay_seconds=30.0)
    delays = [policy.delay(PostHogUnavailable("x"), attempt) for attempt in range(1, 10)]
    assert delays[:3] == [1.0, 2.0, 4.0] and max(d for d in delays if d) == 30.0


async def test_the_async_form_retries_model_calls() -> None:
    errors = [LLMRateLimited("429", retry_after_seconds=0.01)]

    async def call() -> str:
        if errors:
            raise errors.pop()
        return "answer"

    notices: list[str] = []
    assert await acall_with_retries(call, notice=notices.append) == "answer"
    assert len(notices) == 1 and "0.0 s" in notices[0]
