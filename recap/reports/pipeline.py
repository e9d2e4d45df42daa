"""The pattern steps in order, in one process: chunk, map, reduce, assign, build.

Activities may call the steps one by one instead (one activity per model call, so a retry
repeats only that call); this is the same plan for the CLI, benchmarks and tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recap.llm.client import ChatModel
from recap.reports.assign import Assignment, assign_events, assign_messages
from recap.reports.build import build_patterns
from recap.reports.models import Pattern, ReportGate, ReportRun
from recap.reports.patterns import (
    CandidatePattern,
    consolidate_patterns,
    find_candidate_patterns,
    map_messages,
)
from recap.reports.prompting import (
    ASSIGN_PROMPT,
    MAP_PROMPT,
    ReportPrompt,
    StepUsage,
    load_report_prompt,
    messages_text,
    report_run,
)
from recap.reports.sessions import CountTokens, ReportSession, chunks
from recap.timeline.models import Timeline


def map_chunks(
    sessions: Sequence[ReportSession],
    *,
    focus_area: str | None,
    max_tokens: int,
    count_tokens: CountTokens,
    prompt: ReportPrompt | None = None,
) -> list[list[ReportSession]]:
    """Chunks whose map prompt (system, instructions, focus area, sessions) fits."""
    prompt = prompt or load_report_prompt(MAP_PROMPT)
    empty = map_messages([], focus_area=focus_area, prompt=prompt)
    fixed = count_tokens(messages_text(empty))
    return chunks(sessions, max_tokens=max_tokens, count_tokens=count_tokens, fixed_tokens=fixed)


def assign_chunks(
    sessions: Sequence[ReportSession],
    patterns: Sequence[CandidatePattern],
    *,
    max_tokens: int,
    count_tokens: CountTokens,
    prompt: ReportPrompt | None = None,
) -> list[list[ReportSession]]:
    """Chunks whose assign prompt (with the list of patterns) fits."""
    prompt = prompt or load_report_prompt(ASSIGN_PROMPT)
    fixed = count_tokens(messages_text(assign_messages([], patterns, prompt=prompt)))
    return chunks(sessions, max_tokens=max_tokens, count_tokens=count_tokens, fixed_tokens=fixed)


@dataclass(frozen=True)
class PatternFindings:
    patterns: list[Pattern]
    gate: ReportGate
    run: ReportRun
    candidates: list[CandidatePattern]
    """What the reduce step answered, before the gate."""
    assignments: list[Assignment]
    model: str | None


async def find_patterns(
    sessions: Sequence[ReportSession],
    timelines: Mapping[str, Timeline],
    *,
    focus_area: str | None,
    model: ChatModel,
    max_tokens: int,
    count_tokens: CountTokens,
    schema_limits: bool = False,
) -> PatternFindings:
    """Map over chunks, reduce once (in rounds when the candidates do not fit), assign over
    chunks, then check and count in code."""
    map_usage = StepUsage()
    candidates: list[CandidatePattern] = []
    for chunk in map_chunks(
        sessions, focus_area=focus_area, max_tokens=max_tokens, count_tokens=count_tokens
    ):
        found, usage = await find_candidate_patterns(
            chunk, focus_area=focus_area, model=model, schema_limits=schema_limits
        )
        candidates += found
        map_usage += usage
    patterns, reduce_usage = await consolidate_patterns(
        candidates,
        focus_area=focus_area,
        model=model,
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        schema_limits=schema_limits,
    )
    assign_usage = StepUsage()
    assignments: list[Assignment] = []
    if patterns:
        for chunk in assign_chunks(
            sessions, patterns, max_tokens=max_tokens, count_tokens=count_tokens
        ):
            assigned, usage = await assign_events(
                chunk, patterns, model=model, schema_limits=schema_limits
            )
            assignments += assigned
            assign_usage += usage
    kept, gate = build_patterns(patterns, assignments, sessions, timelines)
    return PatternFindings(
        patterns=kept,
        gate=gate,
        run=report_run(map_usage=map_usage, reduce_usage=reduce_usage, assign_usage=assign_usage),
        candidates=patterns,
        assignments=assignments,
        model=(map_usage + reduce_usage + assign_usage).model,
    )
