"""Digest comparison: patterns matched across two periods and classified by code."""

from __future__ import annotations

from datetime import UTC, datetime

from recap.reports import compare
from recap.reports.models import Pattern, PatternReport, PatternStats, ReportInputs


def _pattern(name: str, sessions: int, total: int, indicators: list[str] | None = None) -> Pattern:
    return Pattern(
        pattern_id="p1",
        name=name,
        description="",
        severity="high",
        indicators=indicators or [],
        stats=PatternStats(
            sessions_affected=sessions,
            sessions_affected_ratio=round(sessions / total, 4),
            occurrences=sessions,
            sessions_failed=0,
            single_session=sessions == 1,
        ),
        examples=[],
    )


def _report(total: int, *patterns: Pattern) -> PatternReport:
    return PatternReport(
        report_id="rp_0",
        team_id="t",
        title="",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        inputs=ReportInputs(session_ids=[], model="m", prompt_versions={}),
        sessions_reported=total,
        patterns=list(patterns),
    )


def _changes(previous: PatternReport | None, current: PatternReport) -> dict[str, str]:
    return {change.name: change.change for change in compare(previous, current)}


def test_growing_pattern_rises_and_a_missing_one_is_gone() -> None:
    before = _report(40, _pattern("Payment fails", 3, 40), _pattern("Search is slow", 6, 40))
    now = _report(40, _pattern("Payment fails", 11, 40), _pattern("Login loops", 4, 40))
    changes = compare(before, now)
    assert [(c.name, c.change) for c in changes] == [
        ("Payment fails", "rising"),
        ("Login loops", "new"),
        ("Search is slow", "gone"),
    ]
    rising = changes[0]
    assert (rising.previous_sessions, rising.current_sessions) == (3, 11)
    assert (rising.previous_ratio, rising.current_ratio) == (0.075, 0.275)
    assert (changes[2].previous_sessions, changes[2].current_sessions) == (6, 0)


def test_the_ratio_decides_so_more_traffic_alone_is_no_rise() -> None:
    before = _report(40, _pattern("Payment fails", 4, 40), _pattern("Coupon dead", 10, 40))
    now = _report(100, _pattern("Payment fails", 10, 100), _pattern("Coupon dead", 3, 100))
    assert _changes(before, now) == {"Payment fails": "steady", "Coupon dead": "falling"}


def test_small_numbers_do_not_flap() -> None:
    before = _report(10, _pattern("Payment fails", 1, 10))
    now = _report(10, _pattern("Payment fails", 2, 10))
    assert _changes(before, now) == {"Payment fails": "steady"}


def test_a_reworded_pattern_is_matched_by_its_name_and_indicators() -> None:
    before = _report(
        40,
        _pattern(
            "Payment fails at checkout",
            5,
            40,
            ["console error payment service unavailable", "Pay now flagged error_after"],
        ),
    )
    now = _report(
        40,
        _pattern(
            "Checkout payment returns a server error",
            5,
            40,
            ["payment service unavailable in the console", "Pay now error_after"],
        ),
        _pattern("Size guide button is dead", 5, 40, ["rage clicks on Size guide"]),
    )
    assert _changes(before, now) == {
        "Checkout payment returns a server error": "steady",
        "Size guide button is dead": "new",
    }


def test_without_a_previous_report_every_pattern_is_new() -> None:
    now = _report(40, _pattern("Payment fails", 11, 40))
    (change,) = compare(None, now)
    assert (change.change, change.previous_sessions, change.current_sessions) == ("new", 0, 11)
