"""Signals computed by code once the event pass is over: rage, dead, slow and erroring
actions, thrash and abandoned forms, plus each action's effect text.

They are facts the model may cite but never invent; the gate drops friction claims that
have no matching flag. Every threshold comes from `TimelineConfig`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from recap.core.timeline_config import TimelineConfig
from recap.timeline.drafts import Draft, Request
from recap.timeline.models import ERROR_KINDS, EventKind, Flag

EFFECT_REQUESTS: Final = 3
_CLICKS: Final = frozenset({EventKind.CLICK, EventKind.SUBMIT})
_ACTIONS: Final = frozenset({EventKind.CLICK, EventKind.SUBMIT, EventKind.INPUT})


def apply_signals(
    drafts: Sequence[Draft],
    requests: Sequence[Request],
    changes: list[int],
    config: TimelineConfig,
) -> None:
    """Flag and describe `drafts` (sorted by time) in place."""
    by_window: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_window[draft.window].append(draft)
    requests_by_window: dict[str, list[Request]] = defaultdict(list)
    for request in sorted(requests, key=lambda r: r.ts):
        requests_by_window[request.window].append(request)
    for window, events in by_window.items():
        window_requests = requests_by_window.get(window, [])
        _actions(events, window_requests, changes, requests, config)
        _thrash(events, config)
        _abandoned(events)


def _actions(
    events: list[Draft],
    requests: list[Request],
    changes: list[int],
    all_requests: Sequence[Request],
    config: TimelineConfig,
) -> None:
    actions = [d for d in events if d.kind in _ACTIONS]
    errors = [d for d in events if d.kind in ERROR_KINDS and Flag.SLOW not in d.flags]
    error_times = [d.ts for d in errors]
    request_times = [r.ts for r in requests]
    # Liveness is judged on the whole session: effects may land in another tab.
    changes = sorted([*changes, *(r.ts for r in all_requests)])
    for index, action in enumerate(actions):
        start, last = action.ts, action.last_ts
        following = actions[index + 1].ts if index + 1 < len(actions) else None
        end = last + config.effect_window_ms
        if following is not None:
            end = min(end, max(following - 1, last))
        own_requests = requests[
            bisect.bisect_left(request_times, start) : bisect.bisect_right(request_times, end)
        ]
        own_errors = errors[
            bisect.bisect_left(error_times, start) : bisect.bisect_right(error_times, end)
        ]
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
            continue
        if action.count >= config.rage_clicks and _is_rage(action.click_times, config):
            action.flag(Flag.RAGE)
        if action.form_field:
            continue
        quiet_until = last + config.dead_click_ms
        moved = _any_between(changes, start, quiet_until)
        if not moved:
            action.flag(Flag.DEAD)
            action.react_ms = None
        elif _is_slow(action.react_ms, own_requests, config.slow_click_ms):
            action.flag(Flag.SLOW)


def _is_slow(react_ms: int | None, requests: list[Request], limit_ms: int) -> bool:
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


def _any_between(times: list[int], start: int, end: int) -> bool:
    """Whether any time t satisfies start < t <= end."""
    index = bisect.bisect_right(times, start)
    return index < len(times) and times[index] <= end


def _page(url: str | None) -> str | None:
    if url is None:
        return None
    return url.split("?", 1)[0].split("#", 1)[0]


def _thrash(events: list[Draft], config: TimelineConfig) -> None:
    """A→B→A→B within the thrash window: the user is going back and forth."""
    navigations = [d for d in events if d.kind is EventKind.NAVIGATION]
    for index in range(3, len(navigations)):
        a, b, c, d = navigations[index - 3 : index + 1]
        pages = [_page(n.url) for n in (a, b, c, d)]
        if (
            pages[0] == pages[2]
            and pages[1] == pages[3]
            and pages[0] != pages[1]
            and d.ts - a.ts <= config.thrash_window_ms
        ):
            d.flag(Flag.THRASH)


def _abandoned(events: list[Draft]) -> None:
    """Typed into a form, then left it without submitting: flag the form's last input."""
    forms: dict[tuple[str, int, int], list[Draft]] = defaultdict(list)
    submits: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    navigations: list[Draft] = []
    for draft in events:
        if draft.form_id is not None:
            if draft.kind is EventKind.INPUT:
                forms[draft.form_id].append(draft)
            elif _submits(draft):
                submits[draft.form_id].append(draft.ts)
        elif draft.kind is EventKind.NAVIGATION:
            navigations.append(draft)
    navigation_times = [d.ts for d in navigations]
    for form_id, inputs in forms.items():
        first, last = inputs[0], inputs[-1]
        if any(ts >= first.ts for ts in submits.get(form_id, ())):
            continue
        # A GET form submits by navigating to a URL that carries its fields: the next
        # navigation after the last keystroke tells.
        names = {d.field_name for d in inputs if d.field_name}
        index = bisect.bisect_left(navigation_times, last.ts)
        if index < len(navigations) and _carries(navigations[index].url, names):
            continue
        last.flag(Flag.ABANDONED)


def _submits(draft: Draft) -> bool:
    """A submit button, or any click in the form that sent data (JS-driven forms)."""
    if draft.kind is EventKind.SUBMIT:
        return True
    effect = draft.effect or ""
    return draft.kind is EventKind.CLICK and any(
        f"{method} " in effect for method in ("POST", "PUT", "PATCH")
    )


def _carries(url: str | None, names: set[str]) -> bool:
    if not url or "?" not in url or not names:
        return False
    query = url.split("?", 1)[1]
    keys = {pair.split("=", 1)[0] for pair in query.split("&")}
    return bool(keys & names)
