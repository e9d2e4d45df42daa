"""Teams and their own recording sources: a PostHog project read with the team's personal
API key (sealed at rest by a `SecretBox`), or a directory of recording files.

A team's source is what its workers, schedules and API read; one team's key never reads
another team's project.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError
from sqlalchemy import Boolean, DateTime, String, Text, false, select
from sqlalchemy.orm import Mapped, mapped_column

from recap.core.logging import get_logger
from recap.sources.posthog import PostHogConfig
from recap.store.keys import validate_team_id
from recap.store.repository import SummaryStore
from recap.store.secrets import SecretBox
from recap.store.tables import Base

log = get_logger(__name__)

SourceKind = Literal["posthog", "files"]


class TeamRow(Base):
    __tablename__ = "teams"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    source_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    posthog_host: Mapped[str | None] = mapped_column(String(512), nullable=True)
    posthog_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    posthog_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    directory: Mapped[str | None] = mapped_column(Text, nullable=True)
    person_properties: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TeamError(ValueError):
    """A team operation that cannot be done as asked; the message says what to do."""


@dataclass(frozen=True)
class Team:
    """A team as callers see it: never its secret."""

    team_id: str
    name: str | None
    source_kind: SourceKind | None
    posthog_host: str | None
    posthog_project_id: str | None
    directory: Path | None
    person_properties: bool

    @property
    def source(self) -> str:
        """The source as `recap teams list` shows it (no secret)."""
        if self.source_kind == "posthog":
            return f"posthog {self.posthog_host} project {self.posthog_project_id}"
        if self.source_kind == "files":
            return f"files:{self.directory}"
        return "none"


def _team(row: TeamRow) -> Team:
    kind = row.source_kind if row.source_kind in ("posthog", "files") else None
    return Team(
        team_id=row.team_id,
        name=row.name,
        source_kind=kind,  # type: ignore[arg-type]
        posthog_host=row.posthog_host,
        posthog_project_id=row.posthog_project_id,
        directory=Path(row.directory) if row.directory else None,
        person_properties=bool(row.person_properties),
    )


class TeamStore:
    """Creates and lists teams and sets their sources, in recap's store."""

    def __init__(self, store: SummaryStore, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def create(self, team_id: str, *, name: str | None = None) -> Team:
        validate_team_id(team_id)
        now = datetime.now(UTC)
        with self._store._session() as session, session.begin():
            if session.get(TeamRow, team_id) is not None:
                raise TeamError(f"team {team_id} exists already; `recap teams list` shows it")
            row = TeamRow(
                team_id=team_id,
                name=(name or "").strip() or None,
                person_properties=False,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        log.info("team created", team_id=team_id)
        return _team(row)

    def get(self, team_id: str) -> Team | None:
        with self._store._session() as session:
            row = session.get(TeamRow, team_id)
            return _team(row) if row is not None else None

    def list(self) -> builtins.list[Team]:
        with self._store._session() as session:
            return [
                _team(row) for row in session.scalars(select(TeamRow).order_by(TeamRow.team_id))
            ]

    def _update(self, team_id: str, **values: object) -> Team:
        with self._store._session() as session, session.begin():
            row = session.get(TeamRow, team_id)
            if row is None:
                raise TeamError(f"no team {team_id}: create it with `recap teams create {team_id}`")
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = datetime.now(UTC)
        return _team(row)

    def set_posthog_source(self, team_id: str, *, host: str, project_id: str, api_key: str) -> Team:
        """The team reads PostHog project `project_id` at `host` with its own personal API
        key, stored sealed; refused without RECAP_SECRET_KEY."""
        try:
            checked = PostHogConfig(host=host, project_id=project_id, api_key=SecretStr(api_key))
        except ValidationError as error:
            problems = "; ".join(
                str(each["msg"]).removeprefix("Value error, ") for each in error.errors()
            )
            raise TeamError(f"team {team_id}'s PostHog source is not valid: {problems}") from None
        sealed = self._box.seal(api_key)
        team = self._update(
            team_id,
            source_kind="posthog",
            posthog_host=checked.host,
            posthog_project_id=checked.project_id,
            posthog_key_encrypted=sealed,
            directory=None,
        )
        log.info("team source set", team_id=team_id, kind="posthog", project_id=project_id)
        return team

    def set_files_source(self, team_id: str, directory: Path) -> Team:
        """The team reads the recording files in `directory` (and its subfolders)."""
        resolved = directory.expanduser().resolve()
        if not resolved.is_dir():
            raise TeamError(f"team {team_id}'s directory {resolved} does not exist")
        team = self._update(
            team_id,
            source_kind="files",
            directory=str(resolved),
            posthog_host=None,
            posthog_project_id=None,
            posthog_key_encrypted=None,
        )
        log.info("team source set", team_id=team_id, kind="files")
        return team

    def set_person_properties(self, team_id: str, enabled: bool) -> Team:
        return self._update(team_id, person_properties=enabled)

    def posthog_key(self, team_id: str) -> SecretStr:
        """The team's PostHog key, opened; `SecretUnreadable` under another RECAP_SECRET_KEY."""
        with self._store._session() as session:
            row = session.get(TeamRow, team_id)
            sealed = row.posthog_key_encrypted if row is not None else None
        if sealed is None:
            raise TeamError(f"team {team_id} has no PostHog key stored")
        return SecretStr(self._box.open(sealed, what=f"team {team_id}'s PostHog key"))
