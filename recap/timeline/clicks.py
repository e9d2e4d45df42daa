"""Clicks: each one is labelled from the DOM mirror, becomes a submit when it sends a
form, and opens an `EffectWatch`; quick repeats on one spot merge into one click xN."""

from __future__ import annotations

from typing import Any, Final

from recap.timeline.drafts import Draft
from recap.timeline.effects import close_watches
from recap.timeline.inputs import flush_bursts
from recap.timeline.models import EventKind, Flag
from recap.timeline.pass_state import DOUBLE_CLICK_MS, EffectWatch, PassState, WindowState

_BUTTON_TYPES: Final = frozenset({"submit", "button", "reset", "image"})


def on_click(
    state: PassState,
    ts: int,
    win: WindowState,
    data: dict[str, Any],
    double: bool,
    context: bool = False,
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
    repeat = _repeat_of(state, ts, win, node_id, px, py) if not context else None
    if repeat is not None:
        # Clicks on the same spot in quick succession are one event xN; whether that
        # is rage is decided once the burst is over.
        repeat.count += 1
        repeat.click_times.append(ts)
        for watch in win.watches:
            if watch.draft is repeat:
                watch.deadline = ts + state.watch_ms
        return
    # What happens after the next click is that click's effect, not this one's.
    for watch in win.watches:
        watch.deadline = min(watch.deadline, ts - 1)
    close_watches(win, ts)
    win.end_runs()
    flush_bursts(state, win)
    draft = _emit_click(state, ts, win, node_id, double, context)
    spot = (int(px), int(py)) if px is not None and py is not None else (-1, -1)
    win.recent_clicks = [*win.recent_clicks[-3:], (draft, *spot)]
    win.watches.append(EffectWatch(draft=draft, deadline=ts + state.watch_ms))


def _emit_click(
    state: PassState, ts: int, win: WindowState, node_id: Any, double: bool, context: bool
) -> Draft:
    target_node = win.mirror.interactive_target(node_id) if type(node_id) is int else None
    kind = EventKind.CLICK
    form_id = None
    if target_node is not None:
        form_id = state.form_key(win, target_node.id)
        if form_id is not None and _is_submit(target_node.tag, target_node.attrs):
            kind = EventKind.SUBMIT
    draft = state.emit(
        ts,
        win,
        kind,
        target=state.target_label(win, node_id),
        node_id=node_id if type(node_id) is int else None,
        flags=[Flag.DOUBLE] if double else (["context_menu"] if context else []),
        click_times=[ts],
        form_id=form_id,
    )
    draft.form_field = target_node is not None and _is_form_field(
        target_node.tag, target_node.attrs
    )
    return draft


def _repeat_of(
    state: PassState, ts: int, win: WindowState, node_id: Any, x: float | None, y: float | None
) -> Draft | None:
    """The click this one repeats (same spot, soon after, nothing changed), if any."""
    if not win.recent_clicks:
        return None
    last, lx, ly = win.recent_clicks[-1]
    if last.dropped or ts - last.last_ts > state.config.rage_window_ms:
        return None
    if last.kind not in (EventKind.CLICK, EventKind.SUBMIT):
        return None
    radius = state.config.rage_radius_px
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
