"""The journey gate: citations must exist in the cited session's stored timeline, friction
needs code's evidence, and "overcome" needs a later session that succeeded."""

from __future__ import annotations

from typing import Any

from recap.journeys import JourneyAnswer, JourneyInput, gate_journey
from tests.support.journey_fixtures import tiny_input

FAILED = "s02"
SUCCEEDED = "s03"


def _inputs() -> list[JourneyInput]:
    """s01 fine (Monday), s02 failed with a flagged Apply (Wednesday), s03 paid (Friday),
    s04 failed without flags (Saturday), s05 never summarized (Sunday)."""
    return [
        tiny_input(1, day=0, success=True),
        tiny_input(2, day=2, success=False, flagged=True),
        tiny_input(3, day=4, success=True),
        tiny_input(4, day=5, success=False),
        tiny_input(5, day=6, success=None),
    ]


def _cite(session_id: str, ref: str) -> dict[str, str]:
    return {"session_id": session_id, "ref": ref}


def _answer(
    *,
    stuck: list[dict[str, Any]] | None = None,
    friction: list[dict[str, Any]] | None = None,
    goal: list[dict[str, str]] | None = None,
) -> JourneyAnswer:
    return JourneyAnswer.model_validate(
        {
            "goal": {"description": "Buy with a code", "citations": goal or [_cite("s01", "e1")]},
            "stuck_points": stuck or [],
            "recurring_friction": friction or [],
            "current_state": {"description": "Paid", "citations": [_cite(SUCCEEDED, "e4")]},
        }
    )


def _stuck(overcome: dict[str, str] | None, *citations: dict[str, str]) -> dict[str, Any]:
    return {
        "description": "Coupon error at checkout",
        "citations": list(citations) or [_cite(FAILED, "e2")],
        "overcome": overcome,
    }


def _overcome(session_id: str, ref: str = "e4") -> dict[str, str]:
    return {"session_id": session_id, "ref": ref, "description": "Paid with the code"}


def test_a_stuck_point_overcome_later_is_kept_with_facts_from_the_timelines() -> None:
    found = gate_journey(_answer(stuck=[_stuck(_overcome(SUCCEEDED))]), _inputs())

    (stuck,) = found.stuck_points
    (citation,) = stuck.citations
    assert (citation.session_id, citation.ref, citation.t_ms) == (FAILED, "e2", 1_500)
    assert citation.flags == ["error_after"]
    assert citation.url == "https://shop.example.com/checkout"
    assert citation.timestamp == "2025-11-05T10:00:01.500Z"
    assert stuck.overcome is not None
    assert (stuck.overcome.citation.session_id, stuck.overcome.citation.ref) == (SUCCEEDED, "e4")
    assert stuck.overcome.session_start.isoformat() == "2025-11-07T10:00:00+00:00"
    assert found.goal is not None and found.current_state is not None
    assert found.dropped == []


def test_a_ref_that_does_not_exist_is_dropped_and_the_claim_kept_on_the_others() -> None:
    answer = _answer(stuck=[_stuck(None, _cite(FAILED, "e99"), _cite(FAILED, "e3"))])

    found = gate_journey(answer, _inputs())

    (stuck,) = found.stuck_points
    assert [c.ref for c in stuck.citations] == ["e3"]
    (drop,) = found.dropped
    assert (drop.part, drop.session_id, drop.ref) == ("citation", FAILED, "e99")
    assert drop.reason == f"e99 is not in session {FAILED}'s timeline"


def test_a_session_not_in_the_journey_or_not_summarized_cannot_be_cited() -> None:
    answer = _answer(goal=[_cite("s77", "e1"), _cite("s05", "e1")])

    found = gate_journey(answer, _inputs())

    assert found.goal is None
    reasons = [(d.part, d.reason) for d in found.dropped]
    assert reasons == [
        ("citation", "session s77 is not in the journey"),
        ("citation", "session s05 has no summary, so nothing in it can be cited"),
        ("goal", "none of its 2 citations checks out"),
    ]


def test_friction_without_a_flag_an_error_or_a_failed_session_is_dropped() -> None:
    unflagged = {"description": "The Apply button is confusing", "citations": [_cite("s01", "e2")]}
    failed_session = {"description": "Gave up at checkout", "citations": [_cite("s04", "e4")]}

    found = gate_journey(_answer(friction=[unflagged, failed_session]), _inputs())

    assert [f.description for f in found.recurring_friction] == ["Gave up at checkout"]
    (drop,) = found.dropped
    assert drop.part == "recurring_friction"
    assert drop.reason == (
        "no cited event carries a code flag or an error, and no cited session failed"
    )


def test_a_rage_claim_needs_the_rage_flag_even_in_a_failed_session() -> None:
    rage = {"description": "Rage clicks on Apply", "citations": [_cite(FAILED, "e2")]}

    found = gate_journey(_answer(friction=[rage]), _inputs())

    assert found.recurring_friction == []
    assert found.dropped[0].reason == "it claims rage clicks, but no cited event has the rage flag"


def test_an_unflagged_stuck_point_is_dropped() -> None:
    found = gate_journey(_answer(stuck=[_stuck(None, _cite("s01", "e4"))]), _inputs())

    assert found.stuck_points == []
    assert found.dropped[0].part == "stuck_point"


def test_overcome_in_an_earlier_session_is_dropped_and_the_stuck_point_kept() -> None:
    found = gate_journey(_answer(stuck=[_stuck(_overcome("s01"))]), _inputs())

    (stuck,) = found.stuck_points
    assert stuck.overcome is None
    (drop,) = found.dropped
    assert (drop.part, drop.session_id) == ("overcome", "s01")
    assert drop.reason == (
        f"session s01 did not start after session {FAILED}, the last one the stuck point cites"
    )


def test_overcome_in_a_later_failed_session_is_dropped() -> None:
    found = gate_journey(_answer(stuck=[_stuck(_overcome("s04"))]), _inputs())

    assert found.stuck_points[0].overcome is None
    assert found.dropped[0].reason == "session s04's outcome is failure, not success"


def test_overcome_citing_a_missing_ref_is_dropped() -> None:
    found = gate_journey(_answer(stuck=[_stuck(_overcome(SUCCEEDED, "e42"))]), _inputs())

    assert found.stuck_points[0].overcome is None
    (drop,) = found.dropped
    assert (drop.part, drop.reason) == ("overcome", f"e42 is not in session {SUCCEEDED}'s timeline")


def test_a_statement_without_citations_is_dropped() -> None:
    answer = _answer(friction=[{"description": "Slow pages", "citations": []}])

    found = gate_journey(answer, _inputs())

    assert found.recurring_friction == []
    assert found.dropped[0].reason == "it cites no event"
