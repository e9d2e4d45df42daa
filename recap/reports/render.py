"""Markdown for a report and a digest (`Accept: text/markdown`, Slack, e-mail): the counts
first, then each pattern with its severity, counts and examples by session, ref, time and URL.

Names and descriptions are model text drawn from recordings: they are put on one line and
their Markdown control characters escaped, so they cannot add links, headings or tables.
"""

from __future__ import annotations

import re
from datetime import datetime

from recap.reports.models import (
    Digest,
    FunnelSection,
    Pattern,
    PatternChange,
    PatternExample,
    PatternReport,
)
from recap.timeline.render import format_clock

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~>])")
_CHANGE_KINDS = ("new", "rising", "falling", "steady", "gone")
# What would end an autolink or a table cell early, percent-encoded.
_URL_BREAKERS = {" ": "%20", "|": "%7C", "<": "%3C", ">": "%3E", "`": "%60"}


def escape(text: str) -> str:
    """Model or page text on one line, its Markdown control characters escaped."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _url(url: str) -> str:
    return "<" + "".join(_URL_BREAKERS.get(char, char) for char in url if char.isprintable()) + ">"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def _pattern_lines(number: int, pattern: Pattern, reported: int) -> list[str]:
    stats = pattern.stats
    label = " · single session" if stats.single_session else ""
    lines = [
        f"### {number}. {escape(pattern.name)} ({pattern.severity}){label}",
        "",
        f"- Sessions affected: {stats.sessions_affected} of {reported} "
        f"({_percent(stats.sessions_affected_ratio)}), {stats.sessions_failed} of them failed",
        f"- Occurrences: {stats.occurrences}",
        f"- First seen: {_when(stats.first_seen)}; last seen: {_when(stats.last_seen)}",
        "",
        escape(pattern.description),
    ]
    if pattern.indicators:
        lines += ["", "Indicators:"]
        lines += [f"- {escape(text)}" for text in pattern.indicators]
    return [*lines, "", *_example_table(pattern.examples)]


def _example_table(examples: list[PatternExample]) -> list[str]:
    lines = [
        "| Session | Ref | Time | URL | Example |",
        "|---|---|---|---|---|",
    ]
    for example in examples:
        when = format_clock(example.t_ms)
        if example.timestamp:
            when = f"{when} ({example.timestamp})"
        failed = " (failed)" if example.session_failed else ""
        url = _url(example.url) if example.url else ""
        lines.append(
            f"| `{example.session_id}`{failed} | {example.ref} | {when} | {url} | "
            f"{escape(example.description)} |"
        )
    return lines


def _funnel_lines(funnel: FunnelSection) -> list[str]:
    """A funnel report's steps, its factors (both groups' rates, corrected p) and where
    those who stopped went next; every number is code's."""
    lines = [
        "## Funnel",
        "",
        "| Step | Reached | Went on | Stopped | Unknown |",
        "|---|---|---|---|---|",
    ]
    for step in funnel.steps:
        went_on = f"{step.went_on}" if step.step > 1 else ""
        stopped = f"{step.stopped}" if step.step > 1 else ""
        lines.append(
            f"| {step.step}. {escape(step.spec)} | {step.reached} | {went_on} | {stopped} |"
            f" {step.unknown or ''} |"
        )
    lines += ["", "### Factors over-represented among those who stopped", ""]
    if not funnel.factors:
        lines.append(f"No factor is significant at the corrected level ({funnel.alpha:g}).")
    else:
        lines += [
            "| Step | Factor | Stopped | Went on | p | Corrected p |",
            "|---|---|---|---|---|---|",
        ]
        for factor in funnel.factors:
            names = "; ".join(escape(name) for name in factor.manifestations)
            lines.append(
                f"| {factor.step} | {names} | {factor.stopped_with}/{factor.stopped_total}"
                f" ({_percent(factor.stopped_rate)}) | {factor.went_on_with}/"
                f"{factor.went_on_total} ({_percent(factor.went_on_rate)}) |"
                f" {factor.p_value:.2g} | {factor.adjusted_p:.2g} |"
            )
    contrasts = [example for factor in funnel.factors for example in factor.went_on_examples]
    if contrasts:
        lines += ["", "Sessions that went on, for contrast:", "", *_example_table(contrasts)]
    for number, overview in sorted(funnel.overviews.items()):
        lines += ["", f"Step {number}: {escape(overview)}"]
    if funnel.next_places:
        lines += ["", "### Where those who stopped went next", ""]
        lines += [
            f"- step {place.step}, {place.kind}: {escape(place.label)} ({place.sessions})"
            for place in funnel.next_places
        ]
    return lines


def render_markdown(report: PatternReport) -> str:
    inputs = report.inputs
    lines = [f"# {escape(report.title)}", ""]
    lines.append(
        f"{len(report.patterns)} patterns across {report.sessions_reported} summarized "
        f"sessions; {len(report.not_reported)} requested sessions not reported."
    )
    if inputs.focus_area:
        lines.append(f"Focus area: {escape(inputs.focus_area)}")
    lines.append(
        f"Report `{report.report_id}`, model `{inputs.model}`, created {_when(report.created_at)}."
    )
    if report.funnel is not None:
        lines += ["", *_funnel_lines(report.funnel)]
    for number, pattern in enumerate(report.patterns, start=1):
        lines += ["", *_pattern_lines(number, pattern, report.sessions_reported)]
    if not report.patterns:
        lines += ["", "No pattern was found whose examples check out."]
    gate = report.gate
    if gate.dropped_patterns or gate.dropped_examples:
        lines += [
            "",
            "## Not kept",
            "",
            f"{len(gate.dropped_patterns)} patterns and {len(gate.dropped_examples)} examples "
            "did not check out against the sessions' timelines.",
        ]
        lines += [
            f"- {escape(dropped.name)}: {escape(dropped.reason)}"
            for dropped in gate.dropped_patterns
        ]
    if report.not_reported:
        lines += ["", "## Sessions not reported", ""]
        lines += [
            f"- `{item.session_id}`: {item.error} ({escape(item.error_message)})"
            for item in report.not_reported
        ]
    return "\n".join(lines) + "\n"


def _change_line(change: PatternChange) -> str:
    return (
        f"- **{change.change}**: {escape(change.name)}: {change.previous_sessions} → "
        f"{change.current_sessions} sessions ({_percent(change.previous_ratio)} → "
        f"{_percent(change.current_ratio)})"
    )


def render_digest_markdown(digest: Digest) -> str:
    report = digest.report
    headline = dict.fromkeys(_CHANGE_KINDS, 0)
    for change in digest.changes:
        headline[change.change] += 1
    lines = [
        f"# Digest {_when(digest.period_start)} to {_when(digest.period_end)}",
        "",
        f"{report.sessions_reported} sessions summarized; "
        + ", ".join(f"{count} {kind}" for kind, count in headline.items())
        + f" patterns; {len(digest.new_clusters)} new error clusters.",
    ]
    if digest.quiet:
        lines.append("Quiet period: no new or rising pattern and no new error cluster.")
    if digest.changes:
        lines += ["", "## Changes", ""]
        lines += [_change_line(change) for change in digest.changes]
    if digest.new_clusters:
        lines += ["", "## New error clusters", ""]
        lines += [
            f"- {escape(cluster.title or cluster.cluster_id)}: {cluster.sessions_affected} sessions"
            for cluster in digest.new_clusters
        ]
    lines += ["", render_markdown(report).rstrip("\n")]
    return "\n".join(lines) + "\n"
