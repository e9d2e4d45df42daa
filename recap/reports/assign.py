"""Assign: per chunk of sessions, the model says which cited events show which pattern.

The schema lists the chunk's pattern ids, session ids and cited refs, so a grammar-enforcing
server cannot name others; the answer is parsed without those lists, so whatever another
server invents still reaches `build_patterns`, which checks every example and records
what it drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from recap.llm.client import ChatModel
from recap.llm.fence import Fence, neutralize
from recap.llm.gate import _words
from recap.reports.patterns import CandidatePattern, render_candidates
from recap.reports.prompting import (
    ASSIGN_PROMPT,
    ReportPrompt,
    StepUsage,
    ask,
    load_report_prompt,
    messages,
    parse_json,
)
from recap.reports.sessions import ReportSession, render_sessions

EXAMPLE_MAX_WORDS = 30
_EXAMPLE_MAX_CHARS = 300
# Past this many refs the enum would crowd the context (as for summaries): a pattern instead.
MAX_ENUM_REFS = 400


class Assignment(BaseModel):
    """The model's word that one cited event of one session shows one pattern."""

    model_config = ConfigDict(extra="forbid")

    pattern_id: str
    session_id: str
    ref: str
    description: str


class AssignAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples: list[Assignment]


def pattern_ids(patterns: Sequence[CandidatePattern]) -> list[str]:
    """`p1`, `p2` … by place in the consolidated list (as `render_candidates` numbers them)."""
    return [f"p{number}" for number in range(1, len(patterns) + 1)]


def assign_schema(
    chunk: Sequence[ReportSession], patterns: Sequence[CandidatePattern], *, limits: bool = False
) -> dict[str, Any]:
    refs = sorted({ref for session in chunk for ref in session.refs}, key=_ref_order)
    ref: dict[str, Any] = (
        {"type": "string", "enum": refs}
        if 0 < len(refs) <= MAX_ENUM_REFS
        else {"type": "string", "pattern": "^e[0-9]+$"}
    )
    description: dict[str, Any] = {"type": "string"}
    if limits:
        description["maxLength"] = _EXAMPLE_MAX_CHARS
    example = {
        "type": "object",
        "properties": {
            "pattern_id": {"type": "string", "enum": pattern_ids(patterns)},
            "session_id": {"type": "string", "enum": [session.session_id for session in chunk]},
            "ref": ref,
            "description": description,
        },
        "required": ["pattern_id", "session_id", "ref", "description"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"examples": {"type": "array", "items": example}},
        "required": ["examples"],
        "additionalProperties": False,
    }


def _ref_order(ref: str) -> tuple[int, str]:
    digits = ref[1:]
    return (int(digits), ref) if digits.isdigit() else (1 << 62, ref)


def assign_messages(
    chunk: Sequence[ReportSession],
    patterns: Sequence[CandidatePattern],
    *,
    prompt: ReportPrompt,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    fence = fence or Fence.new()
    return messages(
        prompt,
        pattern_count=str(len(patterns)),
        patterns=neutralize(render_candidates(patterns, prefix="p")),
        session_count=str(len(chunk)),
        sessions=neutralize(render_sessions(chunk)),
        fence=fence.tag,
    )


def _parse(content: str) -> list[Assignment]:
    answer: AssignAnswer = parse_json(content, AssignAnswer)
    return [
        Assignment(
            pattern_id=item.pattern_id.strip(),
            session_id=item.session_id.strip(),
            ref=item.ref.strip(),
            description=_words(item.description, EXAMPLE_MAX_WORDS),
        )
        for item in answer.examples
    ]


async def assign_events(
    chunk: Sequence[ReportSession],
    patterns: Sequence[CandidatePattern],
    *,
    model: ChatModel,
    prompt: ReportPrompt | None = None,
    schema_limits: bool = False,
) -> tuple[list[Assignment], StepUsage]:
    """One model call for one chunk (none without sessions or patterns)."""
    if not chunk or not patterns:
        return [], StepUsage()
    prompt = prompt or load_report_prompt(ASSIGN_PROMPT)
    return await ask(
        model,
        assign_messages(chunk, patterns, prompt=prompt),
        schema_name="report_assign",
        schema=assign_schema(chunk, patterns, limits=schema_limits),
        parse=_parse,
    )
