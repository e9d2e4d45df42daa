"""Render a `Timeline` as the compact text the model reads, one event per line.

Page text, URLs and input values come from the recorded site and are untrusted: every
such value is quoted or percent-encoded so it can never start a new line or forge a ref.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Protocol

from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineStats

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def format_clock(ms: int) -> str:
    """`mm:ss` below an hour, `h:mm:ss` from there on."""
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_duration(ms: int) -> str:
    """`45s`, `3m 05s`, `1h 32m`: for idle gaps and the session length."""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def quote_value(text: str) -> str:
    """A JSON string literal, so quotes, backslashes and newlines are escaped."""
    return json.dumps(text, ensure_ascii=False)


def _one_line(text: str) -> str:
    """Defence in depth for fields built from page text elsewhere (targets, effects)."""
    return _LINE_BREAKS.sub(lambda m: json.dumps(m.group(0))[1:-1], text)


def _bare(text: str) -> str:
    """An unquoted token (URLs, ids): whitespace and control characters percent-encoded."""
    return _SPACE_OR_CONTROL.sub(lambda m: f"%{ord(m.group(0)):02X}", text)


class RenderedEvent(Protocol):
    """What a line is rendered from: a `TimelineEvent`, or the budget's lighter copy."""

    @property
    def ref(self) -> str: ...
    @property
    def t_ms(self) -> int: ...
    @property
    def window(self) -> str: ...
    @property
    def kind(self) -> EventKind: ...
    @property
    def target(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...
    @property
    def flags(self) -> Sequence[str]: ...
    @property
    def effect(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def duration_ms(self) -> int | None: ...
    @property
    def react_ms(self) -> int | None: ...
    @property
    def count(self) -> int: ...


REACT_SHOWN_MS: Final = 500
"""Quick reactions are the norm; only slower ones are worth the tokens."""
# Values that code writes (scroll depth, sizes, statuses, gap reasons), never page text.
_CODE_VALUE_KINDS: Final = frozenset(
    {EventKind.SCROLL, EventKind.RESIZE, EventKind.MEDIA, EventKind.NETWORK_ERROR, EventKind.GAP}
)


def render_event(event: RenderedEvent, show_window: bool = True, origin: str | None = None) -> str:
    """One line: `e12 00:41 click button[pay] "Pay $10!" [slow] -> navigated to /demo/3`.

    The window label is left out when the session has only one; a navigation within
    `origin` (the scheme and host of the page before) shows only its path.
    """
    parts = [event.ref, format_clock(event.t_ms)]
    if show_window:
        parts.append(event.window)
    parts.append(event.kind.value)
    if event.kind is EventKind.NAVIGATION:
        url = event.url or "?"
        if origin and url.startswith(origin + "/"):
            url = url[len(origin) :]
        parts.append(_bare(url))
    elif event.kind in (EventKind.IDLE, EventKind.GAP):
        parts.append(format_duration(event.duration_ms or 0))
    if event.target:
        parts.append(_one_line(event.target))
    if event.value is not None:
        if event.kind in _CODE_VALUE_KINDS:
            parts.append(_one_line(event.value))
        else:
            if event.kind is EventKind.INPUT:
                parts.append("=")
            parts.append(quote_value(event.value))
    if event.kind is EventKind.NETWORK_ERROR and event.duration_ms is not None:
        parts.append(f"{event.duration_ms}ms")
    if event.count > 1:
        parts.append(f"x{event.count}")
    if event.flags:
        parts.append(f"[{','.join(_one_line(flag) for flag in event.flags)}]")
    if event.effect:
        parts.append(f"-> {_one_line(event.effect)}")
    if event.react_ms is not None and event.react_ms >= REACT_SHOWN_MS:
        parts.append(f"({event.react_ms}ms)")
    return " ".join(parts)


def render_header(timeline: Timeline) -> list[str]:
    return render_header_lines(timeline.session, timeline.stats)


def render_header_lines(session: SessionInfo, stats: TimelineStats) -> list[str]:
    """The header: what the session was and what the timeline counts (or left out)."""
    duration = f"duration {format_duration(session.duration_ms)}"
    duration += f", active {format_duration(session.active_ms)}"
    if session.blind_ms:
        duration += f", unseen {format_duration(session.blind_ms)}"
    if session.windows > 1:
        duration += f", windows {session.windows}"
    counts = {
        "navigations": stats.navigations,
        "clicks": stats.clicks,
        "inputs": stats.inputs,
        "console_errors": stats.console_errors,
        "exceptions": stats.exceptions,
        "network_errors": stats.network_errors,
        "rage": stats.rage_clicks,
        "dead": stats.dead_clicks,
        "slow": stats.slow_clicks,
    }
    lines = [
        f"session {_bare(session.session_id)}",
        f"start_url {_bare(session.start_url) if session.start_url else 'unknown'}",
        duration,
        "counts " + ", ".join(f"{name} {value}" for name, value in counts.items() if value),
    ]
    if stats.truncated_events:
        dropped = ", ".join(f"{count} {kind}" for kind, count in stats.dropped.items())
        lines.append(
            f"omitted {stats.truncated_events} events to fit the budget ({dropped});"
            " refs keep their numbers"
        )
    return lines


def render_timeline(timeline: Timeline) -> str:
    """The full text: header lines, a blank line, then one line per event."""
    return render_text(timeline.session, timeline.stats, timeline.events)


def render_text(session: SessionInfo, stats: TimelineStats, events: Iterable[RenderedEvent]) -> str:
    """`render_timeline` for a timeline given as its parts."""
    return "\n".join(render_lines(session, stats, events))


def render_lines(
    session: SessionInfo, stats: TimelineStats, events: Iterable[RenderedEvent]
) -> Iterator[str]:
    """`render_text`'s lines, one at a time: the header, a blank line, then the events."""
    yield from render_header_lines(session, stats)
    yield ""
    show_window = session.windows > 1
    origins: dict[str, str] = {}
    for event in events:
        yield render_event(event, show_window, origins.get(event.window))
        if event.kind is EventKind.NAVIGATION and event.url:
            origins[event.window] = origin_of(event.url)


def origin_of(url: str) -> str:
    """`https://shop.example` of `https://shop.example/cart?x=1`; "" when there is none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0].split('#', 1)[0]}"
