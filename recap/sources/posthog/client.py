"""The asynchronous PostHog client (`PostHogClient`): recording listings, playlists and
metadata, for async callers such as the API and the schedule selection."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx

from recap.sources.posthog.config import PLAYLIST_SCOPE, READ_SCOPE, PostHogConfig, check_id
from recap.sources.posthog.errors import PostHogBadResponse
from recap.sources.posthog.models import (
    RecordingMetadata,
    SnapshotSourceRef,
    parse_metadata,
    parse_snapshot_sources,
)
from recap.sources.posthog.responses import (
    ERROR_BODY_BYTES,
    MAX_SAME_HOST_REDIRECTS,
    aread_json_body,
    error_body_start,
    parse_json,
    same_origin_target,
    status_error,
    too_many_redirects,
    unreachable_error,
)


@dataclass
class _PagesRead:
    calls: int = 0
    cut_short: bool = False


class RecordingListing(AsyncIterator[RecordingMetadata]):
    """The recordings of one listing, fetched page by page as they are iterated. Once the
    iteration ends, `calls` says how many listing requests it made and `cut_short` whether
    it stopped at its `max_calls` while PostHog had more pages."""

    def __init__(self, pages: AsyncGenerator[RecordingMetadata, None], read: _PagesRead) -> None:
        self._pages = pages
        self._read = read

    def __aiter__(self) -> RecordingListing:
        return self

    async def __anext__(self) -> RecordingMetadata:
        return await self._pages.__anext__()

    async def aclose(self) -> None:
        await self._pages.aclose()

    @property
    def calls(self) -> int:
        return self._read.calls

    @property
    def cut_short(self) -> bool:
        return self._read.cut_short


class PostHogClient:
    """PostHog's recording listing, playlists and metadata, for async callers (the API,
    batch activities). Use as `async with PostHogClient(config) as client:`."""

    def __init__(
        self, config: PostHogConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._http = httpx.AsyncClient(
            headers=config.headers(),
            timeout=config.timeout(),
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.config.host!r}, project_id={self.config.project_id!r})"

    async def __aenter__(self) -> PostHogClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get_json(
        self,
        url: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        what: str,
        missing: str,
        scope: str = READ_SCOPE,
    ) -> Any:
        request = self._http.build_request("GET", url, params=list(params))
        for _ in range(MAX_SAME_HOST_REDIRECTS + 1):
            try:
                response = await self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                raise unreachable_error(self.config, what, exc) from exc
            try:
                if response.is_success:
                    body = await aread_json_body(response, self.config.max_decoded_bytes, what)
                    return parse_json(body, response, self.config, what)
                if response.is_redirect:
                    target = same_origin_target(request.url, response.headers, self.config)
                    request = self._http.build_request("GET", target)
                    continue
                raise status_error(
                    response.status_code,
                    response.headers,
                    await self._error_body(response),
                    self.config,
                    what=what,
                    missing=missing,
                    scope=scope,
                )
            except httpx.RequestError as exc:
                raise unreachable_error(self.config, what, exc) from exc
            finally:
                await response.aclose()
        raise too_many_redirects(self.config)

    @staticmethod
    async def _error_body(response: httpx.Response) -> bytes:
        raw = b""
        try:
            async for chunk in response.aiter_raw():
                raw += chunk
                if len(raw) >= ERROR_BODY_BYTES:
                    break
            return error_body_start([raw], response.headers)
        except (httpx.RequestError, zlib.error, PostHogBadResponse):
            return b""  # the status says enough

    async def get_recording(self, session_id: str) -> RecordingMetadata:
        doc = await self._get_json(
            self.config.recording_url(session_id),
            what=f"reading recording {session_id}",
            missing=f"recording {session_id}",
        )
        return parse_metadata(doc, session_id)

    async def snapshot_sources(self, session_id: str) -> list[SnapshotSourceRef]:
        doc = await self._get_json(
            self.config.recording_url(session_id) + "snapshots/",
            (("blob_v2", "true"),),
            what=f"listing the snapshot sources of recording {session_id}",
            missing=f"recording {session_id}",
        )
        return parse_snapshot_sources(doc, session_id)

    def list_recordings(
        self,
        *,
        date_from: str | datetime | None = None,
        date_to: str | datetime | None = None,
        min_duration_seconds: float | None = None,
        max_duration_seconds: float | None = None,
        limit: int | None = None,
        max_calls: int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> RecordingListing:
        """The project's recordings, newest first, across pages. Dates are ISO timestamps
        or PostHog's relative ones (`-7d`); PostHog's default window is the last 3 days.
        `filters` are further `RecordingsQuery` parameters as PostHog's query string takes
        them (`session_ids`, `order`, …), given as they are.

        At most `max_calls` listing requests are made (None: as many as the pages take);
        the returned listing's `cut_short` says afterwards whether that bound ended it."""
        if max_calls is not None and max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, not {max_calls}")
        params: dict[str, str] = dict(filters or {})
        if date_from is not None:
            params["date_from"] = _when(date_from)
        if date_to is not None:
            params["date_to"] = _when(date_to)
        predicates = [
            {"type": "recording", "key": "duration", "operator": operator, "value": value}
            for operator, value in (("gt", min_duration_seconds), ("lt", max_duration_seconds))
            if value is not None
        ]
        if predicates:
            params["having_predicates"] = json.dumps(predicates, separators=(",", ":"))
        read = _PagesRead()
        pages = self._pages(
            f"{self.config.api_root}/session_recordings/",
            params,
            limit=limit,
            max_calls=max_calls,
            read=read,
            what="listing recordings",
            missing="the recordings listing",
            scope=READ_SCOPE,
        )
        return RecordingListing(pages, read)

    def playlist_recordings(
        self, short_id: str, *, limit: int | None = None
    ) -> AsyncIterator[RecordingMetadata]:
        """The recordings in one saved playlist (collection or saved filter)."""
        sid = quote(check_id(short_id, "playlist id"), safe="")
        return self._pages(
            f"{self.config.api_root}/session_recording_playlists/{sid}/recordings/",
            {},
            limit=limit,
            max_calls=None,
            read=_PagesRead(),
            what=f"listing playlist {short_id}",
            missing=f"playlist {short_id}",
            scope=PLAYLIST_SCOPE,
        )

    async def _pages(
        self,
        url: str,
        filters: dict[str, str],
        *,
        limit: int | None,
        max_calls: int | None,
        read: _PagesRead,
        what: str,
        missing: str,
        scope: str,
    ) -> AsyncGenerator[RecordingMetadata, None]:
        """Follow `next` (the documented paging) or `has_next` (what the playlist view
        answers). `next` is read for its query only and asked of the configured host: a
        proxy may rewrite the host or scheme in it, and the key goes nowhere else.
        Counts its requests in `read`, and stops after `max_calls` of them."""
        params = {**filters, "limit": str(self.config.page_size), "offset": "0"}
        yielded = 0
        seen: set[tuple[tuple[str, str], ...]] = set()
        while True:
            key = tuple(sorted(params.items()))
            if key in seen:
                return
            if max_calls is not None and read.calls >= max_calls:
                read.cut_short = True  # a page is left to ask for: the listing is partial
                return
            seen.add(key)
            read.calls += 1
            doc = await self._get_json(url, params.items(), what=what, missing=missing, scope=scope)
            results = doc.get("results") if isinstance(doc, dict) else None
            if not isinstance(results, list):
                raise PostHogBadResponse(f"PostHog's answer to {what} has no results list")
            for item in results:
                session_id = str(item.get("id", "?")) if isinstance(item, dict) else "?"
                yield parse_metadata(item, session_id)
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            following = doc.get("next")
            if isinstance(following, str) and following:
                params = dict(
                    parse_qsl(httpx.URL(following).query.decode(), keep_blank_values=True)
                )
            elif doc.get("has_next") is True and results:
                offset = params.get("offset", "0")
                start = int(offset) if offset.isdigit() else 0
                params = {**params, "offset": str(start + len(results))}
            else:
                return


def _when(value: str | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else value
