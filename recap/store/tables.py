"""The relational schema for summaries and compiled timelines (SQLite or Postgres)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class TimelineRow(Base):
    """A compiled timeline, content-addressed by its hash, so summaries can be re-checked."""

    __tablename__ = "timelines"

    timeline_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128), index=True)
    session_id: Mapped[str] = mapped_column(String(256), index=True)
    tokens: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    timeline: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SummaryRow(Base):
    """One summary per (team, session, focus area); a re-run replaces it."""

    __tablename__ = "session_summaries"
    __table_args__ = (UniqueConstraint("team_id", "session_id", "focus_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(128), index=True)
    session_id: Mapped[str] = mapped_column(String(256), index=True)
    # The focus area normalized ('' when none) so the unique constraint holds on every
    # database; NULLs would compare unequal and let duplicates in.
    focus_key: Mapped[str] = mapped_column(String(512))
    focus_area: Mapped[str | None] = mapped_column(Text, nullable=True)
    has_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    summary_outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    model: Mapped[str | None] = mapped_column(String(256), nullable=True)
    prompt_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    timeline_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """One API key of a team. Only the token's sha256 is kept: a leaked database leaks no
    usable credential, and the public id makes lookup one primary-key read."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(128), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # Sorted and comma-joined, e.g. "session_recording:read,session_recording:write".
    scopes: Mapped[str] = mapped_column(String(512))
    label: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Past it the key authenticates nothing; None: it never expires.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
