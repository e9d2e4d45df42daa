"""Compile a recording's raw rrweb events into a `Timeline` of citable, redacted facts.

One streaming pass over the events with a `DomMirror` per window labels clicks and
inputs and watches what changed after each action; `signals` then flags rage, dead,
slow and erroring actions from what the pass collected. Memory follows the timeline:
events are consumed as they arrive and only a short reorder buffer is kept.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from recap.core.config import TimelineConfig
from recap.recording import rrweb as rr
from recap.recording.decode import MUTATION_FIELDS, DecodeError, expand_data
from recap.recording.models import RawEvent, Recording
from recap.timeline.drafts import Draft, Request
from recap.timeline.mirror import DomMirror, FieldInfo, MutationSummary, clip, collapse, quoted
from recap.timeline.models import (
    EventKind,
    Flag,
    SessionInfo,
    Timeline,
    TimelineEvent,
    TimelineStats,
)
from recap.timeline.redact import redact_input_value, redact_text, redact_url
from recap.timeline.signals import apply_signals

DOUBLE_CLICK_MS: Final = 600
VALUE_MAX_CHARS: Final = 200
ERROR_MAX_CHARS: Final = 200
EFFECT_TEXT_CHARS: Final = 40
REORDER_MS: Final = 5_000
"""Events up to this much older than the newest one are put back in order."""
BLIND_MIN_MS: Final = 1_000
ERROR_SHOWN_MAX_TEXTS: Final = 3

# Incremental sources that only the page (not the user) produces.
_PASSIVE_SOURCES: Final = frozenset(
    {
        rr.MUTATION, rr.STYLE_SHEET_RULE, rr.CANVAS_MUTATION, rr.FONT, rr.LOG,
        rr.STYLE_DECLARATION, rr.ADOPTED_STYLE_SHEET, rr.CUSTOM_ELEMENT,
    }
)  # fmt: skip
_KNOWN_SOURCES: Final = frozenset(range(17))
_KNOWN_TYPES: Final = frozenset(range(7))
_NAVIGATION_TAGS: Final = frozenset({"$pageview", "$url_changed"})
_CONSOLE_PLUGIN: Final = "rrweb/console@1"
_NETWORK_PLUGINS: Final = frozenset({"rrweb/network@1", "posthog/network@1"})
_ERROR_LEVELS: Final = frozenset({"error", "assert"})
_CHECKABLE: Final = frozenset({"checkbox", "radio"})
_BUTTON_TYPES: Final = frozenset({"submit", "button", "reset", "image"})
_MEDIA_ACTIONS: Final = {0: "play", 1: "pause", 2: "seek", 3: "volume", 4: "rate"}
_ERROR_WORDS = re.compile(
    r"\b(error|errors|failed|failure|invalid|incorrect|unable|could ?n[o']t|can[n']?o?t|"
    r"denied|expired|declined|went wrong|try again|not found|unavailable|timed out|"
    r"problem|rejected|forbidden)\b",
    re.IGNORECASE,
)
# Requests that analytics and monitoring make on their own: never an effect of a click.
_TELEMETRY = re.compile(
    r"/(e|s|i/v0/e|decide|flags|batch|engage|capture|track|collect|rum|beacon)/?(\?|$)"
    r"|sentry|google-analytics|googletagmanager|segment\.(io|com)|hotjar|intercom"
    r"|posthog\.com|/ingest/",
    re.IGNORECASE,
)


@dataclass(slots=True)
class _Watch:
    """What changed in a window during the moments after one action."""

    draft: Draft
    deadline: int
    first_change: int | None = None
    navigated_to: str | None = None
    reloaded: bool = False
    added: int = 0
    removed: int = 0
    texts: int = 0
    attributes: int = 0
    added_texts: list[str] = field(default_factory=list)
    removed_texts: list[str] = field(default_factory=list)
    changed_text: str | None = None

    def feed(self, ts: int, summary: MutationSummary) -> None:
        if self.first_change is None and (summary.changed or summary.attributes):
            self.first_change = ts
        self.added += summary.added
        self.removed += summary.removed
        self.texts += summary.texts
        self.attributes += summary.attributes
        self.added_texts += summary.added_texts
        self.removed_texts += summary.removed_texts
        if self.changed_text is None and summary.changed_texts:
            self.changed_text = summary.changed_texts[0]


@dataclass(slots=True)
class _Burst:
    """Keystrokes into one field during one focus."""

    field_id: int
    target: str
    info: FieldInfo | None
    baseline: str | None
    value: str
    first_ts: int
    last_ts: int
    # Retyping a field to the value it had is still typing (a search run again).
    edited: bool = False


@dataclass(slots=True)
class _ScrollRun:
    draft: Draft
    start_y: int
    y: int
    max_y: int
    direction: int = 0
    reversals: int = 0


@dataclass(slots=True)
class _Window:
    label: str
    mirror: DomMirror = field(default_factory=DomMirror)
    url: str | None = None
    redacted_url: str | None = None
    focused: int | None = None
    bursts: dict[int, _Burst] = field(default_factory=dict)
    baselines: dict[int, str] = field(default_factory=dict)
    watches: list[_Watch] = field(default_factory=list)
    recent_clicks: list[tuple[Draft, int, int]] = field(default_factory=list)
    loading: bool = False  # a page load began and its Meta has not arrived yet
    snapshot_seen: bool = False
    documents: int = 0
    first_ts: int | None = None
    changes: list[int] = field(default_factory=list)
    scroll: _ScrollRun | None = None
    resize: Draft | None = None
    media: Draft | None = None
    viewport: tuple[int, int] | None = None


class _Compiler:
    def __init__(self, config: TimelineConfig) -> None:
        self.config = config
        # A reaction that keeps a click from being dead is also its effect.
        self.watch_ms = max(config.effect_window_ms, config.dead_click_ms)
        self.drafts: list[Draft] = []
        self.windows: dict[str, _Window] = {}
        self.requests: list[Request] = []
        self.unresolved = 0
        self.skipped: Counter[str] = Counter()
        self.last_activity: int | None = None
        self.last_activity_window = "w1"
        self.active_window: _Window | None = None
        self.paused_at: tuple[int, _Window] | None = None
        self.offline_at: tuple[int, _Window] | None = None
        self.idle_ms = 0
        self.blind_ms = 0
        self.max_scroll_y: int | None = None

    # -- plumbing ---------------------------------------------------------------------

    def window(self, window_id: str) -> _Window:
        win = self.windows.get(window_id)
        if win is None:
            win = _Window(label=f"w{len(self.windows) + 1}")
            self.windows[window_id] = win
        return win

    def emit(self, ts: int, win: _Window, kind: EventKind, **fields: Any) -> Draft:
        draft = Draft(ts=ts, seq=len(self.drafts), window=win.label, kind=kind, **fields)
        if draft.url is None and win.url is not None:
            if win.redacted_url is None:
                win.redacted_url = redact_url(win.url)
            draft.url = win.redacted_url
        self.drafts.append(draft)
        return draft

    def target_label(self, win: _Window, node_id: Any) -> str:
        label = win.mirror.label(node_id) if type(node_id) is int else None
        if label is None:
            self.unresolved += 1
            return f"element #{node_id}"
        return label

    def form_key(self, win: _Window, node_id: int) -> tuple[str, int, int] | None:
        """A form's identity: node ids restart with every document, so the document counts."""
        form = win.mirror.form_of(node_id)
        return None if form is None else (win.label, win.documents, form)

    def activity(self, ts: int, win: _Window) -> None:
        """A sign of a person at the keyboard: closes idle gaps and notices tab switches."""
        if self.paused_at is not None:
            return
        last = self.last_activity
        if last is not None and ts - last >= self.config.idle_gap_ms:
            self.drafts.append(
                Draft(
                    ts=last,
                    seq=len(self.drafts),
                    window=self.last_activity_window,
                    kind=EventKind.IDLE,
                    duration_ms=ts - last,
                )
            )
            self.idle_ms += ts - last
        self.last_activity = ts
        self.last_activity_window = win.label
        if self.active_window is not None and self.active_window is not win:
            self.end_runs(self.active_window)
            self.emit(ts, win, EventKind.TAB, target=f"to {win.label}")
        self.active_window = win

    def end_runs(self, win: _Window) -> None:
        """Scrolls, resizes and media events collapse into runs until something else."""
        win.scroll = None
        win.resize = None
        win.media = None

    # -- effects ----------------------------------------------------------------------

    def close_watches(self, win: _Window, now: int | None) -> None:
        if not win.watches:
            return
        still_open = []
        for watch in win.watches:
            if now is not None and watch.deadline >= now:
                still_open.append(watch)
            elif not watch.draft.dropped:
                _finish_watch(watch)
        win.watches = still_open

    def changed(self, ts: int, win: _Window) -> None:
        win.changes.append(ts)

    # -- inputs -----------------------------------------------------------------------

    def flush_bursts(self, win: _Window, only: int | None = None) -> None:
        for field_id in [only] if only is not None else list(win.bursts):
            burst = win.bursts.pop(field_id, None) if field_id is not None else None
            if burst is None:
                continue
            win.baselines[field_id] = burst.value
            if not burst.edited:
                continue
            info = burst.info
            value = redact_input_value(
                burst.value,
                info.attrs if info is not None else None,
                info.label if info is not None else None,
            )
            draft = self.emit(
                burst.last_ts,
                win,
                EventKind.INPUT,
                target=burst.target,
                value=clip(value, VALUE_MAX_CHARS),
                node_id=field_id,
                duration_ms=burst.last_ts - burst.first_ts or None,
                form_id=self.form_key(win, field_id),
                field_name=_field_name(info),
            )
            if value == "***":
                draft.flag(Flag.MASKED)

    def on_input(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        field_id = data.get("id")
        if type(field_id) is not int:
            self.skipped["malformed_input"] += 1
            return
        text = data.get("text")
        text = text if isinstance(text, str) else ""
        burst = win.bursts.get(field_id)
        if burst is not None:
            # The common case, a keystroke into the field being typed in: no lookups.
            if text != burst.baseline:
                burst.edited = True
            burst.value = text
            burst.last_ts = ts
            return
        info = win.mirror.field(field_id)
        if info is not None and info.input_type in _CHECKABLE:
            checked = data.get("isChecked") is True
            if info.input_type == "radio" and not checked:
                return  # rrweb also reports the radios a click unchecked
            for click, _, _ in win.recent_clicks:
                # The toggle says more than the click that caused it; keep one event.
                if click.node_id == field_id and ts - click.ts <= DOUBLE_CLICK_MS:
                    click.dropped = True
            self.changed(ts, win)
            self.emit(
                ts,
                win,
                EventKind.INPUT,
                target=self.target_label(win, field_id),
                value="checked" if checked else "unchecked",
                node_id=field_id,
                form_id=self.form_key(win, field_id),
                field_name=_field_name(info),
            )
            return
        if win.focused is not None and win.focused != field_id:
            # Scripts set values of fields the user is not in; that is a new baseline,
            # not something the user typed.
            win.baselines[field_id] = text
            return
        baseline = win.baselines.get(field_id)
        if baseline is None and info is not None:
            initial = info.attrs.get("value")
            baseline = initial if isinstance(initial, str) else None
        win.bursts[field_id] = _Burst(
            field_id=field_id,
            target=self.target_label(win, field_id),
            info=info,
            baseline=baseline,
            value=text,
            first_ts=ts,
            last_ts=ts,
            edited=text != baseline,
        )

    # -- clicks -----------------------------------------------------------------------

    def on_click(
        self, ts: int, win: _Window, data: dict[str, Any], double: bool, context: bool = False
    ) -> None:
        node_id = data.get("id")
        x, y = data.get("x"), data.get("y")
        px = x if isinstance(x, int | float) else None
        py = y if isinstance(y, int | float) else None
        if double:
            earlier = [
                d
                for d, _, _ in win.recent_clicks
                if d.node_id == node_id and ts - d.last_ts <= DOUBLE_CLICK_MS and not d.dropped
            ]
            if earlier:
                # The browser reports click, click, dblclick: the clicks already count.
                earlier[0].flag(Flag.DOUBLE)
                return
        repeat = self._repeat_of(ts, win, node_id, px, py) if not context else None
        if repeat is not None:
            # Clicks on the same spot in quick succession are one event xN; whether that
            # is rage is decided once the burst is over.
            repeat.count += 1
            repeat.click_times.append(ts)
            for watch in win.watches:
                if watch.draft is repeat:
                    watch.deadline = ts + self.watch_ms
            return
        # What happens after the next click is that click's effect, not this one's.
        for watch in win.watches:
            watch.deadline = min(watch.deadline, ts - 1)
        self.close_watches(win, ts)
        self.end_runs(win)
        self.flush_bursts(win)
        target_node = win.mirror.interactive_target(node_id) if type(node_id) is int else None
        kind = EventKind.CLICK
        form_id = None
        if target_node is not None:
            form_id = self.form_key(win, target_node.id)
            if form_id is not None and _is_submit(target_node.tag, target_node.attrs):
                kind = EventKind.SUBMIT
        draft = self.emit(
            ts,
            win,
            kind,
            target=self.target_label(win, node_id),
            node_id=node_id if type(node_id) is int else None,
            flags=[Flag.DOUBLE] if double else (["context_menu"] if context else []),
            click_times=[ts],
            form_id=form_id,
        )
        draft.form_field = target_node is not None and _is_form_field(
            target_node.tag, target_node.attrs
        )
        spot = (int(px), int(py)) if px is not None and py is not None else (-1, -1)
        win.recent_clicks = [*win.recent_clicks[-3:], (draft, *spot)]
        win.watches.append(_Watch(draft=draft, deadline=ts + self.watch_ms))

    def _repeat_of(
        self, ts: int, win: _Window, node_id: Any, x: float | None, y: float | None
    ) -> Draft | None:
        if not win.recent_clicks:
            return None
        last, lx, ly = win.recent_clicks[-1]
        if last.dropped or ts - last.last_ts > self.config.rage_window_ms:
            return None
        if last.kind not in (EventKind.CLICK, EventKind.SUBMIT):
            return None
        radius = self.config.rage_radius_px
        if x is not None and y is not None and lx >= 0:
            near = abs(x - lx) <= radius and abs(y - ly) <= radius
        else:
            near = last.node_id == node_id
        if not near:
            return None
        # A click that changed the page answered the user: the next one is a new click.
        watch = next((w for w in win.watches if w.draft is last), None)
        if watch is not None and (watch.navigated_to or watch.added or watch.removed):
            return None
        return last

    # -- navigation -------------------------------------------------------------------

    def navigate(self, ts: int, win: _Window, href: Any) -> None:
        loading, win.loading = win.loading, False
        if not isinstance(href, str) or not href:
            return
        # The same URL again is a reload only after a page load event; otherwise it is a
        # repeated Meta (recorders restart, pageview events echo the current URL).
        if href == win.url and not loading:
            return
        self.flush_bursts(win)
        self.end_runs(win)
        previous = win.url
        win.url = href
        win.redacted_url = None
        url = redact_url(href)
        reload = href == previous
        self.changed(ts, win)
        self.emit(ts, win, EventKind.NAVIGATION, url=url, flags=[Flag.RELOAD] if reload else [])
        for watch in win.watches:
            if watch.first_change is None:
                watch.first_change = ts
            if reload:
                watch.reloaded = True
            elif watch.navigated_to is None:
                watch.navigated_to = _relative(url, previous)

    # -- the pass ---------------------------------------------------------------------

    def run(self, events: Iterable[RawEvent]) -> None:
        for event in events:
            win = self.window(event.window_id)
            ts = event.timestamp
            if win.first_ts is None:
                win.first_ts = ts
            self.close_watches(win, ts)
            event_type = event.type
            data = event.data
            if event_type == rr.INCREMENTAL_SNAPSHOT:
                if not isinstance(data, dict):
                    self.skipped["malformed_event"] += 1
                    continue
                self.incremental(ts, win, data)
            elif event_type == rr.META:
                self.activity(ts, win)
                if isinstance(data, dict):
                    self.meta(ts, win, data)
            elif event_type == rr.FULL_SNAPSHOT:
                self.snapshot(ts, win, data)
            elif event_type in (rr.DOM_CONTENT_LOADED, rr.LOAD):
                win.loading = True
            elif event_type == rr.CUSTOM:
                if isinstance(data, dict):
                    self.custom(ts, win, data)
                else:
                    self.skipped["malformed_event"] += 1
            elif event_type == rr.PLUGIN:
                if isinstance(data, dict):
                    self.plugin(ts, win, data)
                else:
                    self.skipped["malformed_event"] += 1
            else:
                self.skipped["unknown_type"] += 1
        for win in self.windows.values():
            self.flush_bursts(win)
            self.close_watches(win, None)

    def meta(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        width, height = data.get("width"), data.get("height")
        if type(width) is int and type(height) is int:
            win.viewport = (width, height)
        self.navigate(ts, win, data.get("href"))

    def snapshot(self, ts: int, win: _Window, data: Any) -> None:
        self.activity(ts, win)
        try:
            data = expand_data(rr.FULL_SNAPSHOT, data)
        except DecodeError:
            self.skipped["bad_compression"] += 1
            return
        if not isinstance(data, dict) or not isinstance(data.get("node"), dict):
            self.skipped["malformed_event"] += 1
            return
        self.flush_bursts(win)
        if not win.snapshot_seen:
            win.snapshot_seen = True
            first = win.first_ts if win.first_ts is not None else ts
            if ts - first >= BLIND_MIN_MS:
                # The recorder ran before it could see the page.
                self.emit(
                    first,
                    win,
                    EventKind.GAP,
                    value="no snapshot yet",
                    duration_ms=ts - first,
                )
                self.blind_ms += ts - first
        win.focused = None
        # A new document: node ids start over, and so do the fields' known values.
        win.baselines.clear()
        win.recent_clicks.clear()
        win.documents += 1
        win.mirror.load_snapshot(data)
        self.changed(ts, win)

    def incremental(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        source = data.get("source")
        if type(source) is not int or source not in _KNOWN_SOURCES:
            self.skipped["unknown_source"] += 1
            return
        if source not in _PASSIVE_SOURCES:
            self.activity(ts, win)
        if source == rr.MUTATION:
            self.mutation(ts, win, data)
        elif source == rr.MOUSE_INTERACTION:
            self.mouse(ts, win, data)
        elif source == rr.INPUT:
            self.on_input(ts, win, data)
        elif source == rr.SCROLL:
            self.on_scroll(ts, win, data)
        elif source == rr.VIEWPORT_RESIZE:
            self.on_resize(ts, win, data)
        elif source == rr.SELECTION:
            self.on_selection(ts, win, data)
        elif source == rr.MEDIA_INTERACTION:
            self.on_media(ts, win, data)
        elif source == rr.LOG:
            self.console(ts, win, data)
        # Mouse and touch moves and drags only say that a person is there (activity).

    def mutation(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        if any(isinstance(data.get(name), str) for name in MUTATION_FIELDS):
            try:
                data = expand_data(rr.INCREMENTAL_SNAPSHOT, data)
            except DecodeError:
                self.skipped["bad_compression"] += 1
                return
        watching = bool(win.watches)
        summary = win.mirror.apply_mutation(data, want_text=watching)
        if summary.changed or summary.attributes:
            self.changed(ts, win)
        for watch in win.watches:
            watch.feed(ts, summary)

    def mouse(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        kind = data.get("type")
        node_id = data.get("id")
        if kind == rr.CLICK:
            self.on_click(ts, win, data, double=False)
        elif kind == rr.DBL_CLICK:
            self.on_click(ts, win, data, double=True)
        elif kind == rr.CONTEXT_MENU:
            self.on_click(ts, win, data, double=False, context=True)
        elif kind == rr.FOCUS:
            # A field without a blur event still ends its burst when focus moves on.
            self.flush_bursts(win)
            win.focused = node_id if type(node_id) is int else None
        elif kind == rr.BLUR:
            if type(node_id) is int:
                self.flush_bursts(win, node_id)
            if win.focused == node_id:
                win.focused = None

    def on_scroll(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        y = data.get("y")
        if not isinstance(y, int | float):
            return
        y = int(y)
        run = win.scroll
        if run is None:
            self.flush_bursts(win)
            draft = self.emit(ts, win, EventKind.SCROLL)
            run = win.scroll = _ScrollRun(draft=draft, start_y=y, y=y, max_y=y)
            # The first scroll event reports where the page already was.
        else:
            step = y - run.y
            if abs(step) >= 50:
                direction = 1 if step > 0 else -1
                if run.direction and direction != run.direction:
                    run.reversals += 1
                run.direction = direction
            run.y = y
            run.max_y = max(run.max_y, y)
            run.draft.duration_ms = ts - run.draft.ts
        run.draft.value = _scroll_text(run)
        took = run.draft.duration_ms
        if run.reversals >= 3 and took is not None and took <= self.config.thrash_window_ms:
            run.draft.flag(Flag.THRASH)
        if self.max_scroll_y is None or run.max_y > self.max_scroll_y:
            self.max_scroll_y = run.max_y

    def on_resize(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        width, height = data.get("width"), data.get("height")
        if type(width) is not int or type(height) is not int:
            return
        win.viewport = (width, height)
        if win.resize is None:
            win.resize = self.emit(ts, win, EventKind.RESIZE)
        else:
            win.resize.duration_ms = ts - win.resize.ts
        win.resize.value = f"{width}x{height}"

    def on_selection(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        ranges = data.get("ranges")
        if not isinstance(ranges, list):
            return
        texts = [win.mirror.selected_text(r) for r in ranges if isinstance(r, dict)]
        text = " ".join(t for t in texts if t)
        if text:
            self.emit(ts, win, EventKind.SELECTION, value=clip(redact_text(text)))

    def on_media(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        kind = data.get("type")
        action = _MEDIA_ACTIONS.get(kind) if type(kind) is int else None
        if action is None:
            return
        node_id = data.get("id")
        target = self.target_label(win, node_id)
        run = win.media
        if run is not None and run.target == target and run.value == action:
            run.count += 1
            return
        win.media = self.emit(ts, win, EventKind.MEDIA, target=target, value=action)

    def custom(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        tag = data.get("tag")
        tag = tag if isinstance(tag, str) else None
        payload = data.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        if tag in _NAVIGATION_TAGS:
            self.navigate(ts, win, payload.get("href") or payload.get("$current_url"))
        elif tag == "$exception":
            message = payload.get("$exception_message") or payload.get("message")
            if not isinstance(message, str):
                values = payload.get("$exception_list")
                first = values[0] if isinstance(values, list) and values else None
                message = first.get("value") if isinstance(first, dict) else None
            self.emit(
                ts,
                win,
                EventKind.EXCEPTION,
                value=_error_text(message) if message is not None else "unknown exception",
            )
        elif tag == "recording paused":
            if self.paused_at is None:
                self.activity(ts, win)
                self.changed(ts, win)  # the page went where the recorder may not look
                self.paused_at = (ts, win)
                self.last_activity = None  # unseen time is a gap, not idleness
        elif tag == "recording resumed":
            if self.paused_at is not None:
                start, where = self.paused_at
                self.paused_at = None
                self.last_activity = ts
                self.emit(
                    start, where, EventKind.GAP, value="recording paused", duration_ms=ts - start
                )
                self.blind_ms += ts - start
        elif tag == "browser offline":
            if self.offline_at is None:
                self.offline_at = (ts, win)
        elif tag == "browser online":
            if self.offline_at is not None:
                start, where = self.offline_at
                self.offline_at = None
                self.emit(
                    start, where, EventKind.GAP, value="browser offline", duration_ms=ts - start
                )
        elif tag in ("sessionIdle", "sessionNoLongerIdle"):
            return  # PostHog's own idle bookkeeping; idle gaps come from the events
        elif isinstance(tag, str) and tag and not tag.startswith("$"):
            # Events the site itself added with rrweb's addCustomEvent; PostHog's own
            # `$…` bookkeeping events say nothing about the user.
            self.emit(ts, win, EventKind.CUSTOM, target=clip(redact_text(collapse(tag))))

    def plugin(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        name = data.get("plugin")
        name = name if isinstance(name, str) else None
        payload = data.get("payload")
        if name == _CONSOLE_PLUGIN and isinstance(payload, dict):
            self.console(ts, win, payload)
        elif name in _NETWORK_PLUGINS:
            for request in _requests_of(payload):
                self.network(ts, win, request)
        else:
            self.skipped["unknown_plugin"] += 1

    def console(self, ts: int, win: _Window, payload: dict[str, Any]) -> None:
        level = payload.get("level")
        if not isinstance(level, str) or level not in _ERROR_LEVELS:
            return
        items = payload.get("payload")
        parts = items if isinstance(items, list) else [items]
        texts = []
        for item in parts[:3]:
            value = item
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)  # the plugin JSON-encodes every argument
            texts.append(value if isinstance(value, str) else json.dumps(value))
        message = " ".join(t.strip() for t in texts if t.strip()) or "null"
        trace = payload.get("trace")
        frame = (
            next((f for f in trace if isinstance(f, str)), None)
            if isinstance(trace, list)
            else None
        )
        self.emit(
            ts,
            win,
            EventKind.CONSOLE_ERROR,
            value=_error_text(message),
            target=clip(redact_text(collapse(frame)), 80) if frame else None,
            flags=["assert"] if level == "assert" else [],
        )

    def network(self, ts: int, win: _Window, request: dict[str, Any]) -> None:
        status = request.get("responseStatus", request.get("status"))
        status = status if type(status) is int else None
        method = request.get("method")
        method = method.upper() if isinstance(method, str) and method.isalpha() else "GET"
        url = request.get("name", request.get("url"))
        if not isinstance(url, str) or not url:
            self.skipped["malformed_request"] += 1
            return
        if _TELEMETRY.search(url):
            return
        started = request.get("timestamp")
        start = int(started) if isinstance(started, int | float) and started > 1e11 else ts
        duration = request.get("duration")
        if not isinstance(duration, int | float):
            begin, end = request.get("startTime"), request.get("endTime")
            both = isinstance(begin, int | float) and isinstance(end, int | float)
            duration = end - begin if both else None  # type: ignore[operator]
        took = int(duration) if isinstance(duration, int | float) and duration >= 0 else None
        path = _short_path(redact_url(url), win.url)
        record = Request(
            ts=start, window=win.label, method=method, path=path, status=status, duration_ms=took
        )
        self.requests.append(record)
        if record.failed:
            self.emit(
                start,
                win,
                EventKind.NETWORK_ERROR,
                target=f"{method} {path}",
                value=str(status),
                duration_ms=took,
                flags=[Flag.FAILED] if status == 0 else [],
            )
        elif took is not None and took > self.config.slow_request_ms:
            self.emit(
                start,
                win,
                EventKind.NETWORK_ERROR,
                target=f"{method} {path}",
                value=str(status) if status else None,
                duration_ms=took,
                flags=[Flag.SLOW],
            )


# posthog-js's legacy performance payloads key PerformanceEntry fields by index.
_LEGACY_NETWORK_KEYS: Final = {
    "2": "name",
    "21": "responseStatus",
    "39": "duration",
    "40": "timestamp",
}


def _requests_of(payload: Any) -> Iterator[dict[str, Any]]:
    """rrweb/network@1 batches `requests`; the legacy posthog plugin sent one entry, with
    named or index keys."""
    if isinstance(payload, dict):
        requests = payload.get("requests")
        if isinstance(requests, list):
            yield from (r for r in requests if isinstance(r, dict))
        elif "name" in payload or "url" in payload:
            yield payload
        elif isinstance(payload.get("2"), str):
            yield {name: payload.get(key) for key, name in _LEGACY_NETWORK_KEYS.items()}
    elif isinstance(payload, list):
        yield from (r for r in payload if isinstance(r, dict))


def _scroll_text(run: _ScrollRun) -> str:
    text = f"down to {run.y}px" if run.y >= run.start_y else f"up to {run.y}px"
    if run.max_y > run.y and run.max_y > run.start_y:
        text += f" (max {run.max_y}px)"
    return text


def _field_name(info: FieldInfo | None) -> str | None:
    if info is None:
        return None
    name = info.attrs.get("name")
    return name if isinstance(name, str) and name else None


def _relative(url: str, base: str | None) -> str:
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


def _short_path(url: str, base: str | None) -> str:
    """A request as `/api/orders` (same origin) or `host/path`, without the query."""
    relative = _relative(url, base)
    cut = relative.split("?", 1)[0].split("#", 1)[0]
    if cut.startswith(("http://", "https://")):
        cut = cut.split("://", 1)[1]
    return clip(cut or "/", 80)


def _is_form_field(tag: str, attrs: dict[str, Any]) -> bool:
    if tag in ("textarea", "select"):
        return True
    if tag == "input":
        return str(attrs.get("type") or "text").lower() not in _BUTTON_TYPES
    return attrs.get("contenteditable") in ("", "true", "plaintext-only")


def _is_submit(tag: str, attrs: dict[str, Any]) -> bool:
    kind = str(attrs.get("type") or "").lower()
    if tag == "button":
        return kind in ("", "submit")
    return tag == "input" and kind in ("submit", "image")


def _error_text(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return clip(redact_text(collapse(text)), ERROR_MAX_CHARS)


def _finish_watch(watch: _Watch) -> None:
    """Describe, on the draft, what the DOM and the URL did after the action."""
    draft = watch.draft
    if watch.first_change is not None:
        draft.react_ms = max(0, watch.first_change - draft.last_ts)
    # Frameworks often re-render a whole list to change one row: texts that were removed
    # and added back cancel out, so the description names what is actually new.
    appeared = Counter(watch.added_texts)
    appeared.subtract(watch.removed_texts)
    new_texts = [t for t in dict.fromkeys(watch.added_texts) if appeared[t] > 0]
    if watch.changed_text:
        new_texts.append(watch.changed_text)
    # An error message is a short addition; a re-rendered list that happens to hold the
    # word "failure" is not one.
    error = next((t for t in new_texts if _ERROR_WORDS.search(t)), None)
    if error is not None and len(new_texts) <= ERROR_SHOWN_MAX_TEXTS:
        draft.error_text = error
    else:
        error = None
    if watch.navigated_to is not None:
        draft.dom_effect = f"navigated to {watch.navigated_to}"
        return
    if watch.reloaded:
        draft.dom_effect = "reloaded the page"
        return
    if not (watch.added or watch.removed or watch.texts):
        if watch.attributes:
            draft.dom_effect = "restyled"
        return
    new_text = error or next(iter(new_texts), None)
    gone_text = next((t for t in watch.removed_texts if appeared[t] < 0), None)
    if new_text is not None:
        draft.dom_effect = f"+{_effect_text(new_text)}"
    elif watch.changed_text is not None:
        draft.dom_effect = f"text {_effect_text(watch.changed_text)}"
    elif gone_text is not None:
        draft.dom_effect = f"-{_effect_text(gone_text)}"
    else:
        draft.dom_effect = "re-rendered"


def _effect_text(text: str) -> str:
    return quoted(clip(redact_text(text), EFFECT_TEXT_CHARS))


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


def compile_events(
    events: Iterable[RawEvent],
    session_id: str,
    distinct_id: str | None = None,
    skipped_events: int = 0,
    config: TimelineConfig | None = None,
    skipped: Counter[str] | None = None,
    decoded_bytes: int = 0,
) -> Timeline:
    """Compile rrweb events into a `Timeline`, streaming.

    Events may arrive slightly out of order; they are sorted through a short buffer.
    `skipped` (what the source already skipped, by reason) is merged into the stats.
    """
    config = config or TimelineConfig()
    compiler = _Compiler(config)
    seen: list[int] = [0, 0, 0]
    ordered = _in_order(events, seen)
    first_event = next(ordered, None)
    if first_event is not None:
        # Silence from the first recorded moment counts too (a tab opened, then ignored).
        compiler.last_activity = first_event.timestamp
        compiler.run(_chain(first_event, ordered))
    count, first_ts, last_ts = seen
    if compiler.paused_at is not None:
        start, where = compiler.paused_at
        compiler.emit(
            start, where, EventKind.GAP, value="recording paused", duration_ms=last_ts - start
        )
        compiler.blind_ms += last_ts - start
    if (
        compiler.last_activity is not None
        and last_ts - compiler.last_activity >= config.idle_gap_ms
    ):
        # The recording ran on with nobody at the keyboard.
        compiler.drafts.append(
            Draft(
                ts=compiler.last_activity,
                seq=len(compiler.drafts),
                window=compiler.last_activity_window,
                kind=EventKind.IDLE,
                duration_ms=last_ts - compiler.last_activity,
            )
        )
        compiler.idle_ms += last_ts - compiler.last_activity
    drafts = _without_focus_clicks(
        sorted((d for d in compiler.drafts if not d.dropped), key=lambda d: (d.ts, d.seq))
    )
    apply_signals(drafts, compiler.requests, _changes(compiler), config)
    base = first_ts if count else 0
    timeline_events = [
        TimelineEvent(
            ref=f"e{index}",
            t_ms=max(0, draft.ts - base),
            window=draft.window,
            kind=draft.kind,
            target=draft.target,
            value=draft.value,
            flags=draft.flags,
            effect=draft.effect,
            url=draft.url,
            duration_ms=draft.duration_ms,
            react_ms=draft.react_ms,
            count=draft.count,
        )
        for index, draft in enumerate(drafts, start=1)
    ]
    kinds = Counter(item.kind for item in timeline_events)
    flags = Counter(flag for item in timeline_events for flag in item.flags)
    start_url = next(
        (e.url for e in timeline_events if e.kind is EventKind.NAVIGATION and e.url), None
    )
    duration = (last_ts - base) if count else 0
    all_skipped = Counter(skipped or {})
    all_skipped.update(compiler.skipped)
    session = SessionInfo(
        session_id=session_id,
        start_timestamp_ms=first_ts if count else None,
        duration_ms=duration,
        start_url=start_url,
        distinct_id=distinct_id,
        windows=len(compiler.windows),
        active_ms=max(0, duration - compiler.idle_ms - compiler.blind_ms),
        blind_ms=compiler.blind_ms,
        max_scroll_y=compiler.max_scroll_y,
    )
    stats = TimelineStats(
        raw_events=count,
        emitted_events=len(timeline_events),
        clicks=kinds[EventKind.CLICK] + kinds[EventKind.SUBMIT],
        inputs=kinds[EventKind.INPUT],
        navigations=kinds[EventKind.NAVIGATION],
        idle_gaps=kinds[EventKind.IDLE],
        console_errors=kinds[EventKind.CONSOLE_ERROR],
        network_errors=sum(
            1
            for e in timeline_events
            if e.kind is EventKind.NETWORK_ERROR and Flag.SLOW not in e.flags
        ),
        exceptions=kinds[EventKind.EXCEPTION],
        rage_clicks=flags[Flag.RAGE],
        dead_clicks=flags[Flag.DEAD],
        slow_clicks=sum(
            1
            for e in timeline_events
            if e.kind in (EventKind.CLICK, EventKind.SUBMIT) and Flag.SLOW in e.flags
        ),
        unresolved_targets=compiler.unresolved,
        decoded_bytes=decoded_bytes,
        skipped_events=skipped_events + sum(all_skipped.values()),
        skipped=dict(sorted(all_skipped.items())),
    )
    return Timeline(session=session, events=timeline_events, stats=stats)


def _without_focus_clicks(drafts: list[Draft]) -> list[Draft]:
    """A click into a field the user then types into says nothing the input doesn't."""
    pending: dict[str, Draft] = {}
    redundant: set[int] = set()
    for draft in drafts:
        if draft.kind not in (EventKind.CLICK, EventKind.SUBMIT, EventKind.INPUT):
            continue
        click = pending.pop(draft.window, None)
        if (
            click is not None
            and draft.kind is EventKind.INPUT
            and draft.node_id == click.node_id
            and not click.flags
        ):
            redundant.add(id(click))
        if draft.kind is EventKind.CLICK and draft.form_field:
            pending[draft.window] = draft
    return [d for d in drafts if id(d) not in redundant]


def _chain(first: RawEvent, rest: Iterator[RawEvent]) -> Iterator[RawEvent]:
    yield first
    yield from rest


def _changes(compiler: _Compiler) -> list[int]:
    """When anything changed, in any window: a link that opens a tab is not dead."""
    return sorted(ts for win in compiler.windows.values() for ts in win.changes)


def compile_timeline(recording: Recording, config: TimelineConfig | None = None) -> Timeline:
    """Compile one loaded recording into its timeline (streaming its events)."""
    timeline = compile_events(
        recording.events,
        recording.session_id,
        distinct_id=recording.distinct_id,
        config=config,
        skipped=Counter(),
    )
    if recording.metadata.get("ongoing") is True:
        session = timeline.session.model_copy(update={"ongoing": True})
        timeline = timeline.model_copy(update={"session": session})
    # A streaming source has counted what it skipped only now that it was read.
    read = recording.read_stats
    if read.skipped_total or read.decoded_bytes:
        merged = Counter(timeline.stats.skipped)
        merged.update(read.skipped)
        stats = timeline.stats.model_copy(
            update={
                "skipped": dict(sorted(merged.items())),
                "skipped_events": timeline.stats.skipped_events + read.skipped_total,
                "decoded_bytes": read.decoded_bytes,
            }
        )
        timeline = timeline.model_copy(update={"stats": stats})
    return timeline
