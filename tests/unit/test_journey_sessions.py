"""Code's facts of a journey: the order, outcomes, durations, counts and session blocks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recap.journeys import journey_counts, journey_sessions, session_blocks
from tests.support.journey_fixtures import tiny_input


def test_sessions_are_ordered_by_start_and_counted_by_code() -> None:
    inputs = [
        tiny_input(3, day=9, success=True),
        tiny_input(1, day=0, success=True),
        tiny_input(4, day=10, success=None),
        tiny_input(2, day=7, success=False, flagged=True),
    ]

    sessions = journey_sessions(inputs)

    assert [s.session_id for s in sessions] == ["s01", "s02", "s03", "s04"]
    assert [s.number for s in sessions] == [1, 2, 3, 4]
    assert [s.outcome for s in sessions] == ["success", "failure", "success", "unknown"]
    assert [s.duration_ms for s in sessions] == [11_000, 12_000, 13_000, 14_000]
    assert sessions[1].start == datetime(2025, 11, 10, 10, tzinfo=UTC)
    assert sessions[1].outcome_description == "Did not pay."
    assert sessions[1].signals is not None and sessions[1].signals.console_errors == 1
    assert sessions[3].title is None and sessions[3].outcome_description is None

    counts = journey_counts(sessions)
    assert (counts.sessions, counts.succeeded, counts.failed, counts.unknown) == (4, 2, 1, 1)
    assert counts.total_duration_ms == 50_000
    assert counts.first_seen == datetime(2025, 11, 3, 10, tzinfo=UTC)
    assert counts.last_seen == datetime(2025, 11, 13, 10, 0, 14, tzinfo=UTC)


def test_a_session_given_twice_or_with_another_sessions_summary_is_refused() -> None:
    one = tiny_input(1, day=0, success=True)
    with pytest.raises(ValueError, match="given twice"):
        journey_sessions([one, one])
    other = tiny_input(2, day=1, success=True)
    mixed = one.model_copy(update={"summary": other.summary})
    with pytest.raises(ValueError, match="summary given for session s01 is of session s02"):
        journey_sessions([mixed])


def test_a_block_shows_code_facts_and_the_refs_the_summary_cites() -> None:
    blocks = session_blocks(
        [tiny_input(2, day=7, success=False, flagged=True), tiny_input(5, day=8, success=None)]
    )

    failed, unknown = (block.text.splitlines() for block in blocks)
    assert failed[:4] == [
        "## Session s02",
        "Session 1 of 2, 2025-11-10 (Monday) 10:00 UTC, lasted 12s",
        "Outcome: failed: Did not pay.",
        "Title: Checkout 2",
    ]
    assert failed[4].startswith("Signals: 1 clicks, 1 page views, 0 rage clicks")
    assert failed[5].startswith('e2 00:01 click button[apply-discount] "Apply" [error_after]')
    assert failed[6] == "  - key action: Applied a code"
    assert any(line.startswith("e4 00:09 submit") for line in failed)
    assert unknown[2] == "Outcome: unknown (not summarized; nothing in it can be cited)"
    assert not any(line.startswith("e") for line in unknown[3:])
