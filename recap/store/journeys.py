"""Person journeys, stored whole as JSON (the store knows no journey model: the service
validates what it reads back). Table from migration 0013."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from recap.store.repository import SummaryStore
from recap.store.tables import Base


class JourneyRow(Base):
    __tablename__ = "journeys"

    journey_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    distinct_id: Mapped[str] = mapped_column(String(400))
    sessions: Mapped[int] = mapped_column(Integer)
    journey: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JourneyStore:
    """A team's stored journeys. Saving the same id again replaces it (an activity retried
    after it stored one writes the same journey)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def save(
        self,
        *,
        journey_id: str,
        team_id: str,
        distinct_id: str,
        sessions: int,
        created_at: datetime,
        document: dict[str, Any],
    ) -> None:
        row = JourneyRow(
            journey_id=journey_id,
            team_id=team_id,
            distinct_id=distinct_id,
            sessions=sessions,
            journey=document,
            created_at=created_at,
        )
        with self._store._session() as session, session.begin():
            session.merge(row)

    def load(self, team_id: str, journey_id: str) -> dict[str, Any] | None:
        """The team's journey document; another team's id is None, as a missing one."""
        with self._store._session() as session:
            row = session.get(JourneyRow, journey_id)
            if row is None or row.team_id != team_id:
                return None
            return dict(row.journey)

    def latest(self, team_id: str, distinct_id: str) -> dict[str, Any] | None:
        """The newest journey of the team's person `distinct_id`, or None."""
        query = (
            select(JourneyRow)
            .where(JourneyRow.team_id == team_id, JourneyRow.distinct_id == distinct_id)
            .order_by(JourneyRow.created_at.desc(), JourneyRow.journey_id.desc())
            .limit(1)
        )
        with self._store._session() as session:
            row = session.scalars(query).first()
            return None if row is None else dict(row.journey)
