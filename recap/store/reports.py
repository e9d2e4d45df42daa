"""Pattern reports and digests, stored whole (with their inputs and the gate's record) so
they can be read, delivered and made again from the store. Tables from migration 0010."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from recap.reports.models import Digest, PatternReport
from recap.store.repository import SummaryStore
from recap.store.tables import Base


class ReportRow(Base):
    __tablename__ = "pattern_reports"

    report_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text)
    sessions_reported: Mapped[int] = mapped_column(Integer)
    patterns: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestRow(Base):
    __tablename__ = "digests"

    digest_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    schedule_id: Mapped[str] = mapped_column(String(256))
    report_id: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quiet: Mapped[bool] = mapped_column(Boolean)
    digest: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportStore:
    """A team's reports and digests. Saving the same id again replaces it (a workflow
    retried after it stored one writes the same report)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def save_report(self, report: PatternReport) -> None:
        row = ReportRow(
            report_id=report.report_id,
            team_id=report.team_id,
            title=report.title,
            sessions_reported=report.sessions_reported,
            patterns=len(report.patterns),
            report=report.model_dump(mode="json"),
            created_at=report.created_at,
        )
        with self._store._session() as session, session.begin():
            session.merge(row)

    def report(self, team_id: str, report_id: str) -> PatternReport | None:
        """The team's report; another team's id is None, as a missing one."""
        with self._store._session() as session:
            row = session.get(ReportRow, report_id)
            if row is None or row.team_id != team_id:
                return None
            return PatternReport.model_validate(row.report)

    def reports(self, team_id: str, *, limit: int, offset: int) -> tuple[int, list[PatternReport]]:
        """The team's reports, newest first, and how many there are."""
        with self._store._session() as session:
            ids = list(
                session.scalars(
                    select(ReportRow.report_id)
                    .where(ReportRow.team_id == team_id)
                    .order_by(ReportRow.created_at.desc(), ReportRow.report_id)
                )
            )
            page: Sequence[ReportRow] = session.scalars(
                select(ReportRow).where(ReportRow.report_id.in_(ids[offset : offset + limit]))
            ).all()
            by_id = {row.report_id: PatternReport.model_validate(row.report) for row in page}
        return len(ids), [by_id[id_] for id_ in ids[offset : offset + limit] if id_ in by_id]

    def save_digest(self, digest: Digest) -> None:
        self.save_report(digest.report)
        row = DigestRow(
            digest_id=digest.digest_id,
            team_id=digest.team_id,
            schedule_id=digest.schedule_id,
            report_id=digest.report.report_id,
            period_start=digest.period_start,
            period_end=digest.period_end,
            quiet=digest.quiet,
            digest=digest.model_dump(mode="json"),
            created_at=digest.report.created_at,
        )
        with self._store._session() as session, session.begin():
            session.merge(row)

    def digest(self, team_id: str, digest_id: str) -> Digest | None:
        with self._store._session() as session:
            row = session.get(DigestRow, digest_id)
            if row is None or row.team_id != team_id:
                return None
            return Digest.model_validate(row.digest)

    def digests(self, team_id: str, *, limit: int, offset: int) -> tuple[int, list[Digest]]:
        """The team's digests, the latest period first, and how many there are."""
        where = DigestRow.team_id == team_id
        order = (DigestRow.period_end.desc(), DigestRow.digest_id)
        with self._store._session() as session:
            count = session.scalar(select(func.count()).select_from(DigestRow).where(where))
            rows = session.scalars(
                select(DigestRow).where(where).order_by(*order).offset(offset).limit(limit)
            ).all()
            return int(count or 0), [Digest.model_validate(row.digest) for row in rows]

    def previous_digest(self, team_id: str, schedule_id: str, before: datetime) -> Digest | None:
        """The schedule's latest digest of a period that ended at or before `before`."""
        query = (
            select(DigestRow)
            .where(
                DigestRow.team_id == team_id,
                DigestRow.schedule_id == schedule_id,
                DigestRow.period_end <= before,
            )
            .order_by(DigestRow.period_end.desc())
            .limit(1)
        )
        with self._store._session() as session:
            row = session.scalars(query).first()
            return None if row is None else Digest.model_validate(row.digest)
