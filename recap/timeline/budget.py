"""Fit a timeline into a token budget, giving up the least informative text first.

Order of sacrifice: repeats collapse (`x4`), then noise (scrolls, resizes, media,
selections, custom events, tab switches, idle gaps), then effect text, then navigations,
then user actions. Errors and events with a signal flag are never dropped. Refs keep
their numbers, so a summary of a trimmed timeline still cites the stored one.

The work is done on `EventLine`s, a slotted tenth of a `TimelineEvent`'s memory, so a long
recording can be budgeted (`budget_lines`) without ever holding all its events as models;
only what is kept becomes a `TimelineEvent`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from recap.timeline.models import (
    ERROR_KINDS,
    SIGNAL_FLAGS,
    EventKind,
    SessionInfo,
    Timeline,
    TimelineEvent,
    TimelineStats,
)
from recap.timeline.render import render_event, render_header_lines, render_text, render_timeline
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


@dataclass(slots=True, frozen=True)
class EventLine:
    """A `TimelineEvent`'s fields, without the model: what the budget weighs and keeps."""

    ref: str
    t_ms: int
    window: str
    kind: EventKind
    target: str | None = None
    value: str | None = None
    flags: tuple[str, ...] = ()
    effect: str | None = None
    url: str | None = None
    duration_ms: int | None = None
    react_ms: int | None = None
    count: int = 1

    @classmethod
    def of(cls, event: TimelineEvent) -> EventLine:
        return cls(
            event.ref,
            event.t_ms,
            event.window,
            event.kind,
            event.target,
            event.value,
            tuple(event.flags),
            event.effect,
            event.url,
            event.duration_ms,
            event.react_ms,
            event.count,
        )

    def event(self) -> TimelineEvent:
        return TimelineEvent(
            ref=self.ref,
            t_ms=self.t_ms,
            window=self.window,
            kind=self.kind,
            target=self.target,
            value=self.value,
            flags=list(self.flags),
            effect=self.effect,
            url=self.url,
            duration_ms=self.duration_ms,
            react_ms=self.react_ms,
            count=self.count,
        )


def is_protected(event: TimelineEvent | EventLine) -> bool:
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


def _same(a: EventLine, b: EventLine) -> bool:
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


def collapse_repeats(events: list[EventLine]) -> tuple[list[EventLine], int]:
    """Merge runs of identical consecutive events into the first, with `count` summed."""
    merged: list[EventLine] = []
    removed = 0
    for event in events:
        if merged and _same(merged[-1], event):
            head = merged[-1]
            merged[-1] = dataclasses.replace(head, count=head.count + event.count)
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
    if _fits(lambda: render_timeline(timeline), len(timeline.events), max_tokens, counter):
        return timeline
    lines = [EventLine.of(event) for event in timeline.events]
    return budget_lines(timeline.session, timeline.stats, lines, max_tokens, counter, fits=False)


def budget_lines(
    session: SessionInfo,
    stats: TimelineStats,
    lines: list[EventLine],
    max_tokens: int,
    counter: Callable[[str], int] = count_tokens,
    *,
    fits: bool | None = None,
) -> Timeline:
    """`budget_timeline` for a timeline given as its parts; `lines` is consumed.

    `fits` is whether the whole timeline is already known to fit (None: find out)."""
    if fits is None:
        fits = _fits(lambda: render_text(session, stats, lines), len(lines), max_tokens, counter)
    if fits:
        return Timeline(session=session, events=[line.event() for line in lines], stats=stats)
    original = len(lines)
    show_window = session.windows > 1
    dropped: Counter[str] = Counter()
    events, collapsed = collapse_repeats(lines)
    lines.clear()
    if collapsed:
        dropped[_COLLAPSED] = collapsed

    def cost(event: EventLine) -> int:
        return counter(render_event(event, show_window)) + 1

    costs = [cost(event) for event in events]
    alive = [True] * len(events)
    total = sum(costs)
    kept = len(events)

    def budget_left() -> int:
        header = render_header_lines(session, _trimmed_stats(stats, original, kept, dropped))
        return max_tokens - counter("\n".join(header)) - 2

    budget = budget_left()

    def pick(keep: Callable[[EventLine], bool]) -> list[int]:
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
                stripped = dataclasses.replace(events[index], effect=None, react_ms=None)
                events[index] = stripped
                new_cost = cost(stripped)
                total += new_cost - costs[index]
                costs[index] = new_cost
            else:
                alive[index] = False
                kept -= 1
                total -= costs[index]
                dropped[events[index].kind.value] += 1
        budget = budget_left()
    return _trim_until_fits(session, stats, original, events, alive, dropped, max_tokens, counter)


def _fits(
    render: Callable[[], str], events: int, max_tokens: int, counter: Callable[[str], int]
) -> bool:
    """Whether a timeline of `events` events, rendered by `render`, fits `max_tokens`.

    With the real tokenizer, two bounds often answer without counting: each event's line
    holds at least one token of its own (its ref starts a new pre-token), so more events
    than tokens never fit; and a byte-level BPE token stands for at least one byte, so a
    text no longer in UTF-8 than the budget fits without loading the tokenizer."""
    if counter is count_tokens and events > max_tokens:
        return False
    text = render()
    if counter is count_tokens and len(text.encode("utf-8")) <= max_tokens:
        return True
    return counter(text) <= max_tokens


def _trimmed_stats(
    stats: TimelineStats, original: int, kept: int, dropped: Counter[str]
) -> TimelineStats:
    return stats.model_copy(
        update={
            "truncated_events": stats.truncated_events + original - kept,
            "dropped": dict(sorted(dropped.items(), key=lambda item: -item[1])),
        }
    )


def _trim_until_fits(
    session: SessionInfo,
    stats: TimelineStats,
    original: int,
    events: list[EventLine],
    alive: list[bool],
    dropped: Counter[str],
    max_tokens: int,
    counter: Callable[[str], int],
) -> Timeline:
    """The trimmed timeline, checked on its real text and trimmed further until it fits.

    Per-line counts are nearly additive, so this rarely drops more than a few events.
    """

    def text() -> str:
        kept = [event for event, keep in zip(events, alive, strict=True) if keep]
        return render_text(session, _trimmed_stats(stats, original, len(kept), dropped), kept)

    order = [i for i in _evenly(list(range(len(events)))) if not is_protected(events[i])]
    cursor = 0
    # Counted again only after a drop: passing events already dropped changes no text
    # (when protected events alone exceed the budget, that is every event in `order`).
    over = counter(text()) > max_tokens
    while over and cursor < len(order):
        index = order[cursor]
        cursor += 1
        if alive[index]:
            alive[index] = False
            dropped[events[index].kind.value] += 1
            over = counter(text()) > max_tokens
    kept = [event.event() for event, keep in zip(events, alive, strict=True) if keep]
    return Timeline(
        session=session,
        events=kept,
        stats=_trimmed_stats(stats, original, len(kept), dropped),
    )
