"""Time the timeline cannot account for as use: the recording paused, the browser
offline, and at the end of the recording a pause never resumed or a last idle stretch."""

from __future__ import annotations

from recap.timeline.models import EventKind
from recap.timeline.pass_state import PassState, WindowState


def on_recording_paused(state: PassState, ts: int, win: WindowState) -> None:
    if state.paused_at is None:
        state.activity(ts, win)
        state.changed(ts, win)  # the page went where the recorder may not look
        state.paused_at = (ts, win)
        state.last_activity = None  # unseen time is a gap, not idleness


def on_recording_resumed(state: PassState, ts: int) -> None:
    if state.paused_at is not None:
        start, where = state.paused_at
        state.paused_at = None
        state.last_activity = ts
        _paused(state, start, where, ts)


def on_offline(state: PassState, ts: int, win: WindowState) -> None:
    if state.offline_at is None:
        state.offline_at = (ts, win)


def on_online(state: PassState, ts: int) -> None:
    if state.offline_at is not None:
        start, where = state.offline_at
        state.offline_at = None
        state.emit(start, where, EventKind.GAP, value="browser offline", duration_ms=ts - start)


def close_gaps(state: PassState, last_ts: int) -> None:
    """The recording ended at `last_ts`: close a pause still open and a last idle gap."""
    if state.paused_at is not None:
        start, where = state.paused_at
        _paused(state, start, where, last_ts)
    last = state.last_activity
    if last is not None and last_ts - last >= state.config.idle_gap_ms:
        # The recording ran on with nobody at the keyboard.
        state.idle_gap(last, last_ts)


def _paused(state: PassState, start: int, where: WindowState, end: int) -> None:
    state.emit(start, where, EventKind.GAP, value="recording paused", duration_ms=end - start)
    state.blind_ms += end - start
