"""Long histories in windows, then combined; the prompt, its version and the answer schema."""

from __future__ import annotations

import re
from typing import Any

from recap.journeys import (
    JourneyAnswer,
    answer_schema,
    build_journey,
    journey_windows,
    load_journey_prompt,
    session_blocks,
)
from tests.support.journey_fixtures import DISTINCT_ID, JourneyDouble, tiny_input


def _words(text: str) -> int:
    return len(text.split())


def _inputs(count: int) -> list[Any]:
    return [
        tiny_input(number, day=number, success=number % 3 != 2, flagged=number % 3 == 2)
        for number in range(1, count + 1)
    ]


def _numbers(schema: Any) -> list[str]:
    """Every numeric type anywhere in a JSON schema."""
    if isinstance(schema, dict):
        found = [schema["type"]] if schema.get("type") in ("integer", "number") else []
        return found + [n for value in schema.values() for n in _numbers(value)]
    if isinstance(schema, list):
        return [n for value in schema for n in _numbers(value)]
    return []


async def test_a_short_history_takes_one_call_over_all_sessions() -> None:
    double = JourneyDouble()

    journey = await build_journey(
        _inputs(4), distinct_id=DISTINCT_ID, ask=double, max_tokens=100_000, count_tokens=_words
    )

    assert double.calls == 1
    assert "All 4 sessions of one person" in double.prompts[0]
    assert journey.run.windows == [["s01", "s02", "s03", "s04"]]
    assert (journey.run.calls, journey.run.carried) == (1, [])
    assert journey.run.prompt_version == load_journey_prompt().version


async def test_a_long_history_is_read_in_windows_then_combined_keeping_first_and_last() -> None:
    inputs = _inputs(9)
    blocks = session_blocks(inputs)
    block_words = max(_words(block.text) for block in blocks)
    fixed = _words(load_journey_prompt().system) + 40
    budget = fixed + 3 * (block_words + 2)
    double = JourneyDouble()

    journey = await build_journey(
        inputs, distinct_id=DISTINCT_ID, ask=double, max_tokens=budget, count_tokens=_words
    )

    windows = journey.run.windows
    assert len(windows) >= 3
    assert [sid for window in windows for sid in window] == [f"s{n:02d}" for n in range(1, 10)]
    assert double.calls == len(windows) + 1 == journey.run.calls
    for window, prompt in zip(windows, double.prompts, strict=False):
        shown = re.findall(r"^## Session (\S+)$", prompt, re.MULTILINE)
        assert shown == window
    combine = double.prompts[-1]
    assert "What each part found" in combine
    assert blocks[0].text in combine and blocks[-1].text in combine
    assert journey.run.carried == ["s01", "s09"]
    goal, state = journey.findings.goal, journey.findings.current_state
    assert goal is not None and goal.citations[0].session_id == "s01"
    assert state is not None and state.citations[-1].session_id == "s09"
    assert len(journey.sessions) == 9


def test_windows_stay_within_the_budget_and_keep_the_order() -> None:
    blocks = session_blocks(_inputs(7))
    fixed = _words(load_journey_prompt().system) + 40
    budget = fixed + 2 * (max(_words(b.text) for b in blocks) + 2)

    windows = journey_windows(blocks, max_tokens=budget, count_tokens=_words)

    assert [b.session_id for w in windows for b in w] == [b.session_id for b in blocks]
    assert all(len(window) <= 2 for window in windows)


async def test_no_sessions_no_call() -> None:
    double = JourneyDouble()

    journey = await build_journey(
        [], distinct_id=DISTINCT_ID, ask=double, max_tokens=1000, count_tokens=_words
    )

    assert double.calls == 0
    assert journey.counts.sessions == 0 and journey.sessions == []


def test_the_answer_schema_has_no_numbers_and_names_only_given_sessions() -> None:
    schema = answer_schema(["s01", "s02"], limits=True)

    assert _numbers(schema) == []
    citation = schema["properties"]["goal"]["properties"]["citations"]["items"]
    assert citation["properties"]["session_id"]["enum"] == ["s01", "s02"]
    assert set(schema["required"]) == {
        "goal",
        "stuck_points",
        "recurring_friction",
        "current_state",
    }


def test_the_prompt_is_versioned_and_its_example_is_a_valid_answer() -> None:
    prompt = load_journey_prompt()

    assert re.fullmatch(r"person_journey@[0-9a-f]{12}", prompt.version)
    JourneyAnswer.model_validate(prompt.example_output)


async def test_findings_too_long_for_one_combine_prompt_are_combined_in_rounds() -> None:
    inputs = _inputs(9)
    blocks = session_blocks(inputs)
    fixed = _words(load_journey_prompt().system) + 40
    # one block per window, and no room for more than two parts in a combine prompt
    budget = fixed + max(_words(block.text) for block in blocks) + 2
    double = JourneyDouble()

    journey = await build_journey(
        inputs, distinct_id=DISTINCT_ID, ask=double, max_tokens=budget, count_tokens=_words
    )

    assert len(journey.run.windows) == 9
    combines = [prompt for prompt in double.prompts if "What each part found" in prompt]
    assert len(combines) == 4 + 2 + 1  # 9 parts -> 4 -> 2 -> 1
    assert double.calls == journey.run.calls == 9 + 7
    for prompt in combines:
        assert blocks[0].text in prompt and blocks[-1].text in prompt
    goal, state = journey.findings.goal, journey.findings.current_state
    assert goal is not None and goal.citations[0].session_id == "s01"
    assert state is not None and state.citations[-1].session_id == "s09"
    assert journey.run.carried == ["s01", "s09"]
