"""A person's journey's use cases, one per step of `PersonJourneyWorkflow`: select the
person's sessions from the team's source, then read their stored summaries and timelines,
build the gated journey with the model and store it.

What travels between the steps is the selected sessions' ids with the few facts the
listing gave (start, duration, first URL): never a timeline, never the journey.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from recap.core.config import Settings
from recap.journeys import ChatAsk, Journey, JourneyInput, build_journey
from recap.llm.client import ChatModel
from recap.recording.models import RecordingError
from recap.reports.prompting import StepUsage
from recap.reports.sessions import CountTokens
from recap.services.bootstrap import SourceUnavailable, TeamSources
from recap.sources.files import DirectorySource
from recap.sources.metadata import recording_metadata
from recap.sources.posthog import PostHogClient, PostHogConfig, RecordingMetadata
from recap.store.journeys import JourneyStore
from recap.store.repository import SummaryStore
from recap.store.session_index import SessionIndex

# A bot or a shared login can have thousands of sessions: the newest this many are read.
MAX_JOURNEY_SESSIONS = 200


class PersonSessionRef(BaseModel):
    """One of the person's recordings as the source listed it (no events, no content)."""

    session_id: str
    distinct_id: str | None = None
    start_timestamp_ms: int = Field(description="ms since the epoch, UTC")
    duration_ms: int | None = None
    start_url: str | None = None


class PersonSelection(BaseModel):
    """The person's recordings that started within [window_start, window_end], oldest
    first; `truncated`: there were more, and only the newest `max_sessions` are kept."""

    sessions: list[PersonSessionRef]
    window_start: datetime
    window_end: datetime
    truncated: bool = False
    found: int = Field(description="recordings of the person in the window, before the cap")


class StoredJourney(BaseModel):
    """A journey as stored and served: how its sessions were chosen, what its model calls
    cost, and the journey (sessions and counts from code, gated findings)."""

    journey_id: str
    team_id: str
    distinct_id: str
    by_person_id: bool = Field(description="selected by PostHog person id, not distinct id")
    since_seconds: int
    window_start: datetime
    window_end: datetime
    truncated: bool
    sessions_found: int
    created_at: datetime
    usage: StepUsage
    journey: Journey


def _start_ms(meta: RecordingMetadata) -> int | None:
    if meta.start_time is None:
        return None
    start = meta.start_time if meta.start_time.tzinfo else meta.start_time.replace(tzinfo=UTC)
    return int(start.timestamp() * 1000)


def _ref(meta: RecordingMetadata, distinct_id: str | None) -> PersonSessionRef | None:
    start = _start_ms(meta)
    if start is None or meta.ongoing:
        return None
    duration = meta.recording_duration
    return PersonSessionRef(
        session_id=meta.id,
        distinct_id=meta.distinct_id or distinct_id,
        start_timestamp_ms=start,
        duration_ms=round(duration * 1000) if duration is not None else None,
        start_url=meta.start_url,
    )


def _in_window(ref: PersonSessionRef, start: datetime, end: datetime) -> bool:
    return int(start.timestamp() * 1000) <= ref.start_timestamp_ms <= int(end.timestamp() * 1000)


def list_directory_person(
    files: DirectorySource, distinct_id: str, start: datetime, end: datetime
) -> list[PersonSessionRef]:
    """The directory's recordings whose own distinct id is `distinct_id` (a file names its
    person, or none), read for their metadata only; unreadable files are skipped."""
    found: list[PersonSessionRef] = []
    for session_id in files.list_sessions():
        try:
            meta = recording_metadata(files.load(session_id))
        except (RecordingError, OSError):
            continue
        if meta.distinct_id != distinct_id:
            continue
        ref = _ref(meta, distinct_id)
        if ref is not None and _in_window(ref, start, end):
            found.append(ref)
    return found


async def list_posthog_person(
    config: PostHogConfig,
    distinct_id: str,
    *,
    by_person_id: bool,
    start: datetime,
    end: datetime,
    max_sessions: int,
) -> list[PersonSessionRef]:
    """PostHog's listing filtered by the person (`distinct_ids`, or `person_uuid`), newest
    first, read until `max_sessions` + 1 match (the one more says there were more). Every
    filter is checked again here: a listing that ignored one must not mix people."""
    filters = (
        {"person_uuid": distinct_id}
        if by_person_id
        else {"distinct_ids": json.dumps([distinct_id], separators=(",", ":"))}
    )
    found: list[PersonSessionRef] = []
    async with PostHogClient(config) as client:
        listing = client.list_recordings(date_from=start, date_to=end, filters=filters)
        async for meta in listing:
            person = meta.person
            if by_person_id:
                if person is None or person.uuid != distinct_id:
                    continue
            elif meta.distinct_id != distinct_id:
                continue
            ref = _ref(meta, None if by_person_id else distinct_id)
            if ref is not None and _in_window(ref, start, end):
                found.append(ref)
            if len(found) > max_sessions:
                break
    return found


async def select_person_sessions(
    *,
    team_id: str,
    source: str | None,
    distinct_id: str,
    by_person_id: bool,
    since_seconds: int,
    now: datetime,
    max_sessions: int,
    settings: Settings,
    sources: TeamSources,
) -> PersonSelection:
    """The person's recordings that started in [now - since, now], the newest
    `max_sessions` of them, oldest first. A files source knows no PostHog persons, so a
    selection by person id finds nothing there."""
    start, end = now - timedelta(seconds=since_seconds), now
    try:
        resolved = sources.resolve(team_id, source)
        if resolved.spec.directory is not None:
            if by_person_id:
                found: list[PersonSessionRef] = []
            else:
                files = DirectorySource(
                    resolved.spec.directory, settings.timeline.max_decoded_bytes
                )
                found = await asyncio.to_thread(
                    list_directory_person, files, distinct_id, start, end
                )
        else:
            found = await list_posthog_person(
                resolved.posthog_config(settings),
                distinct_id,
                by_person_id=by_person_id,
                start=start,
                end=end,
                max_sessions=max_sessions,
            )
    except (ValueError, FileNotFoundError) as error:
        raise SourceUnavailable(str(error)) from error
    unique = {ref.session_id: ref for ref in found}
    newest = sorted(unique.values(), key=lambda r: (r.start_timestamp_ms, r.session_id))[::-1]
    kept = newest[:max_sessions]
    return PersonSelection(
        sessions=kept[::-1],
        window_start=start,
        window_end=end,
        truncated=len(newest) > max_sessions,
        found=len(newest),
    )


def load_journey_inputs(
    store: SummaryStore, *, team_id: str, sessions: Sequence[PersonSessionRef]
) -> list[JourneyInput]:
    """Each selected session's stored summary (None when the batch could not write one)
    and the timeline it was written from (else the newest compiled), with the listing's
    facts for a session that has no stored timeline."""
    index = SessionIndex(store)
    inputs: list[JourneyInput] = []
    for ref in {ref.session_id: ref for ref in sessions}.values():
        stored = store.get_summary(team_id=team_id, session_id=ref.session_id)
        summary = stored.summary if stored is not None else None
        timeline = index.latest_timeline(team_id, ref.session_id, summary)
        inputs.append(
            JourneyInput(
                session_id=ref.session_id,
                distinct_id=ref.distinct_id,
                start_timestamp_ms=ref.start_timestamp_ms,
                summary=summary,
                timeline=timeline.timeline if timeline is not None else None,
                duration_ms=ref.duration_ms,
                start_url=ref.start_url,
            )
        )
    return inputs


def journey_id(*, team_id: str, distinct_id: str, since_seconds: int, created_at: datetime) -> str:
    """`jn_` and 16 hex, stable per run (its workflow time): a retried store writes the
    same row; the next run writes a new one."""
    key = "\x00".join(
        [team_id, distinct_id, str(since_seconds), created_at.astimezone(UTC).isoformat()]
    )
    return "jn_" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class JourneyRequest:
    team_id: str
    distinct_id: str
    by_person_id: bool
    since_seconds: int
    selection: PersonSelection
    created_at: datetime


async def make_journey(
    store: SummaryStore,
    model: ChatModel,
    request: JourneyRequest,
    *,
    max_tokens: int,
    count_tokens: CountTokens,
    schema_limits: bool,
) -> StoredJourney:
    """Builds the person's gated journey from the stored summaries and timelines (in
    windows when they do not fit `max_tokens`) and stores it."""
    selection = request.selection
    inputs = await asyncio.to_thread(
        load_journey_inputs, store, team_id=request.team_id, sessions=selection.sessions
    )
    ask = ChatAsk(model, schema_limits=schema_limits)
    journey = await build_journey(
        inputs,
        distinct_id=request.distinct_id,
        ask=ask,
        max_tokens=max_tokens,
        count_tokens=count_tokens,
    )
    stored = StoredJourney(
        journey_id=journey_id(
            team_id=request.team_id,
            distinct_id=request.distinct_id,
            since_seconds=request.since_seconds,
            created_at=request.created_at,
        ),
        team_id=request.team_id,
        distinct_id=request.distinct_id,
        by_person_id=request.by_person_id,
        since_seconds=request.since_seconds,
        window_start=selection.window_start,
        window_end=selection.window_end,
        truncated=selection.truncated,
        sessions_found=selection.found,
        created_at=request.created_at,
        usage=ask.usage,
        journey=journey,
    )
    await asyncio.to_thread(save_journey, store, stored)
    return stored


def save_journey(store: SummaryStore, stored: StoredJourney) -> None:
    JourneyStore(store).save(
        journey_id=stored.journey_id,
        team_id=stored.team_id,
        distinct_id=stored.distinct_id,
        sessions=stored.journey.counts.sessions,
        created_at=stored.created_at,
        document=stored.model_dump(mode="json"),
    )


def latest_journey(store: SummaryStore, team_id: str, distinct_id: str) -> StoredJourney | None:
    """The newest stored journey of the team's person, validated; None when there is none."""
    document = JourneyStore(store).latest(team_id, distinct_id)
    return None if document is None else StoredJourney.model_validate(document)


def stored_journey(store: SummaryStore, team_id: str, journey_id_: str) -> StoredJourney | None:
    document = JourneyStore(store).load(team_id, journey_id_)
    return None if document is None else StoredJourney.model_validate(document)
