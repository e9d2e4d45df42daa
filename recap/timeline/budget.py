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
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
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


def _evenly(indices: Sequence[int]) -> Iterator[int]:
    """`indices` in the order that thins a run evenly: every other one first (those whose
    position+1 is odd), then every fourth, and so on; sorted by (trailing zero bits of
    position+1, position), without building that order."""
    count = len(indices)
    rank = 0
    while (1 << rank) <= count:
        yield from (indices[p] for p in range((1 << rank) - 1, count, 2 << rank))
        rank += 1


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
    lines: Sequence[EventLine],
    max_tokens: int,
    counter: Callable[[str], int] = count_tokens,
    *,
    fits: bool | None = None,
) -> Timeline:
    """`budget_timeline` for a timeline given as its parts. `lines` is read by index and
    may live on disk (`LineStore`): beside it, the budget keeps a few bytes per line.

    `fits` is whether the whole timeline is already known to fit (None: find out)."""
    if fits is None:
        fits = _fits(lambda: render_text(session, stats, lines), len(lines), max_tokens, counter)
    if fits:
        return Timeline(session=session, events=[line.event() for line in lines], stats=stats)
    original = len(lines)
    show_window = session.windows > 1
    dropped: Counter[str] = Counter()
    events = _Collapsed(lines)
    if events.removed:
        dropped[_COLLAPSED] = events.removed

    def cost(event: EventLine) -> int:
        return counter(render_event(event, show_window)) + 1

    costs = array("q", (cost(events[index]) for index in range(len(events))))
    traits = events.traits
    alive = bytearray(b"\x01") * len(events)
    total = sum(costs)
    kept = len(events)

    def budget_left() -> int:
        header = render_header_lines(session, _trimmed_stats(stats, original, kept, dropped))
        return max_tokens - counter("\n".join(header)) - 2

    budget = budget_left()
    steps = [("drop", _NOISY), ("strip", _EFFECT), ("drop", _NAVIGATION), ("drop", _ACTION)]
    for action, trait in [*steps, ("drop", 0)]:
        # Which lines a step may touch depends on nothing an earlier step changes.
        order = _evenly(
            array("l", (i for i, t in enumerate(traits) if not t & _PROTECTED and t & trait))
            if trait
            else array("l", (i for i, t in enumerate(traits) if not t & _PROTECTED))
        )
        for index in order:
            if total <= budget:
                break
            if not alive[index]:
                continue
            if action == "strip":
                events.strip(index)
                new_cost = cost(events[index])
                total += new_cost - costs[index]
                costs[index] = new_cost
            else:
                alive[index] = 0
                kept -= 1
                total -= costs[index]
                dropped[events.kind(index).value] += 1
        budget = budget_left()
    return _trim_until_fits(session, stats, original, events, alive, dropped, max_tokens, counter)


_NOISY: Final = 1
_EFFECT: Final = 2
_NAVIGATION: Final = 4
_ACTION: Final = 8
_PROTECTED: Final = 16
_KINDS: Final = tuple(EventKind)
_KIND_CODES: Final = {kind: code for code, kind in enumerate(_KINDS)}


def _traits(event: EventLine) -> int:
    kind = event.kind
    traits = _NOISY if kind in _NOISE else 0
    if event.effect is not None:
        traits |= _EFFECT
    if kind is EventKind.NAVIGATION:
        traits |= _NAVIGATION
    if kind in _ACTIONS:
        traits |= _ACTION
    if is_protected(event):
        traits |= _PROTECTED
    return traits


class _Collapsed:
    """`lines` with runs of identical consecutive events merged into the first, `count`
    summed, as a few bytes per merged line; a line is read back from `lines` when asked."""

    def __init__(self, lines: Sequence[EventLine]) -> None:
        self._lines = lines
        self._heads = array("q")
        self._counts = array("q")
        self.traits = bytearray()
        self._kinds = bytearray()
        self.removed = 0
        head: EventLine | None = None
        for index, line in enumerate(lines):
            if head is not None and _same(head, line):
                self._counts[-1] += line.count
                self.removed += 1
                continue
            head = line
            self._heads.append(index)
            self._counts.append(line.count)
            self.traits.append(_traits(line))
            self._kinds.append(_KIND_CODES[line.kind])
        self._stripped = bytearray(len(self._heads))

    def __len__(self) -> int:
        return len(self._heads)

    def __getitem__(self, index: int) -> EventLine:
        line = self._lines[self._heads[index]]
        count = self._counts[index]
        if self._stripped[index]:
            return dataclasses.replace(line, count=count, effect=None, react_ms=None)
        if count != line.count:
            return dataclasses.replace(line, count=count)
        return line

    def kind(self, index: int) -> EventKind:
        return _KINDS[self._kinds[index]]

    def strip(self, index: int) -> None:
        """Leave out the line's effect (and its reaction time, which is part of it)."""
        self._stripped[index] = 1


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
    return dataclasses.replace(
        stats,
        truncated_events=stats.truncated_events + original - kept,
        dropped=dict(sorted(dropped.items(), key=lambda item: -item[1])),
    )


def _trim_until_fits(
    session: SessionInfo,
    stats: TimelineStats,
    original: int,
    events: _Collapsed,
    alive: bytearray,
    dropped: Counter[str],
    max_tokens: int,
    counter: Callable[[str], int],
) -> Timeline:
    """The trimmed timeline, checked on its real text and trimmed further until it fits.

    Per-line counts are nearly additive, so this rarely drops more than a few events.
    """
    kept = {index: events[index] for index, keep in enumerate(alive) if keep}

    def text() -> str:
        return render_text(
            session, _trimmed_stats(stats, original, len(kept), dropped), kept.values()
        )

    order = (i for i in _evenly(range(len(events))) if not events.traits[i] & _PROTECTED)
    # Counted again only after a drop: passing events already dropped changes no text
    # (when protected events alone exceed the budget, that is every event in `order`).
    over = counter(text()) > max_tokens
    while over:
        index = next(order, None)
        if index is None:
            break
        if index in kept:
            del kept[index]
            dropped[events.kind(index).value] += 1
            over = counter(text()) > max_tokens
    return Timeline(
        session=session,
        events=[event.event() for event in kept.values()],
        stats=_trimmed_stats(stats, original, len(kept), dropped),
    )
