"""People who sign in to recap's pages: a team's members with argon2id password hashes,
and their signed-in sessions, kept server-side so signing out or disabling a person ends
their sessions at once.

A password is never stored or logged; only argon2-cffi's encoded hash is. A session is
stored as the SHA-256 of its token, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    CursorResult,
    DateTime,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from recap.core.logging import get_logger
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, validate_team_id
from recap.store.repository import SummaryStore
from recap.store.tables import ApiKeyRow, Base

log = get_logger(__name__)

# NIST SP 800-63B: at least 8 characters; the ceiling keeps hashing a request cheap.
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_EMAIL_MAX = 254
_USER_ID = re.compile(r"u_[0-9a-f]{16}")
_SESSION_TOKEN_BYTES = 32


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("team_id", "email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128), index=True)
    email: Mapped[str] = mapped_column(String(_EMAIL_MAX), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    can_write: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UiSessionRow(Base):
    __tablename__ = "ui_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128))
    # One of the two: the person who signed in, or the recap key they signed in with.
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    key_id: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    scopes: Mapped[str] = mapped_column(String(256))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserError(ValueError):
    """A user operation that cannot be done as asked; the message says what to do."""


@dataclass(frozen=True)
class User:
    """A person as callers see them: never their password hash."""

    id: str
    team_id: str
    email: str
    can_write: bool
    created_at: datetime
    disabled_at: datetime | None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset({READ_SCOPE, WRITE_SCOPE} if self.can_write else {READ_SCOPE})


@dataclass(frozen=True)
class UiSession:
    """A live signed-in session: the team it sees, who it is, and what it may do."""

    team_id: str
    user_id: str | None
    key_id: str | None
    scopes: frozenset[str]
    csrf_token: str
    expires_at: datetime

    def allows(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        resource, _, action = scope.rpartition(":")
        return action == "read" and f"{resource}:write" in self.scopes


def normalized_email(email: str) -> str:
    """The form an email is stored and looked up in: trimmed and lower-case."""
    value = email.strip().lower()
    if len(value) > _EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise UserError(f"{email[:60]!r} is not an email address")
    return value


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything recap stores is UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _user(row: UserRow) -> User:
    created_at = _utc(row.created_at)
    assert created_at is not None
    return User(
        id=row.id,
        team_id=row.team_id,
        email=row.email,
        can_write=bool(row.can_write),
        created_at=created_at,
        disabled_at=_utc(row.disabled_at),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class UserStore:
    """Creates, lists, disables and checks the people of recap's teams, and keeps their
    signed-in sessions. `clock` tells expiry (tests pass their own)."""

    def __init__(self, store: SummaryStore, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock
        # argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile).
        self._hasher = PasswordHasher()

    @cached_property
    def _decoy(self) -> str:
        # Verified against when no one has the email, so a miss costs what a wrong
        # password does and the answer's timing tells no one which emails exist. Made on
        # first use: hashing is slow on purpose, and most stores never need it.
        return self._hasher.hash(secrets.token_urlsafe(16))

    # People

    def create(self, *, team_id: str, email: str, password: str, can_write: bool = True) -> User:
        validate_team_id(team_id)
        address = normalized_email(email)
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise UserError(
                f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long"
            )
        row = UserRow(
            id=f"u_{secrets.token_hex(8)}",
            team_id=team_id,
            email=address,
            password_hash=self._hasher.hash(password),
            can_write=can_write,
            created_at=self._clock(),
            disabled_at=None,
        )
        with self._store._session() as session, session.begin():
            taken = session.scalar(
                select(UserRow.id).where(UserRow.team_id == team_id, UserRow.email == address)
            )
            if taken is not None:
                raise UserError(
                    f"team {team_id} has a user {address} already; `recap users list` shows it"
                )
            session.add(row)
        log.info("user created", user_id=row.id, team_id=team_id, can_write=can_write)
        return _user(row)

    def list(self, team_id: str | None = None) -> builtins.list[User]:
        """Every user (disabled ones too), oldest first; only `team_id`'s when given."""
        query = select(UserRow).order_by(UserRow.created_at, UserRow.id)
        if team_id is not None:
            query = query.where(UserRow.team_id == team_id)
        with self._store._session() as session:
            return [_user(row) for row in session.scalars(query)]

    def disable(self, user_id: str) -> bool:
        """True when an active user was disabled; their sessions end with it."""
        if not _USER_ID.fullmatch(user_id):
            return False
        with self._store._session() as session, session.begin():
            result = cast(
                "CursorResult[Any]",
                session.execute(
                    update(UserRow)
                    .where(UserRow.id == user_id, UserRow.disabled_at.is_(None))
                    .values(disabled_at=self._clock())
                ),
            )
            disabled = result.rowcount == 1
            session.execute(delete(UiSessionRow).where(UiSessionRow.user_id == user_id))
        if disabled:
            log.info("user disabled", user_id=user_id)
        return disabled

    def authenticate(self, email: str, password: str) -> User | None:
        """The active user with this email and password, or None, alike for an unknown
        email, a wrong password and a disabled user. An email in several teams signs in to
        the first (by team id) whose password matches."""
        try:
            address = normalized_email(email)
        except UserError:
            address = ""
        with self._store._session() as session:
            rows = list(
                session.scalars(
                    select(UserRow)
                    .where(UserRow.email == address, UserRow.disabled_at.is_(None))
                    .order_by(UserRow.team_id)
                )
            )
        if not rows or len(password) > PASSWORD_MAX:
            self._verifies(self._decoy, password[:PASSWORD_MAX])
            return None
        for row in rows:
            if self._verifies(row.password_hash, password):
                if self._hasher.check_needs_rehash(row.password_hash):
                    self._rehash(row.id, password)
                return _user(row)
        return None

    def _verifies(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    def _rehash(self, user_id: str, password: str) -> None:
        # argon2-cffi's defaults grew since the hash was made: store it at today's cost.
        with self._store._session() as session, session.begin():
            session.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(password_hash=self._hasher.hash(password))
            )

    # Signed-in sessions

    def start_session(
        self,
        *,
        team_id: str,
        scopes: Iterable[str],
        lifetime: timedelta,
        user_id: str | None = None,
        key_id: str | None = None,
    ) -> tuple[str, UiSession]:
        """A new session for a person (`user_id`) or a recap key (`key_id`); returns its
        token, for the cookie, and the session. Only the token's hash is stored."""
        if (user_id is None) == (key_id is None):
            raise ValueError("a session is a person's or a key's: give exactly one")
        token = secrets.token_urlsafe(_SESSION_TOKEN_BYTES)
        now = self._clock()
        row = UiSessionRow(
            token_hash=_token_hash(token),
            team_id=team_id,
            user_id=user_id,
            key_id=key_id,
            scopes=",".join(sorted(scopes)),
            csrf_token=secrets.token_urlsafe(_SESSION_TOKEN_BYTES),
            created_at=now,
            expires_at=now + lifetime,
        )
        with self._store._session() as session, session.begin():
            # Expired sessions go when new ones come, so the table does not grow forever.
            session.execute(delete(UiSessionRow).where(UiSessionRow.expires_at <= now))
            session.add(row)
        log.info("ui session started", team_id=team_id, user_id=user_id, key_id=key_id)
        found = self._session_of(row)
        assert found is not None
        return token, found

    def session(self, token: str) -> UiSession | None:
        """The live session of a token: None once it expired or was ended, or its person
        was disabled, or its key was revoked or expired."""
        if not token or len(token) > 128:
            return None
        with self._store._session() as session:
            row = session.get(UiSessionRow, _token_hash(token))
            if row is None:
                return None
            now = self._clock()
            if row.user_id is not None:
                user = session.get(UserRow, row.user_id)
                if user is None or user.disabled_at is not None:
                    return None
            if row.key_id is not None:
                key = session.get(ApiKeyRow, row.key_id)
                expires = _utc(key.expires_at) if key is not None else None
                if key is None or key.revoked_at is not None or (expires and expires <= now):
                    return None
            found = self._session_of(row)
        return found if found is not None and found.expires_at > now else None

    def end_session(self, token: str) -> None:
        with self._store._session() as session, session.begin():
            session.execute(
                delete(UiSessionRow).where(UiSessionRow.token_hash == _token_hash(token))
            )

    @staticmethod
    def _session_of(row: UiSessionRow) -> UiSession | None:
        expires_at = _utc(row.expires_at)
        assert expires_at is not None
        return UiSession(
            team_id=row.team_id,
            user_id=row.user_id,
            key_id=row.key_id,
            scopes=frozenset(filter(None, row.scopes.split(","))),
            csrf_token=row.csrf_token,
            expires_at=expires_at,
        )
