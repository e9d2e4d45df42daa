"""A snapshot answer read as it streams in: lines out of byte chunks, then the rrweb
events out of each line, in whichever of PostHog's line shapes it comes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from recap.recording.decode import DecodedTooLarge, SizeMeter, parse_event
from recap.recording.models import RawEvent, ReadStats


def split_lines(chunks: Iterable[bytes], max_line: int | None) -> Iterator[tuple[bytes, bool]]:
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


def events_of(item: Any, meter: SizeMeter, stats: ReadStats) -> Iterator[RawEvent]:
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
