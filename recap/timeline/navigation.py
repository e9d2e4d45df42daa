"""Pages and documents: a Meta or a pageview moves a window to a URL (a navigation, or a
reload after a page load), and a FullSnapshot starts a new document in its mirror."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from recap.recording import rrweb as rr
from recap.recording.decode import DecodeError, expand_data
from recap.timeline.inputs import flush_bursts
from recap.timeline.models import EventKind, Flag
from recap.timeline.pass_state import PassState, WindowState
from recap.timeline.redact import redact_url

BLIND_MIN_MS: Final = 1_000
"""A recorder that waited this long for its first snapshot leaves a gap in the timeline."""


def on_meta(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    width, height = data.get("width"), data.get("height")
    if type(width) is int and type(height) is int:
        win.viewport = (width, height)
    navigate(state, ts, win, data.get("href"))


def navigate(state: PassState, ts: int, win: WindowState, href: Any) -> None:
    loading, win.loading = win.loading, False
    if not isinstance(href, str) or not href:
        return
    # The same URL again is a reload only after a page load event; otherwise it is a
    # repeated Meta (recorders restart, pageview events echo the current URL).
    if href == win.url and not loading:
        return
    flush_bursts(state, win)
    win.end_runs()
    previous = win.url
    win.url = href
    win.redacted_url = None
    url = redact_url(href)
    reload = href == previous
    state.changed(ts, win)
    state.emit(ts, win, EventKind.NAVIGATION, url=url, flags=[Flag.RELOAD] if reload else [])
    for watch in win.watches:
        if watch.first_change is None:
            watch.first_change = ts
        if reload:
            watch.reloaded = True
        elif watch.navigated_to is None:
            watch.navigated_to = relative_url(url, previous)


def on_snapshot(state: PassState, ts: int, win: WindowState, data: Any) -> None:
    state.activity(ts, win)
    try:
        data = expand_data(rr.FULL_SNAPSHOT, data)
    except DecodeError:
        state.skipped["bad_compression"] += 1
        return
    if not isinstance(data, dict) or not isinstance(data.get("node"), dict):
        state.skipped["malformed_event"] += 1
        return
    flush_bursts(state, win)
    if not win.snapshot_seen:
        win.snapshot_seen = True
        first = win.first_ts if win.first_ts is not None else ts
        if ts - first >= BLIND_MIN_MS:
            # The recorder ran before it could see the page.
            state.emit(first, win, EventKind.GAP, value="no snapshot yet", duration_ms=ts - first)
            state.blind_ms += ts - first
    win.focused = None
    # A new document: node ids start over, and so do the fields' known values.
    win.baselines.clear()
    win.recent_clicks.clear()
    win.documents += 1
    win.mirror.load_snapshot(data)
    state.changed(ts, win)


def relative_url(url: str, base: str | None) -> str:
    """`/demo/3` instead of `http://localhost:8000/demo/3` when the origin is unchanged."""
    if not base:
        return url
    try:
        target, origin = urlsplit(url), urlsplit(base)
    except ValueError:
        return url
    if target.scheme and (target.scheme, target.netloc) == (origin.scheme, origin.netloc):
        rest = url[len(f"{target.scheme}://{target.netloc}") :]
        return rest or "/"
    return url
