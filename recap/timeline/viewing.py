"""How the person looked at the page: scrolls, resizes and media controls, each collapsed
into one event per run, and the text they selected."""

from __future__ import annotations

from typing import Any, Final

from recap.timeline.inputs import flush_bursts
from recap.timeline.models import EventKind, Flag
from recap.timeline.page_text import clip
from recap.timeline.pass_state import PassState, ScrollRun, WindowState
from recap.timeline.redact import redact_text

_SCROLL_STEP_PX: Final = 50
"""Smaller moves do not count as a change of scroll direction."""
_MEDIA_ACTIONS: Final = {0: "play", 1: "pause", 2: "seek", 3: "volume", 4: "rate"}


def on_scroll(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    y = data.get("y")
    if not isinstance(y, int | float):
        return
    y = int(y)
    run = win.scroll
    if run is None:
        flush_bursts(state, win)
        draft = state.emit(ts, win, EventKind.SCROLL)
        run = win.scroll = ScrollRun(draft=draft, start_y=y, y=y, max_y=y)
        # The first scroll event reports where the page already was.
    else:
        step = y - run.y
        if abs(step) >= _SCROLL_STEP_PX:
            direction = 1 if step > 0 else -1
            if run.direction and direction != run.direction:
                run.reversals += 1
            run.direction = direction
        run.y = y
        run.max_y = max(run.max_y, y)
        run.draft.duration_ms = ts - run.draft.ts
    run.draft.value = _scroll_text(run)
    took = run.draft.duration_ms
    if run.reversals >= 3 and took is not None and took <= state.config.thrash_window_ms:
        run.draft.flag(Flag.THRASH)
    if state.max_scroll_y is None or run.max_y > state.max_scroll_y:
        state.max_scroll_y = run.max_y


def on_resize(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    width, height = data.get("width"), data.get("height")
    if type(width) is not int or type(height) is not int:
        return
    win.viewport = (width, height)
    if win.resize is None:
        win.resize = state.emit(ts, win, EventKind.RESIZE)
    else:
        win.resize.duration_ms = ts - win.resize.ts
    win.resize.value = f"{width}x{height}"


def on_selection(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    ranges = data.get("ranges")
    if not isinstance(ranges, list):
        return
    texts = [win.mirror.selected_text(r) for r in ranges if isinstance(r, dict)]
    text = " ".join(t for t in texts if t)
    if text:
        state.emit(ts, win, EventKind.SELECTION, value=clip(redact_text(text)))


def on_media(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    kind = data.get("type")
    action = _MEDIA_ACTIONS.get(kind) if type(kind) is int else None
    if action is None:
        return
    node_id = data.get("id")
    target = state.target_label(win, node_id)
    run = win.media
    if run is not None and run.target == target and run.value == action:
        run.count += 1
        return
    win.media = state.emit(ts, win, EventKind.MEDIA, target=target, value=action)


def _scroll_text(run: ScrollRun) -> str:
    text = f"down to {run.y}px" if run.y >= run.start_y else f"up to {run.y}px"
    if run.max_y > run.y and run.max_y > run.start_y:
        text += f" (max {run.max_y}px)"
    return text
