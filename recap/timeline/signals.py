"""Signals computed by code from what the event pass saw around each action: rage, dead,
slow and erroring actions, thrash and abandoned forms, plus each action's effect text.

They are facts the model may cite but never invent; the gate drops friction claims that
have no matching flag. Every threshold comes from `TimelineConfig`. `settle` decides when
each rule has seen all it needs and applies it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Final

from recap.core.timeline_config import TimelineConfig
from recap.timeline.drafts import Draft, Request
from recap.timeline.models import EventKind, Flag

EFFECT_REQUESTS: Final = 3
_CLICKS: Final = frozenset({EventKind.CLICK, EventKind.SUBMIT})


def action_reach(config: TimelineConfig) -> int:
    """How far past an action's last moment its signals look (for effects and liveness)."""
    return max(config.effect_window_ms, config.dead_click_ms)


def finish_action(
    action: Draft,
    following: int | None,
    requests: Sequence[Request],
    request_times: Sequence[int],
    error_times: Sequence[int],
    changes: Sequence[int],
    config: TimelineConfig,
) -> None:
    """Flag and describe one action in place.

    `following` is when the window's next action began (None: none within reach);
    `requests` and their `request_times` are the window's requests and `error_times` its
    errors that are not just slow, in time order; `changes` is when anything changed in
    any window, requests included (liveness is judged on the whole session: effects may
    land in another tab). Each holds at least what lies between the action and its reach.
    """
    start, last = action.ts, action.last_ts
    end = last + config.effect_window_ms
    if following is not None:
        end = min(end, max(following - 1, last))
    own_requests = requests[
        bisect.bisect_left(request_times, start) : bisect.bisect_right(request_times, end)
    ]
    own_errors = bisect.bisect_right(error_times, end) > bisect.bisect_left(error_times, start)
    if own_errors or any(r.failed for r in own_requests):
        action.flag(Flag.ERROR_AFTER)
    if action.error_text is not None:
        action.flag(Flag.ERROR_SHOWN)
    parts = [action.dom_effect] if action.dom_effect else []
    parts += [r.describe() for r in own_requests[:EFFECT_REQUESTS]]
    if len(own_requests) > EFFECT_REQUESTS:
        parts.append(f"+{len(own_requests) - EFFECT_REQUESTS} requests")
    action.effect = "; ".join(parts) or None
    if action.kind not in _CLICKS:
        return
    if action.count >= config.rage_clicks and _is_rage(action.click_times, config):
        action.flag(Flag.RAGE)
    if action.form_field:
        return
    quiet_until = last + config.dead_click_ms
    moved = _any_between(changes, start, quiet_until)
    if not moved:
        action.flag(Flag.DEAD)
        action.react_ms = None
    elif _is_slow(action.react_ms, own_requests, config.slow_click_ms):
        action.flag(Flag.SLOW)


def _is_slow(react_ms: int | None, requests: Sequence[Request], limit_ms: int) -> bool:
    """Slow to show anything, or (nothing shown) waiting on a slow request."""
    if react_ms is not None:
        return react_ms > limit_ms
    return any((r.duration_ms or 0) > limit_ms for r in requests)


def _is_rage(times: list[int], config: TimelineConfig) -> bool:
    need = config.rage_clicks
    return any(
        times[i + need - 1] - times[i] <= config.rage_window_ms
        for i in range(len(times) - need + 1)
    )


def _any_between(times: Sequence[int], start: int, end: int) -> bool:
    """Whether any time t satisfies start < t <= end."""
    index = bisect.bisect_right(times, start)
    return index < len(times) and times[index] <= end


def _page(url: str | None) -> str | None:
    if url is None:
        return None
    return url.split("?", 1)[0].split("#", 1)[0]


def flag_thrash(navigations: Sequence[Draft], config: TimelineConfig) -> None:
    """A→B→A→B within the thrash window: the user is going back and forth. `navigations`
    are a window's last four, the newest last; it is the one flagged."""
    a, b, c, d = navigations
    pages = [_page(n.url) for n in (a, b, c, d)]
    if (
        pages[0] == pages[2]
        and pages[1] == pages[3]
        and pages[0] != pages[1]
        and d.ts - a.ts <= config.thrash_window_ms
    ):
        d.flag(Flag.THRASH)


def submits(draft: Draft) -> bool:
    """A submit button, or any click in the form that sent data (JS-driven forms)."""
    if draft.kind is EventKind.SUBMIT:
        return True
    effect = draft.effect or ""
    return draft.kind is EventKind.CLICK and any(
        f"{method} " in effect for method in ("POST", "PUT", "PATCH")
    )


def carries(url: str | None, names: set[str]) -> bool:
    """Whether `url` is what a GET form with fields `names` submits to."""
    if not url or "?" not in url or not names:
        return False
    query = url.split("?", 1)[1]
    keys = {pair.split("=", 1)[0] for pair in query.split("&")}
    return bool(keys & names)
