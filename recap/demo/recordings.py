"""Write simulated sessions in every file shape recap reads, from one stream of events.

The same events can become PostHog's blob v2 JSONL (`[windowId, event]` per line), the
older v1 blob lines (`{"window_id", "data": [events]}`), a bare rrweb array or PostHog's
export JSON, each optionally with posthog-js's `cv: "2024-10"` compression. Writers
stream, so a recording of hundreds of megabytes never sits in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson

from recap.demo.generator import DEFAULT_START_MS, SimulatedBrowser, uuid7
from recap.demo.groundtruth import GroundTruth, TruthLog
from recap.demo.journeys import play_ground_truth_journey
from recap.recording.decode import COMPRESSION_VERSION, compress_event
from recap.recording.models import EXPORT_VERSION

Json = dict[str, Any]
RecordingFormat = Literal["blob_v2", "v1", "rrweb", "export"]

FORMATS: Final[tuple[RecordingFormat, ...]] = ("blob_v2", "v1", "rrweb", "export")
SUFFIXES: Final[dict[RecordingFormat, str]] = {
    "blob_v2": ".jsonl",
    "v1": ".jsonl",
    "rrweb": ".json",
    "export": ".json",
}
V1_EVENTS_PER_LINE: Final = 40
"""posthog-js flushes its buffer every couple of seconds; v1 lines hold one flush each."""


def compress(event: Json) -> Json:
    """`compress_event`, with the gzip header's timestamp zeroed so output is reproducible.

    `gzip.compress` stamps the current time into bytes 4-8 of every member; posthog-js
    (fflate) writes zero there too.
    """
    packed = compress_event(event)
    if packed.get("cv") != COMPRESSION_VERSION:
        return packed
    data = packed["data"]
    if isinstance(data, str):
        return {**packed, "data": _zero_mtime(data)}
    fixed = {
        name: _zero_mtime(value) if isinstance(value, str) else value
        for name, value in data.items()
    }
    return {**packed, "data": fixed}


def _zero_mtime(member: str) -> str:
    return member[:4] + "\x00\x00\x00\x00" + member[8:]


class RecordingWriter:
    """Streams events into one file of the chosen format and counts the bytes written."""

    def __init__(
        self,
        handle: IO[bytes],
        fmt: RecordingFormat,
        *,
        compressed: bool = False,
        session_id: str = "",
        person: Json | None = None,
    ) -> None:
        self._handle = handle
        self.format: RecordingFormat = fmt
        self.compressed = compressed
        self.written = 0
        self.events = 0
        self._first = True
        self._batch: list[Json] = []
        self._batch_window = ""
        if fmt == "rrweb":
            self._write(b"[\n")
        elif fmt == "export":
            head = {"version": EXPORT_VERSION, "data": {"id": session_id, "person": person or {}}}
            opening = orjson.dumps(head)[:-2]  # drop the closing braces, snapshots follow
            self._write(opening + b',"snapshots":[\n')

    def write(self, event: Json) -> None:
        self.events += 1
        if self.compressed:
            event = compress(event)
        if self.format in ("rrweb", "export"):
            self._write((b"" if self._first else b",\n") + orjson.dumps(event))
            self._first = False
            return
        window_id = event["windowId"]
        bare = {name: value for name, value in event.items() if name != "windowId"}
        if self.format == "blob_v2":
            self._write(orjson.dumps([window_id, bare]) + b"\n")
            return
        if self._batch and (
            window_id != self._batch_window or len(self._batch) >= V1_EVENTS_PER_LINE
        ):
            self._flush_batch()
        self._batch_window = window_id
        self._batch.append(bare)

    def close(self) -> None:
        if self.format == "v1":
            self._flush_batch()
        elif self.format == "rrweb":
            self._write(b"\n]\n")
        elif self.format == "export":
            self._write(b"\n]}}\n")
        self._handle.flush()

    def _flush_batch(self) -> None:
        if self._batch:
            line = {"window_id": self._batch_window, "data": self._batch}
            self._write(orjson.dumps(line) + b"\n")
            self._batch = []

    def _write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.written += len(chunk)


def write_events(
    path: Path,
    events: Iterable[Json],
    fmt: RecordingFormat,
    *,
    compressed: bool = False,
    session_id: str = "",
    person: Json | None = None,
) -> int:
    """Write `events` to `path` in `fmt`; returns the number of bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer = RecordingWriter(
            handle, fmt, compressed=compressed, session_id=session_id, person=person
        )
        for event in events:
            writer.write(event)
        writer.close()
        return writer.written


@dataclass(frozen=True)
class GeneratedSession:
    """A simulated session: its rrweb events (plain, with windowId) and what happened."""

    session_id: str
    person: Json
    events: list[Json]
    truth: GroundTruth

    def write(self, path: Path, fmt: RecordingFormat, *, compressed: bool = False) -> Path:
        write_events(
            path,
            self.events,
            fmt,
            compressed=compressed,
            session_id=self.session_id,
            person=self.person,
        )
        return path

    def write_as(self, directory: Path, fmt: RecordingFormat, *, compressed: bool = False) -> Path:
        """`{directory}/{session_id}.json[l]`: the file name is the session id, as recap
        reads it for JSONL and bare arrays."""
        path = directory / f"{self.session_id}{SUFFIXES[fmt]}"
        return self.write(path, fmt, compressed=compressed)


def person_for(rng: random.Random, start_ms: int, distinct_id: str | None = None) -> Json:
    """A PostHog person as the export carries it; anonymous unless `distinct_id` is given."""
    first_seen = start_ms - rng.randint(86_400_000, 30 * 86_400_000)
    anonymous = uuid7(first_seen, rng)
    ids = [anonymous] if distinct_id is None else [anonymous, distinct_id]
    return {
        "uuid": uuid7(first_seen + 1, rng),
        "name": distinct_id or anonymous,
        "distinct_id": ids[-1],
        "distinct_ids": ids,
        "properties": {"$browser": "Chrome", "$os": "Mac OS X", "$device_type": "Desktop"},
        "is_identified": distinct_id is not None,
    }


def generate_ground_truth_session(
    seed: int = 0, *, start_ms: int = DEFAULT_START_MS
) -> GeneratedSession:
    """The two-tab journey with every signal placed once, and its ground truth."""
    rng = random.Random(f"recap-ground-truth:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms, "jane.doe@example.com")
    browser = SimulatedBrowser(rng, start_ms, truth=TruthLog())
    play_ground_truth_journey(browser)
    end_ms = browser.events[-1]["timestamp"] if browser.events else start_ms
    truth = browser.truth.finish(session_id, start_ms, end_ms)
    return GeneratedSession(session_id, person, browser.events, truth)
