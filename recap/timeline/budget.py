"""Fit a timeline into a token budget by dropping its least informative events first.

Refs keep their numbers, so a summary of a trimmed timeline still cites the stored one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from recap.timeline.models import EventKind, Timeline, TimelineEvent
from recap.timeline.render import render_event, render_timeline
from recap.timeline.tokens import count_tokens

_KEEP_LONGEST: Final = 4
_TRUNCATION_NOTE_TOKENS: Final = 24


def priority(event: TimelineEvent) -> int:
    """Lower goes first: idle < custom < click without effect < click, input < nav, errors."""
    kind = event.kind
    if kind is EventKind.IDLE:
        return 0
    if kind is EventKind.CUSTOM:
        return 1
    if kind is EventKind.CLICK:
        return 2 if event.effect is None else 3
    if kind is EventKind.INPUT:
        return 3
    return _KEEP_LONGEST


def _spread_rank(position: int) -> int:
    """Trailing zero bits of position+1: dropping rank 0, then 1, … thins a run evenly."""
    n = position + 1
    return (n & -n).bit_length() - 1


def _drop_order(events: list[TimelineEvent]) -> list[int]:
    tiers: dict[int, list[int]] = {}
    for index, event in enumerate(events):
        tiers.setdefault(priority(event), []).append(index)
    order: list[int] = []
    for tier in sorted(tiers):
        members = tiers[tier]
        if tier == 0:
            # Short pauses say the least.
            members = sorted(members, key=lambda i: events[i].duration_ms or 0)
            order.extend(members)
        else:
            ranked = sorted(range(len(members)), key=lambda p: (_spread_rank(p), p))
            order.extend(members[p] for p in ranked)
    return order


def budget_timeline(
    timeline: Timeline,
    max_tokens: int,
    counter: Callable[[str], int] = count_tokens,
) -> Timeline:
    """Return `timeline` if its rendering fits `max_tokens`, else a copy with events dropped.

    The copy records how many were dropped in `stats.truncated_events`. If even the
    header alone is over budget, the result has no events.
    """
    if counter(render_timeline(timeline)) <= max_tokens:
        return timeline
    events = timeline.events
    # Estimate with per-line counts (cheap, nearly additive), then confirm on the real text.
    line_cost = [counter(render_event(event)) + 1 for event in events]
    empty = timeline.model_copy(update={"events": []})
    budget = max_tokens - counter(render_timeline(empty)) - _TRUNCATION_NOTE_TOKENS
    total = sum(line_cost)
    dropped: set[int] = set()
    order = _drop_order(events)
    cursor = 0
    while cursor < len(order) and total > budget:
        index = order[cursor]
        dropped.add(index)
        total -= line_cost[index]
        cursor += 1
    while True:
        trimmed = _without(timeline, dropped)
        if cursor >= len(order) or counter(render_timeline(trimmed)) <= max_tokens:
            return trimmed
        dropped.add(order[cursor])
        cursor += 1


def _without(timeline: Timeline, dropped: set[int]) -> Timeline:
    kept = [event for index, event in enumerate(timeline.events) if index not in dropped]
    stats = timeline.stats.model_copy(
        update={"truncated_events": timeline.stats.truncated_events + len(dropped)}
    )
    return timeline.model_copy(update={"events": kept, "stats": stats})
