"""Scheduled summarization: which recordings a scheduled run hands to a batch, and the
Temporal Schedules that run it (client side, like `recap/client.py`).

A run covers the recordings that *ended* in `[watermark, now - settle_delay]`. The start is
inclusive: recordings that share the watermark's end time are not lost, and the sessions a
schedule already handed to a batch (kept in the store) are never handed twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleListActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from recap.config import Settings
from recap.naming import SEARCH_ATTRIBUTE_TEAM
from recap.sources.base import RawEvent
from recap.sources.files import SUFFIXES, load_recording_file, peek_session_id
from recap.sources.posthog import PostHogClient, PostHogConfig, RecordingMetadata

SCHEDULED_WORKFLOW = "ScheduledSummariesWorkflow"
BATCH_WORKFLOW = "SummarizeSessionsIndividuallyWorkflow"
# PostHog filters its listing by start time; a recording ends at most this long after it
# started (PostHog splits sessions at 24 h), so a run lists back that far before its window.
MAX_RECORDING_SPAN = timedelta(hours=24)
_CONSOLE_PLUGIN = "rrweb/console@1"
_PLUGIN_EVENT = 6


class RecordingFilters(BaseModel):
    """Which recordings a schedule summarizes. Unset filters keep everything."""

    min_duration_seconds: float | None = Field(default=None, ge=0)
    min_console_errors: int | None = Field(default=None, ge=1)
    # A saved PostHog playlist's short id: only its recordings (PostHog source only).
    playlist: str | None = None


class ScheduledSummariesInput(BaseModel):
    """What each run of a summary schedule gets; the same for every run."""

    schedule_id: str
    team_id: str
    source: str | None = None
    filters: RecordingFilters = Field(default_factory=RecordingFilters)
    focus_area: str | None = None
    max_concurrency: int = Field(default=4, ge=1, le=100)
    # Recordings that ended in the last `settle_delay` may still be ingesting: leave them
    # for the next run.
    settle_delay_seconds: float = Field(default=300.0, ge=0)
    # Where the first run starts, before any watermark exists.
    initial_lookback_seconds: float = Field(default=3600.0, ge=0)
    # At most this many sessions per batch; the rest wait for the next run.
    max_sessions_per_run: int = Field(default=500, ge=1, le=5000)


class ScheduledSummariesResult(BaseModel):
    window_start: datetime
    window_end: datetime
    session_ids: list[str]
    batch_workflow_id: str | None
    skipped_already_handed: int = 0
    truncated: bool = False


class SummarizeBatchRequest(BaseModel):
    """The input of `SummarizeSessionsIndividuallyWorkflow` (its `SummarizeSessionsInput`),
    as a scheduled run fills it; started by name, so the two workflows stay independent."""

    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    force: bool = False
    max_concurrency: int = 4
    source: str | None = None


class RecordingWindow(BaseModel):
    """The end times a run covers, both bounds inclusive."""

    start: datetime
    end: datetime


class EndedRecording(BaseModel):
    session_id: str
    end_time: datetime


@dataclass(frozen=True, slots=True)
class _Candidate:
    session_id: str
    end_time: datetime
    duration_seconds: float | None
    console_errors: int | None
    ongoing: bool = False


def _keep(candidate: _Candidate, window: RecordingWindow, filters: RecordingFilters) -> bool:
    if candidate.ongoing or not window.start <= candidate.end_time <= window.end:
        return False
    if filters.min_duration_seconds is not None and (
        candidate.duration_seconds is None
        or candidate.duration_seconds < filters.min_duration_seconds
    ):
        return False
    return filters.min_console_errors is None or (
        candidate.console_errors is not None
        and candidate.console_errors >= filters.min_console_errors
    )


def select_recordings(
    candidates: list[_Candidate], window: RecordingWindow, filters: RecordingFilters
) -> list[EndedRecording]:
    """The candidates that pass, oldest end first (the order a watermark moves in)."""
    kept = {c.session_id: c for c in candidates if _keep(c, window, filters)}
    ordered = sorted(kept.values(), key=lambda c: (c.end_time, c.session_id))
    return [EndedRecording(session_id=c.session_id, end_time=c.end_time) for c in ordered]


# -- files:DIR -------------------------------------------------------------------------


def _console_errors(events: list[RawEvent]) -> int:
    return sum(
        1
        for event in events
        if event.type == _PLUGIN_EVENT
        and isinstance(event.data, dict)
        and event.data.get("plugin") == _CONSOLE_PLUGIN
        and isinstance(event.data.get("payload"), dict)
        and event.data["payload"].get("level") == "error"
    )


def _file_candidate(
    path: Path, filters: RecordingFilters, max_decoded_bytes: int | None
) -> _Candidate:
    # A file's end time is when it was last written: the recording was complete then.
    # Tests and exports can set it with os.utime.
    end_time = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    name = path.name
    stem = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), path.stem)
    session_id = peek_session_id(path) or stem
    duration: float | None = None
    errors: int | None = None
    if filters.min_duration_seconds is not None or filters.min_console_errors is not None:
        # Only filters need the events; reading a large file costs, so only then.
        recording = load_recording_file(path, session_id, max_decoded_bytes)
        events = list(recording.events)
        stamps = [event.timestamp for event in events]
        duration = (max(stamps) - min(stamps)) / 1000 if stamps else 0.0
        errors = _console_errors(events)
        session_id = recording.session_id
    return _Candidate(session_id, end_time, duration, errors)


def list_directory_recordings(
    root: Path,
    window: RecordingWindow,
    filters: RecordingFilters,
    max_decoded_bytes: int | None = None,
) -> list[EndedRecording]:
    """The directory's recordings whose file was last written within the window."""
    if filters.playlist is not None:
        raise ValueError("playlists exist only in PostHog; drop --playlist for files:DIR")
    root = root.expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"recording directory {root} does not exist; check the schedule's --source"
        )
    candidates = []
    for path in sorted(root.iterdir()):
        if not (path.is_file() and path.name.endswith(SUFFIXES)):
            continue
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if not window.start <= mtime <= window.end:
            continue
        candidates.append(_file_candidate(path, filters, max_decoded_bytes))
    return select_recordings(candidates, window, filters)


# -- PostHog ---------------------------------------------------------------------------


def _posthog_candidate(meta: RecordingMetadata) -> _Candidate | None:
    if meta.end_time is None:
        return None
    end = meta.end_time if meta.end_time.tzinfo else meta.end_time.replace(tzinfo=UTC)
    return _Candidate(meta.id, end, meta.recording_duration, meta.console_error_count, meta.ongoing)


async def list_posthog_recordings(
    client: PostHogClient, window: RecordingWindow, filters: RecordingFilters
) -> list[EndedRecording]:
    """PostHog's recordings (or a playlist's) that ended within the window."""
    listing: AsyncIterator[RecordingMetadata]
    if filters.playlist is not None:
        listing = client.playlist_recordings(filters.playlist)
    else:
        listing = client.list_recordings(
            date_from=window.start - MAX_RECORDING_SPAN,
            date_to=window.end,
            # PostHog's predicate is strictly greater; the exact bound is applied below.
            min_duration_seconds=(
                max(filters.min_duration_seconds - 1, 0) if filters.min_duration_seconds else None
            ),
        )
    candidates = [c async for meta in listing if (c := _posthog_candidate(meta)) is not None]
    return select_recordings(candidates, window, filters)


async def list_ended_recordings(
    source: str,
    window: RecordingWindow,
    filters: RecordingFilters,
    settings: Settings,
    *,
    posthog_config: PostHogConfig | None = None,
) -> list[EndedRecording]:
    """The recordings of `source` (`files:DIR` or `posthog`) that ended within the window."""
    if source.startswith("files:"):
        return await asyncio.to_thread(
            list_directory_recordings,
            Path(source.removeprefix("files:")),
            window,
            filters,
            settings.timeline.max_decoded_bytes,
        )
    if source == "posthog":
        config = posthog_config or PostHogConfig.from_settings(
            settings,
            timeout_seconds=settings.posthog_timeout_seconds,
            page_size=settings.posthog_page_size,
        )
        async with PostHogClient(config) as client:
            return await list_posthog_recordings(client, window, filters)
    raise ValueError(f"unknown source {source!r}; use 'posthog' or 'files:DIR'")


# -- Temporal Schedules ----------------------------------------------------------------


class ScheduleOptions(BaseModel):
    """How `recap schedule create` sets up a schedule: when, and what each run gets."""

    schedule_id: str
    request: ScheduledSummariesInput
    every: timedelta | None = None
    cron: str | None = None
    paused: bool = False
    note: str | None = None


class ScheduleSummary(BaseModel):
    schedule_id: str
    paused: bool
    note: str | None
    next_runs: list[datetime]
    recent_runs: list[datetime]


def schedule_of(options: ScheduleOptions, settings: Settings) -> Schedule:
    if (options.every is None) == (options.cron is None):
        raise ValueError("give exactly one of an interval (--every) or a cron expression")
    spec = (
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=options.every)])
        if options.every is not None
        else ScheduleSpec(cron_expressions=[options.cron or ""])
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SCHEDULED_WORKFLOW,
            options.request,
            # Temporal appends each run's scheduled time to this id.
            id=f"scheduled-summaries:{options.schedule_id}",
            task_queue=settings.task_queue,
            typed_search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(
                        SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_TEAM),
                        options.request.team_id,
                    )
                ]
            ),
            static_summary=f"Summarize new recordings for team {options.request.team_id}",
        ),
        spec=spec,
        # SKIP: a run that finds the previous one still going does nothing, and loses
        # nothing: the next run starts at the stored watermark, not at its own slot.
        # Missed runs (worker or server down) likewise fold into the next one, so there is
        # no catch-up storm either.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=10)
        ),
        state=ScheduleState(paused=options.paused, note=options.note),
    )


async def create_schedule(client: Client, settings: Settings, options: ScheduleOptions) -> str:
    handle = await client.create_schedule(options.schedule_id, schedule_of(options, settings))
    return handle.id


def schedule_handle(client: Client, schedule_id: str) -> ScheduleHandle:
    return client.get_schedule_handle(schedule_id)


async def list_summary_schedules(client: Client) -> list[ScheduleSummary]:
    """recap's summary schedules in the namespace (other schedules are left out)."""
    found: list[ScheduleSummary] = []
    async for entry in await client.list_schedules():
        schedule = entry.schedule
        if schedule is None:
            continue
        action: Any = schedule.action
        if not (
            isinstance(action, ScheduleListActionStartWorkflow)
            and action.workflow == SCHEDULED_WORKFLOW
        ):
            continue
        found.append(
            ScheduleSummary(
                schedule_id=entry.id,
                paused=schedule.state.paused,
                note=schedule.state.note,
                next_runs=list(entry.info.next_action_times) if entry.info else [],
                recent_runs=(
                    [action.started_at for action in entry.info.recent_actions]
                    if entry.info
                    else []
                ),
            )
        )
    return sorted(found, key=lambda s: s.schedule_id)
