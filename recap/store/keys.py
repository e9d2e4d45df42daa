"""API keys for recap's HTTP API: scoped, per team, and stored only as a hash.

A token reads `rck_<id>_<secret>`. The id is public (safe to log, used to find the row);
the secret is shown once at creation and never stored, so a copy of the database grants
nothing. A key may expire: past its `expires_at` it is refused exactly like a revoked one.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from recap.core.logging import get_logger
from recap.store.repository import SummaryStore
from recap.store.tables import ApiKeyRow

READ_SCOPE = "session_recording:read"
WRITE_SCOPE = "session_recording:write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)

TOKEN_PREFIX = "rck_"
_ID_HEX_BYTES = 6
_SECRET_BYTES = 32
# token_urlsafe(32) is 43 base64url characters; the id is 12 hex characters.
_TOKEN = re.compile(r"rck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 2 * _ID_HEX_BYTES + 1 + 43
_KEY_ID = re.compile(r"[0-9a-f]{12}")
_TEAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LABEL_MAX = 256
# Remembering when a key was last used costs a write; once a minute is precise enough
# for an operator deciding which keys to revoke, and keeps writes off the request path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the id is unknown, so a miss costs the same as a wrong secret.
_NO_HASH = "0" * 64

log = get_logger(__name__)


class InvalidScopes(ValueError):
    """Unknown scope names, or none at all."""


@dataclass(frozen=True)
class ApiKey:
    """A key as callers see it: never its token or hash."""

    id: str
    team_id: str
    scopes: frozenset[str]
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = None
    # None: the key never expires.
    expires_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """Whether the key grants `scope`. As in PostHog, `X:write` grants `X:read` too:
        a key that may start summaries may read them."""
        if scope in self.scopes:
            return True
        resource, _, action = scope.rpartition(":")
        return action == "read" and f"{resource}:write" in self.scopes

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def parse_scopes(text: str) -> frozenset[str]:
    """`"a,b"` as a validated set of scopes."""
    return _checked_scopes(text.split(","))


def _checked_scopes(names: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(name.strip() for name in names if name.strip())
    valid = ", ".join(SCOPES)
    if not wanted:
        raise InvalidScopes(f"no scopes given; choose one or more of: {valid}")
    unknown = sorted(wanted.difference(SCOPES))
    if unknown:
        raise InvalidScopes(f"unknown scope(s) {', '.join(unknown)}; valid scopes are: {valid}")
    return wanted


def validate_team_id(team_id: str) -> str:
    if not _TEAM_ID.fullmatch(team_id):
        raise ValueError(
            f"team id {team_id[:40]!r} is not valid: use 1-128 letters, digits, '-' or '_'"
        )
    return team_id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything recap stores is UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(row: ApiKeyRow) -> ApiKey:
    created_at = _utc(row.created_at)
    assert created_at is not None
    return ApiKey(
        id=row.id,
        team_id=row.team_id,
        scopes=frozenset(row.scopes.split(",")),
        label=row.label,
        created_at=created_at,
        revoked_at=_utc(row.revoked_at),
        last_used_at=_utc(row.last_used_at),
        expires_at=_utc(row.expires_at),
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KeyStore:
    """Creates, checks, lists and revokes API keys in recap's store (SQLite or Postgres).
    `clock` tells expiry (tests pass their own)."""

    def __init__(self, store: SummaryStore, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock

    def create(
        self,
        *,
        team_id: str,
        scopes: Iterable[str],
        label: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """Returns the key and its token; the token is shown once and only its hash is stored.
        From `expires_at` on (None: never) the token authenticates nothing."""
        validate_team_id(team_id)
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("the expiry needs a time zone (recap keeps every time in UTC)")
        checked = parse_scopes(scopes) if isinstance(scopes, str) else _checked_scopes(scopes)
        label = (label or "").strip() or None
        if label is not None and len(label) > _LABEL_MAX:
            raise ValueError(f"the label is {len(label)} characters; keep it to {_LABEL_MAX}")
        key_id = secrets.token_hex(_ID_HEX_BYTES)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
        row = ApiKeyRow(
            id=key_id,
            team_id=team_id,
            token_hash=_hash(token),
            scopes=",".join(sorted(checked)),
            label=label,
            created_at=self._clock(),
            revoked_at=None,
            last_used_at=None,
            expires_at=_utc(expires_at),
        )
        with self._store._session() as session, session.begin():
            session.add(row)
        log.info(
            "api key created",
            key_id=key_id,
            team_id=team_id,
            scopes=row.scopes,
            expires_at=row.expires_at.isoformat() if row.expires_at else None,
        )
        return _key(row), token

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key for a bearer token; None for unknown, malformed, revoked or expired
        tokens, alike, so a caller cannot tell a key that existed. Constant-time compare."""
        # Shape first: a malformed or oversized token never reaches the database.
        if len(token) != _TOKEN_LENGTH or not token.isascii():
            return None
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        digest = _hash(token)
        with self._store._session() as session:
            row = session.get(ApiKeyRow, match.group(1))
        if row is None:
            hmac.compare_digest(digest, _NO_HASH)
            return None
        if not hmac.compare_digest(digest, row.token_hash) or row.revoked_at is not None:
            return None
        key = _key(row)
        now = self._clock()
        if key.expired(now):
            return None
        if key.last_used_at is None or now - key.last_used_at >= _LAST_USED_RESOLUTION:
            with self._store._session() as session, session.begin():
                session.execute(
                    update(ApiKeyRow).where(ApiKeyRow.id == key.id).values(last_used_at=now)
                )
        return key

    def list(self, team_id: str | None = None) -> builtins.list[ApiKey]:
        """Every key (revoked and expired ones too), oldest first; only `team_id`'s when
        given."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if team_id is not None:
            query = query.where(ApiKeyRow.team_id == team_id)
        with self._store._session() as session:
            return [_key(row) for row in session.scalars(query)]

    def revoke(self, key_id: str) -> bool:
        """True when a live key was revoked; False for unknown or already revoked ids."""
        if not _KEY_ID.fullmatch(key_id):
            return False
        statement = (
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=self._clock())
        )
        with self._store._session() as session, session.begin():
            result = cast("CursorResult[Any]", session.execute(statement))
            revoked = result.rowcount == 1
        if revoked:
            log.info("api key revoked", key_id=key_id)
        return revoked
