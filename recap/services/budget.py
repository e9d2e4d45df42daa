"""Each team's daily model budget (RECAP_TEAM_DAILY_MODEL_CALLS and _TOKENS, per UTC day).

The model activity reserves a call before it asks the model and records the tokens the
answer cost after; a team whose day already holds its calls or tokens gets
`BudgetExceeded` until the next UTC midnight. A call in flight may take a team past its
token limit (the cost is known only afterwards); the next one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from recap.core import metrics
from recap.core.config import Settings
from recap.store.model_usage import ModelUsage, ModelUsageStore
from recap.store.repository import SummaryStore

Clock = Callable[[], datetime]
Limit = Literal["calls", "tokens"]

# Which setting raises each limit, for the messages that say so.
SETTINGS: dict[Limit, str] = {
    "calls": "RECAP_TEAM_DAILY_MODEL_CALLS",
    "tokens": "RECAP_TEAM_DAILY_MODEL_TOKENS",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_day(moment: datetime) -> str:
    """The UTC day a moment falls on, as the usage table keys it ('YYYY-MM-DD')."""
    return moment.astimezone(UTC).date().isoformat()


def next_utc_midnight(moment: datetime) -> datetime:
    """When the UTC day of `moment` ends and its usage stops counting."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


class BudgetExceeded(Exception):
    """A team has spent today's model calls or tokens; final until the UTC day turns."""

    code = "budget_exceeded"

    def __init__(self, message: str, *, team_id: str, limit: Limit, resets_at: datetime) -> None:
        super().__init__(message)
        self.team_id = team_id
        self.limit = limit
        self.resets_at = resets_at


@dataclass(frozen=True)
class Reservation:
    """A call counted against `team_id`'s budget on `day`; its tokens count on that day
    too, even when the answer arrives after midnight."""

    team_id: str
    day: str


class ModelBudget:
    """Reserves model calls and records their tokens against each team's daily limits."""

    def __init__(
        self,
        usage: ModelUsageStore,
        *,
        max_calls: int | None,
        max_tokens: int | None,
        clock: Clock = utc_now,
    ) -> None:
        self._usage = usage
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, store: SummaryStore, *, clock: Clock = utc_now
    ) -> ModelBudget:
        return cls(
            ModelUsageStore(store),
            max_calls=settings.team_daily_model_calls,
            max_tokens=settings.team_daily_model_tokens,
            clock=clock,
        )

    def limit_of(self, limit: Limit) -> int | None:
        return self.max_calls if limit == "calls" else self.max_tokens

    def today(self) -> str:
        return utc_day(self._clock())

    def resets_at(self) -> datetime:
        """The next UTC midnight, when today's usage stops counting."""
        return next_utc_midnight(self._clock())

    def reserve(self, team_id: str) -> Reservation:
        """Count one model call for the team today, or raise `BudgetExceeded` naming the
        limit it reached. Usage is counted even without limits, for `recap doctor`."""
        day = self.today()
        if self._usage.reserve_call(
            team_id, day, max_calls=self.max_calls, max_tokens=self.max_tokens
        ):
            return Reservation(team_id=team_id, day=day)
        usage = self._usage.usage(team_id, day)
        limit: Limit = (
            "calls" if self.max_calls is not None and usage.calls >= self.max_calls else "tokens"
        )
        metrics.model_budget_refused(limit)
        raise self._exceeded(usage, limit)

    def record(self, reservation: Reservation, tokens: int, *, calls: int = 1) -> None:
        """Add what a reserved step spent: its prompt and completion tokens, and the calls
        it made beyond the one reserved (a report asks once per step; retries count)."""
        self._usage.add_tokens(reservation.team_id, reservation.day, tokens, calls=calls - 1)

    def usage(self, team_id: str) -> ModelUsage:
        """The team's calls and tokens today."""
        return self._usage.usage(team_id, self.today())

    def usage_today(self) -> list[ModelUsage]:
        """Every team that used the model today."""
        return self._usage.usage_on(self.today())

    def _exceeded(self, usage: ModelUsage, limit: Limit) -> BudgetExceeded:
        maximum = self.limit_of(limit)
        used = usage.calls if limit == "calls" else usage.tokens
        resets_at = self.resets_at()
        left = resets_at - self._clock()
        hours, seconds = divmod(int(left.total_seconds()), 3600)
        message = (
            f"team {usage.team_id} has spent its daily model budget: {used} of {maximum} "
            f"{limit} today (UTC day {usage.day}); it resets at "
            f"{resets_at:%Y-%m-%d %H:%M} UTC (in {hours} h {seconds // 60} min). "
            f"Summarize again then, or raise {SETTINGS[limit]}"
        )
        return BudgetExceeded(message, team_id=usage.team_id, limit=limit, resets_at=resets_at)
