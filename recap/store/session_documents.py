"""The similar-sessions index: one short document per session (what its summary says, which
signals its timeline flagged, which errors it hit), kept up to date as summaries and error
occurrences are stored, so finding similar sessions reads this table and no timeline.

The table shares `recap.store.tables.Base` and is created by migration 0006.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import DateTime, String, Text, delete, exists, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from recap.store.repository import SummaryStore, take_turns
from recap.store.tables import Base, SummaryRow, TimelineRow

# SQLite allows 999 bound parameters per statement on old builds: stay well below.
_IN_CHUNK: Final = 500
_ROWS_CHUNK: Final = 200


class SessionDocumentRow(Base):
    """The words one session of one team is compared on."""

    __tablename__ = "session_documents"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionDocuments:
    """Reads and writes session documents (SQLite or Postgres)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._store.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    @contextmanager
    def refreshing(self, team_id: str, session_id: str) -> Iterator[Callable[[str], None]]:
        """A turn on the session's document: refreshes of one session run one after another,
        so a refresh that read older state never overwrites one that read newer. Compute
        the document inside the `with` and hand it to the function it yields."""
        self._store.migrate()
        with self._store.engine.begin() as connection:
            take_turns(connection, "session_documents", team_id, session_id)

            def write(document: str) -> None:
                values = {"document": document, "updated_at": datetime.now(UTC)}
                connection.execute(
                    self._insert(SessionDocumentRow)
                    .values(team_id=team_id, session_id=session_id, **values)
                    .on_conflict_do_update(index_elements=["team_id", "session_id"], set_=values)
                )

            yield write

    def upsert(self, team_id: str, session_id: str, document: str) -> None:
        """Write (or replace) one session's document."""
        with self.refreshing(team_id, session_id) as write:
            write(document)

    def fill(self, team_id: str, documents: Mapping[str, str]) -> None:
        """Write the documents of sessions that have none yet; a document already there
        stays, since a refresh that wrote it read newer state than a backfill may have."""
        self._store.migrate()
        now = datetime.now(UTC)
        values = [
            {"team_id": team_id, "session_id": session_id, "document": document, "updated_at": now}
            for session_id, document in sorted(documents.items())
        ]
        with self._store.engine.begin() as connection:
            for start in range(0, len(values), _ROWS_CHUNK):
                connection.execute(
                    self._insert(SessionDocumentRow)
                    .values(values[start : start + _ROWS_CHUNK])
                    .on_conflict_do_nothing(index_elements=["team_id", "session_id"])
                )

    def load(self, team_id: str) -> dict[str, str]:
        """Every document of the team, by session id (one query)."""
        self._store.migrate()
        query = select(SessionDocumentRow.session_id, SessionDocumentRow.document).where(
            SessionDocumentRow.team_id == team_id
        )
        with self._store.engine.connect() as connection:
            return {session_id: document for session_id, document in connection.execute(query)}

    def without_document(self, team_id: str, session_ids: Sequence[str] | None = None) -> list[str]:
        """The team's sessions (among `session_ids`, when given) that have a compiled
        timeline or a summary but no document: stored before the index existed, or by a
        path that writes none. Reads ids only, never a timeline."""
        self._store.migrate()
        documented = exists().where(
            SessionDocumentRow.team_id == team_id,
            SessionDocumentRow.session_id == TimelineRow.session_id,
        )
        summarized = exists().where(
            SessionDocumentRow.team_id == team_id,
            SessionDocumentRow.session_id == SummaryRow.session_id,
        )
        timelines = select(TimelineRow.session_id).where(
            TimelineRow.team_id == team_id, ~documented
        )
        summaries = select(SummaryRow.session_id).where(SummaryRow.team_id == team_id, ~summarized)
        found: set[str] = set()
        with self._store.engine.connect() as connection:
            if session_ids is None:
                found.update(connection.scalars(union(timelines, summaries)))
            else:
                wanted = sorted(set(session_ids))
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start : start + _IN_CHUNK]
                    query = union(
                        timelines.where(TimelineRow.session_id.in_(chunk)),
                        summaries.where(SummaryRow.session_id.in_(chunk)),
                    )
                    found.update(connection.scalars(query))
        return sorted(found)

    def delete(self, team_id: str, session_ids: Sequence[str] | None = None) -> None:
        """Drop the documents of `session_ids` (all of the team's when None)."""
        self._store.migrate()
        with self._store.engine.begin() as connection:
            if session_ids is None:
                connection.execute(
                    delete(SessionDocumentRow).where(SessionDocumentRow.team_id == team_id)
                )
                return
            wanted = sorted(set(session_ids))
            for start in range(0, len(wanted), _IN_CHUNK):
                connection.execute(
                    delete(SessionDocumentRow).where(
                        SessionDocumentRow.team_id == team_id,
                        SessionDocumentRow.session_id.in_(wanted[start : start + _IN_CHUNK]),
                    )
                )
