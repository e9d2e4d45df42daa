"""A team's delivery destinations (a Slack incoming webhook or a signed webhook) and the
record of every delivery to them. URLs and signing secrets are sealed by a `SecretBox`;
listing a destination never opens them. Tables from migration 0011.

A destination whose last `FAILING_AFTER` deliveries all failed is shown as failing; the
reports it missed stay in the store, and `recap destinations test` checks it again."""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from recap.core.logging import get_logger
from recap.delivery.models import (
    QUIET_MODES,
    DestinationKind,
    DestinationTarget,
    ItemKind,
    QuietMode,
    check_url,
)
from recap.store.keys import validate_team_id
from recap.store.repository import SummaryStore
from recap.store.secrets import SecretBox
from recap.store.tables import Base

log = get_logger(__name__)

FAILING_AFTER = 3
DeliveryStatus = Literal["delivered", "failed", "rejected", "skipped"]


class DestinationRow(Base):
    __tablename__ = "destinations"

    destination_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    url_encrypted: Mapped[str] = mapped_column(Text)
    signing_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    quiet: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("destination_id", "item_kind", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(128))
    item_kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DestinationError(ValueError):
    """A destination operation that cannot be done as asked; the message says what to do."""


def _utc(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Destination:
    """A destination as callers see it: never its URL or secret."""

    destination_id: str
    team_id: str
    kind: DestinationKind
    name: str
    quiet: QuietMode
    signed: bool
    created_at: datetime
    consecutive_failures: int
    last_error: str | None
    last_failure_at: datetime | None
    last_delivered_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.consecutive_failures >= FAILING_AFTER


def _destination(row: DestinationRow) -> Destination:
    created = _utc(row.created_at)
    assert created is not None
    return Destination(
        destination_id=row.destination_id,
        team_id=row.team_id,
        kind="slack" if row.kind == "slack" else "webhook",
        name=row.name,
        quiet="silent" if row.quiet == "silent" else "line",
        signed=row.signing_secret_encrypted is not None,
        created_at=created,
        consecutive_failures=row.consecutive_failures or 0,
        last_error=row.last_error,
        last_failure_at=_utc(row.last_failure_at),
        last_delivered_at=_utc(row.last_delivered_at),
    )


@dataclass(frozen=True)
class Delivery:
    destination_id: str
    item_kind: ItemKind
    item_id: str
    idempotency_key: str
    status: DeliveryStatus
    attempts: int
    http_status: int | None
    last_error: str | None
    updated_at: datetime


def _delivery(row: DeliveryRow) -> Delivery:
    updated = _utc(row.updated_at)
    assert updated is not None
    return Delivery(
        destination_id=row.destination_id,
        item_kind="digest" if row.item_kind == "digest" else "report",
        item_id=row.item_id,
        idempotency_key=row.idempotency_key,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        http_status=row.http_status,
        last_error=row.last_error,
        updated_at=updated,
    )


def new_signing_secret() -> str:
    return secrets.token_urlsafe(32)


class DestinationStore:
    """Adds, lists, opens and removes a team's destinations, and records deliveries."""

    def __init__(self, store: SummaryStore, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def add(
        self,
        team_id: str,
        *,
        kind: DestinationKind,
        name: str,
        url: str,
        signing_secret: str | None = None,
        quiet: QuietMode = "line",
    ) -> Destination:
        """Stores the destination with its URL and secret sealed; refused without
        RECAP_SECRET_KEY (`SecretKeyMissing`)."""
        validate_team_id(team_id)
        name = " ".join(name.split())
        if not name or len(name) > 256:
            raise DestinationError("give the destination a name of 1-256 characters")
        if quiet not in QUIET_MODES:
            raise DestinationError("quiet must be 'line' or 'silent'")
        try:
            url = check_url(url, kind)
        except ValueError as error:
            raise DestinationError(str(error)) from None
        if signing_secret is not None and len(signing_secret) < 16:
            raise DestinationError("a signing secret needs at least 16 characters")
        row = DestinationRow(
            destination_id=f"dst_{secrets.token_hex(6)}",
            team_id=team_id,
            kind=kind,
            name=name,
            url_encrypted=self._box.seal(url),
            signing_secret_encrypted=(
                self._box.seal(signing_secret) if signing_secret is not None else None
            ),
            quiet=quiet,
            created_at=datetime.now(UTC),
            consecutive_failures=0,
        )
        with self._store._session() as session, session.begin():
            session.add(row)
        log.info("destination added", team_id=team_id, destination_id=row.destination_id, kind=kind)
        return _destination(row)

    def get(self, destination_id: str, *, team_id: str | None = None) -> Destination | None:
        """The destination; another team's is None, as a missing one."""
        with self._store._session() as session:
            row = session.get(DestinationRow, destination_id)
            if row is None or (team_id is not None and row.team_id != team_id):
                return None
            return _destination(row)

    def list(self, team_id: str | None = None) -> builtins.list[Destination]:
        query = select(DestinationRow).order_by(DestinationRow.team_id, DestinationRow.created_at)
        if team_id is not None:
            query = query.where(DestinationRow.team_id == team_id)
        with self._store._session() as session:
            return [_destination(row) for row in session.scalars(query)]

    def remove(self, destination_id: str) -> Destination | None:
        """Removes the destination (its deliveries' record goes with it)."""
        with self._store._session() as session, session.begin():
            row = session.get(DestinationRow, destination_id)
            if row is None:
                return None
            removed = _destination(row)
            session.delete(row)
            session.execute(delete(DeliveryRow).where(DeliveryRow.destination_id == destination_id))
        log.info("destination removed", team_id=removed.team_id, destination_id=destination_id)
        return removed

    def target(self, team_id: str, destination_id: str) -> DestinationTarget | None:
        """The team's destination opened for sending (`SecretUnreadable` under another key)."""
        with self._store._session() as session:
            row = session.get(DestinationRow, destination_id)
            if row is None or row.team_id != team_id:
                return None
            shown = _destination(row)
            url_sealed, secret_sealed = row.url_encrypted, row.signing_secret_encrypted
        what = f"destination {destination_id}'s"
        return DestinationTarget(
            destination_id=shown.destination_id,
            team_id=shown.team_id,
            kind=shown.kind,
            name=shown.name,
            quiet=shown.quiet,
            url=self._box.open(url_sealed, what=f"{what} URL"),
            signing_secret=(
                self._box.open(secret_sealed, what=f"{what} signing secret")
                if secret_sealed is not None
                else None
            ),
        )

    def delivery(self, destination_id: str, item_kind: ItemKind, item_id: str) -> Delivery | None:
        with self._store._session() as session:
            row = session.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.destination_id == destination_id,
                    DeliveryRow.item_kind == item_kind,
                    DeliveryRow.item_id == item_id,
                )
            ).first()
            return _delivery(row) if row is not None else None

    def deliveries(
        self, team_id: str, item_kind: ItemKind, item_id: str
    ) -> builtins.list[Delivery]:
        """Every destination's delivery of one item."""
        with self._store._session() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.team_id == team_id,
                    DeliveryRow.item_kind == item_kind,
                    DeliveryRow.item_id == item_id,
                )
                .order_by(DeliveryRow.destination_id)
            )
            return [_delivery(row) for row in rows]

    def record(
        self,
        target: DestinationTarget,
        *,
        item_kind: ItemKind,
        item_id: str,
        idempotency_key: str,
        status: DeliveryStatus,
        attempts: int,
        http_status: int | None = None,
        error: str | None = None,
        gave_up: bool = False,
    ) -> Delivery:
        """Records one attempt's result. A delivery that gave up (rejected, or failed on
        its last attempt) counts against the destination; a delivered one clears it."""
        now = datetime.now(UTC)
        with self._store._session() as session, session.begin():
            row = session.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.destination_id == target.destination_id,
                    DeliveryRow.item_kind == item_kind,
                    DeliveryRow.item_id == item_id,
                )
            ).first()
            if row is None:
                row = DeliveryRow(
                    destination_id=target.destination_id,
                    team_id=target.team_id,
                    item_kind=item_kind,
                    item_id=item_id,
                    idempotency_key=idempotency_key,
                )
                session.add(row)
            row.status = status
            row.attempts = attempts
            row.http_status = http_status
            row.last_error = error
            row.updated_at = now
            destination = session.get(DestinationRow, target.destination_id)
            if destination is not None:
                if status == "delivered":
                    destination.consecutive_failures = 0
                    destination.last_delivered_at = now
                elif status in ("failed", "rejected"):
                    destination.last_error = error
                    destination.last_failure_at = now
                    if gave_up:
                        destination.consecutive_failures = (
                            destination.consecutive_failures or 0
                        ) + 1
            session.flush()
            return _delivery(row)
