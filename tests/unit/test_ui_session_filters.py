"""The sessions list's filters: reading the query string, matching a stored summary, the
signals code counted, and the pager's query string."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from recap.api.ui.session_filters import (
    SessionFilters,
    parse_filters,
    signals_of,
)
from recap.llm.schema import CitedEvent, Issue, IssueKind, KeyAction, SummaryOutcome
from recap.store.repository import SignalCounts, StoredSummary
from tests.support.store_samples import summary

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _event(ref: str, kind: str = "click", *flags: str) -> CitedEvent:
    return CitedEvent(ref=ref, t_ms=int(ref[1:]), kind=kind, window="w1", flags=list(flags))


def _stored(
    title: str,
    *,
    session_id: str = "s1",
    success: bool = True,
    actions: tuple[CitedEvent, ...] = (),
    issues: tuple[tuple[IssueKind, CitedEvent], ...] = (),
) -> StoredSummary:
    outcome = SummaryOutcome(description=f"{title}: the visitor got there", success=success)
    written = summary(title, session_id=session_id).model_copy(
        update={
            "summary_outcome": outcome,
            "key_actions": [KeyAction(event=event, description="did it") for event in actions],
            "issues": [
                Issue(kind=kind, event=event, description="went wrong", severity="high")
                for kind, event in issues
            ],
        }
    )
    return StoredSummary(
        team_id="team-a",
        session_id=session_id,
        focus_area=None,
        has_summary=True,
        summary_outcome=outcome,
        summary=written,
        updated_at=NOW,
    )


def _parse(query: str) -> tuple[SessionFilters, dict[str, str]]:
    filters, problems = parse_filters(parse_qsl(query, keep_blank_values=True), now=NOW)
    return filters, {problem.name: problem.message for problem in problems}


# Reading the query string


def test_an_empty_query_filters_nothing() -> None:
    filters, problems = _parse("")
    assert problems == {}
    assert filters == SessionFilters() and not filters.active
    assert filters.matches("s1", None) and filters.matches("s1", _stored("Anything"))


def test_every_filter_is_read() -> None:
    filters, problems = _parse(
        "outcome=failure&summarized=yes&signal=rage&signal=ERROR&q=+Lamp++shop+"
        "&date_from=2026-01-01&date_to=2026-01-31&page=3"
    )
    assert problems == {}
    assert filters.outcome == "failure" and filters.summarized is True
    assert filters.signals == {"rage", "error"}
    assert filters.q == "Lamp shop"  # whitespace folded
    assert (filters.date_from, filters.date_to) == ("2026-01-01", "2026-01-31")
    # The catalog's date filters: from the day's start to the end of the last day, UTC.
    assert filters.dates.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert filters.dates.until is not None
    assert (filters.dates.until.date().isoformat(), filters.dates.until.hour) == ("2026-01-31", 23)
    assert filters.active


@pytest.mark.parametrize("value", ["", "any"])
def test_any_means_no_filter(value: str) -> None:
    filters, problems = _parse(f"outcome={value}&summarized={value}")
    assert problems == {}
    assert (filters.outcome, filters.summarized) == (None, None)


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("date_from=banana", "date_from", "“banana” is not a date"),
        ("date_to=2026-13-45", "date_to", "is not a date"),
        ("outcome=maybe", "outcome", "any, success or failure"),
        ("summarized=perhaps", "summarized", "any, yes or no"),
        ("signal=sparkle", "signal", "no signal “sparkle”"),
        ("q=" + "x" * 201, "q", "at most 200"),
        ("date_from=2026-02-01&date_to=2026-01-01", "date_to", "before the From date"),
    ],
)
def test_a_bad_value_is_a_problem_naming_its_field(query: str, field: str, words: str) -> None:
    _, problems = _parse(query)
    assert list(problems) == [field]
    assert words in problems[field]


def test_a_bad_date_is_kept_as_typed_for_the_form() -> None:
    filters, problems = _parse("date_from=banana&outcome=success")
    assert "date_from" in problems
    assert filters.date_from == "banana" and filters.dates.since is None
    assert filters.outcome == "success"  # the other filters still read


# Matching a stored summary


def test_outcome_and_summarized_match_the_stored_outcome() -> None:
    won, lost = _stored("Won"), _stored("Lost", success=False)
    failure, _ = _parse("outcome=failure")
    assert [failure.matches(i, s) for i, s in (("a", won), ("b", lost), ("c", None))] == [
        False,
        True,
        False,
    ]
    unsummarized, _ = _parse("summarized=no")
    assert [unsummarized.matches("x", s) for s in (won, None)] == [False, True]
    summarized, _ = _parse("summarized=yes")
    assert [summarized.matches("x", s) for s in (won, None)] == [True, False]


def test_search_reads_title_outcome_and_id_without_case() -> None:
    lamp = _stored("Buys a LAMP after two tries", session_id="0190-abc")
    assert _parse("q=lamp")[0].matches("0190-abc", lamp)
    assert _parse("q=got+there")[0].matches("0190-abc", lamp)  # the outcome's description
    assert _parse("q=0190-AB")[0].matches("0190-abc", lamp)
    assert _parse("q=190-ab")[0].matches("0190-abc", None)  # unsummarized: its id only
    assert not _parse("q=sofa")[0].matches("0190-abc", lamp)


def test_signals_must_all_be_present() -> None:
    both, _ = _parse("signal=rage&signal=error")
    rage, _ = _parse("signal=rage")
    calm = _stored("Calm")
    assert both.matches("a", calm, frozenset({"rage", "error", "slow"}))
    assert not both.matches("b", calm, frozenset({"rage"}))
    assert rage.matches("b", calm, frozenset({"rage"}))
    assert not rage.matches("c", None) and not rage.matches("d", calm, frozenset({"dead"}))


def test_the_signals_are_what_code_counted() -> None:
    assert signals_of(None) == frozenset()
    assert signals_of(SignalCounts()) == frozenset()
    assert signals_of(SignalCounts(rage=2, errors=1)) == {"rage", "error"}
    assert signals_of(SignalCounts(dead=1, slow=3)) == {"dead", "slow"}


# The pager's links


def test_the_query_string_carries_every_filter_and_reads_back_the_same() -> None:
    filters, _ = _parse(
        "q=lamp+%26+sofa&outcome=success&summarized=yes&signal=slow&signal=rage"
        "&date_from=2026-01-01&date_to=2026-01-31"
    )
    text = filters.query_string(2)
    assert text == (
        "q=lamp+%26+sofa&outcome=success&summarized=yes&signal=rage&signal=slow"
        "&date_from=2026-01-01&date_to=2026-01-31&page=2"
    )
    again, problems = _parse(text)
    assert problems == {} and again == filters


def test_page_one_and_no_filters_make_an_empty_query() -> None:
    assert SessionFilters().query_string(1) == ""
    assert SessionFilters().query_string(4) == "page=4"
    assert _parse("summarized=no")[0].query_string() == "summarized=no"
