"""Runs the doctor's check groups concurrently, each bounded in time, and removes every
configured secret from what they report."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from functools import partial
from typing import Final, TypeVar

from recap.core.config import Settings
from recap.doctor.budget import check_model_budget
from recap.doctor.local import DEFAULT_MIN_FREE_BYTES, check_database, check_disk, check_recordings
from recap.doctor.model import check_model
from recap.doctor.posthog import check_posthog
from recap.doctor.report import CheckResult, DoctorReport, result, why
from recap.doctor.temporal import check_temporal

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS: Final = 5.0

# Check groups, the unit `run_doctor(skip=...)` leaves out.
TEMPORAL: Final = "temporal"
MODEL: Final = "model"
SOURCE: Final = "source"
DATABASE: Final = "database"
DISK: Final = "disk"
BUDGET: Final = "budget"
GROUPS: Final = (TEMPORAL, MODEL, SOURCE, DATABASE, DISK, BUDGET)

# What the report shows in place of a secret.
_REDACTED: Final = "***"


async def _in_thread(work: Callable[[], T]) -> T:
    """Run blocking work on a daemon thread: one that hangs (a database that never
    answers) is abandoned at the timeout and cannot hold up the process's exit, as a
    thread of asyncio's default executor would."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():  # not abandoned (cancelled) at the timeout
            outcome()

    def run() -> None:
        try:
            value = work()
        except BaseException as error:
            outcome = partial(done.set_exception, error)
        else:
            outcome = partial(done.set_result, value)
        with suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="recap-doctor", daemon=True).start()
    return await done


def _source_checks(settings: Settings, timeout_seconds: float) -> Awaitable[list[CheckResult]]:
    if settings.source == "posthog":

        async def posthog() -> list[CheckResult]:
            results = await check_posthog(settings, timeout_seconds)
            unused = "not used (RECAP_SOURCE=posthog)"
            return [*results, result("recordings", "recordings", "skip", "files:DIR", unused)]

        return posthog()

    async def files() -> list[CheckResult]:
        results = await _in_thread(lambda: check_recordings(settings))
        unused = f"not used (RECAP_SOURCE={settings.source})"
        skipped = result("posthog", "PostHog", "skip", settings.posthog_host, unused)
        return [skipped, *results]

    return files()


async def _bounded(
    group: str, checks: Awaitable[list[CheckResult]], limit: float
) -> list[CheckResult]:
    started = time.monotonic()
    try:
        return await asyncio.wait_for(checks, limit)
    except TimeoutError:
        return [
            result(
                group,
                group,
                "fail",
                "",
                f"no answer within {time.monotonic() - started:.0f} s",
                "see why it hangs, or give it longer with `recap doctor --timeout SECONDS`",
            )
        ]
    except Exception as error:  # one broken check must not hide the others
        return [result(group, group, "fail", "", f"the check itself failed ({why(error)})", "")]


def _secrets(settings: Settings) -> list[str]:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    secrets = [
        secret.get_secret_value()
        for secret in (settings.llm_api_key, settings.posthog_api_key)
        if secret is not None
    ]
    try:
        password = make_url(settings.resolved_database_url).password
    except ArgumentError:
        password = None
    if password:
        secrets.append(str(password))
    return [secret for secret in secrets if secret]


def _scrubbed(check: CheckResult, secrets: list[str]) -> CheckResult:
    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, _REDACTED)
        return text

    return check.model_copy(
        update={
            "value": scrub(check.value),
            "detail": scrub(check.detail),
            "fix": scrub(check.fix) if check.fix is not None else None,
        }
    )


async def run_doctor(
    settings: Settings,
    *,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    skip: Collection[str] = (),
) -> DoctorReport:
    """Every check, concurrently. Each network step waits at most `timeout_seconds`; a
    check group as a whole gets a few of those before it is reported as hanging. `skip`
    leaves out groups (`TEMPORAL`, `MODEL`, `SOURCE`, `DATABASE`, `DISK`, `BUDGET`)."""
    unknown = set(skip) - set(GROUPS)
    if unknown:
        raise ValueError(f"no such check group: {', '.join(sorted(unknown))}")
    # A group makes up to three sequential calls (the model: list, call, fallback call).
    limit = timeout_seconds * 3 + 1
    planned: dict[str, Callable[[], Awaitable[list[CheckResult]]]] = {
        TEMPORAL: lambda: check_temporal(settings, timeout_seconds),
        MODEL: lambda: check_model(settings, timeout_seconds),
        SOURCE: lambda: _source_checks(settings, timeout_seconds),
        DATABASE: lambda: _in_thread(lambda: check_database(settings, timeout_seconds)),
        DISK: lambda: _in_thread(lambda: check_disk(settings, min_free_bytes)),
        BUDGET: lambda: _in_thread(lambda: check_model_budget(settings, timeout_seconds)),
    }
    groups = [group for group in GROUPS if group not in skip]
    answers = await asyncio.gather(*(_bounded(group, planned[group](), limit) for group in groups))
    secrets = _secrets(settings)
    checks = [_scrubbed(check, secrets) for answer in answers for check in answer]
    return DoctorReport(ok=all(check.ok for check in checks), checks=checks)
