"""What the event pass keeps while it reads a recording: one `WindowState` per browser
window and the `PassState` around them (drafts, requests, idle and unseen time).

Handlers in `clicks`, `inputs`, `viewing`, `navigation`, `gaps`, `page_errors` and
`effects` read and update it; `PassState` itself only does what every handler needs:
emit a draft, name a target, note activity and changes, and hand what can no longer
change to the `Settler`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Final

from recap.core.timeline_config import TimelineConfig
from recap.timeline.drafts import Draft, Request
from recap.timeline.mirror import DomMirror, FieldInfo, MutationSummary
from recap.timeline.models import EventKind
from recap.timeline.redact import redact_url
from recap.timeline.settle import END, DraftSink, Settler

DOUBLE_CLICK_MS: Final = 600
"""A second click (or the toggle it caused) this soon after the first belongs to it."""
SETTLE_LAG_MS: Final = 300_000
"""How late a request (reported when it ends) or an out-of-order event may arrive and
still take its place; anything later is placed where the settled timeline ends."""
_SETTLE_MIN_ITEMS: Final = 2048


@dataclass(slots=True)
class EffectWatch:
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
class KeystrokeBurst:
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
class ScrollRun:
    """Scroll events of one window collapsed into one draft until something else happens."""

    draft: Draft
    start_y: int
    y: int
    max_y: int
    direction: int = 0
    reversals: int = 0


@dataclass(slots=True)
class WindowState:
    """One browser window (tab) as the pass has seen it so far."""

    label: str
    mirror: DomMirror = field(default_factory=DomMirror)
    url: str | None = None
    redacted_url: str | None = None
    focused: int | None = None
    bursts: dict[int, KeystrokeBurst] = field(default_factory=dict)
    baselines: dict[int, str] = field(default_factory=dict)
    watches: list[EffectWatch] = field(default_factory=list)
    # The last few clicks as (draft, x, y); x and y are -1 when unknown.
    recent_clicks: list[tuple[Draft, int, int]] = field(default_factory=list)
    loading: bool = False  # a page load began and its Meta has not arrived yet
    snapshot_seen: bool = False
    documents: int = 0
    first_ts: int | None = None
    changes: list[int] = field(default_factory=list)
    scroll: ScrollRun | None = None
    resize: Draft | None = None
    media: Draft | None = None
    viewport: tuple[int, int] | None = None

    def end_runs(self) -> None:
        """Scrolls, resizes and media events collapse into runs until something else."""
        self.scroll = None
        self.resize = None
        self.media = None

    def open_since(self, now: int, click_reach: int) -> int:
        """The earliest time at which this window may still emit or change a draft."""
        since = END
        if not self.snapshot_seen and self.first_ts is not None:
            since = self.first_ts  # a "no snapshot yet" gap would start there
        for burst in self.bursts.values():
            since = min(since, burst.last_ts)
        for watch in self.watches:
            since = min(since, watch.draft.ts)
        for run in (self.scroll.draft if self.scroll else None, self.resize, self.media):
            if run is not None:
                since = min(since, run.ts)
        for click, _, _ in self.recent_clicks:
            if now - click.last_ts <= click_reach:  # it may still repeat, double or drop
                since = min(since, click.ts)
        return since


class PassState:
    """Everything the event pass has collected, across windows."""

    def __init__(self, config: TimelineConfig, sink: DraftSink) -> None:
        self.config = config
        # A reaction that keeps a click from being dead is also its effect.
        self.watch_ms = max(config.effect_window_ms, config.dead_click_ms)
        self._click_reach = SETTLE_LAG_MS + max(config.rage_window_ms, DOUBLE_CLICK_MS)
        self.settler = Settler(config, sink)
        self.drafts: list[Draft] = []  # not yet settled
        self.emitted = 0
        self.origin = 0  # the first event's time, which refs' times count from till the end
        self.settled = -END  # everything before this time went to the settler
        self._settle_at = _SETTLE_MIN_ITEMS
        self.windows: dict[str, WindowState] = {}
        self.requests: list[Request] = []
        self.unresolved = 0
        self.skipped: Counter[str] = Counter()
        self.last_activity: int | None = None
        self.last_activity_window = "w1"
        self.active_window: WindowState | None = None
        self.paused_at: tuple[int, WindowState] | None = None
        self.offline_at: tuple[int, WindowState] | None = None
        self.idle_ms = 0
        self.blind_ms = 0
        self.max_scroll_y: int | None = None

    def window(self, window_id: str) -> WindowState:
        win = self.windows.get(window_id)
        if win is None:
            win = WindowState(label=f"w{len(self.windows) + 1}")
            self.windows[window_id] = win
        return win

    def emit(self, ts: int, win: WindowState, kind: EventKind, **fields: Any) -> Draft:
        draft = Draft(ts=ts, seq=self.emitted, window=win.label, kind=kind, **fields)
        self.emitted += 1
        if draft.url is None and win.url is not None:
            if win.redacted_url is None:
                win.redacted_url = redact_url(win.url)
            draft.url = win.redacted_url
        self.drafts.append(draft)
        return draft

    def target_label(self, win: WindowState, node_id: Any) -> str:
        label = win.mirror.label(node_id) if type(node_id) is int else None
        if label is None:
            self.unresolved += 1
            return f"element #{node_id}"
        return label

    def form_key(self, win: WindowState, node_id: int) -> tuple[str, int, int] | None:
        """A form's identity: node ids restart with every document, so the document counts."""
        form = win.mirror.form_of(node_id)
        return None if form is None else (win.label, win.documents, form)

    def changed(self, ts: int, win: WindowState) -> None:
        win.changes.append(ts)

    def activity(self, ts: int, win: WindowState) -> None:
        """A sign of a person at the keyboard: closes idle gaps and notices tab switches."""
        if self.paused_at is not None:
            return
        last = self.last_activity
        if last is not None and ts - last >= self.config.idle_gap_ms:
            self.idle_gap(last, ts)
        self.last_activity = ts
        self.last_activity_window = win.label
        if self.active_window is not None and self.active_window is not win:
            self.active_window.end_runs()
            self.emit(ts, win, EventKind.TAB, target=f"to {win.label}")
        self.active_window = win

    def idle_gap(self, start: int, end: int) -> None:
        """Nobody at the keyboard from `start` (the last activity) until `end`."""
        # Appended directly, not emitted: an idle gap carries no URL.
        self.drafts.append(
            Draft(
                ts=start,
                seq=self.emitted,
                window=self.last_activity_window,
                kind=EventKind.IDLE,
                duration_ms=end - start,
            )
        )
        self.emitted += 1
        self.idle_ms += end - start

    def settle(self, now: int) -> None:
        """Hand the settler what can no longer change, when enough is waiting to be worth
        a look (`now` is the time of the event being read)."""
        waiting = len(self.drafts) + len(self.requests)
        waiting += sum(len(win.changes) for win in self.windows.values())
        if waiting >= self._settle_at:
            self._settle(self._horizon(now))
            left = len(self.drafts) + len(self.requests)
            left += sum(len(win.changes) for win in self.windows.values())
            # When little could go (a long focus, an open scroll), look again later.
            self._settle_at = max(_SETTLE_MIN_ITEMS, 2 * left)

    def finish(self) -> None:
        """The pass is over: settle everything."""
        self._settle(END)
        self.settler.finish()

    def _horizon(self, now: int) -> int:
        """A time before which nothing new will be emitted and no draft will change."""
        horizon = now - SETTLE_LAG_MS
        if self.last_activity is not None:
            horizon = min(horizon, self.last_activity)  # an idle gap would start there
        for gap in (self.paused_at, self.offline_at):
            if gap is not None:
                horizon = min(horizon, gap[0])
        for win in self.windows.values():
            horizon = min(horizon, win.open_since(now, self._click_reach))
        return horizon

    def _settle(self, horizon: int) -> None:
        if horizon <= self.settled:
            return
        floor = self.settled
        self.settled = horizon
        ready = []
        later = []
        for draft in self.drafts:
            if draft.ts >= horizon:
                later.append(draft)
            elif not draft.dropped:
                if draft.ts < floor:
                    draft.ts = floor  # arrived later than SETTLE_LAG_MS
                ready.append(draft)
        self.drafts = later
        ready.sort(key=lambda d: (d.ts, d.seq))
        requests = [
            r if r.ts >= floor else replace(r, ts=floor) for r in self.requests if r.ts < horizon
        ]
        self.requests = [r for r in self.requests if r.ts >= horizon]
        requests.sort(key=lambda r: r.ts)
        changes = [r.ts for r in requests]
        for win in self.windows.values():
            changes += (max(ts, floor) for ts in win.changes if ts < horizon)
            win.changes = [ts for ts in win.changes if ts >= horizon]
        changes.sort()
        self.settler.add(ready, requests, changes, horizon)
