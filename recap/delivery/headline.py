"""The facts every message leads with, counted by code from the report: how many sessions
the report is over, how many patterns it found, how many of those sessions failed; and the
one line a message falls back to (Slack's notification text, the webhook's `text`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from recap.reports.models import Digest, PatternReport


@dataclass(frozen=True)
class Headline:
    sessions_reported: int
    patterns: int
    # Reported sessions whose summary outcome failed; for a report stored before recap
    # counted them, the distinct failed sessions among the patterns' examples.
    failed_sessions: int
    not_reported: int


def headline(report: PatternReport) -> Headline:
    failed = {
        example.session_id
        for pattern in report.patterns
        for example in pattern.examples
        if example.session_failed
    }
    return Headline(
        sessions_reported=report.sessions_reported,
        patterns=len(report.patterns),
        failed_sessions=len(failed) if report.sessions_failed is None else report.sessions_failed,
        not_reported=len(report.not_reported),
    )


def _moment(value: datetime) -> str:
    value = value.astimezone(UTC)
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d %H:%M} UTC"


def period(digest: Digest) -> str:
    """`2025-05-01 → 2025-05-08`, with times when a bound is not midnight UTC."""
    return f"{_moment(digest.period_start)} → {_moment(digest.period_end)}"


def quiet_line(digest: Digest) -> str:
    sessions = digest.report.sessions_reported
    return (
        f"Nothing new in {period(digest)}: no new or rising pattern across"
        f" {sessions} session{'s' if sessions != 1 else ''}."
    )


def one_line(item: PatternReport | Digest) -> str:
    report = item.report if isinstance(item, Digest) else item
    facts = headline(report)
    counts = (
        f"{facts.sessions_reported} sessions, {facts.patterns} patterns,"
        f" {facts.failed_sessions} failed sessions"
    )
    if isinstance(item, Digest):
        if item.quiet:
            return quiet_line(item)
        new = sum(change.change == "new" for change in item.changes)
        rising = sum(change.change == "rising" for change in item.changes)
        return f"Digest {period(item)}: {new} new, {rising} rising; {counts}"
    return f"{report.title}: {counts}"
