"""Turn raw rrweb event objects into `RawEvent`s, undoing PostHog's `cv: "2024-10"` compression.

posthog-js gzips large FullSnapshot payloads and mutation lists and stores the bytes as
latin-1 strings; everything downstream expects the plain rrweb shapes, so they are
expanded here (and lazily again in the compiler, for events another source built).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any, Final, NoReturn

import orjson

from recap.recording.models import RawEvent
from recap.recording.rrweb import FULL_SNAPSHOT, INCREMENTAL_SNAPSHOT, MUTATION, STYLE_SHEET_RULE

COMPRESSION_VERSION: Final = "2024-10"
MUTATION_FIELDS: Final[tuple[str, ...]] = ("texts", "attributes", "removes", "adds")
STYLE_SHEET_FIELDS: Final[tuple[str, ...]] = ("adds", "removes")


class DecodeError(ValueError):
    """A compressed field could not be expanded."""


class DecodedTooLarge(ValueError):
    """The recording decodes to more bytes than the configured bound."""


class SizeMeter:
    """Counts decoded bytes (lines read, fields decompressed) against a bound."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.used = 0

    def add(self, size: int) -> None:
        self.used += size
        if self.limit is not None and self.used > self.limit:
            self.overflow()

    def overflow(self) -> NoReturn:
        """Raise for bytes that would pass the bound (they are never produced)."""
        raise DecodedTooLarge(
            f"the recording decodes to more than {(self.limit or 0) // (1024 * 1024)} MiB"
            " (RECAP_TIMELINE__MAX_DECODED_BYTES)"
        )

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


# A field expanded without a meter (an event another source built) is still bounded.
UNMETERED_FIELD_BYTES: Final = 512 * 1024 * 1024
GZIP_WBITS: Final = 31
# A gzip or a zlib header, detected: HTTP servers label deflate loosely.
GZIP_OR_ZLIB_WBITS: Final = 47
_PIECE_BYTES: Final = 1024 * 1024
_MIB: Final = 1024 * 1024


class BoundedInflater:
    """Compressed bytes in, their content out in pieces of at most 1 MiB, stopping with
    `DecodedTooLarge` as soon as the content would pass `limit`: a few KB can expand to
    gigabytes, so the memory is never spent. Recording fields, PostHog's answers and model
    answers all inflate through it."""

    def __init__(
        self,
        limit: int | None,
        *,
        wbits: int = GZIP_WBITS,
        what: str = "the data",
        bound: str | None = None,
    ) -> None:
        self._inflater = zlib.decompressobj(wbits=wbits)
        self.limit = limit
        self.produced = 0
        self._what = what
        self._bound = bound

    @property
    def eof(self) -> bool:
        return self._inflater.eof

    @property
    def unused_data(self) -> bytes:
        return self._inflater.unused_data

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending and not self._inflater.eof:
            room = (
                _PIECE_BYTES
                if self.limit is None
                else min(_PIECE_BYTES, self.limit - self.produced + 1)
            )
            piece = self._inflater.decompress(pending, room)
            self.produced += len(piece)
            if self.limit is not None and self.produced > self.limit:
                bound = f" ({self._bound})" if self._bound else ""
                raise DecodedTooLarge(
                    f"{self._what} decodes to more than {self.limit // _MIB} MiB{bound}"
                )
            yield piece
            pending = self._inflater.unconsumed_tail


def gunzip_bounded(data: bytes, limit: int) -> bytes | None:
    """The gzip stream's bytes, or None as soon as they would pass `limit`.

    Like `gzip.decompress`, it reads concatenated members and raises `EOFError` for a stream
    cut short and `zlib.error` for one that is not gzip."""
    # The common case in one call: one member, within the limit. zlib grows its output as
    # it goes and stops at `limit + 1` bytes, so a bomb costs no more memory here than below.
    head = zlib.decompressobj(wbits=GZIP_WBITS)
    first = head.decompress(data, limit + 1)
    if len(first) > limit:
        return None
    if not head.eof:
        raise EOFError("compressed data ended before the end-of-stream marker")
    rest = head.unused_data
    if not rest.strip(b"\0"):
        return first
    parts = [first]
    produced = len(first)
    data = rest
    while True:
        inflater = BoundedInflater(limit - produced)
        try:
            parts.extend(inflater.feed(data))
        except DecodedTooLarge:
            return None
        if not inflater.eof:
            raise EOFError("compressed data ended before the end-of-stream marker")
        produced += inflater.produced
        data = inflater.unused_data
        if not data.strip(b"\0"):  # gzip allows trailing zero padding
            return b"".join(parts)


def decompress_field(value: Any, meter: SizeMeter | None = None) -> Any:
    """Expand one posthog-js `gzipToString` value; values that are not strings pass through.

    The expansion stops at what the meter has left (`DecodedTooLarge`)."""
    if not isinstance(value, str):
        return value
    remaining = meter.remaining if meter is not None else None
    limit = UNMETERED_FIELD_BYTES if remaining is None else remaining
    try:
        raw = gunzip_bounded(value.encode("latin-1"), limit)
        if raw is None:
            if meter is not None:
                meter.overflow()
            raise DecodedTooLarge(
                f"a {COMPRESSION_VERSION} field expands to more than"
                f" {UNMETERED_FIELD_BYTES // (1024 * 1024)} MiB"
            )
        if meter is not None:
            meter.add(len(raw))
        return orjson.loads(raw)
    except (UnicodeError, OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
        raise DecodeError(f"cannot decompress {COMPRESSION_VERSION} field: {exc}") from exc


def expand_data(event_type: int, data: Any, meter: SizeMeter | None = None) -> Any:
    """Return `data` with any compressed parts expanded; a no-op for uncompressed events.

    Detection is by shape (a string where rrweb has an object or list), so it also works
    when the `cv` marker was lost on the way.
    """
    if event_type == FULL_SNAPSHOT:
        return decompress_field(data, meter) if isinstance(data, str) else data
    if event_type != INCREMENTAL_SNAPSHOT or not isinstance(data, dict):
        return data
    source = data.get("source")
    if source == MUTATION:
        fields = MUTATION_FIELDS
    elif source == STYLE_SHEET_RULE:
        fields = STYLE_SHEET_FIELDS
    else:
        return data
    expanded = None
    for name in fields:
        value = data.get(name)
        if isinstance(value, str):
            if expanded is None:
                expanded = dict(data)
            expanded[name] = decompress_field(value, meter)
    return data if expanded is None else expanded


def compress_field(value: Any) -> str:
    """The inverse of `decompress_field`, as posthog-js writes it (used by tests and demos)."""
    payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return gzip.compress(payload, mtime=0).decode("latin-1")


def compress_event(event: dict[str, Any]) -> dict[str, Any]:
    """Compress one rrweb event the way posthog-js does for FullSnapshots and mutations."""
    event_type = event.get("type")
    data = event.get("data")
    if event_type == FULL_SNAPSHOT:
        return {**event, "data": compress_field(data), "cv": COMPRESSION_VERSION}
    if event_type == INCREMENTAL_SNAPSHOT and isinstance(data, dict):
        source = data.get("source")
        fields = {MUTATION: MUTATION_FIELDS, STYLE_SHEET_RULE: STYLE_SHEET_FIELDS}.get(
            source if type(source) is int else -1
        )
        if fields is not None:
            packed = {**data, **{name: compress_field(data.get(name, [])) for name in fields}}
            return {**event, "data": packed, "cv": COMPRESSION_VERSION}
    return event


NOT_AN_EVENT: Final = "not_an_event"
BAD_COMPRESSION: Final = "bad_compression"


def parse_event(obj: Any, window_id: str = "", meter: SizeMeter | None = None) -> RawEvent | str:
    """A `RawEvent` from one decoded JSON value, or the reason it is not one.

    An event needs an integer `type` and a numeric `timestamp`; `windowId` (or `window_id`,
    `$window_id`) on the event wins over the `window_id` argument. Compressed fields are
    expanded here, counted by `meter`, which raises `DecodedTooLarge` past its bound.
    """
    if not isinstance(obj, dict):
        return NOT_AN_EVENT
    event_type = obj.get("type")
    timestamp = obj.get("timestamp")
    if type(event_type) is not int or isinstance(timestamp, bool):
        return NOT_AN_EVENT
    if not isinstance(timestamp, int | float) or timestamp != timestamp:  # NaN
        return NOT_AN_EVENT
    if abs(timestamp) > _MAX_TIMESTAMP:
        return NOT_AN_EVENT
    embedded = obj.get("windowId", obj.get("window_id", obj.get("$window_id")))
    if isinstance(embedded, str):
        window_id = embedded
    data = obj.get("data")
    if data is None:
        data = {}
    try:
        data = expand_data(event_type, data, meter)
    except DecodeError:
        return BAD_COMPRESSION
    return RawEvent(type=event_type, timestamp=int(timestamp), data=data, window_id=window_id)


_MAX_TIMESTAMP: Final = 10**15  # ms: year 33658; larger values are garbage


def to_raw_event(obj: Any, window_id: str = "") -> RawEvent | None:
    """`parse_event` for callers that only need to know whether it worked."""
    event = parse_event(obj, window_id)
    return event if isinstance(event, RawEvent) else None
