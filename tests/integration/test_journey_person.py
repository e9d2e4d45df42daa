"""One person's twelve sessions over three weeks, generated as real recordings and compiled:
the journey lists them in order with code's facts, and the coupon error at checkout on a
Monday is a stuck point overcome by the purchase on the Wednesday after, citing both."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from recap.journeys import ChatAsk, Journey, build_journey, render_journey_markdown
from recap.journeys.prompting import prompt_text
from recap.llm.client import ChatModel
from recap.timeline import count_tokens
from tests.support.journey_fixtures import (
    APPLY_FAILED,
    COUPON_ERROR,
    DISTINCT_ID,
    FAILED_CHECKOUT,
    NOT_SUMMARIZED,
    PAY,
    PURCHASE,
    SIZE_GUIDE,
    JourneyDouble,
    PersonSession,
    person_sessions,
    ref_of,
    shuffled_inputs,
)
from tests.support.model_double import Reply, chat_server, completion_body

ONE_CALL = 100_000
SMALL = 1_500
DAYS = [3, 5, 7, 8, 10, 11, 12, 13, 17, 18, 20, 22]
OUTCOMES = [
    "success",
    "success",
    "success",
    "success",
    "failure",
    "success",
    "success",
    "success",
    "unknown",
    "success",
    "failure",
    "success",
]


@pytest.fixture(scope="module")
def person(tmp_path_factory: pytest.TempPathFactory) -> list[PersonSession]:
    return person_sessions(tmp_path_factory.mktemp("journey"))


async def _journey(
    person: list[PersonSession], max_tokens: int, double: JourneyDouble | None = None
) -> Journey:
    return await build_journey(
        shuffled_inputs(person),
        distinct_id=DISTINCT_ID,
        ask=double or JourneyDouble(),
        max_tokens=max_tokens,
        count_tokens=count_tokens,
    )


def _check_coupon_story(journey: Journey, person: list[PersonSession]) -> None:
    failed, bought = person[FAILED_CHECKOUT], person[PURCHASE]
    (stuck,) = journey.findings.stuck_points
    assert stuck.description.startswith("Coupon error at checkout")
    assert {(c.session_id, c.ref) for c in stuck.citations} == {
        (failed.session_id, ref_of(failed.timeline, APPLY_FAILED)),
        (failed.session_id, ref_of(failed.timeline, COUPON_ERROR)),
    }
    assert stuck.overcome is not None
    over = stuck.overcome.citation
    assert (over.session_id, over.ref) == (bought.session_id, ref_of(bought.timeline, PAY))
    assert over.url == "https://shop.example.com/checkout"
    assert stuck.overcome.session_start == datetime(2025, 11, 12, 18, tzinfo=UTC)
    assert stuck.overcome.session_start.strftime("%A") == "Wednesday"


async def test_the_journey_lists_the_twelve_sessions_in_order_with_code_facts(
    person: list[PersonSession],
) -> None:
    double = JourneyDouble()
    journey = await _journey(person, ONE_CALL, double)

    sessions = journey.sessions
    assert [s.session_id for s in sessions] == [p.session_id for p in person]
    assert [s.number for s in sessions] == list(range(1, 13))
    assert [s.outcome for s in sessions] == OUTCOMES
    assert [s.start.date() for s in sessions] == [date(2025, 11, day) for day in DAYS]
    assert sessions[FAILED_CHECKOUT].start.strftime("%A %H:%M") == "Monday 20:00"
    assert [s.duration_ms for s in sessions] == [p.timeline.session.duration_ms for p in person]
    assert all(s.distinct_id == DISTINCT_ID for s in sessions)
    assert sessions[NOT_SUMMARIZED].title is None
    assert sessions[FAILED_CHECKOUT].signals is not None
    assert sessions[FAILED_CHECKOUT].signals.network_errors == 1
    counts = journey.counts
    assert (counts.sessions, counts.succeeded, counts.failed, counts.unknown) == (12, 9, 2, 1)
    assert counts.total_duration_ms == sum(p.timeline.session.duration_ms for p in person)
    assert counts.first_seen == datetime(2025, 11, 3, 9, tzinfo=UTC)
    last = person[-1]
    assert counts.last_seen == datetime.fromtimestamp(
        (last.start_ms + last.timeline.session.duration_ms) / 1000, tz=UTC
    )
    assert double.calls == 1 and journey.run.calls == 1
    assert Journey.model_validate_json(journey.model_dump_json()) == journey


async def test_the_coupon_error_is_overcome_on_wednesday_citing_both_sessions(
    person: list[PersonSession],
) -> None:
    journey = await _journey(person, ONE_CALL)

    _check_coupon_story(journey, person)
    (friction,) = journey.findings.recurring_friction
    assert [c.session_id for c in friction.citations] == [person[i].session_id for i in SIZE_GUIDE]
    assert all("rage" in c.flags for c in friction.citations)
    assert journey.findings.dropped == []


async def test_claims_that_do_not_check_out_are_dropped_with_their_reasons(
    person: list[PersonSession],
) -> None:
    first, failed = person[0], person[FAILED_CHECKOUT]
    later_failure = person[SIZE_GUIDE[1]]

    def plant(answer: dict[str, Any]) -> None:
        real = answer["stuck_points"][0]
        real["citations"].append({"session_id": failed.session_id, "ref": "e999"})
        answer["goal"]["citations"].append({"session_id": "0190-not-hers", "ref": "e1"})
        answer["recurring_friction"].append(
            {
                "description": "Browsing felt clumsy",
                "citations": [{"session_id": first.session_id, "ref": "e2"}],
            }
        )
        for target in (first, later_failure):
            answer["stuck_points"].append(
                {
                    **real,
                    "overcome": {
                        "session_id": target.session_id,
                        "ref": "e2",
                        "description": "Got past it",
                    },
                }
            )

    journey = await _journey(person, ONE_CALL, JourneyDouble(extra=plant))

    reasons = [(d.part, d.reason) for d in journey.findings.dropped]
    assert reasons == [
        ("citation", "session 0190-not-hers is not in the journey"),
        ("citation", f"e999 is not in session {failed.session_id}'s timeline"),
        ("citation", f"e999 is not in session {failed.session_id}'s timeline"),
        (
            "overcome",
            f"session {first.session_id} did not start after session {failed.session_id}, "
            "the last one the stuck point cites",
        ),
        ("citation", f"e999 is not in session {failed.session_id}'s timeline"),
        ("overcome", f"session {later_failure.session_id}'s outcome is failure, not success"),
        (
            "recurring_friction",
            "no cited event carries a code flag or an error, and no cited session failed",
        ),
    ]
    real, earlier, failure = journey.findings.stuck_points
    assert real.overcome is not None and earlier.overcome is None and failure.overcome is None
    assert [f.description for f in journey.findings.recurring_friction] == [
        "The Size guide button does not respond"
    ]
    kept = journey.findings.model_copy(update={"stuck_points": [real]})
    _check_coupon_story(journey.model_copy(update={"findings": kept}), person)


async def test_a_small_budget_reads_windows_then_combines_keeping_first_and_last(
    person: list[PersonSession],
) -> None:
    double = JourneyDouble()
    journey = await _journey(person, SMALL, double)

    windows = journey.run.windows
    assert len(windows) >= 3
    assert [sid for window in windows for sid in window] == [p.session_id for p in person]
    assert double.calls == len(windows) + 1 == journey.run.calls
    first, last = person[0].session_id, person[-1].session_id
    assert journey.run.carried == [first, last]
    combine = double.prompts[-1]
    assert f"## Session {first}" in combine and f"## Session {last}" in combine
    # each window's prompt fits; the combine prompt (the system prompt, the first and last
    # blocks and three parts' findings) may not at this budget: rounds need two parts a call
    for prompt in double.prompts[:-1]:
        assert count_tokens(prompt_text(prompt)) <= SMALL
    assert [s.session_id for s in journey.sessions] == [p.session_id for p in person]
    goal, state = journey.findings.goal, journey.findings.current_state
    assert goal is not None and goal.citations[0].session_id == first
    assert state is not None and state.citations[-1].session_id == last
    _check_coupon_story(journey, person)


async def test_markdown_renders_the_table_and_the_statements(
    person: list[PersonSession],
) -> None:
    journey = await _journey(person, ONE_CALL)

    text = render_journey_markdown(journey)

    rows = [line for line in text.splitlines() if line.startswith("| ") and "UTC" in line]
    assert len(rows) == 12
    assert rows[FAILED_CHECKOUT].startswith("| 5 | 2025-11-10 20:00 UTC | 37s | failed |")
    assert "| 9 | 2025-11-17 11:00 UTC | 8s | not summarized |" in rows[NOT_SUMMARIZED]
    assert "12 sessions from 2025-11-03 to 2025-11-22: 9 succeeded, 2 failed, 1 not" in text
    assert f"overcome on 2025-11-12 in `{person[PURCHASE].session_id}`" in text
    for heading in ("## Goal", "## Stuck points", "## Recurring friction", "## Current state"):
        assert heading in text


async def test_chat_ask_sends_the_journey_prompt_to_a_loopback_model(
    person: list[PersonSession],
) -> None:
    double = JourneyDouble()

    def responder(body: dict[str, Any]) -> Reply:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        return Reply(body=completion_body(json.dumps(double.answer(user))))

    with chat_server() as chat:
        chat.responder = responder
        model = ChatModel(
            base_url=chat.base_url,
            model="m",
            api_key=None,
            timeout_seconds=10,
            max_output_tokens=2000,
            temperature=0,
        )
        ask = ChatAsk(model, schema_limits=True)
        journey = await build_journey(
            shuffled_inputs(person),
            distinct_id=DISTINCT_ID,
            ask=ask,
            max_tokens=ONE_CALL,
            count_tokens=count_tokens,
        )
        await model.close()
        (body,) = chat.bodies()

    assert body["response_format"]["json_schema"]["name"] == "person_journey"
    assert body["messages"][0] == {"role": "system", "content": ask.prompt.system}
    assert ask.usage.calls == 1
    _check_coupon_story(journey, person)
