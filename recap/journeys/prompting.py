"""The journey prompt (`prompts/person_journey`, versioned by its text) and the model's answer.

The answer carries words and citations only: no count, date or duration is in its schema,
so every number a journey shows comes from code.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from recap.journeys.models import JourneyFindings, JourneyStatement, StuckPoint
from recap.journeys.sessions import SessionBlock, format_day
from recap.llm.fence import Fence, neutralize
from recap.llm.prompts import read_templates

PROMPT_NAME = "person_journey"
_TEMPLATE_FILES = ("system.md", "user.md", "combine.md", "example_output.json")

# Bounds for grammar-enforcing servers (with room for long words); words are cut after.
_TEXT_MAX_CHARS = 600
_CITATIONS_MAX = 8
_STATEMENTS_MAX = 6

T = TypeVar("T", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCitation(_Strict):
    session_id: str
    ref: str


class ModelOvercome(_Strict):
    session_id: str
    ref: str
    description: str


class ModelStatement(_Strict):
    description: str
    citations: list[ModelCitation] = Field(default_factory=list)


class ModelStuckPoint(ModelStatement):
    overcome: ModelOvercome | None = None


class JourneyAnswer(_Strict):
    """What the model must return, for one window and for the combine step alike."""

    goal: ModelStatement
    stuck_points: list[ModelStuckPoint] = Field(default_factory=list)
    recurring_friction: list[ModelStatement] = Field(default_factory=list)
    current_state: ModelStatement


class Ask(Protocol):
    """One model call: the user prompt (the system prompt is `JourneyPrompt.system`) and
    the answer's schema in, the parsed answer out."""

    def __call__(self, prompt: str, schema: type[T], /) -> Awaitable[T]: ...


def answer_schema(
    session_ids: Sequence[str] | None = None, *, limits: bool = False
) -> dict[str, Any]:
    """JSON Schema for `response_format` (OpenAI's strict subset). With `session_ids` a
    grammar-enforcing server cannot name another session; `limits` adds the maxLength and
    maxItems that stop a small local model rambling."""

    def text() -> dict[str, Any]:
        return {"type": "string", "maxLength": _TEXT_MAX_CHARS} if limits else {"type": "string"}

    def array(items: dict[str, Any], max_items: int) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "array", "items": items}
        if limits:
            node["maxItems"] = max_items
        return node

    def obj(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    session: dict[str, Any] = (
        {"type": "string", "enum": list(session_ids)} if session_ids else {"type": "string"}
    )
    ref = {"type": "string", "pattern": "^e[0-9]+$"}
    citations = array(obj({"session_id": session, "ref": ref}), _CITATIONS_MAX)
    statement = obj({"description": text(), "citations": citations})
    overcome = obj({"session_id": session, "ref": ref, "description": text()})
    stuck = obj(
        {
            "description": text(),
            "citations": citations,
            "overcome": {"anyOf": [overcome, {"type": "null"}]},
        }
    )
    return obj(
        {
            "goal": statement,
            "stuck_points": array(stuck, _STATEMENTS_MAX),
            "recurring_friction": array(statement, _STATEMENTS_MAX),
            "current_state": statement,
        }
    )


@dataclass(frozen=True)
class JourneyPrompt:
    name: str
    system: str
    user: Template
    combine: Template
    example_output: dict[str, Any]
    version: str


@cache
def load_journey_prompt() -> JourneyPrompt:
    texts, version = read_templates(PROMPT_NAME, _TEMPLATE_FILES)
    return JourneyPrompt(
        name=PROMPT_NAME,
        system=texts["system.md"],
        user=Template(texts["user.md"]),
        combine=Template(texts["combine.md"]),
        example_output=json.loads(texts["example_output.json"]),
        version=version,
    )


def _scope(first: int, last: int, total: int) -> str:
    if first == 1 and last == total:
        return f"All {total} sessions of one person, in time order."
    return (
        f"Sessions {first} to {last} of one person's {total}, in time order; the other "
        "sessions are read separately, so describe only these."
    )


def render_blocks(blocks: Sequence[SessionBlock]) -> str:
    return "\n\n".join(block.text for block in blocks)


def sessions_prompt(
    blocks: Sequence[SessionBlock],
    *,
    total: int,
    prompt: JourneyPrompt | None = None,
    fence: Fence | None = None,
) -> str:
    """The user prompt over some of the person's sessions (all of them, or one window)."""
    prompt = prompt or load_journey_prompt()
    fence = fence or Fence.new()
    first, last = (blocks[0].session.number, blocks[-1].session.number) if blocks else (1, 0)
    return prompt.user.substitute(
        scope=_scope(first, last, total),
        sessions=neutralize(render_blocks(blocks)),
        fence=fence.tag,
    )


def window_overhead(total: int, prompt: JourneyPrompt | None = None) -> str:
    """A window's prompt without its sessions, with the longest scope line a window of
    `total` sessions can have: what every window spends besides its blocks."""
    prompt = prompt or load_journey_prompt()
    user = prompt.user.substitute(
        scope=_scope(total, total, total), sessions="", fence=Fence.new().tag
    )
    return prompt_text(user, prompt)


def prompt_text(user: str, prompt: JourneyPrompt | None = None) -> str:
    """What a tokenizer should count for one call: the system and user messages."""
    return f"{(prompt or load_journey_prompt()).system}\n{user}"


# --- the combine step -----------------------------------------------------------------------


def session_line(block: SessionBlock) -> str:
    """`3. <id> 2025-11-10 (Monday) 09:00 UTC, failed: <title>`: code's facts, one line."""
    session = block.session
    state = {"success": "succeeded", "failure": "failed", "unknown": "not summarized"}
    title = f": {session.title}" if session.title else ""
    return (
        f"{session.number}. {session.session_id} {format_day(session.start)}, "
        f"{state[session.outcome]}{title}"
    )


def _cites(statement: JourneyStatement) -> str:
    return "; ".join(f"{c.session_id} {c.ref}" for c in statement.citations)


def _statement_lines(label: str, statement: JourneyStatement) -> list[str]:
    lines = [f"{label}: {statement.description} [{_cites(statement)}]"]
    if isinstance(statement, StuckPoint) and statement.overcome is not None:
        over = statement.overcome
        lines.append(
            f"  overcome: {over.description} [{over.citation.session_id} {over.citation.ref}]"
        )
    return lines


def render_part(number: int, blocks: Sequence[SessionBlock], found: JourneyFindings) -> str:
    """One window's gated findings, as the combine step reads them."""
    first, last = blocks[0].session, blocks[-1].session
    lines = [
        f"### Part {number}: sessions {first.number} to {last.number} "
        f"({first.start:%Y-%m-%d} to {last.start:%Y-%m-%d})"
    ]
    if found.goal is not None:
        lines += _statement_lines("Goal", found.goal)
    for stuck in found.stuck_points:
        lines += _statement_lines("Stuck", stuck)
    for friction in found.recurring_friction:
        lines += _statement_lines("Friction", friction)
    if found.current_state is not None:
        lines += _statement_lines("State at the end of the part", found.current_state)
    if len(lines) == 1:
        lines.append("(nothing that checks out)")
    return "\n".join(lines)


Part = tuple[Sequence[SessionBlock], JourneyFindings]
"""The sessions one earlier call read, and its gated findings."""


def first_and_last(blocks: Sequence[SessionBlock]) -> list[SessionBlock]:
    return [blocks[0], blocks[-1]] if len(blocks) > 1 else list(blocks)


def combine_prompt(
    parts: Sequence[Part],
    *,
    carried: Sequence[SessionBlock],
    prompt: JourneyPrompt | None = None,
    fence: Fence | None = None,
) -> str:
    """The user prompt of a combine step: each part's gated findings, the line (date,
    outcome, title) of every session they cite, and the `carried` blocks (the person's first
    and last sessions) verbatim, so the ends of the journey are never lost to the windows.
    Its size follows the findings, which are bounded, not the number of sessions."""
    prompt = prompt or load_journey_prompt()
    fence = fence or Fence.new()
    cited = {session_id for _, found in parts for session_id in found.cited_sessions()}
    covered = [block for blocks, _ in parts for block in blocks if block.session_id in cited]
    rendered = [
        render_part(number, blocks, found)
        for number, (blocks, found) in enumerate(parts, start=1)
        if blocks
    ]
    return prompt.combine.substitute(
        session_list=neutralize("\n".join(session_line(block) for block in covered)),
        parts=neutralize("\n\n".join(rendered)),
        first_and_last=neutralize(render_blocks(carried)),
        fence=fence.tag,
    )
