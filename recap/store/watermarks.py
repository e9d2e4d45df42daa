"""Durable state of scheduled summarization: each schedule's watermark and the sessions it
has already handed to a batch, so overlapping or missed runs neither skip nor repeat one.

The tables share `recap.store.tables.Base` and are created by migration 0002.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from recap.store.repository import SummaryStore, store_for, take_turns
from recap.store.tables import Base

# SQLite allows 999 bound parameters per statement on old builds: stay well below.
_IN_CHUNK = 500


class WatermarkRow(Base):
    """How far one schedule has handed recordings to batches (their end time)."""

    __tablename__ = "schedule_watermarks"

    schedule_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128), index=True)
    watermark: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_batch_workflow_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    sessions_handed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HandoffRow(Base):
    """One session one schedule handed to a batch; the key makes a repeat impossible."""

    __tablename__ = "schedule_handoffs"

    schedule_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    batch_workflow_id: Mapped[str] = mapped_column(String(512))
    handed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Watermark(BaseModel):
    schedule_id: str
    team_id: str
    watermark: datetime
    last_batch_workflow_id: str | None
    sessions_handed: int
    updated_at: datetime


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything recap stores is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class WatermarkStore:
    """Reads and advances schedule watermarks in recap's store (SQLite or Postgres)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._store.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def get(self, schedule_id: str) -> Watermark | None:
        self._store.migrate()
        with self._store.engine.connect() as connection:
            row = connection.execute(
                select(*WatermarkRow.__table__.columns).where(
                    WatermarkRow.schedule_id == schedule_id
                )
            ).first()
        if row is None:
            return None
        return Watermark(
            schedule_id=row.schedule_id,
            team_id=row.team_id,
            watermark=_utc(row.watermark),
            last_batch_workflow_id=row.last_batch_workflow_id,
            sessions_handed=row.sessions_handed,
            updated_at=_utc(row.updated_at),
        )

    def already_handed(self, schedule_id: str, session_ids: Iterable[str]) -> set[str]:
        """The ids among `session_ids` this schedule has handed to a batch before."""
        self._store.migrate()
        wanted = sorted(set(session_ids))
        found: set[str] = set()
        with self._store.engine.connect() as connection:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.update(
                    connection.scalars(
                        select(HandoffRow.session_id).where(
                            HandoffRow.schedule_id == schedule_id,
                            HandoffRow.session_id.in_(chunk),
                        )
                    )
                )
        return found

    def record_handoff(
        self,
        *,
        schedule_id: str,
        team_id: str,
        window_end: datetime,
        session_ids: list[str],
        batch_workflow_id: str | None,
    ) -> Watermark:
        """Remember the sessions a batch was started with and move the watermark to
        `window_end`, in one transaction. The watermark never moves backwards, and a
        repeated call (an activity retry) changes nothing."""
        self._store.migrate()
        now = datetime.now(UTC)
        window_end = _utc(window_end)
        with self._store.engine.begin() as connection:
            # Overlapping runs of one schedule take turns: the count and the current mark
            # read below must still hold when this run writes them.
            take_turns(connection, "schedule_watermarks", schedule_id)
            if session_ids and batch_workflow_id is not None:
                connection.execute(
                    self._insert(HandoffRow)
                    .values(
                        [
                            {
                                "schedule_id": schedule_id,
                                "session_id": session_id,
                                "team_id": team_id,
                                "batch_workflow_id": batch_workflow_id,
                                "handed_at": now,
                            }
                            for session_id in dict.fromkeys(session_ids)
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=["schedule_id", "session_id"])
                )
            handed = connection.scalar(
                select(func.count())
                .select_from(HandoffRow)
                .where(HandoffRow.schedule_id == schedule_id)
            )
            current = connection.execute(
                select(WatermarkRow.watermark).where(WatermarkRow.schedule_id == schedule_id)
            ).scalar_one_or_none()
            values: dict[str, Any] = {
                "team_id": team_id,
                "watermark": window_end if current is None else max(_utc(current), window_end),
                "sessions_handed": int(handed or 0),
                "updated_at": now,
            }
            if batch_workflow_id is not None:
                values["last_batch_workflow_id"] = batch_workflow_id
            connection.execute(
                self._insert(WatermarkRow)
                .values(schedule_id=schedule_id, **values)
                .on_conflict_do_update(index_elements=["schedule_id"], set_=values)
            )
        stored = self.get(schedule_id)
        assert stored is not None
        return stored

    def forget(self, schedule_id: str) -> None:
        """Drop a schedule's watermark and handoffs (after the schedule is deleted)."""
        self._store.migrate()
        with self._store.engine.begin() as connection:
            connection.execute(delete(HandoffRow).where(HandoffRow.schedule_id == schedule_id))
            connection.execute(delete(WatermarkRow).where(WatermarkRow.schedule_id == schedule_id))


@cache
def watermarks_for(database_url: str) -> WatermarkStore:
    """One watermark store per database per process, over the shared summary store."""
    return WatermarkStore(store_for(database_url))
