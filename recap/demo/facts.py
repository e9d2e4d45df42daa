"""What code knows about a session, shown beside what the model wrote about it.

`recap demo` runs a tiny local model by default; its prose can be wrong. These facts come
from the compiled timeline (signals, errors, failed requests, abandoned inputs, pages),
and the known outcome from the sample generator's ground truth, so the demo shows what
recap itself found and whether the model's verdict agrees with what really happened.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from recap.timeline.models import ERROR_KINDS, SIGNAL_FLAGS, EventKind, Flag, Timeline
from recap.timeline.render import format_clock, render_event

# Effects can quote a whole banner or list of changes; a fact stays a line or two.
_MAX_WHAT: Final = 160


class FactKind(StrEnum):
    PAGE = "page"
    SIGNAL = "signal"
    ERROR = "error"
    FAILED_REQUEST = "failed request"
    ABANDONED_INPUT = "abandoned input"


@dataclass(frozen=True)
class Fact:
    """One timeline event worth showing a person, cited by the ref a summary would use."""

    kind: FactKind
    ref: str
    t_ms: int
    what: str
    """The event as the model read it, without its ref, clock and flags."""
    signals: tuple[str, ...]
    """The frustration signals code put on it (rage, dead, slow, error_after, …)."""


def timeline_facts(timeline: Timeline) -> list[Fact]:
    """The pages, errors, failed requests, abandoned inputs and signal-flagged events of
    `timeline`, in timeline order: one fact per event, signals kept on every kind."""
    facts: list[Fact] = []
    for event in timeline.events:
        signals = tuple(flag for flag in event.flags if flag in SIGNAL_FLAGS)
        kind: FactKind
        if event.kind is EventKind.NAVIGATION:
            kind = FactKind.PAGE
        elif event.kind is EventKind.NETWORK_ERROR:
            kind = FactKind.FAILED_REQUEST
        elif event.kind in ERROR_KINDS:
            kind = FactKind.ERROR
        elif Flag.ABANDONED in signals:
            kind = FactKind.ABANDONED_INPUT
        elif signals:
            kind = FactKind.SIGNAL
        else:
            continue
        if kind is FactKind.PAGE:
            what = event.url or "?"
        else:
            # The renderer's words, so the fact reads as the line the model was given.
            line = render_event(replace(event, flags=[]), show_window=False)
            what = line.split(" ", 2)[2]
        if len(what) > _MAX_WHAT:
            what = what[: _MAX_WHAT - 1] + "…"
        facts.append(Fact(kind, event.ref, event.t_ms, what, signals))
    return facts


def facts_headline(facts: list[Fact]) -> str:
    """`error_after e13, rage e16, dead e16 · 1 error · 1 failed request · 0 abandoned
    inputs · 4 pages`: each signal with the refs that carry it, then the counts."""
    signals: dict[str, list[str]] = {}
    for fact in facts:
        for signal in fact.signals:
            signals.setdefault(signal, []).append(fact.ref)
    kinds = Counter(fact.kind for fact in facts)
    parts = [
        ", ".join(f"{signal} {' '.join(refs)}" for signal, refs in signals.items()) or "no signals",
        _count(kinds[FactKind.ERROR], "error"),
        _count(kinds[FactKind.FAILED_REQUEST], "failed request"),
        _count(kinds[FactKind.ABANDONED_INPUT], "abandoned input"),
        _count(kinds[FactKind.PAGE], "page"),
    ]
    return " · ".join(parts)


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _verdict(success: bool) -> str:
    return "succeeded" if success else "failed"


def outcome_agreement(model_success: bool | None, expected_success: bool) -> str:
    """`model's outcome: success=False · known: failed · agrees ✓`; a session without a
    summary has no outcome to agree with."""
    known = f"known: {_verdict(expected_success)}"
    if model_success is None:
        return f"model's outcome: none (no summary) · {known} · cannot agree ✗"
    verdict = "agrees ✓" if model_success == expected_success else "disagrees ✗"
    return f"model's outcome: success={model_success} · {known} · {verdict}"


def print_session_facts(
    out: Console,
    facts: list[Fact],
    *,
    known_outcome: str,
    expected_success: bool,
    model_success: bool | None,
) -> None:
    """The facts table, the known outcome and the agreement line for one session."""
    out.print(f"  [bold]facts code found:[/] {facts_headline(facts)}", highlight=False)
    if facts:
        table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
        table.add_column("ref", style="cyan")
        table.add_column("at")
        table.add_column("fact", style="bold")
        table.add_column("what", overflow="fold")
        for fact in facts:
            # Text, not markup: page text such as `button[pay]` must print as it is.
            what = Text(fact.what)
            if fact.signals:
                what.append(f" [{', '.join(fact.signals)}]", style="bold red")
            table.add_row(fact.ref, format_clock(fact.t_ms), fact.kind.value, what)
        out.print(Padding(table, (0, 0, 0, 4)))
    out.print(f"  [bold]known outcome:[/] {escape(known_outcome)}", highlight=False)
    agrees = model_success is not None and model_success == expected_success
    out.print(
        Text(
            f"  {outcome_agreement(model_success, expected_success)}",
            style="green" if agrees else "yellow",
        )
    )
