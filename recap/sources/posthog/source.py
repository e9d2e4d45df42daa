"""The synchronous PostHog source the timeline compiler reads (`PostHogSource`), and
`export_recording`, which writes one recording from it as a PostHog export file.

The source loads a recording's metadata and snapshot sources, then streams the snapshot
blocks (a bounded range per request, read line by line) as the compiler iterates, so a
recording is never held in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Final

import httpx
import orjson

from recap.recording.decode import DecodedTooLarge, SizeMeter
from recap.recording.models import EXPORT_VERSION, InvalidRecording, RawEvent, ReadStats, Recording
from recap.sources.posthog.config import READ_SCOPE, PostHogConfig
from recap.sources.posthog.errors import PostHogBadResponse, PostHogStreamCut, RecordingNotReady
from recap.sources.posthog.models import (
    RecordingMetadata,
    SnapshotSourceRef,
    parse_metadata,
    parse_snapshot_sources,
)
from recap.sources.posthog.planning import SnapshotFetch, plan_fetches
from recap.sources.posthog.responses import (
    MAX_SAME_HOST_REDIRECTS,
    decoded_chunks,
    error_body_start,
    parse_json,
    read_json_body,
    same_origin_target,
    status_error,
    too_many_redirects,
    unreachable_error,
)
from recap.sources.posthog.snapshot_lines import events_of, split_lines

PROGRESS_EVERY_LINES: Final = 1000


@dataclass(frozen=True, slots=True)
class SnapshotProgress:
    """How far the current pass over a recording's snapshots has got."""

    session_id: str
    blocks_done: int
    blocks_total: int
    requests_done: int
    requests_total: int
    lines: int
    bytes_read: int


ProgressHook = Callable[[SnapshotProgress], None]


class PostHogEvents:
    """A recording's events, streamed from PostHog each time it is iterated.

    Every pass re-reads the same blocks (stored blocks never change), one range request at
    a time, line by line: memory follows one line. Undecodable lines are counted in `stats`;
    a cut answer, 429 or 5xx mid-pass raises a retryable error instead of ending early.
    """

    def __init__(
        self, source: PostHogSource, session_id: str, fetches: list[SnapshotFetch], stats: ReadStats
    ) -> None:
        self._source = source
        self.session_id = session_id
        self.fetches = fetches
        self.stats = stats

    def __iter__(self) -> Iterator[RawEvent]:
        return self._source._stream_events(self.session_id, self.fetches, self.stats)


class PostHogSource:
    """Loads recordings from PostHog for the timeline compiler (a `SnapshotSource`).

    Synchronous on purpose: the compiler pulls events from a plain iterator, and this
    iterator pulls bytes from an open HTTP response, so blocks are fetched only as fast as
    they are compiled. Each pass opens its own connection and closes it when done, so the
    source needs no closing. `progress` is called per block range and every
    `PROGRESS_EVERY_LINES` lines, for activity heartbeats.
    """

    def __init__(
        self,
        config: PostHogConfig,
        *,
        progress: ProgressHook | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self._transport = transport

    def __repr__(self) -> str:
        return f"PostHogSource(host={self.config.host!r}, project_id={self.config.project_id!r})"

    @contextmanager
    def _http(self) -> Iterator[httpx.Client]:
        with httpx.Client(
            headers=self.config.headers(),
            timeout=self.config.timeout(),
            follow_redirects=False,
            transport=self._transport,
        ) as http:
            yield http

    def _send(
        self,
        http: httpx.Client,
        url: str,
        params: Iterable[tuple[str, str]],
        *,
        what: str,
        missing: str,
        scope: str = READ_SCOPE,
    ) -> httpx.Response:
        """An open (streaming) 2xx response, after same-host redirects; else a typed error."""
        request = http.build_request("GET", url, params=list(params))
        for _ in range(MAX_SAME_HOST_REDIRECTS + 1):
            try:
                response = http.send(request, stream=True)
            except httpx.RequestError as exc:
                raise unreachable_error(self.config, what, exc) from exc
            if response.is_success:
                return response
            body = b""
            try:
                body = error_body_start(response.iter_raw(), response.headers)
            except (httpx.RequestError, zlib.error, PostHogBadResponse):
                pass  # the status says enough
            finally:
                response.close()
            if response.is_redirect:
                target = same_origin_target(request.url, response.headers, self.config)
                request = http.build_request("GET", target)
                continue
            raise status_error(
                response.status_code,
                response.headers,
                body,
                self.config,
                what=what,
                missing=missing,
                scope=scope,
            )
        raise too_many_redirects(self.config)

    def _get_json(
        self,
        http: httpx.Client,
        url: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        what: str,
        missing: str,
    ) -> Any:
        response = self._send(http, url, params, what=what, missing=missing)
        try:
            body = read_json_body(response, self.config.max_decoded_bytes, what)
        except httpx.RequestError as exc:
            raise PostHogStreamCut(
                f"PostHog's answer broke off while {what} ({type(exc).__name__}); retry"
            ) from exc
        finally:
            response.close()
        return parse_json(body, response, self.config, what)

    def fetch_metadata(self, session_id: str) -> RecordingMetadata:
        with self._http() as http:
            return self._metadata(http, session_id)

    def _metadata(self, http: httpx.Client, session_id: str) -> RecordingMetadata:
        doc = self._get_json(
            http,
            self.config.recording_url(session_id),
            what=f"reading recording {session_id}",
            missing=f"recording {session_id}",
        )
        return parse_metadata(doc, session_id)

    def snapshot_sources(self, session_id: str) -> list[SnapshotSourceRef]:
        with self._http() as http:
            return self._snapshot_sources(http, session_id)

    def _snapshot_sources(self, http: httpx.Client, session_id: str) -> list[SnapshotSourceRef]:
        doc = self._get_json(
            http,
            self.config.recording_url(session_id) + "snapshots/",
            (("blob_v2", "true"),),
            what=f"listing the snapshot sources of recording {session_id}",
            missing=f"recording {session_id}",
        )
        return parse_snapshot_sources(doc, session_id)

    def load(self, session_id: str) -> Recording:
        """Metadata and the snapshot plan now (so a wrong key or id fails here); the events
        stream later, as the compiler iterates `Recording.events`."""
        return self.load_with_metadata(session_id)[1]

    def load_with_metadata(self, session_id: str) -> tuple[RecordingMetadata, Recording]:
        with self._http() as http:
            metadata = self._metadata(http, session_id)
            sources = self._snapshot_sources(http, session_id)
        kind, fetches, left_aside = plan_fetches(sources, self.config.blocks_per_request)
        if not fetches:
            listed = ", ".join(left_aside) or "none"
            raise RecordingNotReady(
                f"PostHog has stored no snapshot blocks of recording {session_id} yet (sources"
                f" listed: {listed}); recordings are stored within minutes, retry later"
            )
        stats = ReadStats()
        person_ids = metadata.person.distinct_ids if metadata.person else []
        recording = Recording(
            session_id=session_id,
            events=PostHogEvents(self, session_id, fetches, stats),
            distinct_id=metadata.distinct_id or (person_ids[0] if person_ids else None),
            start_time=metadata.start_time.isoformat() if metadata.start_time else None,
            metadata={
                **metadata.summary_fields(),
                "format": "posthog",
                "host": self.config.host,
                "project_id": self.config.project_id,
                "ongoing": metadata.ongoing,
                "snapshot_source_kind": kind,
                "snapshot_requests": len(fetches),
                "snapshot_blocks": sum(fetch.blocks for fetch in fetches),
                "sources_left_aside": left_aside,
            },
            read_stats=stats,
        )
        return metadata, recording

    def _report(self, progress: SnapshotProgress) -> None:
        if self.progress is not None:
            self.progress(progress)

    def _stream_events(
        self, session_id: str, fetches: list[SnapshotFetch], stats: ReadStats
    ) -> Iterator[RawEvent]:
        stats.skipped.clear()
        stats.decoded_bytes = 0
        meter = SizeMeter(self.config.max_decoded_bytes)
        blocks_total = sum(fetch.blocks for fetch in fetches)
        blocks_done = lines = bytes_read = events = 0

        def progress(requests_done: int) -> SnapshotProgress:
            return SnapshotProgress(
                session_id,
                blocks_done,
                blocks_total,
                requests_done,
                len(fetches),
                lines,
                bytes_read,
            )

        try:
            with self._http() as http:
                for number, fetch in enumerate(fetches):
                    self._report(progress(number))
                    for line, complete in self._fetch_lines(http, session_id, fetch):
                        size = len(line) + complete
                        meter.add(size)
                        bytes_read += size
                        lines += 1
                        if lines % PROGRESS_EVERY_LINES == 0:
                            self._report(progress(number))
                        if not line.strip():
                            continue
                        try:
                            item = orjson.loads(line)
                        except orjson.JSONDecodeError:
                            stats.skipped["garbage_line" if complete else "truncated_line"] += 1
                            continue
                        for event in events_of(item, meter, stats):
                            events += 1
                            yield event
                    blocks_done += fetch.blocks
                self._report(progress(len(fetches)))
        except DecodedTooLarge as exc:
            raise InvalidRecording(f"recording {session_id} from PostHog: {exc}") from exc
        finally:
            stats.decoded_bytes = meter.used
        if not events:
            raise InvalidRecording(
                f"recording {session_id} from PostHog has no usable rrweb events: none of its"
                f" {lines} snapshot lines holds an event with an integer type and a timestamp"
            )

    def _fetch_lines(
        self, http: httpx.Client, session_id: str, fetch: SnapshotFetch
    ) -> Iterator[tuple[bytes, bool]]:
        what = f"reading {fetch.label} of recording {session_id}"
        response = self._send(
            http,
            self.config.recording_url(session_id) + "snapshots/",
            fetch.params,
            what=what,
            missing=f"snapshot {fetch.label} of recording {session_id}",
        )
        try:
            limit = self.config.max_decoded_bytes
            yield from split_lines(decoded_chunks(response, limit), limit)
        except httpx.RequestError as exc:
            raise PostHogStreamCut(
                f"PostHog's answer broke off mid-stream while {what} ({type(exc).__name__});"
                " the recording is not summarized from part of it: retry to read it again"
            ) from exc
        finally:
            response.close()


def export_recording(source: PostHogSource, session_id: str, out: IO[bytes]) -> int:
    """Write one recording from PostHog as a PostHog export file (version 2023-04-28),
    streaming its events; returns how many events were written."""
    metadata, recording = source.load_with_metadata(session_id)
    data: dict[str, Any] = {"id": recording.session_id}
    if metadata.person is not None:
        data["person"] = metadata.person.model_dump(mode="json")
    if recording.start_time:
        data["start_time"] = recording.start_time
    head = orjson.dumps({"version": EXPORT_VERSION, "data": data})
    # `{"version":…,"data":{"id":…}}` -> `{"version":…,"data":{"id":…,"snapshots":[…]}}`
    out.write(head[:-2] + b',"snapshots":[')
    written = 0
    for event in recording.events:
        entry = {"type": event.type, "timestamp": event.timestamp, "data": event.data}
        if event.window_id:
            entry["windowId"] = event.window_id
        out.write((b",\n" if written else b"\n") + orjson.dumps(entry))
        written += 1
    out.write(b"\n]}}\n")
    return written
