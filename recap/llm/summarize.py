"""Summarize one compiled timeline: prompt, one model call, parse, gate.

A malformed answer or one citing too many missing refs gets one corrected retry with
the errors sent back; a second failure surfaces as a typed error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pydantic

from recap.llm.client import ChatModel, Completion, MalformedModelOutput
from recap.llm.gate import SummaryInvalid, gate
from recap.llm.prompts import PromptTemplates, build_messages, load_prompt
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary, response_json_schema
from recap.timeline.models import Timeline

# Listing every ref as an enum lets grammar-constrained servers reject invented refs;
# past this many refs the schema itself would crowd the context, so a pattern is used.
MAX_ENUM_REFS = 400


@dataclass(frozen=True)
class SummaryRequest:
    timeline: Timeline
    rendered: str
    timeline_hash: str
    timeline_tokens: int
    focus_area: str | None = None
    schema_limits: bool = False
    product_context: str | None = None


def parse_answer(content: str) -> ModelSummary:
    try:
        return ModelSummary.model_validate_json(content)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()[:8]
        )
        raise MalformedModelOutput(f"the answer does not match the schema: {problems}") from error


async def summarize_timeline(
    request: SummaryRequest, model: ChatModel, *, prompt: PromptTemplates | None = None
) -> SessionSummary:
    prompt = prompt or load_prompt()
    refs = [event.ref for event in request.timeline.events]
    schema = response_json_schema(
        refs=refs if 0 < len(refs) <= MAX_ENUM_REFS else None,
        with_focus=bool(request.focus_area),
        limits=request.schema_limits,
    )
    messages = build_messages(
        request.timeline,
        request.rendered,
        focus_area=request.focus_area,
        prompt=prompt,
        product_context=request.product_context,
    )
    prompt_tokens = completion_tokens = 0
    latency_ms = 0
    last_error: Exception | None = None
    for attempt in (1, 2):
        completion: Completion = await model.complete_json(
            messages, schema_name="session_summary", schema=schema
        )
        prompt_tokens += completion.prompt_tokens or 0
        completion_tokens += completion.completion_tokens or 0
        latency_ms += completion.latency_ms
        run = RunMetadata(
            model=completion.model,
            prompt_version=prompt.version,
            timeline_hash=request.timeline_hash,
            timeline_tokens=request.timeline_tokens,
            prompt_tokens=prompt_tokens or None,
            completion_tokens=completion_tokens or None,
            latency_ms=latency_ms,
            focus_area=request.focus_area,
            attempts=attempt,
            response_mode=completion.response_mode,
        )
        try:
            answer = parse_answer(completion.content)
            return gate(answer, request.timeline, run, focus_area=request.focus_area)
        except (MalformedModelOutput, SummaryInvalid) as error:
            last_error = error
            messages = [
                *messages,
                {"role": "assistant", "content": completion.content},
                {
                    "role": "user",
                    "content": "Your answer was rejected: "
                    + str(error)
                    + ". Answer again with JSON matching the schema, citing only refs "
                    + "that appear in the timeline.",
                },
            ]
    assert last_error is not None
    raise last_error


def example_answer_json() -> str:
    return json.dumps(load_prompt().example_output)
