"""Recordings from files: rrweb arrays, PostHog exports and blob JSONL, plain or gzipped.

`load_recording_file` reads one file in any of the shapes PostHog and rrweb tools write;
`DirectorySource` serves a folder of them by session id.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from recap.sources.base import InvalidRecording, RawEvent, Recording, RecordingNotFound
from recap.timeline.decode import to_raw_event

SUFFIXES: Final = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
EXPORT_VERSION: Final = "2023-04-28"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_PEEK_BYTES: Final = 64 * 1024

_PEEK_CHALK_ID: Final = re.compile(rb'"session_guid"\s*:\s*"([^"\\]{1,200})"')
_PEEK_EXPORT_ID: Final = re.compile(rb'"data"\s*:\s*\{\s*"id"\s*:\s*"([^"\\]{1,200})"')
_PEEK_EXPORT_VERSION: Final = re.compile(rb'"version"\s*:\s*"2023-04-28"')


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecordingNotFound(f"recording file {path} not found") from None
    except IsADirectoryError:
        raise InvalidRecording(f"{path} is a directory, not a recording file") from None
    except OSError as exc:
        raise InvalidRecording(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidRecording(f"{path} is not a valid gzip file: {exc}") from exc
    elif path.name.endswith(".gz"):
        raise InvalidRecording(f"{path} ends in .gz but is not gzip-compressed")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRecording(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc


def _parse(path: Path, text: str) -> tuple[Any, bool]:
    """The JSON document, or the list of JSONL lines (then the flag is True)."""
    if not text.strip():
        raise InvalidRecording(f"{path} is empty")
    try:
        return json.loads(text), False
    except json.JSONDecodeError as whole_error:
        lines = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if number == 1 and len(lines) == 0:
                    # Neither JSON nor JSONL: report the error of the whole document.
                    raise InvalidRecording(
                        f"{path} is not JSON: {whole_error.msg} at line {whole_error.lineno}"
                        f" column {whole_error.colno}"
                    ) from whole_error
                raise InvalidRecording(
                    f"{path} is not valid JSONL: line {number}: {exc.msg} at column {exc.colno}"
                ) from exc
        return lines, True


class _Collector:
    """Accumulates events and counts the ones that are not rrweb events."""

    def __init__(self) -> None:
        self.events: list[RawEvent] = []
        self.skipped = 0

    def add(self, obj: Any, window_id: str = "") -> None:
        event = to_raw_event(obj, window_id)
        if event is None:
            self.skipped += 1
        else:
            self.events.append(event)

    def add_many(self, items: Any, window_id: str = "") -> None:
        for item in items:
            self.add(item, window_id)

    def add_entry(self, item: Any) -> None:
        """One element of an event array or one JSONL line, in any supported form."""
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            self.add(item[1], item[0])  # blob v2: [windowId, event]
        elif (
            isinstance(item, dict)
            and isinstance(item.get("data"), list)
            and ("window_id" in item or "windowId" in item)
        ):
            window = item.get("window_id", item.get("windowId"))
            self.add_many(item["data"], window if isinstance(window, str) else "")
        else:
            self.add(item)


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


def _snapshots_into(collector: _Collector, container: dict[str, Any]) -> bool:
    """Read `snapshots` or `snapshot_data_by_window_id` from a PostHog object."""
    by_window = container.get("snapshot_data_by_window_id")
    if isinstance(by_window, dict):
        for window_id, events in by_window.items():
            if isinstance(events, list):
                collector.add_many(events, str(window_id))
            else:
                collector.skipped += 1
        return True
    snapshots = container.get("snapshots")
    if isinstance(snapshots, list):
        for item in snapshots:
            collector.add_entry(item)
        return True
    return False


def _read_document(
    path: Path, doc: Any, is_jsonl: bool, collector: _Collector
) -> tuple[str, dict[str, Any]]:
    """Fill `collector` from a parsed file; returns the format name and metadata found."""
    found: dict[str, Any] = {}
    if is_jsonl or isinstance(doc, list):
        for item in doc:
            collector.add_entry(item)
        return ("jsonl" if is_jsonl else "rrweb-array"), found
    if not isinstance(doc, dict):
        raise InvalidRecording(
            f"{path} has an unknown shape: expected an event array or an object,"
            f" got {_describe(doc)}"
        )
    if "rrweb_data" in doc:
        events = doc["rrweb_data"]
        if not isinstance(events, list):
            raise InvalidRecording(f"{path}: rrweb_data must be a list of rrweb events")
        collector.add_many(events)
        found["session_id"] = _string(doc.get("session_guid"))
        return "chalk", found
    data = doc.get("data")
    if "version" in doc and isinstance(data, dict):
        if doc["version"] != EXPORT_VERSION:
            raise InvalidRecording(
                f"{path}: unsupported PostHog export version {doc['version']!r}"
                f" (supported: {EXPORT_VERSION})"
            )
        if not _snapshots_into(collector, data):
            raise InvalidRecording(f"{path}: PostHog export has no data.snapshots list")
        found["session_id"] = _string(data.get("id"))
        found["distinct_id"] = _first_distinct_id(data.get("person"))
        found["start_time"] = _string(data.get("start_time"))
        return "posthog-export", found
    result = doc.get("result")
    if isinstance(result, dict) and _snapshots_into(collector, result):
        found["distinct_id"] = _first_distinct_id(result.get("person"))
        found["start_time"] = _string(result.get("start_time"))
        found["session_id"] = _string(result.get("session_id")) or _string(result.get("id"))
        return "posthog-api", found
    if _snapshots_into(collector, doc):
        found["session_id"] = _string(doc.get("session_id"))
        found["distinct_id"] = _first_distinct_id(doc.get("person"))
        return "posthog-api", found
    if "type" in doc and "timestamp" in doc:
        collector.add_entry(doc)
        return "rrweb-event", found
    raise InvalidRecording(
        f"{path} has an unknown shape: {_describe(doc)}; expected an rrweb event array,"
        " JSONL of [windowId, event] lines, a PostHog export (version 2023-04-28),"
        " {result: {snapshots}}, {snapshot_data_by_window_id} or {session_guid, rrweb_data}"
    )


def load_recording_file(path: Path, session_id: str | None = None) -> Recording:
    """Read one recording file in any supported shape, gzipped or not.

    The session id comes from the file when it names one, else `session_id`, else the
    file name. Events are sorted stably by timestamp; malformed events are skipped and
    counted in `metadata["skipped_events"]`.
    """
    path = Path(path)
    doc, is_jsonl = _parse(path, _read_text(path))
    collector = _Collector()
    file_format, found = _read_document(path, doc, is_jsonl, collector)
    if not collector.events:
        if collector.skipped:
            raise InvalidRecording(
                f"{path} has no usable rrweb events: none of its {collector.skipped} entries"
                " has an integer type and a numeric timestamp"
            )
        raise InvalidRecording(f"{path} contains no events")
    collector.events.sort(key=lambda event: event.timestamp)
    return Recording(
        session_id=found.get("session_id") or session_id or _stem(path),
        events=collector.events,
        distinct_id=found.get("distinct_id"),
        start_time=found.get("start_time"),
        metadata={
            "format": file_format,
            "path": str(path),
            "skipped_events": collector.skipped,
        },
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


class DirectorySource:
    """A folder of recording files, looked up by file name or by the id inside each file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._index: dict[str, Path] | None = None
        self._index_stamp: int | None = None

    def __repr__(self) -> str:
        return f"DirectorySource({str(self.root)!r})"

    def _files(self) -> Iterator[Path]:
        for path in sorted(self.root.iterdir()):
            if path.is_file() and path.name.endswith(SUFFIXES):
                yield path

    def _stamp(self) -> int | None:
        try:
            return self.root.stat().st_mtime_ns
        except OSError:
            return None

    def _session_index(self, fresh: bool = False) -> dict[str, Path]:
        """Session id -> file, rebuilt when the directory changes (or when asked to)."""
        stamp = self._stamp()
        if not fresh and self._index is not None and stamp == self._index_stamp:
            return self._index
        index: dict[str, Path] = {}
        if stamp is not None:
            for path in self._files():
                # The id `load_recording_file` will report: the embedded one, else the name.
                index.setdefault(peek_session_id(path) or _stem(path), path)
        self._index, self._index_stamp = index, stamp
        return index

    def list_sessions(self) -> list[str]:
        """Every session id this directory can load, sorted."""
        if not self.root.is_dir():
            raise RecordingNotFound(f"recordings directory {self.root} does not exist")
        return sorted(self._session_index())

    def load(self, session_id: str) -> Recording:
        check_session_id(session_id)
        if not self.root.is_dir():
            raise RecordingNotFound(
                f"recording {session_id} not found: directory {self.root} does not exist"
            )
        for suffix in SUFFIXES:
            candidate = self.root / f"{session_id}{suffix}"
            if candidate.is_file():
                return load_recording_file(candidate, session_id)
        path = self._session_index().get(session_id)
        if path is None and self._index_stamp is not None:
            # mtime granularity can hide a file written a moment ago; look again on a miss.
            path = self._session_index(fresh=True).get(session_id)
        if path is not None:
            return load_recording_file(path, session_id)
        names = ", ".join(f"{session_id}{suffix}" for suffix in SUFFIXES)
        raise RecordingNotFound(
            f"recording {session_id} not found in {self.root} (looked for {names}, and for"
            " files that declare this session id)"
        )
