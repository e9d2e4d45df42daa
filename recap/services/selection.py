"""Which recordings a scheduled run hands to a batch: those of a `files:DIR` or PostHog
source that ended within the run's window (from the schedule's watermark) and pass the
schedule's filters, minus those already handed, oldest first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recap.core.config import Settings
from recap.recording.models import RawEvent
from recap.services.bootstrap import SourceUnavailable, TeamSources
from recap.services.bootstrap import posthog_config as settings_posthog_config
from recap.services.scheduled_run import (
    EndedRecording,
    RecordingFilters,
    RecordingWindow,
    ScheduledRecordings,
    ScheduledSummariesInput,
)
from recap.sources.files import SUFFIXES, load_recording_file, peek_session_id
from recap.sources.posthog import PostHogClient, PostHogConfig, RecordingMetadata
from recap.sources.spec import SourceSpec
from recap.store.watermarks import WatermarkStore

# PostHog filters its listing by start time; a recording ends at most this long after it
# started (PostHog splits sessions at 24 h), so a run lists back that far before its window.
MAX_RECORDING_SPAN = timedelta(hours=24)
_CONSOLE_PLUGIN = "rrweb/console@1"
_PLUGIN_EVENT = 6


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
    spec = SourceSpec.parse(source)
    if spec.directory is not None:
        return await asyncio.to_thread(
            list_directory_recordings,
            spec.directory,
            window,
            filters,
            settings.timeline.max_decoded_bytes,
        )
    async with PostHogClient(posthog_config or settings_posthog_config(settings)) as client:
        return await list_posthog_recordings(client, window, filters)


async def recordings_for_run(
    request: ScheduledSummariesInput,
    now: datetime,
    watermarks: WatermarkStore,
    settings: Settings,
    sources: TeamSources,
) -> ScheduledRecordings:
    """The recordings of the schedule's team's source that ended in [watermark, now -
    settle delay], minus those this schedule already handed to a batch, oldest first, at
    most `max_sessions_per_run`.

    `now` is the run's workflow time, so a replay or a retry lists the same window."""
    stored = watermarks.get(request.schedule_id)
    end = now - timedelta(seconds=request.settle_delay_seconds)
    start = (
        stored.watermark
        if stored is not None
        else end - timedelta(seconds=request.initial_lookback_seconds)
    )
    window = RecordingWindow(start=start, end=max(start, end))
    try:
        resolved = sources.resolve(request.team_id, request.source)
        ended = await list_ended_recordings(
            str(resolved.spec),
            window,
            request.filters,
            settings,
            posthog_config=resolved.posthog_config(settings) if resolved.spec.is_posthog else None,
        )
    except (ValueError, FileNotFoundError) as error:
        raise SourceUnavailable(str(error)) from error
    handed = watermarks.already_handed(request.schedule_id, (r.session_id for r in ended))
    fresh = [r for r in ended if r.session_id not in handed]
    truncated = len(fresh) > request.max_sessions_per_run
    if truncated:
        fresh = fresh[: request.max_sessions_per_run]
        # The rest ended later: the watermark stops at the last one handed, inclusive,
        # and the handoff table keeps that one from being handed again.
        window = RecordingWindow(start=window.start, end=fresh[-1].end_time)
    return ScheduledRecordings(
        window=window,
        session_ids=[r.session_id for r in fresh],
        skipped_already_handed=len(handed),
        truncated=truncated,
    )
