"""A journey as Markdown: code's counts and sessions table, then the gated statements."""

from __future__ import annotations

from recap.journeys import (
    JourneyAnswer,
    JourneyRun,
    gate_journey,
    journey_counts,
    journey_sessions,
    render_journey_markdown,
)
from recap.journeys.models import Journey
from tests.support.journey_fixtures import DISTINCT_ID, tiny_input


def _journey(description: str) -> Journey:
    inputs = [
        tiny_input(1, day=0, success=False, flagged=True),
        tiny_input(2, day=2, success=True),
        tiny_input(3, day=3, success=None),
    ]
    answer = JourneyAnswer.model_validate(
        {
            "goal": {
                "description": "Buy with a code",
                "citations": [{"session_id": "s01", "ref": "e1"}],
            },
            "stuck_points": [
                {
                    "description": description,
                    "citations": [{"session_id": "s01", "ref": "e2"}],
                    "overcome": {"session_id": "s02", "ref": "e4", "description": "Paid"},
                }
            ],
            "recurring_friction": [],
            "current_state": {
                "description": "Paid",
                "citations": [{"session_id": "s09", "ref": "e4"}],
            },
        }
    )
    sessions = journey_sessions(inputs)
    return Journey(
        distinct_id=DISTINCT_ID,
        counts=journey_counts(sessions),
        sessions=sessions,
        findings=gate_journey(answer, inputs),
        run=JourneyRun(prompt_version="person_journey@x", calls=1, windows=[["s01", "s02", "s03"]]),
    )


def test_markdown_has_the_table_the_statements_and_the_drops() -> None:
    text = render_journey_markdown(_journey("Coupon error at checkout"))

    assert text.startswith("# Journey of maria.ortiz@example.com\n")
    assert (
        "3 sessions from 2025-11-03 to 2025-11-06: 1 succeeded, 1 failed, 1 not summarized;"
        " 36s in all." in text
    )
    assert "| # | Date | Duration | Outcome | Title | Session |" in text
    assert (
        "| 1 | 2025-11-03 10:00 UTC | 11s | failed | Checkout 1 | [`s01`](/sessions/s01) |" in text
    )
    assert "| 3 | 2025-11-06 10:00 UTC | 13s | not summarized |  | [`s03`](/sessions/s03) |" in text
    assert "## Goal\n\n- Buy with a code\n  - cites session 1 `s01` e1 at 00:00" in text
    assert "- Coupon error at checkout\n  - cites session 1 `s01` e2 at 00:01 (click" in text
    assert "  - overcome on 2025-11-05 in `s02`: Paid (cites session 2 `s02` e4 at 00:09" in text
    assert "## Recurring friction\n\nNone found." in text
    assert "## Current state\n\nNot established." in text
    assert (
        "- combine" not in text and "- journey, citation: session s09 is not in the journey" in text
    )


def test_model_text_cannot_add_links_or_table_cells() -> None:
    text = render_journey_markdown(
        _journey("Error | see [here](https://evil.example) # now"),
        session_link="https://app.example.com/replay/{session_id}",
    )

    assert r"- Error \| see \[here\]\(https://evil.example\) \# now" in text
    assert "[`s02`](https://app.example.com/replay/s02)" in text
