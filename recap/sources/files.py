"""Recordings from files: rrweb arrays, PostHog exports and blob JSONL, plain or gzipped.

`load_recording_file` reads one file in any of the shapes PostHog and rrweb tools write;
`DirectorySource` serves a folder of them by session id.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import stat
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import orjson

from recap.recording.decode import (
    NOT_AN_EVENT,
    DecodedTooLarge,
    SizeMeter,
    parse_event,
)
from recap.recording.models import (
    EXPORT_VERSION,
    InvalidRecording,
    RawEvent,
    ReadStats,
    Recording,
    RecordingNotFound,
)

SUFFIXES: Final = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_PEEK_BYTES: Final = 64 * 1024
_CHUNK_BYTES: Final = 1024 * 1024
_SNIFF_LINE_BYTES: Final = 64 * 1024 * 1024
_UTF8_BOM: Final = b"\xef\xbb\xbf"
DEFAULT_MAX_BYTES: Final = 512 * 1024 * 1024

_PEEK_CHALK_ID: Final = re.compile(rb'"session_guid"\s*:\s*"([^"\\]{1,200})"')
_PEEK_EXPORT_ID: Final = re.compile(rb'"data"\s*:\s*\{\s*"id"\s*:\s*"([^"\\]{1,200})"')
_PEEK_EXPORT_VERSION: Final = re.compile(rb'"version"\s*:\s*"2023-04-28"')


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped on the fly when it starts with the gzip magic."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise RecordingNotFound(f"recording file {path} not found") from None
    except IsADirectoryError:
        raise InvalidRecording(f"{path} is a directory, not a recording file") from None
    except OSError as exc:
        raise InvalidRecording(f"cannot read {path}: {exc.strerror or exc}") from exc
    head = handle.read(2)
    handle.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    if path.name.endswith(".gz"):
        handle.close()
        raise InvalidRecording(f"{path} ends in .gz but is not gzip-compressed")
    return handle


def _read_error(path: Path, exc: Exception) -> InvalidRecording:
    if isinstance(exc, DecodedTooLarge):
        return InvalidRecording(f"{path}: {exc}")
    return InvalidRecording(f"{path} is not a valid gzip file: {exc}")


def _read_all(path: Path, meter: SizeMeter) -> bytes:
    with _open_binary(path) as handle:
        chunks = []
        try:
            while chunk := handle.read(_CHUNK_BYTES):
                meter.add(len(chunk))
                chunks.append(chunk)
        except (OSError, EOFError, zlib.error, DecodedTooLarge) as exc:
            raise _read_error(path, exc) from exc
    raw = b"".join(chunks)
    return raw[3:] if raw.startswith(_UTF8_BOM) else raw


def _lines(handle: IO[bytes], meter: SizeMeter) -> Iterator[bytes]:
    """The handle's lines, each read no further than the meter has left, so one endless line
    (a gzip bomb without a newline) fails before it is in memory."""
    while True:
        remaining = meter.remaining
        line = handle.readline(-1 if remaining is None else remaining + 1)
        if not line:
            return
        meter.add(len(line))
        yield line


def _first_line(path: Path, bound: int) -> tuple[bytes, bool]:
    """The first non-blank line (up to `bound` bytes) and whether more non-blank text follows."""
    try:
        with _open_binary(path) as handle:
            while line := handle.readline(bound + 1):
                if line.strip():
                    if len(line) > bound:
                        return b"", True
                    try:
                        rest = handle.read(_PEEK_BYTES)
                    except (OSError, EOFError, zlib.error):
                        return line, True  # a stream cut short after its first line
                    return line, bool(rest.strip())
    except (OSError, EOFError, zlib.error) as exc:
        raise _read_error(path, exc) from exc
    return b"", False


def _is_jsonl(path: Path, max_decoded_bytes: int | None) -> bool:
    """JSONL when the first line is one complete JSON value and more text follows it.

    A first line longer than the recording may decode to is not read whole: the file is then
    read as one document, which stops at the bound."""
    bound = min(_SNIFF_LINE_BYTES, max_decoded_bytes or _SNIFF_LINE_BYTES)
    line, more = _first_line(path, bound)
    if not more:
        return False
    line = line.removeprefix(_UTF8_BOM)
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


class _Collector:
    """Turns decoded JSON values into events, counting what is not an event (by reason)."""

    def __init__(self, meter: SizeMeter, stats: ReadStats) -> None:
        self.meter = meter
        self.stats = stats

    def parse(self, obj: Any, window_id: str = "") -> RawEvent | None:
        event = parse_event(obj, window_id, self.meter)
        if isinstance(event, RawEvent):
            return event
        self.stats.skipped[event] += 1
        return None

    def entries(self, item: Any) -> Iterator[RawEvent]:
        """The events of one array element or JSONL line, in any supported form."""
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            event = self.parse(item[1], item[0])  # blob v2: [windowId, event]
            if event is not None:
                yield event
        elif (
            isinstance(item, dict)
            and isinstance(item.get("data"), list)
            and ("window_id" in item or "windowId" in item)
            and "type" not in item
        ):
            window = item.get("window_id", item.get("windowId"))  # blob v1 line
            yield from self.many(item["data"], window if isinstance(window, str) else "")
        else:
            event = self.parse(item)
            if event is not None:
                yield event

    def many(self, items: list[Any], window_id: str = "") -> Iterator[RawEvent]:
        for item in items:
            event = self.parse(item, window_id)
            if event is not None:
                yield event


class JsonlEvents:
    """The events of a JSONL file, read line by line each time it is iterated.

    Memory follows one line, not the file. Undecodable lines are counted in `stats`
    (`garbage_line`, `truncated_line`) and skipped; past the size bound the iteration
    raises `InvalidRecording`.
    """

    def __init__(self, path: Path, max_decoded_bytes: int | None, stats: ReadStats) -> None:
        self.path = path
        self.max_decoded_bytes = max_decoded_bytes
        self.stats = stats

    def __iter__(self) -> Iterator[RawEvent]:
        stats = self.stats
        stats.skipped.clear()
        meter = SizeMeter(self.max_decoded_bytes)
        collector = _Collector(meter, stats)
        try:
            with _open_binary(self.path) as handle:
                for line in _lines(handle, meter):
                    if not line.strip():
                        continue
                    try:
                        item = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        reason = "truncated_line" if not line.endswith(b"\n") else "garbage_line"
                        stats.skipped[reason] += 1
                        continue
                    yield from collector.entries(item)
        except (OSError, EOFError, zlib.error, DecodedTooLarge) as exc:
            if isinstance(exc, DecodedTooLarge):
                raise InvalidRecording(f"{self.path}: {exc}") from exc
            # A gzip stream cut short: what was read stands, the rest is counted.
            stats.skipped["truncated_stream"] += 1
        finally:
            stats.decoded_bytes = meter.used


def _first_distinct_id(person: Any) -> str | None:
    if not isinstance(person, dict):
        return None
    ids = person.get("distinct_ids")
    if isinstance(ids, list) and ids and isinstance(ids[0], str):
        return ids[0]
    value = person.get("distinct_id")
    return value if isinstance(value, str) else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:8]) or "none"
        return f"an object with keys {keys}"
    return f"a JSON {type(doc).__name__}"


def _snapshots(collector: _Collector, container: dict[str, Any]) -> list[RawEvent] | None:
    """The events of `snapshots` or `snapshot_data_by_window_id` in a PostHog object."""
    by_window = container.get("snapshot_data_by_window_id")
    if isinstance(by_window, dict):
        events: list[RawEvent] = []
        for window_id, items in by_window.items():
            if isinstance(items, list):
                events.extend(collector.many(items, str(window_id)))
            else:
                collector.stats.skipped[NOT_AN_EVENT] += 1
        return events
    snapshots = container.get("snapshots")
    if isinstance(snapshots, list):
        return [event for item in snapshots for event in collector.entries(item)]
    return None


def _read_document(
    path: Path, doc: Any, collector: _Collector
) -> tuple[str, list[RawEvent], dict[str, Any]]:
    """The format name, events and metadata of a parsed JSON document."""
    found: dict[str, Any] = {}
    if isinstance(doc, list):
        return "rrweb-array", [e for item in doc for e in collector.entries(item)], found
    if not isinstance(doc, dict):
        raise InvalidRecording(
            f"{path} has an unknown shape: expected an event array or an object,"
            f" got {_describe(doc)}"
        )
    if "rrweb_data" in doc:
        items = doc["rrweb_data"]
        if not isinstance(items, list):
            raise InvalidRecording(f"{path}: rrweb_data must be a list of rrweb events")
        found["session_id"] = _string(doc.get("session_guid"))
        return "chalk", list(collector.many(items)), found
    data = doc.get("data")
    if "version" in doc and isinstance(data, dict):
        if doc["version"] != EXPORT_VERSION:
            raise InvalidRecording(
                f"{path}: unsupported PostHog export version {doc['version']!r}"
                f" (supported: {EXPORT_VERSION})"
            )
        events = _snapshots(collector, data)
        if events is None:
            raise InvalidRecording(f"{path}: PostHog export has no data.snapshots list")
        found["session_id"] = _string(data.get("id"))
        found["distinct_id"] = _first_distinct_id(data.get("person"))
        found["start_time"] = _string(data.get("start_time"))
        return "posthog-export", events, found
    result = doc.get("result")
    if isinstance(result, dict):
        events = _snapshots(collector, result)
        if events is not None:
            found["distinct_id"] = _first_distinct_id(result.get("person"))
            found["start_time"] = _string(result.get("start_time"))
            found["session_id"] = _string(result.get("session_id")) or _string(result.get("id"))
            return "posthog-api", events, found
    events = _snapshots(collector, doc)
    if events is not None:
        found["session_id"] = _string(doc.get("session_id"))
        found["distinct_id"] = _first_distinct_id(doc.get("person"))
        return "posthog-api", events, found
    if "type" in doc and "timestamp" in doc:
        return "rrweb-event", list(collector.entries(doc)), found
    raise InvalidRecording(
        f"{path} has an unknown shape: {_describe(doc)}; expected an rrweb event array,"
        " JSONL of [windowId, event] lines, a PostHog export (version 2023-04-28),"
        " {result: {snapshots}}, {snapshot_data_by_window_id} or {session_guid, rrweb_data}"
    )


def _jsonl_recording(
    path: Path, session_id: str | None, max_decoded_bytes: int | None
) -> Recording:
    stats = ReadStats()
    events = JsonlEvents(path, max_decoded_bytes, stats)
    for _ in events:
        break  # fail now, not in the compiler, when not a single line is an event
    else:
        raise InvalidRecording(
            f"{path} has no usable rrweb events: none of its lines is an event with an"
            " integer type and a numeric timestamp"
        )
    return Recording(
        session_id=session_id or _stem(path),
        events=events,
        metadata={"format": "jsonl", "path": str(path)},
        read_stats=stats,
    )


def load_recording_file(
    path: Path, session_id: str | None = None, max_decoded_bytes: int | None = DEFAULT_MAX_BYTES
) -> Recording:
    """Read one recording file in any supported shape, gzipped or not.

    JSONL files stream: their events are read line by line as the compiler iterates.
    JSON documents are parsed whole. The session id comes from the file when it names
    one, else `session_id`, else the file name. Malformed entries are skipped and
    counted in `read_stats`; a file that decodes to more than `max_decoded_bytes`
    raises `InvalidRecording`.
    """
    path = Path(path)
    if _is_jsonl(path, max_decoded_bytes):
        return _jsonl_recording(path, session_id, max_decoded_bytes)
    meter = SizeMeter(max_decoded_bytes)
    raw = _read_all(path, meter)
    if not raw.strip():
        raise InvalidRecording(f"{path} is empty")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise InvalidRecording(
                f"{path} is not UTF-8 text ({bad.reason} at byte {bad.start})"
            ) from bad
        if raw.strip().count(b"\n"):
            # JSONL whose first line is damaged: the lines that parse still count.
            with contextlib.suppress(InvalidRecording):
                return _jsonl_recording(path, session_id, max_decoded_bytes)
        raise InvalidRecording(f"{path} is not JSON or JSONL: {exc}") from exc
    del raw
    stats = ReadStats()
    collector = _Collector(meter, stats)
    try:
        file_format, events, found = _read_document(path, doc, collector)
    except DecodedTooLarge as exc:
        raise InvalidRecording(f"{path}: {exc}") from exc
    stats.decoded_bytes = meter.used
    if not events:
        if stats.skipped_total:
            raise InvalidRecording(
                f"{path} has no usable rrweb events: none of its {stats.skipped_total} entries"
                " has an integer type and a numeric timestamp"
            )
        raise InvalidRecording(f"{path} contains no events")
    events.sort(key=lambda event: event.timestamp)
    return Recording(
        session_id=found.get("session_id") or session_id or _stem(path),
        events=events,
        distinct_id=found.get("distinct_id"),
        start_time=found.get("start_time"),
        metadata={"format": file_format, "path": str(path)},
        read_stats=stats,
    )


def peek_session_id(path: Path) -> str | None:
    """The session id a file declares, read from its first bytes only (None if none)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_PEEK_BYTES)
            if head.startswith(_GZIP_MAGIC):
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as unzipped:
                    head = unzipped.read(_PEEK_BYTES)
    except (OSError, EOFError, zlib.error):
        return None
    match = _PEEK_CHALK_ID.search(head)
    if match:
        return match.group(1).decode("utf-8", "replace")
    if _PEEK_EXPORT_VERSION.search(head):
        match = _PEEK_EXPORT_ID.search(head)
        if match:
            return match.group(1).decode("utf-8", "replace")
    return None


def check_session_id(session_id: str) -> str:
    """Refuse ids that could escape the directory (`../x`, `a/b`, empty)."""
    if (
        not session_id
        or "/" in session_id
        or "\\" in session_id
        or ".." in session_id
        or "\x00" in session_id
    ):
        raise InvalidRecording(
            f"invalid session id {session_id!r}: it must be non-empty and contain no path"
            " separators or '..'"
        )
    return session_id


# A directory's mtime moves only when an entry is added, removed or renamed, and only as
# finely as the filesystem's clock ticks (2 s on FAT, a kernel tick on ext4): a change made
# just after the index was built can leave the stamp as it was. An index built within this
# long of the last change it saw (the directory's, or a file's being written) is not
# trusted to say an id is absent; one built later is, until the directory changes.
_SETTLE_NS: Final = 2_000_000_000


@dataclass(frozen=True)
class _DirectoryIndex:
    stamp: int | None  # the directory's mtime when the index was built; None: no directory
    by_id: dict[str, Path]
    # Whether a miss is final: nothing changed within _SETTLE_NS before the build.
    settled: bool


class DirectorySource:
    """A folder of recording files, looked up by file name or by the id inside each file.

    The id -> file index is built once and rebuilt when the directory changes (a file
    added, removed or renamed). A file rewritten in place under the same name is not a
    change of the directory: write recordings to a new name, or rename them into place."""

    def __init__(self, root: Path, max_decoded_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.max_decoded_bytes = max_decoded_bytes or DEFAULT_MAX_BYTES
        self._index: _DirectoryIndex | None = None
        # The API looks sessions up from several threads: one builds, the others wait for it.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DirectorySource({str(self.root)!r})"

    def _stamp(self) -> int | None:
        try:
            return self.root.stat().st_mtime_ns
        except OSError:
            return None

    def _build(self, stamp: int | None) -> _DirectoryIndex:
        started = time.time_ns()
        index: dict[str, Path] = {}
        newest = stamp or 0
        if stamp is not None:
            for path in sorted(self.root.iterdir()):
                if not path.name.endswith(SUFFIXES):
                    continue
                try:
                    info = path.stat()
                except OSError:
                    continue  # removed meanwhile: the directory's stamp has moved too
                if not stat.S_ISREG(info.st_mode):
                    continue
                newest = max(newest, info.st_mtime_ns)
                # The id `load_recording_file` will report: the embedded one, else the name.
                index.setdefault(peek_session_id(path) or _stem(path), path)
        return _DirectoryIndex(stamp, index, settled=started - newest >= _SETTLE_NS)

    def _session_index(self, *, missing: str | None = None) -> dict[str, Path]:
        """Session id -> file, rebuilt when the directory changes. With `missing` (an id
        the caller did not find), rebuilt also when the index may predate a change its
        stamp cannot show; a settled index answers misses without reading the directory."""
        with self._lock:
            stamp = self._stamp()
            index = self._index
            stale = index is None or index.stamp != stamp
            unsure = (
                index is not None
                and not index.settled
                and missing is not None
                and missing not in index.by_id
            )
            if index is None or stale or unsure:
                index = self._index = self._build(stamp)
            return index.by_id

    def list_sessions(self) -> list[str]:
        """Every session id this directory can load, sorted."""
        if not self.root.is_dir():
            raise RecordingNotFound(f"recordings directory {self.root} does not exist")
        return sorted(self._session_index())

    def load(self, session_id: str) -> Recording:
        return load_recording_file(self.path_of(session_id), session_id, self.max_decoded_bytes)

    def path_of(self, session_id: str) -> Path:
        """The file holding `session_id`: named after it, or declaring it inside."""
        check_session_id(session_id)
        if not self.root.is_dir():
            raise RecordingNotFound(
                f"recording {session_id} not found: directory {self.root} does not exist"
            )
        for suffix in SUFFIXES:
            candidate = self.root / f"{session_id}{suffix}"
            if candidate.is_file():
                return candidate
        path = self._session_index(missing=session_id).get(session_id)
        if path is not None:
            return path
        names = ", ".join(f"{session_id}{suffix}" for suffix in SUFFIXES)
        raise RecordingNotFound(
            f"recording {session_id} not found in {self.root} (looked for {names}, and for"
            " files that declare this session id)"
        )
