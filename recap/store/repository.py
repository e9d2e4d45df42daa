"""SummaryStore: persists compiled timelines and gated summaries through SQLAlchemy.

Migrations run through alembic on first use, so a fresh SQLite file or an empty
Postgres database is ready without a separate step.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from recap.llm.schema import SessionSummary, SummaryOutcome
from recap.store.tables import SummaryRow, TimelineRow
from recap.timeline.models import Timeline, as_json


class StoredTimeline(BaseModel):
    timeline_hash: str
    timeline: Timeline
    text: str
    tokens: int


class TimelineFacts(BaseModel):
    """What a summary's shares are computed from: the compiled timeline's event count
    (before the token budget) and the session's duration."""

    event_count: int
    duration_ms: int


@dataclass(frozen=True)
class SignalCounts:
    """What code counted in a recording's compiled timeline: rage, dead and slow clicks,
    and errors (console errors, exceptions, failed requests)."""

    rage: int = 0
    dead: int = 0
    slow: int = 0
    errors: int = 0


class StoredSummary(BaseModel):
    """What `recap summarize --json` and the API return for one session. Frozen: the
    store hands the same parsed object to every reader of an unchanged row."""

    model_config = ConfigDict(frozen=True)

    team_id: str
    session_id: str
    focus_area: str | None
    has_summary: bool
    summary_outcome: SummaryOutcome | None
    summary: SessionSummary | None
    updated_at: datetime


# How many parsed summaries a store keeps (a few MB): a page over thousands of recordings.
_PARSED_SUMMARIES = 5_000
# Serializes alembic upgrades within the process; see SummaryStore.migrate.
_MIGRATION_LOCK = threading.Lock()


def focus_key(focus_area: str | None) -> str:
    return " ".join((focus_area or "").split()).lower()[:512]


def _private_sqlite_file(location: str) -> None:
    """Creates the SQLite file readable by its owner only (0600) before SQLite would create it
    under the umask (usually 0644): it holds summaries and API key hashes. SQLite gives its
    -wal and -shm files the database file's mode."""
    path_text = location.split("?", 1)[0]
    if not path_text or path_text == ":memory:":
        return
    path = Path(path_text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):  # an existing database keeps the mode it was given
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _enable_sqlite_wal(dbapi_connection: Any, _: Any) -> None:
    # The worker's activities write from several threads; WAL plus a busy timeout keeps
    # readers and the single writer from failing with "database is locked". The timeout
    # comes first: switching a new file to WAL takes a lock too.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def take_turns(connection: Connection, *key: str) -> None:
    """Make transactions that take turns on the same key run one after another: the first
    holds the turn until it commits or rolls back, the others wait for it. Call it first
    in the transaction, before anything is read that the writes depend on."""
    if connection.dialect.name == "postgresql":
        digest = hashlib.sha256("\x1f".join(key).encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(lock_id)))
    elif connection.dialect.name == "sqlite":
        # SQLite has one writer: an immediate transaction takes the write lock now, not at
        # the first write after reads that may be stale by then, and the busy timeout makes
        # the others wait. pysqlite would open no transaction before DDL at all.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class SummaryStore:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        if database_url.startswith("sqlite:///"):
            _private_sqlite_file(database_url.removeprefix("sqlite:///"))
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_wal)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False
        # Parsed summaries by (row id, updated_at): listing a thousand recordings reads
        # their summaries each time, and validating each again costs most of the read.
        self._parsed: OrderedDict[tuple[int, datetime], StoredSummary] = OrderedDict()
        self._parsed_lock = threading.Lock()

    def migrate(self) -> None:
        if self._migrated:
            return
        # alembic's `op` and `context` are module-level proxies, so two upgrades in one
        # process must take turns even on different stores: interleaved, one runs its DDL
        # on the other's connection and both hang.
        with _MIGRATION_LOCK:
            if self._migrated:
                return
            config = Config()
            config.set_main_option(
                "script_location", str(files("recap.store").joinpath("migrations"))
            )
            with self.engine.begin() as connection:
                # Workers and API processes starting together each find a fresh database
                # empty. Taking turns, with the DDL inside the transaction, each later one
                # finds the schema at head and has nothing to do.
                take_turns(connection, "recap", "migrations")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self._migrated = True

    def _session(self) -> Session:
        self.migrate()
        return self._sessions()

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def save_timeline(
        self, *, team_id: str, timeline_hash: str, timeline: Timeline, text: str, tokens: int
    ) -> None:
        values = {
            "timeline_hash": timeline_hash,
            "team_id": team_id,
            "session_id": timeline.session.session_id,
            "tokens": tokens,
            "event_count": len(timeline.events),
            "timeline": as_json(timeline),
            "text": text,
            "created_at": datetime.now(UTC),
        }
        statement = (
            self._insert(TimelineRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["timeline_hash"])
        )
        with self._session() as session, session.begin():
            session.execute(statement)

    def load_timeline(self, timeline_hash: str) -> StoredTimeline | None:
        with self._session() as session:
            row = session.get(TimelineRow, timeline_hash)
            if row is None:
                return None
            return StoredTimeline.model_validate(
                {
                    "timeline_hash": row.timeline_hash,
                    "timeline": row.timeline,
                    "text": row.text,
                    "tokens": row.tokens,
                }
            )

    def timeline_facts(self, timeline_hashes: set[str]) -> dict[str, TimelineFacts]:
        """Each timeline's facts, read from inside the stored JSON without loading it."""
        compiled = TimelineRow.timeline["stats"]["emitted_events"].as_integer()
        duration = TimelineRow.timeline["session"]["duration_ms"].as_integer()
        found: dict[str, TimelineFacts] = {}
        wanted = sorted(timeline_hashes)
        # SQLite caps bound parameters per statement; ask in slices.
        for start in range(0, len(wanted), 500):
            query = select(
                TimelineRow.timeline_hash, TimelineRow.event_count, compiled, duration
            ).where(TimelineRow.timeline_hash.in_(wanted[start : start + 500]))
            with self._session() as session:
                for timeline_hash, kept, emitted, duration_ms in session.execute(query):
                    found[timeline_hash] = TimelineFacts(
                        event_count=max(kept, emitted or 0), duration_ms=duration_ms or 0
                    )
        return found

    def signal_counts(
        self, *, team_id: str, session_ids: Sequence[str] | None
    ) -> dict[str, SignalCounts]:
        """The signals of each recording's summarized timeline (the summary without a focus
        area, of `session_ids` or of all the team's), read from inside the stored JSON."""
        stats = TimelineRow.timeline["stats"]
        columns = [
            stats[name].as_integer()
            for name in (
                "rage_clicks",
                "dead_clicks",
                "slow_clicks",
                "console_errors",
                "exceptions",
                "network_errors",
            )
        ]
        query = (
            select(SummaryRow.session_id, *columns)
            .join(TimelineRow, TimelineRow.timeline_hash == SummaryRow.timeline_hash)
            .where(
                SummaryRow.team_id == team_id,
                SummaryRow.has_summary.is_(True),
                SummaryRow.focus_key == "",
            )
        )
        slices: list[Sequence[str] | None] = [None]
        if session_ids is not None:
            wanted = sorted(set(session_ids))
            # SQLite caps bound parameters per statement; ask in slices.
            slices = [wanted[start : start + 500] for start in range(0, len(wanted), 500)]
        found: dict[str, SignalCounts] = {}
        for chunk in slices:
            sliced = query if chunk is None else query.where(SummaryRow.session_id.in_(chunk))
            with self._session() as session:
                for session_id, rage, dead, slow, console, exceptions, network in session.execute(
                    sliced
                ):
                    found[session_id] = SignalCounts(
                        rage=rage or 0,
                        dead=dead or 0,
                        slow=slow or 0,
                        errors=(console or 0) + (exceptions or 0) + (network or 0),
                    )
        return found

    def save_summary(self, *, team_id: str, summary: SessionSummary) -> StoredSummary:
        now = datetime.now(UTC)
        focus_area = summary.run.focus_area
        values = {
            "team_id": team_id,
            "session_id": summary.session_id,
            "focus_key": focus_key(focus_area),
            "focus_area": focus_area,
            "has_summary": True,
            "summary_outcome": summary.summary_outcome.model_dump(mode="json"),
            "summary": summary.model_dump(mode="json"),
            "title": summary.title,
            "model": summary.run.model,
            "prompt_version": summary.run.prompt_version,
            "timeline_hash": summary.run.timeline_hash,
            "prompt_tokens": summary.run.prompt_tokens,
            "completion_tokens": summary.run.completion_tokens,
            "latency_ms": summary.run.latency_ms,
            "created_at": now,
            "updated_at": now,
        }
        replace = {key: value for key, value in values.items() if key != "created_at"}
        statement = (
            self._insert(SummaryRow)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["team_id", "session_id", "focus_key"], set_=replace
            )
        )
        with self._session() as session, session.begin():
            session.execute(statement)
        stored = self.get_summary(
            team_id=team_id, session_id=summary.session_id, focus_area=focus_area
        )
        assert stored is not None
        return stored

    def get_summary(
        self, *, team_id: str, session_id: str, focus_area: str | None = None
    ) -> StoredSummary | None:
        query = select(SummaryRow).where(
            SummaryRow.team_id == team_id,
            SummaryRow.session_id == session_id,
            SummaryRow.focus_key == focus_key(focus_area),
        )
        with self._session() as session:
            row = session.scalars(query).first()
            return None if row is None else _stored(row)

    def recording_summaries(
        self, *, team_id: str, session_ids: Sequence[str]
    ) -> dict[str, StoredSummary]:
        """The summary that speaks for each recording: the one without a focus area, as
        PostHog's `has_summary` and `summary_outcome` come from the summary without extra
        context only. Sessions without one (none, or focused ones only) are left out."""
        found: dict[str, StoredSummary] = {}
        wanted = sorted(set(session_ids))
        # SQLite caps bound parameters per statement; ask in slices. The rows' keys first:
        # only the summaries not parsed before are read whole.
        keys: dict[int, tuple[str, datetime]] = {}
        for start in range(0, len(wanted), 500):
            query = select(SummaryRow.id, SummaryRow.session_id, SummaryRow.updated_at).where(
                SummaryRow.team_id == team_id,
                SummaryRow.has_summary.is_(True),
                SummaryRow.focus_key == "",
                SummaryRow.session_id.in_(wanted[start : start + 500]),
            )
            with self._session() as session:
                for row_id, session_id, updated_at in session.execute(query):
                    keys[row_id] = (session_id, updated_at)
        missing: list[int] = []
        with self._parsed_lock:
            for row_id, (session_id, updated_at) in keys.items():
                cached = self._parsed.get((row_id, updated_at))
                if cached is None:
                    missing.append(row_id)
                else:
                    self._parsed.move_to_end((row_id, updated_at))
                    found[session_id] = cached
        for start in range(0, len(missing), 500):
            rows = select(SummaryRow).where(SummaryRow.id.in_(missing[start : start + 500]))
            with self._session() as session:
                for row in session.scalars(rows):
                    stored = _stored(row)
                    found[row.session_id] = stored
                    self._remember(row.id, row.updated_at, stored)
        return found

    def _remember(self, row_id: int, updated_at: datetime, stored: StoredSummary) -> None:
        with self._parsed_lock:
            self._parsed[(row_id, updated_at)] = stored
            while len(self._parsed) > _PARSED_SUMMARIES:
                self._parsed.popitem(last=False)

    def count_summaries(self, *, team_id: str, session_id: str) -> int:
        query = (
            select(func.count())
            .select_from(SummaryRow)
            .where(SummaryRow.team_id == team_id, SummaryRow.session_id == session_id)
        )
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def sessions_with_summary(
        self,
        *,
        team_id: str,
        session_ids: list[str],
        focus_area: str | None,
        prompt_version: str,
    ) -> set[str]:
        """The ids among `session_ids` that already have a summary for this focus area
        written by this prompt version."""
        found: set[str] = set()
        # SQLite caps bound parameters per statement; ask in slices.
        for start in range(0, len(session_ids), 500):
            query = select(SummaryRow.session_id).where(
                SummaryRow.team_id == team_id,
                SummaryRow.focus_key == focus_key(focus_area),
                SummaryRow.prompt_version == prompt_version,
                SummaryRow.has_summary.is_(True),
                SummaryRow.session_id.in_(session_ids[start : start + 500]),
            )
            with self._session() as session:
                found.update(session.scalars(query))
        return found


def _stored(row: SummaryRow) -> StoredSummary:
    return StoredSummary(
        team_id=row.team_id,
        session_id=row.session_id,
        focus_area=row.focus_area,
        has_summary=row.has_summary,
        summary_outcome=(
            SummaryOutcome.model_validate(row.summary_outcome) if row.summary_outcome else None
        ),
        summary=SessionSummary.model_validate(row.summary) if row.summary else None,
        updated_at=row.updated_at,
    )


_STORES: dict[str, SummaryStore] = {}
_STORES_LOCK = threading.Lock()


def store_for(database_url: str) -> SummaryStore:
    """One store (engine and pool) per database per process, even when activities on
    several threads ask for it at once."""
    with _STORES_LOCK:
        store = _STORES.get(database_url)
        if store is None:
            store = _STORES[database_url] = SummaryStore(database_url)
        return store
