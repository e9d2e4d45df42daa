"""Compile a recording's raw rrweb events into a `Timeline` of citable, redacted facts.

One pass over the events, in time order, with a `DomMirror` per window: clicks get
human labels and effects, keystrokes collapse into one input per focus, long silences
become idle gaps, console and network failures become errors.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from recap.sources.base import RawEvent, Recording
from recap.timeline import decode as rr
from recap.timeline.mirror import DomMirror, FieldInfo, MutationSummary, clip, collapse, quoted
from recap.timeline.models import (
    EventKind,
    SessionInfo,
    Timeline,
    TimelineEvent,
    TimelineStats,
)
from recap.timeline.redact import redact_input_value, redact_text, redact_url

IDLE_GAP_MS: Final = 30_000
"""A silence at least this long between user-driven events is reported as `idle`."""
EFFECT_WINDOW_MS: Final = 1_500
"""How long after a click its effect may show up in the DOM or the URL."""
DOUBLE_CLICK_MS: Final = 600
VALUE_MAX_CHARS: Final = 200
ERROR_MAX_CHARS: Final = 200
EFFECT_TEXT_CHARS: Final = 40

# Incremental sources that only the page (not the user) produces.
_PASSIVE_SOURCES: Final = frozenset(
    {
        rr.MUTATION, rr.STYLE_SHEET_RULE, rr.CANVAS_MUTATION, rr.FONT, rr.LOG,
        rr.STYLE_DECLARATION, rr.ADOPTED_STYLE_SHEET, rr.CUSTOM_ELEMENT,
    }
)  # fmt: skip
_NAVIGATION_TAGS: Final = frozenset({"$pageview", "$url_changed"})
_CONSOLE_PLUGIN: Final = "rrweb/console@1"
_NETWORK_PLUGIN: Final = "rrweb/network@1"
_ERROR_LEVELS: Final = frozenset({"error", "assert"})
_CHECKABLE: Final = frozenset({"checkbox", "radio"})
_BUTTON_TYPES: Final = frozenset({"submit", "button", "reset", "image"})


@dataclass(slots=True)
class _Draft:
    """A timeline event under construction (TimelineEvent is frozen)."""

    ts: int
    seq: int
    window: str
    kind: EventKind
    target: str | None = None
    value: str | None = None
    flags: list[str] = field(default_factory=list)
    effect: str | None = None
    url: str | None = None
    duration_ms: int | None = None
    node_id: int | None = None
    dropped: bool = False
    # Clicking into a form field changes focus, not the DOM: never a dead click.
    form_field: bool = False


@dataclass(slots=True)
class _EffectWatch:
    """Collects what changed in a window during the moments after one click."""

    draft: _Draft
    deadline: int
    navigated_to: str | None = None
    reloaded: bool = False
    added: int = 0
    removed: int = 0
    texts: int = 0
    added_texts: list[str] = field(default_factory=list)
    removed_texts: list[str] = field(default_factory=list)
    changed_text: str | None = None

    def feed(self, summary: MutationSummary) -> None:
        self.added += summary.added
        self.removed += summary.removed
        self.texts += summary.texts
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
    last_ts: int


@dataclass(slots=True)
class _Window:
    label: str
    mirror: DomMirror = field(default_factory=DomMirror)
    url: str | None = None
    focused: int | None = None
    bursts: dict[int, _Burst] = field(default_factory=dict)
    baselines: dict[int, str] = field(default_factory=dict)
    watches: list[_EffectWatch] = field(default_factory=list)
    recent_clicks: list[_Draft] = field(default_factory=list)
    loading: bool = False  # a page load began and its Meta has not arrived yet


class _Compiler:
    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.windows: dict[str, _Window] = {}
        self.unresolved = 0
        self.skipped = 0
        self.last_activity: int | None = None
        self.last_activity_window = "w1"

    # -- plumbing ---------------------------------------------------------------------

    def window(self, window_id: str) -> _Window:
        win = self.windows.get(window_id)
        if win is None:
            win = _Window(label=f"w{len(self.windows) + 1}")
            self.windows[window_id] = win
        return win

    def emit(self, ts: int, win: _Window, kind: EventKind, **fields: Any) -> _Draft:
        draft = _Draft(ts=ts, seq=len(self.drafts), window=win.label, kind=kind, **fields)
        if draft.url is None and win.url is not None:
            draft.url = redact_url(win.url)
        self.drafts.append(draft)
        return draft

    def target_label(self, win: _Window, node_id: Any) -> str:
        label = win.mirror.label(node_id) if type(node_id) is int else None
        if label is None:
            self.unresolved += 1
            return f"element #{node_id}"
        return label

    def activity(self, ts: int, win: _Window) -> None:
        last = self.last_activity
        if last is not None and ts - last >= IDLE_GAP_MS:
            idle = _Draft(
                ts=last,
                seq=len(self.drafts),
                window=self.last_activity_window,
                kind=EventKind.IDLE,
                duration_ms=ts - last,
            )
            self.drafts.append(idle)
        self.last_activity = ts
        self.last_activity_window = win.label

    # -- effects ----------------------------------------------------------------------

    def close_watches(self, win: _Window, now: int | None) -> None:
        if not win.watches:
            return
        still_open = []
        for watch in win.watches:
            if now is not None and watch.deadline >= now:
                still_open.append(watch)
            elif not watch.draft.dropped:
                _finish_effect(watch)
        win.watches = still_open

    # -- inputs -----------------------------------------------------------------------

    def flush_bursts(self, win: _Window, only: int | None = None) -> None:
        for field_id in [only] if only is not None else list(win.bursts):
            burst = win.bursts.pop(field_id, None) if field_id is not None else None
            if burst is None:
                continue
            win.baselines[field_id] = burst.value
            if burst.value == burst.baseline:
                continue
            label = burst.info.label if burst.info is not None else None
            attrs = burst.info.attrs if burst.info is not None else None
            value = redact_input_value(burst.value, attrs, label)
            self.emit(
                burst.last_ts,
                win,
                EventKind.INPUT,
                target=burst.target,
                value=clip(value, VALUE_MAX_CHARS),
                node_id=field_id,
            )

    def on_input(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        field_id = data.get("id")
        if type(field_id) is not int:
            return
        text = data.get("text")
        text = text if isinstance(text, str) else ""
        info = win.mirror.field(field_id)
        if info is not None and info.input_type in _CHECKABLE:
            checked = data.get("isChecked") is True
            if info.input_type == "radio" and not checked:
                return  # rrweb also reports the radios a click unchecked
            for click in win.recent_clicks:
                # The toggle says more than the click that caused it; keep one event.
                if click.node_id == field_id and ts - click.ts <= DOUBLE_CLICK_MS:
                    click.dropped = True
            self.emit(
                ts,
                win,
                EventKind.INPUT,
                target=self.target_label(win, field_id),
                value="checked" if checked else "unchecked",
                node_id=field_id,
            )
            return
        if win.focused is not None and win.focused != field_id:
            # Scripts set values of fields the user is not in; that is a new baseline,
            # not something the user typed.
            win.baselines[field_id] = text
            return
        burst = win.bursts.get(field_id)
        if burst is None:
            baseline = win.baselines.get(field_id)
            if baseline is None and info is not None:
                initial = info.attrs.get("value")
                baseline = initial if isinstance(initial, str) else None
            burst = _Burst(
                field_id=field_id,
                target=self.target_label(win, field_id),
                info=info,
                baseline=baseline,
                value=text,
                last_ts=ts,
            )
            win.bursts[field_id] = burst
        burst.value = text
        burst.last_ts = ts

    # -- clicks -----------------------------------------------------------------------

    def on_click(self, ts: int, win: _Window, node_id: Any, double: bool) -> None:
        if double:
            earlier = [
                d
                for d in win.recent_clicks
                if d.node_id == node_id and ts - d.ts <= DOUBLE_CLICK_MS and not d.dropped
            ]
            if earlier:
                # The browser reports click, click, dblclick: keep the first as one event.
                earlier[0].flags.append("double")
                for extra in earlier[1:]:
                    extra.dropped = True
                return
        # What happens after the next click is that click's effect, not this one's
        # (except within a double click, which is merged into its first click).
        for watch in win.watches:
            if watch.draft.node_id != node_id or ts - watch.draft.ts > DOUBLE_CLICK_MS:
                watch.deadline = ts - 1
        self.close_watches(win, ts)
        draft = self.emit(
            ts,
            win,
            EventKind.CLICK,
            target=self.target_label(win, node_id),
            node_id=node_id if type(node_id) is int else None,
            flags=["double"] if double else [],
        )
        target = win.mirror.interactive_target(node_id) if type(node_id) is int else None
        draft.form_field = target is not None and _is_form_field(target.tag, target.attrs)
        win.recent_clicks = [*win.recent_clicks[-3:], draft]
        win.watches.append(_EffectWatch(draft=draft, deadline=ts + EFFECT_WINDOW_MS))

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
        previous = win.url
        win.url = href
        url = redact_url(href)
        reload = href == previous
        self.emit(ts, win, EventKind.NAVIGATION, url=url, flags=["reload"] if reload else [])
        for watch in win.watches:
            if reload:
                watch.reloaded = True
            elif watch.navigated_to is None:
                watch.navigated_to = _relative(url, previous)

    # -- the pass ---------------------------------------------------------------------

    def run(self, events: Sequence[RawEvent]) -> None:
        for event in events:
            win = self.window(event.window_id)
            ts = event.timestamp
            self.close_watches(win, ts)
            event_type = event.type
            data = event.data
            if event_type == rr.INCREMENTAL_SNAPSHOT:
                if not isinstance(data, dict):
                    self.skipped += 1
                    continue
                self.incremental(ts, win, data)
            elif event_type == rr.META:
                self.activity(ts, win)
                if isinstance(data, dict):
                    self.navigate(ts, win, data.get("href"))
            elif event_type == rr.FULL_SNAPSHOT:
                self.activity(ts, win)
                try:
                    data = rr.expand_data(event_type, data)
                except rr.DecodeError:
                    self.skipped += 1
                    continue
                self.flush_bursts(win)
                win.focused = None
                win.mirror.load_snapshot(data)
            elif event_type in (rr.DOM_CONTENT_LOADED, rr.LOAD):
                win.loading = True
            elif event_type == rr.CUSTOM and isinstance(data, dict):
                self.custom(ts, win, data)
            elif event_type == rr.PLUGIN and isinstance(data, dict):
                self.plugin(ts, win, data)
        for win in self.windows.values():
            self.flush_bursts(win)
            self.close_watches(win, None)

    def incremental(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        source = data.get("source")
        if source not in _PASSIVE_SOURCES:
            self.activity(ts, win)
        if source == rr.MUTATION:
            if any(isinstance(data.get(name), str) for name in rr.MUTATION_FIELDS):
                try:
                    data = rr.expand_data(rr.INCREMENTAL_SNAPSHOT, data)
                except rr.DecodeError:
                    self.skipped += 1
                    return
            watching = bool(win.watches)
            summary = win.mirror.apply_mutation(data, want_text=watching)
            for watch in win.watches:
                watch.feed(summary)
        elif source == rr.MOUSE_INTERACTION:
            kind = data.get("type")
            node_id = data.get("id")
            if kind == rr.CLICK:
                self.on_click(ts, win, node_id, double=False)
            elif kind == rr.DBL_CLICK:
                self.on_click(ts, win, node_id, double=True)
            elif kind == rr.FOCUS:
                # A field without a blur event still ends its burst when focus moves on.
                self.flush_bursts(win)
                win.focused = node_id if type(node_id) is int else None
            elif kind == rr.BLUR:
                if type(node_id) is int:
                    self.flush_bursts(win, node_id)
                if win.focused == node_id:
                    win.focused = None
        elif source == rr.INPUT:
            self.on_input(ts, win, data)
        elif source == rr.LOG:
            self.console(ts, win, data)

    def custom(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        tag = data.get("tag")
        payload = data.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        if tag in _NAVIGATION_TAGS:
            self.activity(ts, win)
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
                EventKind.CUSTOM,
                target="$exception",
                value=_error_text(message) if message is not None else None,
                flags=["exception"],
            )
        elif isinstance(tag, str) and tag and not tag.startswith("$"):
            # Events the site itself added with rrweb's addCustomEvent; PostHog's own
            # `$…` bookkeeping events say nothing about the user.
            self.emit(ts, win, EventKind.CUSTOM, target=clip(redact_text(collapse(tag))))

    def plugin(self, ts: int, win: _Window, data: dict[str, Any]) -> None:
        name = data.get("plugin")
        payload = data.get("payload")
        if not isinstance(payload, dict):
            return
        if name == _CONSOLE_PLUGIN:
            self.console(ts, win, payload)
        elif name == _NETWORK_PLUGIN:
            requests = payload.get("requests")
            if isinstance(requests, list):
                for request in requests:
                    if isinstance(request, dict):
                        self.network(ts, win, request)

    def console(self, ts: int, win: _Window, payload: dict[str, Any]) -> None:
        level = payload.get("level")
        if level not in _ERROR_LEVELS:
            return
        items = payload.get("payload")
        first = items[0] if isinstance(items, list) and items else items
        if isinstance(first, str):
            with contextlib.suppress(ValueError):
                first = json.loads(first)  # the plugin JSON-encodes every argument
        self.emit(
            ts,
            win,
            EventKind.CONSOLE_ERROR,
            value=_error_text(first),
            flags=["assert"] if level == "assert" else [],
        )

    def network(self, ts: int, win: _Window, request: dict[str, Any]) -> None:
        status = request.get("responseStatus", request.get("status"))
        if type(status) is not int or status < 400:
            return
        method = request.get("method")
        method = method.upper() if isinstance(method, str) and method.isalpha() else "GET"
        url = request.get("name", request.get("url"))
        url = redact_url(url) if isinstance(url, str) else "?"
        page = redact_url(win.url) if win.url else None
        self.emit(
            ts,
            win,
            EventKind.NETWORK_ERROR,
            target=f"{method} {_relative(url, win.url)}",
            value=str(status),
            url=page,
        )


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


def _is_form_field(tag: str, attrs: dict[str, Any]) -> bool:
    if tag in ("textarea", "select"):
        return True
    if tag == "input":
        return str(attrs.get("type") or "text").lower() not in _BUTTON_TYPES
    return attrs.get("contenteditable") in ("", "true", "plaintext-only")


def _error_text(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return clip(redact_text(text.strip()), ERROR_MAX_CHARS)


def _finish_effect(watch: _EffectWatch) -> None:
    draft = watch.draft
    if watch.navigated_to is not None:
        draft.effect = f"navigated to {watch.navigated_to}"
        return
    if watch.reloaded:
        draft.effect = "reloaded the page"
        return
    if not (watch.added or watch.removed or watch.texts):
        if not draft.form_field:
            draft.flags.append("no_effect")
        return
    # Frameworks often re-render a whole list to change one row: texts that were removed
    # and added back cancel out, so the description names what is actually new.
    appeared = Counter(watch.added_texts)
    appeared.subtract(watch.removed_texts)
    new_text = next((t for t in watch.added_texts if appeared[t] > 0), None)
    gone_text = next((t for t in watch.removed_texts if appeared[t] < 0), None)
    if new_text is not None:
        what = f"added {_effect_text(new_text)}"
    elif watch.changed_text is not None:
        what = f"changed text to {_effect_text(watch.changed_text)}"
    elif gone_text is not None:
        what = f"removed {_effect_text(gone_text)}"
    else:
        what = "re-rendered the page"
    counts = [f"+{watch.added}"] if watch.added else []
    if watch.removed:
        counts.append(f"-{watch.removed}")
    draft.effect = f"{what} ({'/'.join(counts)} nodes)" if counts else what


def _effect_text(text: str) -> str:
    return quoted(clip(redact_text(text), EFFECT_TEXT_CHARS))


def _ordered(events: Sequence[RawEvent]) -> Sequence[RawEvent]:
    previous = None
    for event in events:
        if previous is not None and event.timestamp < previous:
            return sorted(events, key=lambda e: e.timestamp)
        previous = event.timestamp
    return events


def compile_events(
    events: Sequence[RawEvent],
    session_id: str,
    distinct_id: str | None = None,
    skipped_events: int = 0,
) -> Timeline:
    """Compile rrweb events (any order; sorted stably by timestamp) into a `Timeline`."""
    events = _ordered(events)
    compiler = _Compiler()
    if any(event.window_id == "" for event in events):
        compiler.window("")  # events without a window id belong to the first window
    if events:
        # Silence from the first recorded moment counts too (a tab opened, then ignored).
        compiler.last_activity = events[0].timestamp
    compiler.run(events)
    first_ts = events[0].timestamp if events else None
    last_ts = events[-1].timestamp if events else 0
    if compiler.last_activity is not None and last_ts - compiler.last_activity >= IDLE_GAP_MS:
        # The recording ran on with nobody at the keyboard.
        compiler.drafts.append(
            _Draft(
                ts=compiler.last_activity,
                seq=len(compiler.drafts),
                window=compiler.last_activity_window,
                kind=EventKind.IDLE,
                duration_ms=last_ts - compiler.last_activity,
            )
        )
    drafts = sorted((d for d in compiler.drafts if not d.dropped), key=lambda d: (d.ts, d.seq))
    base = first_ts or 0
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
        )
        for index, draft in enumerate(drafts, start=1)
    ]
    counts: dict[EventKind, int] = dict.fromkeys(EventKind, 0)
    for item in timeline_events:
        counts[item.kind] += 1
    start_url = next(
        (e.url for e in timeline_events if e.kind is EventKind.NAVIGATION and e.url), None
    )
    session = SessionInfo(
        session_id=session_id,
        start_timestamp_ms=first_ts,
        duration_ms=(last_ts - base) if events else 0,
        start_url=start_url,
        distinct_id=distinct_id,
        windows=len(compiler.windows),
    )
    stats = TimelineStats(
        raw_events=len(events),
        emitted_events=len(timeline_events),
        clicks=counts[EventKind.CLICK],
        inputs=counts[EventKind.INPUT],
        navigations=counts[EventKind.NAVIGATION],
        idle_gaps=counts[EventKind.IDLE],
        console_errors=counts[EventKind.CONSOLE_ERROR],
        network_errors=counts[EventKind.NETWORK_ERROR],
        unresolved_targets=compiler.unresolved,
        skipped_events=skipped_events + compiler.skipped,
    )
    return Timeline(session=session, events=timeline_events, stats=stats)


def compile_timeline(recording: Recording) -> Timeline:
    """Compile one loaded recording into its timeline."""
    skipped = recording.metadata.get("skipped_events", 0)
    return compile_events(
        recording.events,
        recording.session_id,
        distinct_id=recording.distinct_id,
        skipped_events=skipped if isinstance(skipped, int) else 0,
    )
