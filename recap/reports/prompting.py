"""The pattern steps' prompts (versioned folders under `prompts/`) and the one way they ask
the model: a schema-enforced call, parsed, with one corrected retry on a malformed answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel

from recap.llm.client import ChatModel, MalformedModelOutput
from recap.llm.fence import Fence
from recap.llm.prompts import read_templates
from recap.reports.models import ReportRun

MAP_PROMPT = "report_patterns"
REDUCE_PROMPT = "report_consolidate"
ASSIGN_PROMPT = "report_assign"
STEP_PROMPTS: tuple[str, ...] = (MAP_PROMPT, REDUCE_PROMPT, ASSIGN_PROMPT)
_TEMPLATE_FILES = ("system.md", "user.md", "example_output.json")

T = TypeVar("T")


@dataclass(frozen=True)
class ReportPrompt:
    name: str
    system: str
    user: Template
    example_output: dict[str, Any]
    version: str


@cache
def load_report_prompt(name: str) -> ReportPrompt:
    texts, version = read_templates(name, _TEMPLATE_FILES)
    return ReportPrompt(
        name=name,
        system=texts["system.md"],
        user=Template(texts["user.md"]),
        example_output=json.loads(texts["example_output.json"]),
        version=version,
    )


def prompt_versions() -> dict[str, str]:
    """Step prompt name -> version, as a report's inputs record them."""
    return {name: load_report_prompt(name).version for name in STEP_PROMPTS}


def focus_block(focus_area: str | None, fence: Fence) -> str:
    """The team's focus area as data in its own block, or nothing."""
    if not focus_area or not focus_area.strip():
        return ""
    return (
        "Focus area of the team (prefer patterns about it, and say how a pattern relates "
        f"to it):\n{fence.wrap(focus_area.strip())}\n"
    )


def messages(prompt: ReportPrompt, **values: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user.substitute(**values)},
    ]


def messages_text(sent: list[dict[str, str]]) -> str:
    """What a tokenizer should count for a list of messages."""
    return "\n".join(message["content"] for message in sent)


class StepUsage(BaseModel):
    """What one step's model calls cost; retries count as calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    model: str | None = None

    def __add__(self, other: StepUsage) -> StepUsage:
        return StepUsage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency_ms=self.latency_ms + other.latency_ms,
            model=other.model or self.model,
        )


def report_run(
    *, map_usage: StepUsage, reduce_usage: StepUsage, assign_usage: StepUsage
) -> ReportRun:
    total = map_usage + reduce_usage + assign_usage
    return ReportRun(
        map_calls=map_usage.calls,
        reduce_calls=reduce_usage.calls,
        assign_calls=assign_usage.calls,
        prompt_tokens=total.prompt_tokens,
        completion_tokens=total.completion_tokens,
        latency_ms=total.latency_ms,
    )


def parse_json(content: str, shape: type[BaseModel]) -> Any:
    try:
        return shape.model_validate_json(content)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()[:8]
        )
        raise MalformedModelOutput(f"the answer does not match the schema: {problems}") from error


async def ask(
    model: ChatModel,
    sent: list[dict[str, str]],
    *,
    schema_name: str,
    schema: dict[str, Any],
    parse: Callable[[str], T],
) -> tuple[T, StepUsage]:
    """One answer, parsed; a malformed one gets one corrected retry, then raises."""
    usage = StepUsage()
    last_error: MalformedModelOutput | None = None
    for _attempt in (1, 2):
        completion = await model.complete_json(sent, schema_name=schema_name, schema=schema)
        usage = usage + StepUsage(
            calls=1,
            prompt_tokens=completion.prompt_tokens or 0,
            completion_tokens=completion.completion_tokens or 0,
            latency_ms=completion.latency_ms,
            model=completion.model,
        )
        try:
            return parse(completion.content), usage
        except MalformedModelOutput as error:
            last_error = error
            sent = [
                *sent,
                {"role": "assistant", "content": completion.content},
                {
                    "role": "user",
                    "content": f"Your answer was rejected: {error}. Answer again with JSON "
                    "matching the schema.",
                },
            ]
    assert last_error is not None
    raise last_error
