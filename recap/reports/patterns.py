"""Map and reduce: the model reads chunks of session summaries and names candidate patterns,
then merges the candidates of all chunks into one list.

The answers carry words only (a name, a description, a severity, indicators); the schema
has no number in it, and which sessions show a pattern is the assign step's, checked by code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recap.llm.client import ChatModel
from recap.llm.fence import Fence, neutralize
from recap.llm.gate import _words
from recap.reports.models import SEVERITY_ORDER, PatternSeverity
from recap.reports.prompting import (
    MAP_PROMPT,
    REDUCE_PROMPT,
    ReportPrompt,
    StepUsage,
    ask,
    focus_block,
    load_report_prompt,
    messages,
    messages_text,
    parse_json,
)
from recap.reports.sessions import CountTokens, ReportSession, render_sessions

NAME_MAX_WORDS = 10
DESCRIPTION_MAX_WORDS = 60
INDICATOR_MAX_WORDS = 20
INDICATORS_MAX = 5
# Bounds for grammar-enforcing servers (with room for long words); the words are cut after.
_NAME_MAX_CHARS = 120
_DESCRIPTION_MAX_CHARS = 600
_INDICATOR_MAX_CHARS = 200
_PATTERNS_MAX = 12


class CandidatePattern(BaseModel):
    """A pattern as the model names it; after consolidation its place in the list is its
    id for the assign step (`p1` is the first)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    severity: PatternSeverity
    indicators: list[str] = Field(default_factory=list)


class PatternsAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patterns: list[CandidatePattern]


def patterns_schema(*, limits: bool = False) -> dict[str, Any]:
    """JSON Schema for `response_format` (OpenAI's strict subset; `limits` adds the
    maxLength/maxItems that stop a small local model rambling)."""

    def text(max_length: int) -> dict[str, Any]:
        return {"type": "string", "maxLength": max_length} if limits else {"type": "string"}

    indicators: dict[str, Any] = {"type": "array", "items": text(_INDICATOR_MAX_CHARS)}
    pattern = {
        "type": "object",
        "properties": {
            "name": text(_NAME_MAX_CHARS),
            "description": text(_DESCRIPTION_MAX_CHARS),
            "severity": {"type": "string", "enum": list(SEVERITY_ORDER)},
            "indicators": indicators,
        },
        "required": ["name", "description", "severity", "indicators"],
        "additionalProperties": False,
    }
    patterns: dict[str, Any] = {"type": "array", "items": pattern}
    if limits:
        indicators["maxItems"] = INDICATORS_MAX
        patterns["maxItems"] = _PATTERNS_MAX
    return {
        "type": "object",
        "properties": {"patterns": patterns},
        "required": ["patterns"],
        "additionalProperties": False,
    }


def pattern_key(name: str) -> str:
    """A name folded for comparison: case, punctuation and spacing ignored."""
    return " ".join("".join(c if c.isalnum() else " " for c in name.casefold()).split())


def clean_patterns(answer: PatternsAnswer) -> list[CandidatePattern]:
    """Text on one line within word limits; nameless patterns and repeated names dropped."""
    kept: dict[str, CandidatePattern] = {}
    for pattern in answer.patterns:
        name = _words(pattern.name, NAME_MAX_WORDS)
        key = pattern_key(name)
        if not key or key in kept:
            continue
        indicators = [_words(text, INDICATOR_MAX_WORDS) for text in pattern.indicators]
        kept[key] = CandidatePattern(
            name=name,
            description=_words(pattern.description, DESCRIPTION_MAX_WORDS),
            severity=pattern.severity,
            indicators=list(dict.fromkeys(text for text in indicators if text))[:INDICATORS_MAX],
        )
    return list(kept.values())


def _unique(patterns: Sequence[CandidatePattern]) -> list[CandidatePattern]:
    """The first pattern of each name (merges from different groups may repeat one)."""
    kept: dict[str, CandidatePattern] = {}
    for pattern in patterns:
        kept.setdefault(pattern_key(pattern.name), pattern)
    return list(kept.values())


def _parse(content: str) -> list[CandidatePattern]:
    answer: PatternsAnswer = parse_json(content, PatternsAnswer)
    return clean_patterns(answer)


def map_messages(
    chunk: Sequence[ReportSession],
    *,
    focus_area: str | None,
    prompt: ReportPrompt,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    fence = fence or Fence.new()
    return messages(
        prompt,
        session_count=str(len(chunk)),
        focus_block=focus_block(focus_area, fence),
        sessions=neutralize(render_sessions(chunk)),
        fence=fence.tag,
    )


async def find_candidate_patterns(
    chunk: Sequence[ReportSession],
    *,
    focus_area: str | None,
    model: ChatModel,
    prompt: ReportPrompt | None = None,
    schema_limits: bool = False,
) -> tuple[list[CandidatePattern], StepUsage]:
    """Map: one model call over one chunk of sessions (none for an empty chunk)."""
    if not chunk:
        return [], StepUsage()
    prompt = prompt or load_report_prompt(MAP_PROMPT)
    return await ask(
        model,
        map_messages(chunk, focus_area=focus_area, prompt=prompt),
        schema_name="report_patterns",
        schema=patterns_schema(limits=schema_limits),
        parse=_parse,
    )


def render_candidates(candidates: Sequence[CandidatePattern], *, prefix: str = "c") -> str:
    blocks = []
    for number, pattern in enumerate(candidates, start=1):
        lines = [
            f"{prefix}{number} [{pattern.severity}] {pattern.name}",
            f"  {pattern.description}",
        ]
        if pattern.indicators:
            lines.append(f"  indicators: {'; '.join(pattern.indicators)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def reduce_messages(
    candidates: Sequence[CandidatePattern],
    *,
    focus_area: str | None,
    prompt: ReportPrompt,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    fence = fence or Fence.new()
    return messages(
        prompt,
        candidate_count=str(len(candidates)),
        focus_block=focus_block(focus_area, fence),
        candidates=neutralize(render_candidates(candidates)),
        fence=fence.tag,
    )


def _groups(
    candidates: Sequence[CandidatePattern], budget: int, count_tokens: CountTokens
) -> list[list[CandidatePattern]]:
    groups: list[list[CandidatePattern]] = []
    current: list[CandidatePattern] = []
    used = 0
    for candidate in candidates:
        size = count_tokens(render_candidates([candidate])) + 1
        if current and used + size > budget:
            groups.append(current)
            current, used = [], 0
        current.append(candidate)
        used += size
    if current:
        groups.append(current)
    return groups


async def consolidate_patterns(
    candidates: Sequence[CandidatePattern],
    *,
    focus_area: str | None,
    model: ChatModel,
    prompt: ReportPrompt | None = None,
    max_tokens: int | None = None,
    count_tokens: CountTokens | None = None,
    schema_limits: bool = False,
) -> tuple[list[CandidatePattern], StepUsage]:
    """Reduce: one call merging the candidates of every chunk into the final patterns.

    When `max_tokens` and `count_tokens` are given and the candidates do not fit one
    prompt, they are reduced in rounds: groups that fit are merged, then the merged lists,
    until one call takes them all. A round in which the model merges nothing ends the
    rounds; its patterns are returned as they are, so a duplicate across groups may stay.
    """
    prompt = prompt or load_report_prompt(REDUCE_PROMPT)
    usage = StepUsage()
    current = list(candidates)
    if not current:
        return [], usage
    schema = patterns_schema(limits=schema_limits)
    while True:
        if max_tokens is not None and count_tokens is not None:
            empty = reduce_messages([], focus_area=focus_area, prompt=prompt)
            budget = max_tokens - count_tokens(messages_text(empty))
            groups = _groups(current, budget, count_tokens)
        else:
            groups = [current]
        merged: list[CandidatePattern] = []
        for group in groups:
            result, spent = await ask(
                model,
                reduce_messages(group, focus_area=focus_area, prompt=prompt),
                schema_name="report_consolidate",
                schema=schema,
                parse=_parse,
            )
            usage = usage + spent
            merged.extend(result)
        if len(groups) == 1 or len(merged) >= len(current):
            return _unique(merged), usage
        current = merged
