"""The rows of PostHog's `single_session_summaries/` listing, read from recap's stored
summaries: each session's summary without a focus area, with the session facts its
compiled timeline holds (who, when, how long) and how many key actions hit an exception.

Facts are read from inside the stored JSON, never by loading whole timelines.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from recap.llm.schema import KeyActionFlag, SummaryOutcome
from recap.store.repository import SummaryStore
from recap.store.tables import SummaryRow, TimelineRow

_EXCEPTION_FLAGS = {KeyActionFlag.EXCEPTION_BLOCKING, KeyActionFlag.EXCEPTION_NON_BLOCKING}
# Stable ids for stored summaries: recap keeps one per team, session and focus area.
_ID_NAMESPACE = uuid.UUID("6f1c3a52-52a4-4b8e-9d0c-2f5d0f0c5e11")


@dataclass(frozen=True)
class SummaryListing:
    """One session's default-context summary, without the summary itself."""

    id: str
    session_id: str
    distinct_id: str | None
    session_start_time: datetime | None
    session_duration: int | None
    session_outcome: SummaryOutcome | None
    exception_count: int
    model_used: str | None
    created_at: datetime


def summary_id(team_id: str, session_id: str, focus_key: str) -> str:
    """The id a stored summary answers with: the same for every run that replaces it."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{team_id}\x1f{session_id}\x1f{focus_key}"))


def _exceptions(key_actions: Any) -> int:
    if not isinstance(key_actions, list):
        return 0
    return sum(
        1
        for action in key_actions
        if isinstance(action, dict) and _EXCEPTION_FLAGS & set(action.get("flags") or ())
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def default_summaries(
    store: SummaryStore,
    team_id: str,
    *,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    session_ids: Sequence[str] | None = None,
) -> list[SummaryListing]:
    """The team's summaries without a focus area, written (last replaced) within the
    bounds given (inclusive), of the sessions given (a few hundred at most); newest first."""
    session = TimelineRow.timeline["session"]
    query = (
        select(
            SummaryRow.session_id,
            SummaryRow.summary_outcome,
            SummaryRow.model,
            SummaryRow.updated_at,
            SummaryRow.summary["key_actions"],
            session["distinct_id"].as_string(),
            session["start_timestamp_ms"].as_integer(),
            session["duration_ms"].as_integer(),
        )
        .outerjoin(TimelineRow, TimelineRow.timeline_hash == SummaryRow.timeline_hash)
        .where(
            SummaryRow.team_id == team_id,
            SummaryRow.focus_key == "",
            SummaryRow.has_summary.is_(True),
        )
        .order_by(SummaryRow.updated_at.desc(), SummaryRow.id.desc())
    )
    # Stored in UTC; SQLite compares the text, so the bounds are written in UTC too.
    if created_from is not None:
        query = query.where(SummaryRow.updated_at >= created_from.astimezone(UTC))
    if created_to is not None:
        query = query.where(SummaryRow.updated_at <= created_to.astimezone(UTC))
    if session_ids is not None:
        query = query.where(SummaryRow.session_id.in_(list(dict.fromkeys(session_ids))))
    with store._session() as db:
        rows = list(db.execute(query))
    return [
        SummaryListing(
            id=summary_id(team_id, session_id, ""),
            session_id=session_id,
            distinct_id=distinct_id,
            session_start_time=(
                datetime.fromtimestamp(start_ms / 1000, UTC) if start_ms is not None else None
            ),
            session_duration=duration_ms // 1000 if duration_ms is not None else None,
            session_outcome=SummaryOutcome.model_validate(outcome) if outcome else None,
            exception_count=_exceptions(key_actions),
            model_used=model,
            created_at=_utc(updated_at),
        )
        for (
            session_id,
            outcome,
            model,
            updated_at,
            key_actions,
            distinct_id,
            start_ms,
            duration_ms,
        ) in rows
    ]
