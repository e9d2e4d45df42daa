"""The doctor's check of each team's daily model budget: the configured limits
(RECAP_TEAM_DAILY_MODEL_CALLS and _TOKENS) against today's usage of RECAP_TEAM_ID and of
every team that used the model today, with a warning from 80 % and a failure once spent.
Without a limit there is nothing to check, and it reports nothing.

It only reads: a database that does not exist yet, or has no usage table yet, has no usage.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from recap.core.config import Settings
from recap.doctor.report import CheckResult, Status, result, why

if TYPE_CHECKING:
    from recap.services.budget import Limit
    from recap.store.model_usage import ModelUsage

# From this share of a limit on, the doctor warns that the team's day is nearly spent.
WARN_SHARE: Final = 0.8
_NAME: Final = "model_budget"
_TITLE: Final = "model budget"


def check_model_budget(
    settings: Settings, timeout_seconds: float, *, now: datetime | None = None
) -> list[CheckResult]:
    """One line per team: RECAP_TEAM_ID's, then every other team that used the model today
    (UTC); none when no limit is set. Blocking; the runner calls it on a thread."""
    from recap.services.budget import SETTINGS, next_utc_midnight, utc_day, utc_now

    moment = now or utc_now()
    day = utc_day(moment)
    limits: dict[Limit, int | None] = {
        "calls": settings.team_daily_model_calls,
        "tokens": settings.team_daily_model_tokens,
    }
    if all(maximum is None for maximum in limits.values()):
        return []
    configured = ", ".join(
        f"{limit} {'unlimited' if maximum is None else f'{maximum:,}'} ({SETTINGS[limit]})"
        for limit, maximum in limits.items()
    )
    try:
        used = _usage_today(settings, day, timeout_seconds)
    except Exception as error:  # the database check says what is wrong with it
        return [
            result(
                _NAME,
                _TITLE,
                "skip",
                f"per team and UTC day: {configured}",
                f"today's usage cannot be read ({why(error)}); see the database check",
            )
        ]
    by_team = {usage.team_id: usage for usage in used}
    resets = next_utc_midnight(moment)
    lines: list[CheckResult] = []
    for team_id in [settings.team_id, *sorted(set(by_team) - {settings.team_id})]:
        calls, tokens = _spent(by_team.get(team_id))
        spent: dict[Limit, int] = {"calls": calls, "tokens": tokens}
        shares = {
            limit: spent[limit] / maximum
            for limit, maximum in limits.items()
            if maximum is not None
        }
        value = f"team {team_id}: " + ", ".join(
            f"{spent[limit]:,}" + ("" if maximum is None else f" of {maximum:,}") + f" {limit}"
            for limit, maximum in limits.items()
        )
        value += f" today ({day} UTC)"
        fullest = max(shares, key=lambda limit: shares[limit])
        status: Status = "pass"
        fix: str | None = None
        if shares[fullest] >= 1:
            status = "fail"
            detail = (
                f"the {fullest} limit is spent: this team's summaries are refused "
                f"(budget_exceeded) until {resets:%Y-%m-%d %H:%M} UTC"
            )
            fix = f"wait until then, or raise {SETTINGS[fullest]} (the worker reads it)"
        elif shares[fullest] >= WARN_SHARE:
            status = "info"
            detail = (
                f"warning: {shares[fullest]:.0%} of the {fullest} limit is used; it resets "
                f"at {resets:%H:%M} UTC ({SETTINGS[fullest]} raises it)"
            )
        else:
            detail = f"{shares[fullest]:.0%} of the {fullest} limit used; resets at 00:00 UTC"
        lines.append(result(_NAME, _TITLE, status, value, detail, fix))
    return lines


def _spent(usage: ModelUsage | None) -> tuple[int, int]:
    return (usage.calls, usage.tokens) if usage is not None else (0, 0)


def _usage_today(settings: Settings, day: str, timeout_seconds: float) -> list[ModelUsage]:
    """Every team's usage on `day`, over a connection of the doctor's own: no store is
    opened, so nothing is created or migrated."""
    from sqlalchemy import create_engine, inspect, make_url
    from sqlalchemy.pool import NullPool

    from recap.store.model_usage import ModelUsageRow, usage_on

    url = make_url(settings.resolved_database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout_seconds))
    elif url.get_backend_name() == "sqlite":
        on_disk = url.database not in (None, "", ":memory:")
        if on_disk and not Path(url.database or "").expanduser().exists():
            return []  # connecting would create the file
        connect_args["timeout"] = timeout_seconds
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(ModelUsageRow.__tablename__):
                return []
            return usage_on(connection, day)
    finally:
        engine.dispose()
