"""A loopback stand-in for PostHog's session recording API, for tests.

It serves recordings read from files in the shapes PostHog documents, over real HTTP, so
recap's client, httpx and its streaming run for real. It is written from the documents
below, not from recap's client:

- [list] https://posthog.com/docs/api/session-recordings — `GET /api/{environments|projects}/
  :project_id/session_recordings/` with `limit` and `offset`, answering `{count, next,
  previous, results}`; `GET …/session_recordings/:id/` answers one recording with
  `id, distinct_id, viewed, viewers, recording_duration, active_seconds, inactive_seconds,
  start_time, end_time, click_count, keypress_count, mouse_activity_count,
  console_log_count, console_warn_count, console_error_count, start_url, person {id, name,
  distinct_ids, properties, created_at, uuid}, retention_period_days, expiry_time,
  recording_ttl, snapshot_source, snapshot_library, ongoing, activity_score,
  external_references, matches_filters` (the older page also `storage`). Required scope:
  `session_recording:read`.
- [snapshots] https://posthog.com/docs/session-replay/snapshot-api — two phases: `GET
  …/:id/snapshots` lists `{"sources": [{source, start_timestamp, end_timestamp, blob_key}]}`
  (`?blob_v2=true` adds `blob_v2` sources, whose blob keys are block indexes); then
  `?source=blob_v2&start_blob_key=A&end_blob_key=B` answers blocks A..B inclusive, at most
  20 keys at a time, as lines of `[windowId, event]`; v1 `?source=blob&blob_key=K`
  answers lines of `{"windowId": …, "data": [event]}`; `realtime` sources have no blob key.
- [api.py] PostHog/posthog `posthog/session_recordings/session_recording_api.py`: block
  ranges are served as `application/jsonl` with the final newline stripped; a range past
  the last block is a 404 "Block index out of range"; `blob_v2_lts` sources name one
  `blob_key` holding the whole recording; listing filters are `RecordingsQuery` fields
  (`date_from`, `date_to`, `having_predicates` such as
  `[{"type":"recording","key":"duration","operator":"gt","value":60}]`, `session_ids`,
  `distinct_ids`, `person_uuid`, `order` with `order_direction` ASC|DESC, default DESC;
  list values are JSON, as `query_as_params_to_dict` reads them). The double applies no
  default date window: its recordings are fixed in time.
- [playlists] https://posthog.com/docs/api/replay-2 — `GET …/session_recording_playlists/
  :short_id/recordings/` (scope `session_recording_playlist:read`); the view answers
  `{results, has_next, version}` like the listing it reuses (api.py
  `list_recordings_response`), paged by `limit`/`offset`.
- [errors] DRF through PostHog's exception handler: `{type, code, detail, attr}`; a key
  without a scope gets 403 "API key missing required scope '…'"; throttling is 429 with
  `Retry-After`.
- [posthog-js] `cv: "2024-10"` events carry gzip bytes as latin-1 strings in FullSnapshot
  `data` and in mutation fields (`recap.recording.decode.compress_event` writes them).

Faults are injected per request (`Fault`): any status with PostHog's error body, a
`Retry-After`, a redirect elsewhere, or a body cut off mid-stream. Every request is
recorded.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from recap.recording.decode import compress_event

READ_SCOPE = "session_recording:read"
PLAYLIST_SCOPE = "session_recording_playlist:read"
ALL_SCOPES = frozenset({READ_SCOPE, PLAYLIST_SCOPE})
MAX_BLOB_KEYS = 20  # [snapshots] "you can request a maximum of 20 blob keys at a time"
DEFAULT_LIMIT = 50  # the listing's default page

Layout = Literal["blob_v2", "blob", "blob_v2_lts", "realtime"]
Json = dict[str, Any]

_RECORDINGS = re.compile(r"^/api/(?:environments|projects)/([^/]+)/session_recordings/$")
_RECORDING = re.compile(r"^/api/(?:environments|projects)/([^/]+)/session_recordings/([^/]+)/$")
_SNAPSHOTS = re.compile(
    r"^/api/(?:environments|projects)/([^/]+)/session_recordings/([^/]+)/snapshots/?$"
)
_PLAYLIST = re.compile(
    r"^/api/(?:environments|projects)/([^/]+)/session_recording_playlists/([^/]+)/recordings/?$"
)


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _window_of(event: Any, default: str) -> str:
    if isinstance(event, dict):
        for name in ("windowId", "window_id", "$window_id"):
            if isinstance(event.get(name), str):
                return str(event[name])
    return default


def raw_events(doc: Any) -> list[tuple[str, Any]]:
    """(windowId, rrweb event) pairs of an exported recording, as stored in the file."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(doc, list):
        return [(_window_of(event, ""), event) for event in doc]
    if not isinstance(doc, dict):
        raise ValueError("not a recording document")
    if "rrweb_data" in doc:
        return [(_window_of(event, ""), event) for event in doc["rrweb_data"]]
    container = doc.get("data") if "version" in doc else doc.get("result", doc)
    if not isinstance(container, dict):
        raise ValueError("not a recording document")
    by_window = container.get("snapshot_data_by_window_id")
    if isinstance(by_window, dict):
        for window_id, events in by_window.items():
            pairs.extend((_window_of(event, str(window_id)), event) for event in events)
        return pairs
    for item in container["snapshots"]:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            pairs.append((item[0], item[1]))
        else:
            pairs.append((_window_of(item, ""), item))
    return pairs


def _timestamp(event: Any) -> float:
    value = event.get("timestamp") if isinstance(event, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    parts = max(1, min(parts, len(items) or 1))
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return chunks


@dataclass
class ServedRecording:
    """One recording as PostHog would store it: time-ordered events cut into blocks."""

    session_id: str
    events: list[tuple[str, Any]]
    blocks: int = 4
    layout: Layout = "blob_v2"
    compress: bool = True
    ongoing: bool = False
    distinct_id: str = "person-1"
    person_properties: Json = field(default_factory=dict)
    person_uuid: str = "0190a1b2-0000-7000-8000-000000000001"
    v1_window_key: str = "windowId"  # [snapshots] shows windowId; older blobs wrote window_id
    extra_lines: dict[int, list[bytes]] = field(default_factory=dict)  # block -> raw lines

    def __post_init__(self) -> None:
        # Blocks hold time ranges ([snapshots] start/end_timestamp per source).
        self.events = sorted(self.events, key=lambda pair: _timestamp(pair[1]))

    @property
    def start_ms(self) -> float:
        return min((_timestamp(e) for _, e in self.events), default=0.0)

    @property
    def end_ms(self) -> float:
        return max((_timestamp(e) for _, e in self.events), default=0.0)

    def block_events(self) -> list[list[tuple[str, Any]]]:
        return _split(self.events, self.blocks)

    def block_lines(self, index: int) -> list[bytes]:
        """[snapshots] "New data format": one `[windowId, event]` per line."""
        lines = [
            json.dumps(
                [window, compress_event(event) if self.compress else event],
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode("utf-8")
            for window, event in self.block_events()[index]
        ]
        for position, raw in enumerate(self.extra_lines.get(index, [])):
            lines.insert(min(position * 2 + 1, len(lines)), raw)
        return lines

    def v1_lines(self, index: int) -> list[bytes]:
        """[snapshots] "Previous data format": `{windowId, data: [event, …]}` per line."""
        lines: list[bytes] = []
        run: list[Any] = []
        run_window: str | None = None
        for window, event in [*self.block_events()[index], ("", None)]:
            if run and (window != run_window or event is None or len(run) == 20):
                line = {self.v1_window_key: run_window, "data": run}
                lines.append(json.dumps(line, separators=(",", ":")).encode("utf-8"))
                run = []
            if event is not None:
                run.append(event)
                run_window = window
        return lines

    def metadata(self) -> Json:
        """The documented fields of one recording ([list]), computed from its events."""
        events = [event for _, event in self.events if isinstance(event, dict)]
        incremental = [e for e in events if e.get("type") == 3 and isinstance(e.get("data"), dict)]
        consoles = [
            e["data"].get("payload", {}).get("level")
            for e in events
            if e.get("type") == 6
            and isinstance(e.get("data"), dict)
            and e["data"].get("plugin") == "rrweb/console@1"
        ]
        stamps = sorted(_timestamp(e) for e in events)
        inactive_ms = sum(b - a for a, b in pairwise(stamps) if b - a > 5000)
        duration_ms = self.end_ms - self.start_ms
        start_url = next(
            (
                e["data"]["href"]
                for e in events
                if e.get("type") == 4 and isinstance(e.get("data"), dict) and "href" in e["data"]
            ),
            None,
        )
        return {
            "id": self.session_id,
            "distinct_id": self.distinct_id,
            "viewed": False,
            "viewers": [],
            "recording_duration": round(duration_ms / 1000),
            "active_seconds": round((duration_ms - inactive_ms) / 1000, 3),
            "inactive_seconds": round(inactive_ms / 1000, 3),
            "start_time": _iso(self.start_ms),
            "end_time": _iso(self.end_ms),
            "click_count": sum(
                1
                for e in incremental
                if e["data"].get("source") == 2 and e["data"].get("type") == 2
            ),
            "keypress_count": sum(1 for e in incremental if e["data"].get("source") == 5),
            "mouse_activity_count": sum(
                1 for e in incremental if e["data"].get("source") in (1, 2, 6)
            ),
            "console_log_count": consoles.count("log") + consoles.count("info"),
            "console_warn_count": consoles.count("warn"),
            "console_error_count": consoles.count("error"),
            "start_url": start_url,
            "person": {
                "id": 1,
                "name": self.distinct_id,
                "distinct_ids": [self.distinct_id],
                "properties": self.person_properties,
                "created_at": _iso(self.start_ms),
                "uuid": self.person_uuid,
            },
            "retention_period_days": 30,
            "expiry_time": _iso(self.start_ms + 30 * 86_400_000),
            "recording_ttl": 30,
            "snapshot_source": "web",
            # [api.py] `$lib` of the recording's events: posthog-js sends "web".
            "snapshot_library": "web",
            "ongoing": self.ongoing,
            "activity_score": None,
            # [api.py] linked issues; a listing leaves them out ([]), as here.
            "external_references": [],
            "matches_filters": True,
            # The older [list] document's field: not yet copied to long-term storage.
            "storage": "object_storage",
        }

    def sources(self, blob_v2: bool) -> list[Json]:
        """[snapshots] first call: the places this recording can be loaded from."""
        blocks = self.block_events()
        spans = [
            (min(_timestamp(e) for _, e in b), max(_timestamp(e) for _, e in b)) if b else (0, 0)
            for b in blocks
        ]
        v1 = [
            {
                "source": "blob",
                "start_timestamp": _iso(start),
                "end_timestamp": _iso(end),
                "blob_key": f"{int(start)}-{int(end)}",
            }
            for start, end in spans
        ]
        # [snapshots] a realtime source has no blob key (and no start while nothing is stored)
        realtime = {
            "source": "realtime",
            "start_timestamp": None,
            "end_timestamp": None,
            "blob_key": None,
        }
        if self.layout == "realtime":
            return [realtime]
        if self.layout == "blob_v2_lts":
            return [{"source": "blob_v2_lts", "blob_key": self.lts_key}]
        if self.layout == "blob_v2" and blob_v2:
            v2 = [
                {
                    "source": "blob_v2",
                    "start_timestamp": _iso(start),
                    "end_timestamp": _iso(end),
                    "blob_key": str(index),
                }
                for index, (start, end) in enumerate(spans)
            ]
            return v2 + v1  # the documented example lists both; blob_v2 wins
        return v1 + ([realtime] if self.ongoing else [])

    @property
    def lts_key(self) -> str:
        return f"session_recordings_lts/team_id/2/session_id/{self.session_id}/data"


def served_from_file(path: Path, session_id: str | None = None, **options: Any) -> ServedRecording:
    """A recording file (export, API answer, chalk wrapper, rrweb array) as PostHog holds it."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return served_from_document(doc, session_id or Path(path).stem, **options)


def served_from_document(doc: Any, session_id: str, **options: Any) -> ServedRecording:
    return ServedRecording(session_id=session_id, events=raw_events(doc), **options)


@dataclass
class Fault:
    """What to do instead of answering, for the next `times` requests whose path and query
    contain `match`."""

    match: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    cut: bool = False  # answer as usual, but send half the announced Content-Length, then close
    redirect_to: str | None = None
    times: int = 1


@dataclass
class ServedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def target(self) -> str:
        return self.path + ("?" + urlencode(self.query, doseq=True) if self.query else "")


def error_body(status: int, detail: str) -> Json:
    """[errors] the body PostHog's exception handler writes."""
    kinds = {
        400: ("validation_error", "invalid_input"),
        401: ("authentication_error", "authentication_failed"),
        403: ("authentication_error", "permission_denied"),
        404: ("invalid_request", "not_found"),
        429: ("throttled_error", "throttled"),
    }
    kind, code = kinds.get(status, ("server_error", "error"))
    return {"type": kind, "code": code, "detail": detail, "attr": None}


class PostHogDouble(ThreadingHTTPServer):
    """Speaks PostHog's session recording endpoints for one project and one personal API key."""

    daemon_threads = True

    def __init__(
        self,
        *,
        api_key: str = "phx_double_key_0123456789abcdef",
        project_id: str = "2",
        scopes: frozenset[str] = ALL_SCOPES,
        compress: bool = False,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # Like PostHog behind its proxy: gzip every answer a client accepts gzip for.
        self.compress = compress
        self.api_key = api_key
        self.project_id = project_id
        self.scopes = scopes
        self.recordings: dict[str, ServedRecording] = {}
        self.playlists: dict[str, list[str]] = {}
        self.faults: list[Fault] = []
        self.requests: list[ServedRequest] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, recording: ServedRecording) -> ServedRecording:
        self.recordings[recording.session_id] = recording
        return recording

    def add_file(
        self, path: Path, session_id: str | None = None, **options: Any
    ) -> ServedRecording:
        return self.add(served_from_file(path, session_id, **options))

    def add_playlist(self, short_id: str, session_ids: list[str]) -> None:
        self.playlists[short_id] = list(session_ids)

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def take_fault(self, target: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match in target:
                    fault.times -= 1
                    return fault
        return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that stops reading mid-answer resets the connection: expected here

    def snapshot_requests(self) -> list[ServedRequest]:
        """Requests that asked for snapshot data (not the sources listing)."""
        return [r for r in self.requests if "/snapshots" in r.path and "source" in r.query]


def _when(value: str, now: datetime) -> datetime | None:
    relative = re.fullmatch(r"-(\d+)([hdw])", value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        hours = {"h": 1, "d": 24, "w": 168}[unit] * amount
        return now - timedelta(hours=hours)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PostHogDouble

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------

    cut = False  # set by a `Fault(cut=True)` for the answer being written

    def _send(self, status: int, payload: bytes, content_type: str, **headers: str) -> None:
        encoded = any(name.lower().replace("_", "-") == "content-encoding" for name in headers)
        if (
            self.server.compress
            and not encoded
            and "gzip" in self.headers.get("accept-encoding", "")
        ):
            payload = gzip.compress(payload, mtime=0)
            headers["content_encoding"] = "gzip"
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            if self.cut:
                # The whole body was announced; half of it is sent, then the connection closes.
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def _json(self, status: int, body: Any, **headers: str) -> None:
        self._send(status, json.dumps(body).encode("utf-8"), "application/json", **headers)

    def _error(self, status: int, detail: str, **headers: str) -> None:
        self._json(status, error_body(status, detail), **headers)

    def _apply(self, fault: Fault) -> None:
        if fault.redirect_to is not None:
            status = fault.status if 300 <= fault.status < 400 else 302
            self._send(status, b"", "text/plain", location=fault.redirect_to)
            return
        if isinstance(fault.body, bytes):  # sent as given, e.g. with its own Content-Encoding
            headers = {k: v for k, v in fault.headers.items() if k.lower() != "content-type"}
            content_type = fault.headers.get("content-type", "application/json")
            self._send(fault.status, fault.body, content_type, **headers)
            return
        body = fault.body if fault.body is not None else error_body(fault.status, "injected fault")
        self._json(fault.status, body, **fault.headers)

    # -- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        request = ServedRequest(
            "GET",
            parts.path,
            query,
            {key.lower(): value for key, value in self.headers.items()},
        )
        self.server.requests.append(request)
        fault = self.server.take_fault(request.target)
        self.cut = fault is not None and fault.cut
        if fault is not None and not fault.cut:
            self._apply(fault)
            return
        auth = self.headers.get("authorization")
        if auth is None:
            self._error(401, "Authentication credentials were not provided.")
            return
        if auth != f"Bearer {self.server.api_key}":
            self._error(401, "Personal API key found in request Authorization header is invalid.")
            return
        one = {key: values[-1] for key, values in query.items()}
        for pattern, scope, handler in (
            (_SNAPSHOTS, READ_SCOPE, self._snapshots),
            (_RECORDING, READ_SCOPE, self._recording),
            (_RECORDINGS, READ_SCOPE, self._recordings),
            (_PLAYLIST, PLAYLIST_SCOPE, self._playlist),
        ):
            match = pattern.match(parts.path)
            if match is None:
                continue
            if match.group(1) != self.server.project_id:
                self._error(404, "Not found.")
                return
            if scope not in self.server.scopes:
                self._error(403, f"API key missing required scope '{scope}'")
                return
            handler(one, *match.groups()[1:])
            return
        self._error(404, "Not found.")

    def _listed(self, params: dict[str, str], pool: list[ServedRecording]) -> list[Json]:
        """[api.py] RecordingsQuery filters: dates, ids, person and duration predicates;
        ordered by `order` (default start_time) in `order_direction` (default DESC)."""
        now = datetime.now(UTC)
        rows = [r.metadata() for r in pool]
        date_from = _when(params["date_from"], now) if params.get("date_from") else None
        date_to = _when(params["date_to"], now) if params.get("date_to") else None
        predicates = json.loads(params.get("having_predicates") or "[]")
        session_ids = json.loads(params["session_ids"]) if "session_ids" in params else None
        distinct_ids = json.loads(params["distinct_ids"]) if "distinct_ids" in params else None
        person_uuid = params.get("person_uuid")
        compare = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
            "exact": lambda a, b: a == b,
        }

        def keep(row: Json) -> bool:
            start = datetime.fromisoformat(row["start_time"].replace("Z", "+00:00"))
            if date_from is not None and start < date_from:
                return False
            if date_to is not None and start > date_to:
                return False
            if session_ids is not None and row["id"] not in session_ids:
                return False
            if distinct_ids is not None and row["distinct_id"] not in distinct_ids:
                return False
            if person_uuid is not None and row["person"]["uuid"] != person_uuid:
                return False
            for predicate in predicates:
                name = predicate["key"]
                value = row.get("recording_duration" if name == "duration" else name)
                if not compare[predicate["operator"]](value, predicate["value"]):
                    return False
            return True

        order = params.get("order") or "start_time"
        order = "recording_duration" if order == "duration" else order
        return sorted(
            filter(keep, rows),
            key=lambda row: (row.get(order) is not None, row.get(order) or 0),
            reverse=params.get("order_direction", "DESC") == "DESC",
        )

    def _page_of(self, params: dict[str, str]) -> tuple[int, int] | None:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
            offset = int(params.get("offset", 0))
        except ValueError:
            self._error(400, "limit and offset must be integers")
            return None
        return max(1, limit), max(0, offset)

    def _recordings(self, params: dict[str, str]) -> None:
        """[list] `{count, next, previous, results}`, `next`/`previous` as absolute URLs."""
        page = self._page_of(params)
        if page is None:
            return
        limit, offset = page
        rows = self._listed(params, list(self.server.recordings.values()))
        host = self.headers.get("host", "127.0.0.1")

        def link(at: int) -> str:
            return f"http://{host}{urlsplit(self.path).path}?" + urlencode(
                {**params, "limit": limit, "offset": at}
            )

        self._json(
            200,
            {
                "count": len(rows),
                "next": link(offset + limit) if offset + limit < len(rows) else None,
                "previous": link(max(0, offset - limit)) if offset > 0 else None,
                "results": rows[offset : offset + limit],
            },
        )

    def _playlist(self, params: dict[str, str], short_id: str) -> None:
        """[playlists] the playlist's recordings, `{results, has_next, version}`."""
        if short_id not in self.server.playlists:
            self._error(404, "Not found.")
            return
        page = self._page_of(params)
        if page is None:
            return
        limit, offset = page
        pool = [
            self.server.recordings[sid]
            for sid in self.server.playlists[short_id]
            if sid in self.server.recordings
        ]
        rows = self._listed({}, pool)  # collections ignore the date filter
        self._json(
            200,
            {
                "results": rows[offset : offset + limit],
                "has_next": offset + limit < len(rows),
                "version": 4,
            },
        )

    def _recording(self, params: dict[str, str], session_id: str) -> None:
        recording = self.server.recordings.get(session_id)
        if recording is None:
            self._error(404, "Recording not found")
            return
        self._json(200, recording.metadata())

    def _snapshots(self, params: dict[str, str], session_id: str) -> None:
        recording = self.server.recordings.get(session_id)
        if recording is None:
            self._error(404, "Recording not found")
            return
        source = params.get("source")
        if source is None:
            sources = recording.sources(params.get("blob_v2") == "true")
            self._json(200, {"sources": sources})
            return
        if source == "blob_v2":
            self._blob_v2(recording, params)
        elif source == "blob" and recording.layout in ("blob", "blob_v2"):
            self._blob_v1(recording, params.get("blob_key", ""))
        elif source == "blob_v2_lts" and recording.layout == "blob_v2_lts":
            if params.get("blob_key", "").lstrip("/") != recording.lts_key:
                self._error(404, "Recording not found")
                return
            lines = [line for i in range(recording.blocks) for line in recording.block_lines(i)]
            self._send(200, b"\n".join(lines), "application/jsonl")
        else:
            self._error(400, "Invalid source must be one of [blob_v2, blob_v2_ts, None]")

    def _blob_v2(self, recording: ServedRecording, params: dict[str, str]) -> None:
        """[snapshots] blocks start..end inclusive, at most 20 keys; [api.py] jsonl, no final
        newline; 404 past the last block."""
        if recording.layout != "blob_v2":
            self._error(404, "Session recording not found")
            return
        if not params.get("start_blob_key") or not params.get("end_blob_key"):
            self._error(400, "Must provide both start blob key and end blob key")
            return
        try:
            start, end = int(params["start_blob_key"]), int(params["end_blob_key"])
        except ValueError:
            self._error(400, "Blob keys must be integers")
            return
        if end - start > MAX_BLOB_KEYS:
            self._error(400, f"Cannot request more than {MAX_BLOB_KEYS} blob keys at once")
            return
        if start < 0 or end < start or end >= len(recording.block_events()):
            self._error(404, "Block index out of range")
            return
        blocks = [b"\n".join(recording.block_lines(i)) + b"\n" for i in range(start, end + 1)]
        payload = b"".join(blocks).rstrip(b"\n")
        self._send(200, payload, "application/jsonl", cache_control="max-age=3600")

    def _blob_v1(self, recording: ServedRecording, blob_key: str) -> None:
        keys = [s["blob_key"] for s in recording.sources(False) if s["source"] == "blob"]
        if blob_key not in keys:
            self._error(404, "Recording not found")
            return
        lines = recording.v1_lines(keys.index(blob_key))
        self._send(200, b"\n".join(lines), "application/jsonl")


@contextmanager
def posthog_double(**options: Any) -> Iterator[PostHogDouble]:
    """Serve PostHog's recording API on 127.0.0.1 (a free port)."""
    server = PostHogDouble(**options)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
