"""Each team's model calls and tokens per UTC day, kept for the daily model budget
(`recap.services.budget`). A call is counted before the model is asked, by one conditional
statement, so workers racing for a team's last call cannot both get it.

The table shares `recap.store.tables.Base` and is created by migration 0007.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from recap.store.repository import SummaryStore
from recap.store.tables import Base


class ModelUsageRow(Base):
    """One team's model calls and the tokens they spent on one UTC day."""

    __tablename__ = "model_usage"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # The UTC day, ISO 'YYYY-MM-DD': one text column sorts and compares the same everywhere.
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


@dataclass(frozen=True)
class ModelUsage:
    team_id: str
    day: str
    calls: int = 0
    tokens: int = 0


class ModelUsageStore:
    """Counts model calls and tokens per team and UTC day in recap's store (SQLite or
    Postgres)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def _insert(self) -> Any:
        dialect = postgresql if self._store.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(ModelUsageRow)

    def reserve_call(
        self, team_id: str, day: str, *, max_calls: int | None, max_tokens: int | None
    ) -> bool:
        """Count one more call for the team's day unless the day already holds `max_calls`
        calls or `max_tokens` tokens (None: no limit). True when the call was counted.

        One upsert whose update is conditional: SQLite runs it under its single writer
        lock and Postgres re-checks the condition on the locked row, so of two workers
        racing for the last call exactly one passes."""
        within: list[Any] = []
        if max_calls is not None:
            within.append(ModelUsageRow.calls < max_calls)
        if max_tokens is not None:
            within.append(ModelUsageRow.tokens < max_tokens)
        statement = (
            self._insert()
            .values(team_id=team_id, day=day, calls=1, tokens=0)
            .on_conflict_do_update(
                index_elements=["team_id", "day"],
                set_={"calls": ModelUsageRow.calls + 1},
                where=and_(*within) if within else None,
            )
            # A row comes back when the call was counted, none when the update was refused
            # (rowcount is no help: drivers report -1 for an INSERT).
            .returning(ModelUsageRow.calls)
        )
        self._store.migrate()
        with self._store.engine.begin() as connection:
            # A first call of the day inserts (limits are at least 1, so it is within them).
            return connection.execute(statement).first() is not None

    def add_tokens(self, team_id: str, day: str, tokens: int, *, calls: int = 0) -> None:
        """Add the tokens a counted call spent to the day it was counted on, and `calls`
        more calls: the ones a reserved step made beyond its first (a report's steps)."""
        tokens, calls = max(tokens, 0), max(calls, 0)
        if tokens == 0 and calls == 0:
            return
        statement = (
            self._insert()
            .values(team_id=team_id, day=day, calls=calls, tokens=tokens)
            .on_conflict_do_update(
                index_elements=["team_id", "day"],
                set_={
                    "tokens": ModelUsageRow.tokens + tokens,
                    "calls": ModelUsageRow.calls + calls,
                },
            )
        )
        self._store.migrate()
        with self._store.engine.begin() as connection:
            connection.execute(statement)

    def usage(self, team_id: str, day: str) -> ModelUsage:
        """The team's calls and tokens on `day` (zero when it has used nothing)."""
        self._store.migrate()
        with self._store.engine.connect() as connection:
            row = connection.execute(
                select(ModelUsageRow.calls, ModelUsageRow.tokens).where(
                    ModelUsageRow.team_id == team_id, ModelUsageRow.day == day
                )
            ).first()
        if row is None:
            return ModelUsage(team_id=team_id, day=day)
        return ModelUsage(team_id=team_id, day=day, calls=row.calls, tokens=row.tokens)

    def usage_on(self, day: str) -> list[ModelUsage]:
        """Every team that used the model on `day`, by team id."""
        self._store.migrate()
        with self._store.engine.connect() as connection:
            return usage_on(connection, day)


def usage_on(connection: Connection, day: str) -> list[ModelUsage]:
    """Every team that used the model on `day`, by team id, over a connection of its own
    (`recap doctor` reads without opening, creating or migrating a store)."""
    rows = connection.execute(
        select(ModelUsageRow.team_id, ModelUsageRow.calls, ModelUsageRow.tokens)
        .where(ModelUsageRow.day == day)
        .order_by(ModelUsageRow.team_id)
    ).all()
    return [
        ModelUsage(team_id=row.team_id, day=day, calls=row.calls, tokens=row.tokens) for row in rows
    ]
