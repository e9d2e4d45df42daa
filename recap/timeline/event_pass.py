"""The one streaming pass over a recording: rrweb events, put back in timestamp order
through a short buffer, are dispatched by type and source to the handlers that turn them
into drafts (`clicks`, `inputs`, `viewing`, `navigation`, `gaps`, `page_errors`, `effects`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any, Final

from recap.recording import rrweb as rr
from recap.recording.models import RawEvent
from recap.timeline.clicks import on_click
from recap.timeline.effects import close_watches, on_mutation
from recap.timeline.gaps import on_offline, on_online, on_recording_paused, on_recording_resumed
from recap.timeline.inputs import flush_bursts, on_blur, on_focus, on_input
from recap.timeline.models import EventKind
from recap.timeline.navigation import navigate, on_meta, on_snapshot
from recap.timeline.page_errors import on_console, on_exception, on_network, requests_of
from recap.timeline.page_text import clip, collapse
from recap.timeline.pass_state import PassState, WindowState
from recap.timeline.redact import redact_text
from recap.timeline.viewing import on_media, on_resize, on_scroll, on_selection

REORDER_MS: Final = 5_000
"""Events up to this much older than the newest one are put back in order."""
SETTLE_EVERY: Final = 1024
"""Events read between two looks at what can be settled."""

# Incremental sources that only the page (not the user) produces.
_PASSIVE_SOURCES: Final = frozenset(
    {
        rr.MUTATION, rr.STYLE_SHEET_RULE, rr.CANVAS_MUTATION, rr.FONT, rr.LOG,
        rr.STYLE_DECLARATION, rr.ADOPTED_STYLE_SHEET, rr.CUSTOM_ELEMENT,
    }
)  # fmt: skip
_KNOWN_SOURCES: Final = frozenset(range(17))
_NAVIGATION_TAGS: Final = frozenset({"$pageview", "$url_changed"})
_CONSOLE_PLUGIN: Final = "rrweb/console@1"
_NETWORK_PLUGINS: Final = frozenset({"rrweb/network@1", "posthog/network@1"})


def read_events(state: PassState, events: Iterable[RawEvent]) -> tuple[int, int, int]:
    """Run the pass over `events`; return how many there were and the first and last
    timestamps (0 and 0 when there were none)."""
    seen: list[int] = [0, 0, 0]
    ordered = _in_order(events, seen)
    first_event = next(ordered, None)
    if first_event is not None:
        # Silence from the first recorded moment counts too (a tab opened, then ignored).
        state.last_activity = state.origin = first_event.timestamp
        _dispatch(state, chain((first_event,), ordered))
    count, first_ts, last_ts = seen
    return count, first_ts, last_ts


def _dispatch(state: PassState, events: Iterable[RawEvent]) -> None:
    countdown = SETTLE_EVERY
    for event in events:
        win = state.window(event.window_id)
        ts = event.timestamp
        countdown -= 1
        if not countdown:
            countdown = SETTLE_EVERY
            state.settle(ts)
        if win.first_ts is None:
            win.first_ts = ts
        close_watches(win, ts)
        event_type = event.type
        data = event.data
        if event_type == rr.INCREMENTAL_SNAPSHOT:
            if not isinstance(data, dict):
                state.skipped["malformed_event"] += 1
                continue
            _incremental(state, ts, win, data)
        elif event_type == rr.META:
            state.activity(ts, win)
            if isinstance(data, dict):
                on_meta(state, ts, win, data)
        elif event_type == rr.FULL_SNAPSHOT:
            on_snapshot(state, ts, win, data)
        elif event_type in (rr.DOM_CONTENT_LOADED, rr.LOAD):
            win.loading = True
        elif event_type == rr.CUSTOM:
            if isinstance(data, dict):
                _custom(state, ts, win, data)
            else:
                state.skipped["malformed_event"] += 1
        elif event_type == rr.PLUGIN:
            if isinstance(data, dict):
                _plugin(state, ts, win, data)
            else:
                state.skipped["malformed_event"] += 1
        else:
            state.skipped["unknown_type"] += 1
    for win in state.windows.values():
        flush_bursts(state, win)
        close_watches(win, None)


def _incremental(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    source = data.get("source")
    if type(source) is not int or source not in _KNOWN_SOURCES:
        state.skipped["unknown_source"] += 1
        return
    if source not in _PASSIVE_SOURCES:
        state.activity(ts, win)
    if source == rr.MUTATION:
        on_mutation(state, ts, win, data)
    elif source == rr.MOUSE_INTERACTION:
        _mouse(state, ts, win, data)
    elif source == rr.INPUT:
        on_input(state, ts, win, data)
    elif source == rr.SCROLL:
        on_scroll(state, ts, win, data)
    elif source == rr.VIEWPORT_RESIZE:
        on_resize(state, ts, win, data)
    elif source == rr.SELECTION:
        on_selection(state, ts, win, data)
    elif source == rr.MEDIA_INTERACTION:
        on_media(state, ts, win, data)
    elif source == rr.LOG:
        on_console(state, ts, win, data)
    # Mouse and touch moves and drags only say that a person is there (activity).


def _mouse(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    kind = data.get("type")
    if kind == rr.CLICK:
        on_click(state, ts, win, data, double=False)
    elif kind == rr.DBL_CLICK:
        on_click(state, ts, win, data, double=True)
    elif kind == rr.CONTEXT_MENU:
        on_click(state, ts, win, data, double=False, context=True)
    elif kind == rr.FOCUS:
        on_focus(state, win, data.get("id"))
    elif kind == rr.BLUR:
        on_blur(state, win, data.get("id"))


def _custom(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    tag = data.get("tag")
    tag = tag if isinstance(tag, str) else None
    payload = data.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    if tag in _NAVIGATION_TAGS:
        navigate(state, ts, win, payload.get("href") or payload.get("$current_url"))
    elif tag == "$exception":
        on_exception(state, ts, win, payload)
    elif tag == "recording paused":
        on_recording_paused(state, ts, win)
    elif tag == "recording resumed":
        on_recording_resumed(state, ts)
    elif tag == "browser offline":
        on_offline(state, ts, win)
    elif tag == "browser online":
        on_online(state, ts)
    elif tag in ("sessionIdle", "sessionNoLongerIdle"):
        return  # PostHog's own idle bookkeeping; idle gaps come from the events
    elif isinstance(tag, str) and tag and not tag.startswith("$"):
        # Events the site itself added with rrweb's addCustomEvent; PostHog's own
        # `$…` bookkeeping events say nothing about the user.
        state.emit(ts, win, EventKind.CUSTOM, target=clip(redact_text(collapse(tag))))


def _plugin(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    name = data.get("plugin")
    name = name if isinstance(name, str) else None
    payload = data.get("payload")
    if name == _CONSOLE_PLUGIN and isinstance(payload, dict):
        on_console(state, ts, win, payload)
    elif name in _NETWORK_PLUGINS:
        for request in requests_of(payload):
            on_network(state, ts, win, request)
    else:
        state.skipped["unknown_plugin"] += 1


def _in_order(events: Iterable[RawEvent], seen: list[int]) -> Iterator[RawEvent]:
    """Events sorted by timestamp through a bounded buffer (recordings are nearly sorted).

    `seen` collects [count, first, last] as a side effect.
    """
    heap: list[tuple[int, int, RawEvent]] = []
    newest: int | None = None
    count = 0
    first: int | None = None
    for event in events:
        ts = event.timestamp
        heapq.heappush(heap, (ts, count, event))
        count += 1
        first = ts if first is None or ts < first else first
        newest = ts if newest is None or ts > newest else newest
        while heap and heap[0][0] <= newest - REORDER_MS:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]
    seen[:] = [count, first if first is not None else 0, newest if newest is not None else 0]
