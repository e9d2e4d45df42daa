"""Fit a timeline into a token budget, giving up the least informative text first.

Order of sacrifice: repeats collapse (`x4`), then noise (scrolls, resizes, media,
selections, custom events, tab switches, idle gaps), then effect text, then navigations,
then user actions. Errors and events with a signal flag are never dropped. Refs keep
their numbers, so a summary of a trimmed timeline still cites the stored one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Final

from recap.timeline.models import ERROR_KINDS, SIGNAL_FLAGS, EventKind, Timeline, TimelineEvent
from recap.timeline.render import render_event, render_header, render_timeline
from recap.timeline.tokens import count_tokens

_NOISE: Final = frozenset(
    {
        EventKind.SCROLL,
        EventKind.RESIZE,
        EventKind.MEDIA,
        EventKind.SELECTION,
        EventKind.CUSTOM,
        EventKind.TAB,
        EventKind.IDLE,
    }
)
_ACTIONS: Final = frozenset({EventKind.CLICK, EventKind.INPUT, EventKind.SUBMIT})
_COLLAPSED: Final = "collapsed"


def is_protected(event: TimelineEvent) -> bool:
    """Errors, signals and coverage gaps always reach the model."""
    if event.kind in ERROR_KINDS or event.kind is EventKind.GAP:
        return True
    return any(flag in SIGNAL_FLAGS for flag in event.flags)


def _spread_rank(position: int) -> int:
    """Trailing zero bits of position+1: dropping rank 0, then 1, … thins a run evenly."""
    n = position + 1
    return (n & -n).bit_length() - 1


def _evenly(indices: list[int]) -> list[int]:
    ranked = sorted(range(len(indices)), key=lambda p: (_spread_rank(p), p))
    return [indices[p] for p in ranked]


def _same(a: TimelineEvent, b: TimelineEvent) -> bool:
    return (
        a.kind == b.kind
        and a.window == b.window
        and a.target == b.target
        and a.value == b.value
        and a.flags == b.flags
        and a.effect == b.effect
        and a.url == b.url
        and a.kind not in (EventKind.IDLE, EventKind.GAP, EventKind.NAVIGATION)
    )


def collapse_repeats(events: list[TimelineEvent]) -> tuple[list[TimelineEvent], int]:
    """Merge runs of identical consecutive events into the first, with `count` summed."""
    merged: list[TimelineEvent] = []
    removed = 0
    for event in events:
        if merged and _same(merged[-1], event):
            head = merged[-1]
            merged[-1] = head.model_copy(update={"count": head.count + event.count})
            removed += 1
        else:
            merged.append(event)
    return merged, removed


def budget_timeline(
    timeline: Timeline,
    max_tokens: int,
    counter: Callable[[str], int] = count_tokens,
) -> Timeline:
    """Return `timeline` if its rendering fits `max_tokens`, else a trimmed copy.

    The copy counts what it left out in `stats.truncated_events` and, by kind, in
    `stats.dropped`; the rendered header says so. Protected events stay even when they
    alone exceed the budget.
    """
    if counter(render_timeline(timeline)) <= max_tokens:
        return timeline
    show_window = timeline.session.windows > 1
    dropped: Counter[str] = Counter()
    events, collapsed = collapse_repeats(list(timeline.events))
    if collapsed:
        dropped[_COLLAPSED] = collapsed

    def cost(event: TimelineEvent) -> int:
        return counter(render_event(event, show_window)) + 1

    costs = [cost(event) for event in events]
    alive = [True] * len(events)
    total = sum(costs)

    def budget_left() -> int:
        trimmed = _assemble(timeline, events, alive, dropped)
        return max_tokens - counter("\n".join(render_header(trimmed))) - 2

    budget = budget_left()

    def pick(keep: Callable[[TimelineEvent], bool]) -> list[int]:
        return _evenly([i for i, e in enumerate(events) if keep(e) and not is_protected(e)])

    steps: list[tuple[str, list[int]]] = [
        ("drop", pick(lambda e: e.kind in _NOISE)),
        ("strip", pick(lambda e: e.effect is not None)),
        ("drop", pick(lambda e: e.kind is EventKind.NAVIGATION)),
        ("drop", pick(lambda e: e.kind in _ACTIONS)),
        ("drop", pick(lambda e: True)),
    ]
    for action, order in steps:
        for index in order:
            if total <= budget:
                break
            if not alive[index]:
                continue
            if action == "strip":
                stripped = events[index].model_copy(update={"effect": None, "react_ms": None})
                events[index] = stripped
                new_cost = cost(stripped)
                total += new_cost - costs[index]
                costs[index] = new_cost
            else:
                alive[index] = False
                total -= costs[index]
                dropped[events[index].kind.value] += 1
        budget = budget_left()
    return _trim_until_fits(timeline, events, alive, dropped, max_tokens, counter)


def _trim_until_fits(
    timeline: Timeline,
    events: list[TimelineEvent],
    alive: list[bool],
    dropped: Counter[str],
    max_tokens: int,
    counter: Callable[[str], int],
) -> Timeline:
    """The trimmed timeline, checked on its real text and trimmed further until it fits.

    Per-line counts are nearly additive, so this rarely drops more than a few events.
    """
    result = _assemble(timeline, events, alive, dropped)
    order = [i for i in _evenly(list(range(len(events)))) if not is_protected(events[i])]
    cursor = 0
    while counter(render_timeline(result)) > max_tokens and cursor < len(order):
        index = order[cursor]
        cursor += 1
        if alive[index]:
            alive[index] = False
            dropped[events[index].kind.value] += 1
            result = _assemble(timeline, events, alive, dropped)
    return result


def _assemble(
    timeline: Timeline, events: list[TimelineEvent], alive: list[bool], dropped: Counter[str]
) -> Timeline:
    kept = [event for event, keep in zip(events, alive, strict=True) if keep]
    left_out = len(timeline.events) - len(kept)
    stats = timeline.stats.model_copy(
        update={
            "truncated_events": timeline.stats.truncated_events + left_out,
            "dropped": dict(sorted(dropped.items(), key=lambda item: -item[1])),
        }
    )
    return timeline.model_copy(update={"events": kept, "stats": stats})
