"""Recording objects for the API: metadata from the configured source (PostHog's own, or
computed from a file's events), summary state from the store, and the team's listing."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recap.api.errors import unavailable
from recap.api.models import SessionRecording
from recap.core.config import Settings
from recap.recording.models import RecordingError, RecordingNotFound
from recap.services.bootstrap import (
    SourceUnavailable,
    open_source,
    posthog_config,
    source_spec,
)
from recap.sources.files import DirectorySource
from recap.sources.metadata import recording_metadata
from recap.sources.posthog import PostHogClient, PostHogConfig, PostHogError, RecordingMetadata
from recap.store.repository import StoredSummary, SummaryStore
from recap.store.session_index import SessionIndex
from recap.timeline.models import SessionInfo


def recording_object(
    metadata: RecordingMetadata, stored: StoredSummary | None, *, with_summary: bool = False
) -> SessionRecording:
    fields: dict[str, Any] = metadata.model_dump(exclude_none=True)
    for name in ("recording_duration", "active_seconds", "inactive_seconds"):
        if fields.get(name) is not None:
            fields[name] = round(fields[name])
    return SessionRecording(
        **fields,
        has_summary=stored is not None and stored.has_summary,
        summary_outcome=stored.summary_outcome if stored else None,
        summary=stored.summary if stored and with_summary else None,
    )


def _from_timeline(info: SessionInfo) -> RecordingMetadata:
    """What a stored timeline remembers of a recording the source no longer has."""
    start = (
        datetime.fromtimestamp(info.start_timestamp_ms / 1000, tz=UTC)
        if info.start_timestamp_ms is not None
        else None
    )
    end = (
        datetime.fromtimestamp((info.start_timestamp_ms + info.duration_ms) / 1000, tz=UTC)
        if info.start_timestamp_ms is not None
        else None
    )
    return RecordingMetadata(
        id=info.session_id,
        distinct_id=info.distinct_id,
        recording_duration=round(info.duration_ms / 1000),
        active_seconds=round(info.active_ms / 1000),
        inactive_seconds=round(max(0, info.duration_ms - info.active_ms) / 1000),
        start_time=start,
        end_time=end,
        start_url=info.start_url,
        ongoing=info.ongoing,
    )


@dataclass(frozen=True)
class Listing:
    count: int
    results: list[SessionRecording]


class RecordingCatalog:
    """Answers "which recordings are there and what do we know of them" for one source."""

    _CACHE_SIZE = 2048

    def __init__(self, settings: Settings, store: SummaryStore) -> None:
        self.settings = settings
        self.store = store
        self._files: DirectorySource | None = None
        self._posthog: PostHogConfig | None = None
        # Metadata of files, keyed by (path, mtime, size): computing it reads the file.
        self._cache: OrderedDict[tuple[str, int, int], RecordingMetadata] = OrderedDict()
        self._lock = threading.Lock()

    def _open(self) -> None:
        """Opens the configured source on first use, so a misconfigured one is reported
        by the endpoints that need it (503) instead of stopping the whole API."""
        if self._files is not None or self._posthog is not None:
            return
        settings = self.settings
        try:
            spec = source_spec(settings.source)
            if not spec.is_posthog:
                source = open_source(spec, settings)
                assert isinstance(source, DirectorySource)
                self._files = source
            else:
                self._posthog = posthog_config(settings)
        except (SourceUnavailable, PostHogError) as error:
            raise unavailable("The recording source", error) from None

    # -- metadata ------------------------------------------------------------------------

    def _file_metadata(self, session_id: str) -> RecordingMetadata:
        assert self._files is not None
        path = self._files.path_of(session_id)
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        metadata = recording_metadata(self._files.load(session_id))
        with self._lock:
            self._cache[key] = metadata
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return metadata

    async def source_metadata(self, session_id: str) -> RecordingMetadata | None:
        """The source's description of the recording; None when the source lacks it."""
        self._open()
        try:
            if self._files is not None:
                return await asyncio.to_thread(self._file_metadata, session_id)
            assert self._posthog is not None
            async with PostHogClient(self._posthog) as client:
                return await client.get_recording(session_id)
        except RecordingNotFound:
            return None
        except PostHogError as error:
            if error.code == "recording_not_found":
                return None
            raise unavailable("PostHog", f"describing recording {session_id}: {error}") from None
        except RecordingError:
            # Unreadable in the source (e.g. a corrupt file): known only from the store.
            return None

    async def recording(
        self, team_id: str, session_id: str, *, with_summary: bool = False
    ) -> SessionRecording | None:
        """The recording object, or None when neither the source nor the team's store
        knows the session."""
        metadata = await self.source_metadata(session_id)
        stored = (
            await asyncio.to_thread(
                self.store.recording_summaries, team_id=team_id, session_ids=[session_id]
            )
        ).get(session_id)
        if metadata is None:
            index = SessionIndex(self.store)
            timeline = await asyncio.to_thread(
                index.latest_timeline, team_id, session_id, stored.summary if stored else None
            )
            if timeline is None and stored is None:
                return None
            metadata = (
                _from_timeline(timeline.timeline.session)
                if timeline is not None
                else RecordingMetadata(id=session_id)
            )
        return recording_object(metadata, stored, with_summary=with_summary)

    # -- listing -------------------------------------------------------------------------

    async def _source_listing(self) -> tuple[list[str], dict[str, RecordingMetadata]]:
        """The source's recordings in its order (files: by id; PostHog: newest first)."""
        self._open()
        limit = self.settings.api_list_scan_limit
        if self._files is not None:
            ids = await asyncio.to_thread(self._files.list_sessions)
            return ids[:limit], {}
        assert self._posthog is not None
        found: dict[str, RecordingMetadata] = {}
        async with PostHogClient(self._posthog) as client:
            async for metadata in client.list_recordings(limit=limit):
                found.setdefault(metadata.id, metadata)
        return list(found), found

    async def listing(
        self,
        team_id: str,
        *,
        limit: int,
        offset: int,
        has_summary: bool | None,
        success: bool | None,
    ) -> Listing:
        ids, known = await self._source_listing()
        summaries = await asyncio.to_thread(
            self.store.recording_summaries, team_id=team_id, session_ids=ids
        )
        matching = [
            session_id
            for session_id in ids
            if _matches(summaries.get(session_id), has_summary=has_summary, success=success)
        ]
        page = matching[offset : offset + limit]
        results: list[SessionRecording] = []
        for session_id in page:
            metadata = known.get(session_id) or await self.source_metadata(session_id)
            results.append(
                recording_object(
                    metadata or RecordingMetadata(id=session_id), summaries.get(session_id)
                )
            )
        return Listing(count=len(matching), results=results)


def _matches(
    stored: StoredSummary | None, *, has_summary: bool | None, success: bool | None
) -> bool:
    summarized = stored is not None and stored.has_summary
    if has_summary is not None and summarized != has_summary:
        return False
    if success is not None:
        outcome = stored.summary_outcome if stored else None
        return outcome is not None and outcome.success == success
    return True
