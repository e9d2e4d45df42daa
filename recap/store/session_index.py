"""Read-only questions about a team's stored sessions that error clustering and similar
sessions ask: which sessions fall in a date range, and which timeline and summary each has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from recap.llm.schema import SessionSummary
from recap.store.repository import StoredTimeline, SummaryStore, focus_key
from recap.store.tables import SummaryRow, TimelineRow

# SQLite caps bound parameters per statement; ask in slices.
_IN_CHUNK = 500


class SessionIndex:
    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def session_ids(
        self, team_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[str]:
        """Sessions with a timeline compiled, or a summary written, in [since, until)."""
        self._store.migrate()
        timelines = select(TimelineRow.session_id).where(TimelineRow.team_id == team_id)
        summaries = select(SummaryRow.session_id).where(SummaryRow.team_id == team_id)
        if since is not None:
            timelines = timelines.where(TimelineRow.created_at >= since)
            summaries = summaries.where(SummaryRow.updated_at >= since)
        if until is not None:
            timelines = timelines.where(TimelineRow.created_at < until)
            summaries = summaries.where(SummaryRow.updated_at < until)
        with self._store.engine.connect() as connection:
            found = set(connection.scalars(timelines)) | set(connection.scalars(summaries))
        return sorted(found)

    def summaries(
        self, team_id: str, session_ids: Sequence[str] | None = None, focus_area: str | None = None
    ) -> dict[str, SessionSummary]:
        """The stored summary of each session (for one focus area), by session id."""
        self._store.migrate()
        base = select(SummaryRow.session_id, SummaryRow.summary).where(
            SummaryRow.team_id == team_id,
            SummaryRow.focus_key == focus_key(focus_area),
            SummaryRow.summary.is_not(None),
        )
        found: dict[str, SessionSummary] = {}
        with self._store.engine.connect() as connection:
            if session_ids is None:
                rows = list(connection.execute(base))
            else:
                wanted = sorted(set(session_ids))
                rows = []
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start : start + _IN_CHUNK]
                    rows.extend(connection.execute(base.where(SummaryRow.session_id.in_(chunk))))
        for session_id, summary in rows:
            if summary is not None:
                found[session_id] = SessionSummary.model_validate(summary)
        return found

    def latest_timeline(
        self, team_id: str, session_id: str, summary: SessionSummary | None = None
    ) -> StoredTimeline | None:
        """The timeline the session's summary was written from, else the newest compiled."""
        if summary is not None:
            stored = self._store.load_timeline(summary.run.timeline_hash)
            if stored is not None:
                return stored
        timeline_hash = self.newest_timeline_hash(team_id, session_id)
        return self._store.load_timeline(timeline_hash) if timeline_hash else None

    def newest_timeline_hash(self, team_id: str, session_id: str) -> str | None:
        """The hash of the session's newest compiled timeline (without reading it)."""
        self._store.migrate()
        query = (
            select(TimelineRow.timeline_hash)
            .where(TimelineRow.team_id == team_id, TimelineRow.session_id == session_id)
            .order_by(TimelineRow.created_at.desc())
            .limit(1)
        )
        with self._store.engine.connect() as connection:
            found: str | None = connection.scalar(query)
        return found


def session_index_for(store: SummaryStore) -> SessionIndex:
    return SessionIndex(store)
