"""What the report and digest pages show, built from a stored report or digest: each
pattern with its severity mark, its share of the sessions as a bar and a sentence, and its
examples as links to the cited timeline line; capped so a page stays small."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import quote

from recap.reports.models import (
    SEVERITY_ORDER,
    Digest,
    DroppedPattern,
    Pattern,
    PatternChange,
    PatternExample,
    PatternReport,
)
from recap.timeline.render import format_clock

# Enough for any report people read on a page; the API has the rest.
MAX_PATTERNS = 100
MAX_EXAMPLES = 5
MAX_INDICATORS = 5
MAX_LISTED = 30
MAX_CHANGES = 50
# Model and page text is clipped, and the patterns shown stop when their text and markup
# would pass the budget: a page stays well under 200 KB whatever a report holds.
MAX_TEXT = 600
MAX_SHORT_TEXT = 240
PATTERNS_BUDGET = 90_000
# The markup around a pattern and around one example, in characters, measured on the page.
_PATTERN_MARKUP = 800
_EXAMPLE_MARKUP = 180

# A mark that reads without colour: filled squares for how urgent, most urgent fullest.
SEVERITY_MARKS = {"critical": "■■■■", "high": "■■■□", "medium": "■■□□", "low": "■□□□"}
CHANGE_MARKS = {"new": "+", "rising": "↑", "falling": "↓", "steady": "→", "gone": "✕"}
CHANGE_KINDS = ("new", "rising", "falling", "steady", "gone")

T = TypeVar("T")


@dataclass(frozen=True)
class ExampleView:
    """One example as a link to its line on the session page."""

    session_id: str
    ref: str
    href: str
    clock: str
    timestamp: str | None
    url: str | None
    kind: str
    target: str | None
    description: str
    session_failed: bool | None


@dataclass(frozen=True)
class ChangeView:
    """How a pattern moved since the previous digest."""

    name: str
    change: str
    mark: str
    previous_sessions: int
    current_sessions: int
    previous_percent: str
    current_percent: str


@dataclass(frozen=True)
class PatternView:
    anchor: str
    name: str
    description: str
    severity: str
    severity_mark: str
    indicators: list[str]
    affected: int
    total: int
    percent: str
    # The bar's filled width out of 100, for the SVG's `width` attribute.
    bar_width: str
    occurrences: int
    sessions_failed: int
    first_seen: datetime | None
    last_seen: datetime | None
    single_session: bool
    examples: list[ExampleView]
    more_examples: int
    change: ChangeView | None


@dataclass(frozen=True)
class Capped(Generic[T]):
    """The first items of a list to show, and how many more there are."""

    items: list[T]
    more: int


def cap(items: list[T], limit: int) -> Capped[T]:
    return Capped(items[:limit], max(0, len(items) - limit))


def clip(text: str | None, limit: int = MAX_TEXT) -> str:
    """Text on one line, cut to `limit` characters with an ellipsis."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def session_href(team_id: str, session_id: str, ref: str | None = None) -> str:
    """The session page, at the cited timeline line when `ref` is given (the page gives
    each line `id="{ref}"`)."""
    path = f"/ui/{quote(team_id, safe='')}/sessions/{quote(session_id, safe='')}"
    return f"{path}#{quote(ref, safe='')}" if ref else path


def example_view(team_id: str, example: PatternExample) -> ExampleView:
    return ExampleView(
        session_id=example.session_id,
        ref=example.ref,
        href=session_href(team_id, example.session_id, example.ref),
        clock=format_clock(example.t_ms),
        timestamp=example.timestamp,
        url=clip(example.url, MAX_SHORT_TEXT) if example.url else None,
        kind=example.kind,
        target=clip(example.target, MAX_SHORT_TEXT) if example.target else None,
        description=clip(example.description, MAX_SHORT_TEXT),
        session_failed=example.session_failed,
    )


def change_view(change: PatternChange) -> ChangeView:
    return ChangeView(
        name=clip(change.name, MAX_SHORT_TEXT),
        change=change.change,
        mark=CHANGE_MARKS.get(change.change, ""),
        previous_sessions=change.previous_sessions,
        current_sessions=change.current_sessions,
        previous_percent=percent(change.previous_ratio),
        current_percent=percent(change.current_ratio),
    )


def pattern_view(
    team_id: str, pattern: Pattern, total: int, change: ChangeView | None = None
) -> PatternView:
    stats = pattern.stats
    examples = cap(pattern.examples, MAX_EXAMPLES)
    ratio = min(1.0, max(0.0, stats.sessions_affected_ratio))
    return PatternView(
        anchor=f"pattern-{pattern.pattern_id}",
        name=clip(pattern.name, MAX_SHORT_TEXT),
        description=clip(pattern.description),
        severity=pattern.severity,
        severity_mark=SEVERITY_MARKS.get(pattern.severity, ""),
        indicators=[clip(text, MAX_SHORT_TEXT) for text in pattern.indicators[:MAX_INDICATORS]],
        affected=stats.sessions_affected,
        total=total,
        percent=percent(stats.sessions_affected_ratio),
        bar_width=f"{ratio * 100:.1f}",
        occurrences=stats.occurrences,
        sessions_failed=stats.sessions_failed,
        first_seen=stats.first_seen,
        last_seen=stats.last_seen,
        single_session=stats.single_session,
        examples=[example_view(team_id, example) for example in examples.items],
        more_examples=examples.more,
        change=change,
    )


def _size(view: PatternView) -> int:
    """About how many characters `view` takes on the page, escaped text counted twice
    over for the entities that quotes and ampersands become."""
    texts = [view.name, view.description, *view.indicators]
    for example in view.examples:
        texts += [example.session_id, example.description, example.url or "", example.target or ""]
    escaped = sum(len(text) + 4 * sum(text.count(c) for c in "&<>\"'") for text in texts)
    return _PATTERN_MARKUP + _EXAMPLE_MARKUP * len(view.examples) + escaped


def patterns_view(
    report: PatternReport, changes: dict[str, ChangeView] | None = None
) -> Capped[PatternView]:
    """The report's patterns, as stored (most severe first): at most `MAX_PATTERNS`, and
    only while they fit `PATTERNS_BUDGET`, the first always."""
    items: list[PatternView] = []
    spent = 0
    for pattern in report.patterns[:MAX_PATTERNS]:
        view = pattern_view(
            report.team_id, pattern, report.sessions_reported, (changes or {}).get(pattern.name)
        )
        spent += _size(view)
        if items and spent > PATTERNS_BUDGET:
            break
        items.append(view)
    return Capped(items, len(report.patterns) - len(items))


def severity_counts(report: PatternReport) -> list[tuple[str, int]]:
    """How many patterns of each severity, most urgent first, the empty ones left out."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for pattern in report.patterns:
        counts[pattern.severity] = counts.get(pattern.severity, 0) + 1
    return [(severity, count) for severity, count in counts.items() if count]


def report_status(report: PatternReport) -> str:
    """A report's state in a few words: stored reports are done, some with sessions left out."""
    if report.not_reported:
        missing = len(report.not_reported)
        return f"{missing} session{'' if missing == 1 else 's'} not reported"
    return "complete"


def change_counts(digest: Digest) -> list[tuple[str, int]]:
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for change in digest.changes:
        counts[change.change] += 1
    return list(counts.items())


@dataclass(frozen=True)
class FunnelStepView:
    number: int
    spec: str
    reached: int
    went_on: int
    stopped: int
    decided: int
    bar_width: int
    percent: str


def funnel_view(report: PatternReport) -> dict[str, object] | None:
    """A funnel report's steps (with a bar of who went on), factors and next places."""
    funnel = report.funnel
    if funnel is None:
        return None
    steps = []
    for step in funnel.steps:
        decided = step.went_on + step.stopped
        ratio = step.went_on / decided if decided else 1.0
        steps.append(
            FunnelStepView(
                number=step.step,
                spec=clip(step.spec, MAX_SHORT_TEXT),
                reached=step.reached,
                went_on=step.went_on,
                stopped=step.stopped,
                decided=decided,
                bar_width=round(ratio * 100),
                percent=percent(ratio),
            )
        )
    return {
        "steps": steps,
        "factors": [
            factor.model_copy(
                update={"manifestations": [clip(m, MAX_SHORT_TEXT) for m in factor.manifestations]}
            )
            for factor in funnel.factors[:MAX_PATTERNS]
        ],
        "contrasts": [
            example_view(report.team_id, example)
            for factor in funnel.factors[:MAX_PATTERNS]
            for example in factor.went_on_examples
        ][:MAX_LISTED],
        "overviews": {step: clip(text) for step, text in sorted(funnel.overviews.items())},
        "next_places": funnel.next_places[:MAX_LISTED],
        "clusters_href": f"/ui/{quote(report.team_id, safe='')}/clusters",
        "alpha": funnel.alpha,
        "percent": percent,
    }


def report_context(report: PatternReport) -> dict[str, object]:
    """What report.html and the report part of digest.html show."""
    team = quote(report.team_id, safe="")
    dropped = cap(report.gate.dropped_patterns, MAX_LISTED)
    not_reported = cap(report.not_reported, MAX_LISTED)
    return {
        "report": report,
        "title": clip(report.title, MAX_SHORT_TEXT),
        "focus_area": clip(report.inputs.focus_area, MAX_SHORT_TEXT)
        if report.inputs.focus_area
        else None,
        "patterns": patterns_view(report),
        "severities": severity_counts(report),
        "funnel": funnel_view(report),
        "status": report_status(report),
        "dropped_patterns": Capped(
            [
                DroppedPattern(name=clip(d.name, MAX_SHORT_TEXT), reason=clip(d.reason))
                for d in dropped.items
            ],
            dropped.more,
        ),
        "dropped_examples": len(report.gate.dropped_examples),
        "not_reported": Capped(
            [
                item.model_copy(
                    update={
                        "session_id": clip(item.session_id, MAX_SHORT_TEXT),
                        "error_message": clip(item.error_message, MAX_SHORT_TEXT),
                    }
                )
                for item in not_reported.items
            ],
            not_reported.more,
        ),
        "api_path": f"/api/projects/{team}/session_summaries/reports/{report.report_id}/",
        "clip": clip,
        "when": when,
    }


def digest_context(digest: Digest) -> dict[str, object]:
    """What digest.html shows: the period, the changes and the period's report."""
    changes = [change_view(change) for change in digest.changes]
    by_name = {change.name: view for change, view in zip(digest.changes, changes, strict=True)}
    context = report_context(digest.report)
    team = quote(digest.team_id, safe="")
    context.update(
        digest=digest,
        changes=cap(changes, MAX_CHANGES),
        change_counts=change_counts(digest),
        new_clusters=cap(digest.new_clusters, MAX_LISTED),
        patterns=patterns_view(digest.report, by_name),
        api_path=f"/api/projects/{team}/session_summaries/digests/{digest.digest_id}/",
        report_api_path=context["api_path"],
    )
    return context
