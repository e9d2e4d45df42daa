"""Render a `Timeline` as the compact text the model reads, one event per line.

Page text, URLs and input values come from the recorded site and are untrusted: every
such value is quoted or percent-encoded so it can never start a new line or forge a ref.
"""

from __future__ import annotations

import json
import re
from typing import Final

from recap.timeline.models import EventKind, Timeline, TimelineEvent

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")

_KIND_WORDS: Final = {
    EventKind.NAVIGATION: "navigation",
    EventKind.CLICK: "click",
    EventKind.INPUT: "input",
    EventKind.IDLE: "idle",
    EventKind.CONSOLE_ERROR: "console_error",
    EventKind.NETWORK_ERROR: "network_error",
    EventKind.CUSTOM: "custom",
}


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


def render_event(event: TimelineEvent) -> str:
    """One line: `e12 00:41 w1 click button "Pay $10!" -> navigated to /demo/3`."""
    parts = [event.ref, format_clock(event.t_ms), event.window, _KIND_WORDS[event.kind]]
    if event.kind is EventKind.NAVIGATION:
        parts.append(_bare(event.url or "?"))
    elif event.kind is EventKind.IDLE:
        parts.append(format_duration(event.duration_ms or 0))
    if event.target:
        parts.append(_one_line(event.target))
    if event.value is not None:
        if event.kind is EventKind.INPUT or event.kind is EventKind.NETWORK_ERROR:
            parts.append("=")
        parts.append(quote_value(event.value))
    if event.flags:
        parts.append(f"[{', '.join(_one_line(flag) for flag in event.flags)}]")
    if event.effect:
        parts.append(f"-> {_one_line(event.effect)}")
    return " ".join(parts)


def render_header(timeline: Timeline) -> list[str]:
    session, stats = timeline.session, timeline.stats
    lines = [
        f"session {_bare(session.session_id)}",
        f"start_url {_bare(session.start_url) if session.start_url else 'unknown'}",
        f"duration {format_duration(session.duration_ms)} ({format_clock(session.duration_ms)})"
        f", windows {session.windows}",
        f"events {len(timeline.events)}: navigations {stats.navigations}, clicks {stats.clicks}"
        f", inputs {stats.inputs}, idle {stats.idle_gaps}, console_errors {stats.console_errors}"
        f", network_errors {stats.network_errors}",
    ]
    if stats.truncated_events:
        lines.append(
            f"omitted {stats.truncated_events} low-priority events to fit the budget"
            " (refs keep their numbers)"
        )
    return lines


def render_timeline(timeline: Timeline) -> str:
    """The full text: header lines, a blank line, then one line per event."""
    lines = render_header(timeline)
    lines.append("")
    lines.extend(render_event(event) for event in timeline.events)
    return "\n".join(lines)
