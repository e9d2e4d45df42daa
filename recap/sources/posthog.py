"""Recordings from PostHog's API (US or EU Cloud, or self-hosted), with a personal API key.

`PostHogSource` is the `SnapshotSource`: it loads a recording's metadata and snapshot
sources, then streams the snapshot blocks (a bounded range per request, read line by line)
as the synchronous timeline compiler iterates, so a recording is never held in memory.
`PostHogClient` is the asynchronous side for listing recordings, playlists and metadata.
Errors are typed (`code`, `retryable`, `retry_after_seconds`) for the activity to map.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote

import httpx
import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from recap.recording.decode import DecodedTooLarge, SizeMeter, parse_event
from recap.recording.models import (
    InvalidRecording,
    RawEvent,
    ReadStats,
    Recording,
    RecordingError,
    RecordingNotFound,
)

if TYPE_CHECKING:
    from recap.core.config import Settings

READ_SCOPE: Final = "session_recording:read"
PLAYLIST_SCOPE: Final = "session_recording_playlist:read"
DEFAULT_BLOCKS_PER_REQUEST: Final = 10
# The snapshot API serves at most 20 blob keys per request to a personal API key.
MAX_BLOCKS_PER_REQUEST: Final = 20
DEFAULT_MAX_DECODED_BYTES: Final = 512 * 1024 * 1024
EXPORT_VERSION: Final = "2023-04-28"
PROGRESS_EVERY_LINES: Final = 1000
_MAX_SAME_HOST_REDIRECTS: Final = 3
_MAX_RETRY_AFTER_SECONDS: Final = 3600.0
_ERROR_BODY_BYTES: Final = 16 * 1024
_DETAIL_CHARS: Final = 200
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
_PREFERRED_V2: Final = "blob_v2"


# -- errors ---------------------------------------------------------------------------


class PostHogError(RecordingError):
    """Something went wrong talking to PostHog. `retryable` says whether trying again may
    help; `retry_after_seconds` is the delay PostHog asked for, if it named one."""

    code = "posthog_error"
    retryable = False

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PostHogConfigError(PostHogError):
    code = "posthog_config"


class PostHogAuthError(PostHogError):
    """401 or 403: the key is wrong, lacks a scope, or cannot see the project."""

    code = "posthog_auth"


class PostHogBadRequest(PostHogError):
    code = "posthog_bad_request"


class PostHogBadResponse(PostHogError):
    """PostHog answered 200 with JSON of a shape recap does not know."""

    code = "posthog_bad_response"


class PostHogRedirectRefused(PostHogError):
    """PostHog (or a proxy) redirected to another host; the key is never sent there."""

    code = "posthog_redirect"


class PostHogUnavailable(PostHogError):
    """Network failure, timeout or a 5xx: worth retrying."""

    code = "posthog_unavailable"
    retryable = True


class PostHogRateLimited(PostHogUnavailable):
    code = "posthog_rate_limited"


class PostHogStreamCut(PostHogUnavailable):
    """A snapshot answer broke off mid-stream: retried whole, never summarized short."""


class RecordingNotReady(PostHogUnavailable):
    """PostHog has not stored any snapshot block of the recording yet."""

    code = "recording_not_ready"


# -- configuration and models -----------------------------------------------------------


def _check_id(value: str, what: str) -> str:
    if not _SAFE_ID.fullmatch(value):
        raise InvalidRecording(
            f"invalid {what} {value[:80]!r}: expected letters, digits, '-' or '_'"
        )
    return value


class PostHogConfig(BaseModel):
    """Where PostHog is and how to read from it. The key prints as `**********`."""

    model_config = ConfigDict(frozen=True)

    host: str = "https://us.posthog.com"
    project_id: str
    api_key: SecretStr
    blocks_per_request: int = Field(DEFAULT_BLOCKS_PER_REQUEST, ge=1, le=MAX_BLOCKS_PER_REQUEST)
    page_size: int = Field(100, ge=1, le=1000)
    timeout_seconds: float = Field(60.0, gt=0)
    max_decoded_bytes: int | None = DEFAULT_MAX_DECODED_BYTES

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        url = httpx.URL(value.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                "RECAP_POSTHOG_HOST must be an http(s) URL such as https://us.posthog.com,"
                " https://eu.posthog.com or your self-hosted PostHog"
            )
        if url.userinfo or url.query or url.fragment:
            raise ValueError("RECAP_POSTHOG_HOST must not carry credentials, a query or a fragment")
        return str(url.copy_with(path=url.path.rstrip("/") or "/")).rstrip("/")

    @field_validator("project_id")
    @classmethod
    def _check_project(cls, value: str) -> str:
        if not _SAFE_ID.fullmatch(value):
            raise ValueError("RECAP_POSTHOG_PROJECT_ID must be a project or environment id")
        return value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.strip() or any(c in secret for c in "\r\n"):
            raise ValueError("RECAP_POSTHOG_API_KEY must be a personal API key")
        return value

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PostHogConfig:
        """The PostHog settings (RECAP_POSTHOG_*), or an error naming what is missing."""
        missing = [
            name
            for name, value in (
                ("RECAP_POSTHOG_PROJECT_ID", settings.posthog_project_id),
                ("RECAP_POSTHOG_API_KEY", settings.posthog_api_key),
            )
            if not value
        ]
        if missing:
            raise PostHogConfigError(
                f"the PostHog source needs {' and '.join(missing)} (a personal API key with"
                f" the {READ_SCOPE} scope); set them in the environment or .env"
            )
        values: dict[str, Any] = {
            "host": settings.posthog_host,
            "project_id": settings.posthog_project_id,
            "api_key": settings.posthog_api_key,
            "max_decoded_bytes": settings.timeline.max_decoded_bytes,
            **overrides,
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(str(error["msg"]) for error in exc.errors())
            raise PostHogConfigError(f"invalid PostHog settings: {problems}") from None

    @property
    def api_root(self) -> str:
        return f"{self.host}/api/environments/{quote(self.project_id, safe='')}"

    def recording_url(self, session_id: str) -> str:
        sid = quote(_check_id(session_id, "session id"), safe="")
        return f"{self.api_root}/session_recordings/{sid}/"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key.get_secret_value()}",
            "User-Agent": "recap (PostHog session summaries)",
        }

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout_seconds, connect=min(self.timeout_seconds, 15.0))


class PostHogPerson(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int | str | None = None
    uuid: str | None = None
    name: str | None = None
    distinct_ids: list[str] = Field(default_factory=list)
    properties: dict[str, Any] | None = None
    created_at: datetime | None = None

    @field_validator("distinct_ids", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value


class RecordingMetadata(BaseModel):
    """One recording as PostHog's session recordings API describes it (durations in s)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    distinct_id: str | None = None
    viewed: bool | None = None
    recording_duration: float | None = None
    active_seconds: float | None = None
    inactive_seconds: float | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    click_count: int | None = None
    keypress_count: int | None = None
    mouse_activity_count: int | None = None
    console_log_count: int | None = None
    console_warn_count: int | None = None
    console_error_count: int | None = None
    start_url: str | None = None
    person: PostHogPerson | None = None
    snapshot_source: str | None = None
    ongoing: bool = False
    activity_score: float | None = None

    def summary_fields(self) -> dict[str, Any]:
        """What a timeline may carry about the recording: no person, no properties."""
        return self.model_dump(mode="json", exclude={"person", "viewed"}, exclude_none=True)


class SnapshotSourceRef(BaseModel):
    """One entry of the snapshot sources listing."""

    model_config = ConfigDict(extra="ignore")

    source: str
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None
    blob_key: str | None = None


@dataclass(frozen=True, slots=True)
class SnapshotFetch:
    """One snapshot request: its query and how many blocks it covers."""

    params: tuple[tuple[str, str], ...]
    blocks: int
    label: str


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


def plan_fetches(
    sources: Iterable[SnapshotSourceRef], blocks_per_request: int = DEFAULT_BLOCKS_PER_REQUEST
) -> tuple[str | None, list[SnapshotFetch], list[str]]:
    """Which source kind to read, the requests that read it, and what was left aside.

    The snapshot docs: with any `blob_v2` source, read only those (the others hold the same
    events), as inclusive ranges of at most 20 consecutive block keys; otherwise the
    long-term `blob_v2_lts` blob, else the v1 `blob` sources. `realtime` is never read: it
    only holds what is not stored yet.
    """
    listed = list(sources)
    by_kind: dict[str, list[SnapshotSourceRef]] = {}
    for ref in listed:
        if ref.blob_key:
            by_kind.setdefault(ref.source, []).append(ref)
    if _PREFERRED_V2 in by_kind:
        try:
            keys = sorted({int(ref.blob_key or "") for ref in by_kind[_PREFERRED_V2]})
        except ValueError:
            raise PostHogBadResponse(
                "PostHog listed blob_v2 sources whose blob keys are not block numbers"
            ) from None
        fetches: list[SnapshotFetch] = []
        start = 0
        while start < len(keys):
            end = start
            while (
                end + 1 < len(keys)
                and keys[end + 1] == keys[end] + 1
                and end + 1 - start < blocks_per_request
            ):
                end += 1
            first, last = keys[start], keys[end]
            fetches.append(
                SnapshotFetch(
                    params=(
                        ("source", "blob_v2"),
                        ("start_blob_key", str(first)),
                        ("end_blob_key", str(last)),
                    ),
                    blocks=last - first + 1,
                    label=f"blocks {first}-{last}",
                )
            )
            start = end + 1
        chosen = _PREFERRED_V2
    elif "blob_v2_lts" in by_kind:
        fetches = [
            SnapshotFetch((("source", "blob_v2_lts"), ("blob_key", ref.blob_key or "")), 1, "blob")
            for ref in by_kind["blob_v2_lts"]
        ]
        chosen = "blob_v2_lts"
    elif "blob" in by_kind:
        ordered = sorted(
            by_kind["blob"],
            key=lambda ref: ref.start_timestamp.timestamp() if ref.start_timestamp else math.inf,
        )
        fetches = [
            SnapshotFetch(
                (("source", "blob"), ("blob_key", ref.blob_key or "")), 1, f"blob {ref.blob_key}"
            )
            for ref in ordered
        ]
        chosen = "blob"
    else:
        return None, [], sorted({ref.source for ref in listed})
    left_aside = sorted({ref.source for ref in listed if ref.source != chosen})
    return chosen, fetches, left_aside


# -- HTTP: what sync and async share -----------------------------------------------------


def retry_after_seconds(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """`Retry-After` in seconds or as an HTTP-date, bounded; None when absent or unreadable."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        delay = float(raw.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        delay = when - (time.time() if now is None else now)
    if not math.isfinite(delay):
        return None
    return min(max(0.0, delay), _MAX_RETRY_AFTER_SECONDS)


def _scrub(text: str, config: PostHogConfig) -> str:
    secret = config.api_key.get_secret_value()
    return text.replace(secret, "**********") if secret else text


def _detail(body: bytes, config: PostHogConfig) -> str:
    """PostHog's own explanation (`detail`, or `error`/`message`), short and key-free."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    text = None
    if isinstance(doc, dict):
        for name in ("detail", "message", "error"):
            if isinstance(doc.get(name), str):
                text = doc[name]
                break
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > _DETAIL_CHARS:
        text = text[: _DETAIL_CHARS - 1] + "…"
    return f": {_scrub(text, config)!r}"


def _status_error(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    config: PostHogConfig,
    *,
    what: str,
    missing: str,
    scope: str,
) -> RecordingError:
    said = f"PostHog answered {status}{_detail(body, config)}"
    if status == 401:
        return PostHogAuthError(
            f"PostHog at {config.host} rejected the API key while {what} ({said}); check"
            f" RECAP_POSTHOG_API_KEY: it must be a personal API key with the {scope} scope"
        )
    if status == 403:
        return PostHogAuthError(
            f"PostHog at {config.host} refused {what} ({said}); the personal API key in"
            f" RECAP_POSTHOG_API_KEY needs the {scope} scope and access to project"
            f" {config.project_id} (RECAP_POSTHOG_PROJECT_ID)"
        )
    if status in (404, 410):
        return RecordingNotFound(
            f"{missing} not found in PostHog project {config.project_id} at {config.host}"
            f" ({said}); check the id, RECAP_POSTHOG_PROJECT_ID and RECAP_POSTHOG_HOST"
        )
    delay = retry_after_seconds(headers)
    if status == 429:
        return PostHogRateLimited(
            f"PostHog rate-limited {what} ({said}); retry after"
            f" {delay if delay is not None else 'a backoff'} s",
            retry_after_seconds=delay,
        )
    if status >= 500 or status in (408, 409, 425):
        return PostHogUnavailable(
            f"PostHog at {config.host} failed while {what} ({said})", retry_after_seconds=delay
        )
    if 300 <= status < 400:
        return PostHogRedirectRefused(
            f"PostHog at {config.host} answered {status} without a usable Location while {what}"
        )
    return PostHogBadRequest(f"PostHog did not accept {what} ({said})")


def _same_origin_target(
    request_url: httpx.URL, headers: httpx.Headers, config: PostHogConfig
) -> httpx.URL:
    """Where a redirect points, if it stays on the host PostHog was configured at."""
    location = headers.get("location", "")
    try:
        target = request_url.join(location)
    except httpx.InvalidURL:
        target = None
    origin = (request_url.scheme, request_url.host, request_url.port)
    if target is None or (target.scheme, target.host, target.port) != origin:
        where = target.host if target is not None and target.host else "an unreadable location"
        raise PostHogRedirectRefused(
            f"PostHog at {config.host} redirected to {target.scheme + '://' if target else ''}"
            f"{where}; recap does not follow redirects to another host or scheme (the API key"
            " would go with it). Set RECAP_POSTHOG_HOST to the URL PostHog answers on"
        )
    return target


def _unreachable(config: PostHogConfig, what: str, exc: Exception) -> PostHogUnavailable:
    return PostHogUnavailable(
        f"cannot reach PostHog at {config.host} while {what} ({type(exc).__name__}:"
        f" {_scrub(str(exc), config)[:_DETAIL_CHARS]}); check RECAP_POSTHOG_HOST and the network"
    )


def _parse_json(body: bytes, response: httpx.Response, config: PostHogConfig, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        kind = response.headers.get("content-type", "no content type")
        raise PostHogUnavailable(
            f"PostHog at {config.host} answered {what} with something that is not JSON"
            f" ({kind[:60]}); check RECAP_POSTHOG_HOST points at PostHog itself"
        ) from None


def _split_lines(chunks: Iterable[bytes], max_line: int | None) -> Iterator[tuple[bytes, bool]]:
    """Lines without their newline, and whether each ended in one (PostHog's last does not)."""
    pending = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pending:
                pending += chunk[start:end]
                yield bytes(pending), True
                pending.clear()
            else:
                yield chunk[start:end], True
            start = end + 1
        pending += chunk[start:]
        if max_line is not None and len(pending) > max_line:
            raise DecodedTooLarge(
                f"one snapshot line is longer than {max_line // (1024 * 1024)} MiB"
                " (RECAP_TIMELINE__MAX_DECODED_BYTES)"
            )
    if pending:
        yield bytes(pending), False


def _events_of(item: Any, meter: SizeMeter, stats: ReadStats) -> Iterator[RawEvent]:
    """The events of one snapshot line: v2 `[windowId, event]`, v1 `{windowId, data}`, or
    a bare event. What is not an event is counted by reason."""
    if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
        pairs: Iterable[tuple[Any, str]] = ((item[1], item[0]),)
    elif (
        isinstance(item, dict)
        and isinstance(item.get("data"), list)
        and ("window_id" in item or "windowId" in item)
        and "type" not in item
    ):
        window = item.get("window_id", item.get("windowId"))
        window_id = window if isinstance(window, str) else ""
        pairs = ((event, window_id) for event in item["data"])
    else:
        pairs = ((item, ""),)
    for obj, window_id in pairs:
        event = parse_event(obj, window_id, meter)
        if isinstance(event, RawEvent):
            yield event
        else:
            stats.skipped[event] += 1


def _metadata(doc: Any, session_id: str) -> RecordingMetadata:
    try:
        return RecordingMetadata.model_validate(doc)
    except ValidationError as exc:
        raise PostHogBadResponse(
            f"PostHog's metadata for recording {session_id} has an unknown shape"
            f" ({exc.error_count()} problems, first: {exc.errors()[0]['loc']})"
        ) from None


def _sources(doc: Any, session_id: str) -> list[SnapshotSourceRef]:
    listed = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        raise PostHogBadResponse(
            f"PostHog's snapshot listing for recording {session_id} has no sources list"
        )
    try:
        return [SnapshotSourceRef.model_validate(item) for item in listed]
    except ValidationError:
        raise PostHogBadResponse(
            f"PostHog's snapshot sources for recording {session_id} have an unknown shape"
        ) from None


# -- the synchronous source: what the compiler reads -------------------------------------


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
        for _ in range(_MAX_SAME_HOST_REDIRECTS + 1):
            try:
                response = http.send(request, stream=True)
            except httpx.RequestError as exc:
                raise _unreachable(self.config, what, exc) from exc
            if response.is_success:
                return response
            try:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= _ERROR_BODY_BYTES:
                        break
            except httpx.RequestError:
                pass  # the status says enough
            finally:
                response.close()
            if response.is_redirect:
                target = _same_origin_target(request.url, response.headers, self.config)
                request = http.build_request("GET", target)
                continue
            raise _status_error(
                response.status_code,
                response.headers,
                body,
                self.config,
                what=what,
                missing=missing,
                scope=scope,
            )
        raise PostHogRedirectRefused(f"PostHog at {self.config.host} redirected too many times")

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
            body = response.read()
        except httpx.RequestError as exc:
            raise PostHogStreamCut(
                f"PostHog's answer broke off while {what} ({type(exc).__name__}); retry"
            ) from exc
        finally:
            response.close()
        return _parse_json(body, response, self.config, what)

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
        return _metadata(doc, session_id)

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
        return _sources(doc, session_id)

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
                        for event in _events_of(item, meter, stats):
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
            yield from _split_lines(response.iter_bytes(), self.config.max_decoded_bytes)
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


# -- the asynchronous client: listing, playlists, metadata --------------------------------


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
        for _ in range(_MAX_SAME_HOST_REDIRECTS + 1):
            try:
                response = await self._http.send(request)
            except httpx.RequestError as exc:
                raise _unreachable(self.config, what, exc) from exc
            if response.is_success:
                return _parse_json(response.content, response, self.config, what)
            if response.is_redirect:
                target = _same_origin_target(request.url, response.headers, self.config)
                request = self._http.build_request("GET", target)
                continue
            raise _status_error(
                response.status_code,
                response.headers,
                response.content[:_ERROR_BODY_BYTES],
                self.config,
                what=what,
                missing=missing,
                scope=scope,
            )
        raise PostHogRedirectRefused(f"PostHog at {self.config.host} redirected too many times")

    async def get_recording(self, session_id: str) -> RecordingMetadata:
        doc = await self._get_json(
            self.config.recording_url(session_id),
            what=f"reading recording {session_id}",
            missing=f"recording {session_id}",
        )
        return _metadata(doc, session_id)

    async def snapshot_sources(self, session_id: str) -> list[SnapshotSourceRef]:
        doc = await self._get_json(
            self.config.recording_url(session_id) + "snapshots/",
            (("blob_v2", "true"),),
            what=f"listing the snapshot sources of recording {session_id}",
            missing=f"recording {session_id}",
        )
        return _sources(doc, session_id)

    def list_recordings(
        self,
        *,
        date_from: str | datetime | None = None,
        date_to: str | datetime | None = None,
        min_duration_seconds: float | None = None,
        max_duration_seconds: float | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[RecordingMetadata]:
        """The project's recordings, newest first, across pages. Dates are ISO timestamps
        or PostHog's relative ones (`-7d`); PostHog's default window is the last 3 days."""
        params: dict[str, str] = {}
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
        return self._pages(
            f"{self.config.api_root}/session_recordings/",
            params,
            limit=limit,
            what="listing recordings",
            missing="the recordings listing",
            scope=READ_SCOPE,
        )

    def playlist_recordings(
        self, short_id: str, *, limit: int | None = None
    ) -> AsyncIterator[RecordingMetadata]:
        """The recordings in one saved playlist (collection or saved filter)."""
        sid = quote(_check_id(short_id, "playlist id"), safe="")
        return self._pages(
            f"{self.config.api_root}/session_recording_playlists/{sid}/recordings/",
            {},
            limit=limit,
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
        what: str,
        missing: str,
        scope: str,
    ) -> AsyncIterator[RecordingMetadata]:
        """Follow `next` (the documented paging) or `has_next` (what the playlist view
        answers). `next` is read for its query only and asked of the configured host: a
        proxy may rewrite the host or scheme in it, and the key goes nowhere else."""
        params = {**filters, "limit": str(self.config.page_size), "offset": "0"}
        yielded = 0
        seen: set[tuple[tuple[str, str], ...]] = set()
        while True:
            key = tuple(sorted(params.items()))
            if key in seen:
                return
            seen.add(key)
            doc = await self._get_json(url, params.items(), what=what, missing=missing, scope=scope)
            results = doc.get("results") if isinstance(doc, dict) else None
            if not isinstance(results, list):
                raise PostHogBadResponse(f"PostHog's answer to {what} has no results list")
            for item in results:
                session_id = str(item.get("id", "?")) if isinstance(item, dict) else "?"
                yield _metadata(item, session_id)
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
