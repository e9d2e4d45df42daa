"""Durable error occurrences and the team's current clusters, in recap's store.

The tables share `recap.store.tables.Base` and are created by migration 0003.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from recap.clustering.models import ErrorCluster, ErrorOccurrence
from recap.store.repository import SummaryStore, store_for, take_turns
from recap.store.tables import Base

# SQLite allows 999 bound parameters per statement on old builds: stay well below.
_IN_CHUNK: Final = 500
_ROWS_CHUNK: Final = 80


class ErrorOccurrenceRow(Base):
    """One error of one session; the key makes re-extraction idempotent."""

    __tablename__ = "error_occurrences"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    t_ms: Mapped[int] = mapped_column(BigInteger)
    occurrence: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErrorClusterRow(Base):
    """One cluster of the team's current set."""

    __tablename__ = "error_clusters"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    sessions_affected: Mapped[int] = mapped_column(Integer)
    occurrences: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(512), nullable=True)
    cluster: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClusterStore:
    """Reads and writes error occurrences and clusters (SQLite or Postgres)."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._store.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def save_occurrences(
        self,
        team_id: str,
        run_id: str,
        occurrences: Sequence[ErrorOccurrence],
        *,
        sessions: Sequence[str] = (),
    ) -> None:
        """Upsert by (team, session, ref): saving a session's errors again replaces them.

        `sessions` were extracted whole: their stored occurrences not in `occurrences` are
        dropped (an error a newer extraction no longer reports on its own, such as a console
        echo now folded into its request, must not keep counting)."""
        self._store.migrate()
        now = datetime.now(UTC)
        rows = {
            (o.session_id, o.ref): {
                "team_id": team_id,
                "session_id": o.session_id,
                "ref": o.ref,
                "run_id": run_id,
                "kind": o.kind.value,
                "fingerprint": o.fingerprint,
                "t_ms": o.t_ms,
                "occurrence": o.model_dump(mode="json"),
                "updated_at": now,
            }
            for o in occurrences
        }
        # In key order, so writers of overlapping sessions lock rows in the same order
        # and never deadlock.
        values = [rows[key] for key in sorted(rows)]
        with self._store.engine.begin() as connection:
            for start in range(0, len(values), _ROWS_CHUNK):
                statement = self._insert(ErrorOccurrenceRow).values(
                    values[start : start + _ROWS_CHUNK]
                )
                replace = {
                    name: statement.excluded[name]
                    for name in (
                        "run_id",
                        "kind",
                        "fingerprint",
                        "t_ms",
                        "occurrence",
                        "updated_at",
                    )
                }
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["team_id", "session_id", "ref"], set_=replace
                    )
                )
            # Every row of `sessions` this save wrote now carries `run_id`; the others are
            # what an earlier extraction found and this one did not.
            for session_id in sorted(set(sessions)):
                connection.execute(
                    delete(ErrorOccurrenceRow).where(
                        ErrorOccurrenceRow.team_id == team_id,
                        ErrorOccurrenceRow.session_id == session_id,
                        ErrorOccurrenceRow.run_id != run_id,
                    )
                )

    def load_occurrences(
        self, team_id: str, session_ids: Sequence[str] | None = None
    ) -> list[ErrorOccurrence]:
        """The team's occurrences (of `session_ids` only, when given), by session and time."""
        self._store.migrate()
        base = select(ErrorOccurrenceRow.occurrence).where(ErrorOccurrenceRow.team_id == team_id)
        found: list[dict[str, Any]] = []
        with self._store.engine.connect() as connection:
            if session_ids is None:
                found.extend(connection.scalars(base))
            else:
                wanted = sorted(set(session_ids))
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start : start + _IN_CHUNK]
                    found.extend(
                        connection.scalars(base.where(ErrorOccurrenceRow.session_id.in_(chunk)))
                    )
        occurrences = [ErrorOccurrence.model_validate(data) for data in found]
        return sorted(occurrences, key=lambda o: (o.session_id, o.t_ms, o.ref))

    def occurrences_of(self, team_id: str, fingerprints: Sequence[str]) -> list[ErrorOccurrence]:
        """The team's occurrences of `fingerprints` (a few clusters' errors, for their
        counts over time), by session and time."""
        self._store.migrate()
        base = select(ErrorOccurrenceRow.occurrence).where(ErrorOccurrenceRow.team_id == team_id)
        wanted = sorted(set(fingerprints))
        found: list[dict[str, Any]] = []
        with self._store.engine.connect() as connection:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.extend(
                    connection.scalars(base.where(ErrorOccurrenceRow.fingerprint.in_(chunk)))
                )
        occurrences = [ErrorOccurrence.model_validate(data) for data in found]
        return sorted(occurrences, key=lambda o: (o.session_id, o.t_ms, o.ref))

    def save_clusters(self, team_id: str, clusters: Sequence[ErrorCluster]) -> None:
        """Replace the team's current clusters with `clusters`, in one transaction."""
        self._store.migrate()
        now = datetime.now(UTC)
        values = [
            {
                "team_id": team_id,
                "cluster_id": c.cluster_id,
                "kind": c.kind.value,
                "sessions_affected": c.sessions_affected,
                "occurrences": c.occurrences,
                "title": c.title,
                "cluster": c.model_dump(mode="json"),
                "updated_at": now,
            }
            for c in {c.cluster_id: c for c in clusters}.values()
        ]
        with self._store.engine.begin() as connection:
            # Another run replacing the same team's set waits: interleaved, its delete would
            # miss the rows this one inserts, and its inserts would collide with them.
            take_turns(connection, "error_clusters", team_id)
            connection.execute(delete(ErrorClusterRow).where(ErrorClusterRow.team_id == team_id))
            for start in range(0, len(values), _ROWS_CHUNK):
                connection.execute(
                    self._insert(ErrorClusterRow).values(values[start : start + _ROWS_CHUNK])
                )

    def load_clusters(self, team_id: str) -> list[ErrorCluster]:
        """The team's current clusters, most sessions affected first."""
        self._store.migrate()
        with self._store.engine.connect() as connection:
            found = connection.scalars(
                select(ErrorClusterRow.cluster)
                .where(ErrorClusterRow.team_id == team_id)
                .order_by(
                    ErrorClusterRow.sessions_affected.desc(),
                    ErrorClusterRow.occurrences.desc(),
                    ErrorClusterRow.cluster_id,
                )
            ).all()
        return [ErrorCluster.model_validate(data) for data in found]


@cache
def clusters_for(database_url: str) -> ClusterStore:
    """One cluster store per database per process, over the shared summary store."""
    return ClusterStore(store_for(database_url))
