"""Recording objects for the API: metadata from the caller's team's source (PostHog's own,
or computed from a file's events), summary state from the store, and the team's listing.

Each team reads its own source (`TeamSources`); a listing is kept per team for a short
while, so repeated requests do not re-read the source."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recap.api.errors import ApiProblem, unavailable
from recap.api.models import SessionRecording
from recap.api.recording_filters import RecordingFilters
from recap.api.summary_shape import PostHogSessionSummary, shape_summaries
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.recording.models import RecordingError, RecordingNotFound
from recap.services.bootstrap import (
    SourceUnavailable,
    TeamHasNoSource,
    TeamSource,
    TeamSources,
    open_source,
    source_opener,
)
from recap.sources.files import DirectorySource
from recap.sources.metadata import recording_metadata
from recap.sources.posthog import PostHogClient, PostHogError, RecordingMetadata
from recap.sources.posthog.models import PostHogPerson
from recap.store.repository import StoredSummary, SummaryStore
from recap.store.secrets import SecretKeyMissing, SecretUnreadable
from recap.store.session_index import SessionIndex
from recap.timeline.models import SessionInfo
from recap.timeline.redact import redact_text

log = get_logger(__name__)


def visible_person(person: PostHogPerson | None, *, with_properties: bool) -> PostHogPerson | None:
    """The person as a team sees it: by default its ids, when it was created, and a display
    name with PII redacted; properties (email, name, $ip, …) only when the team enables them."""
    if person is None or with_properties:
        return person
    return PostHogPerson(
        id=person.id,
        uuid=person.uuid,
        name=redact_text(person.name) if person.name else None,
        distinct_ids=person.distinct_ids,
        created_at=person.created_at,
    )


def fallback_person(distinct_id: str | None) -> PostHogPerson:
    """The person of a recording its source names none for (files): PostHog answers such a
    recording with a stand-in person (`MissingPerson`) named by its distinct id, with no
    properties and no stored id."""
    return PostHogPerson(
        name=distinct_id,
        distinct_ids=[distinct_id] if distinct_id else [],
        properties={},
    )


def recording_object(
    metadata: RecordingMetadata,
    stored: StoredSummary | None,
    *,
    summary: PostHogSessionSummary | None = None,
    person_properties: bool = False,
) -> SessionRecording:
    fields: dict[str, Any] = metadata.model_dump(exclude_none=True, exclude={"person"})
    for name in ("recording_duration", "active_seconds", "inactive_seconds"):
        if fields.get(name) is not None:
            fields[name] = round(fields[name])
    # PostHog's person is always an object; the stand-in goes through the same privacy
    # filter, so its name (the distinct id, often an email) is redacted by default.
    person = metadata.person or fallback_person(metadata.distinct_id)
    return SessionRecording(
        **fields,
        person=visible_person(person, with_properties=person_properties),
        has_summary=stored is not None and stored.has_summary,
        summary_outcome=stored.summary_outcome if stored else None,
        summary=summary,
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


# The filters a listing was read from the source with, as query parameters.
_ListingKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Listed:
    at: float
    ids: list[str]
    known: dict[str, RecordingMetadata]


@dataclass
class _TeamView:
    """One team's opened source, and its listings while they are fresh: one per set of
    filters passed on to the source (files: one, the directory's)."""

    source: TeamSource
    files: DirectorySource | None
    listed: OrderedDict[_ListingKey, _Listed] = field(default_factory=OrderedDict)


class RecordingCatalog:
    """Answers "which recordings are there and what do we know of them" for each team, from
    the team's own source."""

    _CACHE_SIZE = 2048

    def __init__(
        self,
        settings: Settings,
        store: SummaryStore,
        sources: TeamSources | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sources = sources or source_opener(settings, store)
        self._clock = clock
        self._views: dict[str, _TeamView] = {}
        # Metadata of files, keyed by (path, mtime, size): computing it reads the file.
        self._cache: OrderedDict[tuple[str, int, int], RecordingMetadata] = OrderedDict()
        self._lock = threading.Lock()
        self._listing_locks: dict[str, asyncio.Lock] = {}

    def _view(self, team_id: str) -> _TeamView:
        """The team's source, resolved on each request (an operator may change it at any
        time), opened once while it stays the same. A team without a source, or a source
        that cannot be used, is a 503 naming the dependency only."""
        try:
            source = self.sources.resolve(team_id)
            with self._lock:
                view = self._views.get(team_id)
                if view is not None and view.source == source:
                    return view
            files = None
            if not source.spec.is_posthog:
                opened = open_source(source.spec, self.settings)
                assert isinstance(opened, DirectorySource)
                files = opened
            else:
                source.posthog_config(self.settings)  # misconfigured: fail here, as 503
        except TeamHasNoSource as error:
            log.warning("team has no recording source", team_id=team_id, error=str(error))
            raise ApiProblem(
                503,
                "server_error",
                "team_has_no_source",
                "This team has no recording source yet; an operator sets one with"
                " `recap teams set-source`.",
            ) from None
        except (SourceUnavailable, PostHogError, SecretKeyMissing, SecretUnreadable) as error:
            raise unavailable("The recording source", error) from None
        view = _TeamView(source=source, files=files)
        with self._lock:
            self._views[team_id] = view
        return view

    # -- metadata ------------------------------------------------------------------------

    def _file_metadata(self, files: DirectorySource, session_id: str) -> RecordingMetadata:
        path = files.path_of(session_id)
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        metadata = recording_metadata(files.load(session_id))
        with self._lock:
            self._cache[key] = metadata
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return metadata

    async def source_metadata(self, team_id: str, session_id: str) -> RecordingMetadata | None:
        """The team's source's description of the recording; None when the source lacks it."""
        view = self._view(team_id)
        try:
            if view.files is not None:
                return await asyncio.to_thread(self._file_metadata, view.files, session_id)
            async with PostHogClient(view.source.posthog_config(self.settings)) as client:
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
        """The recording object, or None when neither the team's source nor its store
        knows the session."""
        metadata = await self.source_metadata(team_id, session_id)
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
        shaped = None
        if with_summary and stored is not None and stored.summary is not None:
            summaries = {session_id: stored.summary}
            shaped = (await asyncio.to_thread(shape_summaries, self.store, summaries))[session_id]
        return recording_object(
            metadata,
            stored,
            summary=shaped,
            person_properties=self._view(team_id).source.person_properties,
        )

    # -- listing -------------------------------------------------------------------------

    # Listings kept per team, for as many different filters (PostHog sources).
    _LISTINGS_KEPT = 16

    async def _source_listing(
        self, team_id: str, filters: RecordingFilters
    ) -> tuple[_TeamView, list[str], dict[str, RecordingMetadata]]:
        """The team's recordings in its source's order (files: by id; PostHog: as PostHog
        orders them), read at most once per RECAP_API_LIST_CACHE_SECONDS and filters: a
        read key paging through a listing costs the source one scan, not one per page.
        A PostHog source is asked with the filters (PostHog's window is the last 3 days
        unless `date_from` says otherwise); a files source lists every file."""
        view = self._view(team_id)
        key: _ListingKey = (
            () if view.files is not None else tuple(sorted(filters.posthog_params().items()))
        )
        lock = self._listing_locks.setdefault(team_id, asyncio.Lock())
        async with lock:
            listed = view.listed.get(key)
            if (
                listed is not None
                and self._clock() - listed.at < self.settings.api_list_cache_seconds
            ):
                return view, listed.ids, listed.known
            ids, known = await self._read_listing(view, dict(key))
            view.listed[key] = _Listed(self._clock(), ids, known)
            view.listed.move_to_end(key)
            while len(view.listed) > self._LISTINGS_KEPT:
                view.listed.popitem(last=False)
            return view, ids, known

    async def _read_listing(
        self, view: _TeamView, params: dict[str, str]
    ) -> tuple[list[str], dict[str, RecordingMetadata]]:
        limit = self.settings.api_list_scan_limit
        if view.files is not None:
            ids = await asyncio.to_thread(view.files.list_sessions)
            return ids[:limit], {}
        found: dict[str, RecordingMetadata] = {}
        async with PostHogClient(view.source.posthog_config(self.settings)) as client:
            listing = client.list_recordings(
                limit=limit, max_calls=self.settings.api_list_max_source_calls, filters=params
            )
            try:
                async for metadata in listing:
                    found.setdefault(metadata.id, metadata)
            except PostHogError as error:
                raise unavailable("PostHog", f"listing recordings: {error}") from None
        if listing.cut_short:
            # The listing shows what the bounded calls found; the operator learns why.
            log.info(
                "recording listing cut short",
                team_id=view.source.team_id,
                calls=listing.calls,
                found=len(found),
            )
        return list(found), found

    def _files_metadata(
        self, files: DirectorySource, session_ids: list[str]
    ) -> dict[str, RecordingMetadata]:
        """Each file's metadata (cached by mtime); a file that cannot be read has none."""
        found: dict[str, RecordingMetadata] = {}
        for session_id in session_ids:
            try:
                found[session_id] = self._file_metadata(files, session_id)
            except (RecordingError, OSError):
                continue
        return found

    async def listing(
        self,
        team_id: str,
        *,
        limit: int,
        offset: int,
        has_summary: bool | None,
        success: bool | None,
        filters: RecordingFilters | None = None,
        summary_filter: Callable[[str, StoredSummary | None], bool] | None = None,
    ) -> Listing:
        """The team's recordings that pass the filters, `limit` from `offset`.
        `summary_filter` is asked of each (its id and stored summary) beside `has_summary`
        and `success`, from the one store read the listing makes anyway."""
        filters = filters or RecordingFilters()
        view, ids, known = await self._source_listing(team_id, filters)
        if filters.session_ids is not None:
            ids = [session_id for session_id in ids if session_id in filters.session_ids]
        by_summary = has_summary is not None or success is not None or summary_filter is not None
        # Without a filter on the summaries, only the page's are read.
        summaries = (
            await asyncio.to_thread(
                self.store.recording_summaries, team_id=team_id, session_ids=ids
            )
            if by_summary
            else {}
        )
        matching = [
            session_id
            for session_id in ids
            if _matches(summaries.get(session_id), has_summary=has_summary, success=success)
            and (summary_filter is None or summary_filter(session_id, summaries.get(session_id)))
        ]
        if filters.reads_metadata:
            if view.files is not None:
                known = await asyncio.to_thread(self._files_metadata, view.files, matching)
            # The source's own answer is filtered again: recap promises every filter, also
            # of a source that ignored one.
            described = [
                known.get(session_id) or RecordingMetadata(id=session_id) for session_id in matching
            ]
            kept = filters.ordered([item for item in described if filters.matches(item)])
            matching = [item.id for item in kept]
        page = matching[offset : offset + limit]
        if not by_summary:
            summaries = await asyncio.to_thread(
                self.store.recording_summaries, team_id=team_id, session_ids=page
            )
        results: list[SessionRecording] = []
        for session_id in page:
            metadata = known.get(session_id) or await self.source_metadata(team_id, session_id)
            results.append(
                recording_object(
                    metadata or RecordingMetadata(id=session_id),
                    summaries.get(session_id),
                    person_properties=view.source.person_properties,
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
