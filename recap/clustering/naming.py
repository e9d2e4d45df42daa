"""Names one error cluster with the model: prompt, one call, parse, gate.

The model writes only the title, the impact and a severity; the cluster's counts, sessions
and samples are code's, and are never taken back from the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict

from recap.clustering.models import ErrorCluster
from recap.llm.client import ChatModel, MalformedModelOutput
from recap.llm.fence import Fence, neutralize
from recap.llm.gate import _clean, _words
from recap.llm.prompts import read_templates

PROMPT_NAME = "name_cluster"
_TEMPLATE_FILES = ("system.md", "user.md", "example_output.json")
TITLE_MAX_WORDS = 10
IMPACT_MAX_WORDS = 30
# Bounds for the grammar, with room for long words; the gate then counts words.
_TITLE_MAX_CHARS = 120
_IMPACT_MAX_CHARS = 320
_SAMPLE_MAX_CHARS = 300
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

Severity = Literal["low", "medium", "high"]


class ClusterName(BaseModel):
    """The model's answer, and (after `gate_name`) what is stored on the cluster."""

    model_config = ConfigDict(extra="forbid")

    title: str
    impact: str
    severity: Severity


class NamedCluster(BaseModel):
    """A gated name for one cluster, with the run metadata an operator may want."""

    cluster_id: str
    name: ClusterName
    model: str
    prompt_version: str
    latency_ms: int
    attempts: int = 1


@dataclass(frozen=True)
class ClusterPrompt:
    system: str
    user: Template
    example_output: dict[str, Any]
    version: str


@cache
def load_cluster_prompt() -> ClusterPrompt:
    texts, version = read_templates(PROMPT_NAME, _TEMPLATE_FILES)
    return ClusterPrompt(
        system=texts["system.md"],
        user=Template(texts["user.md"]),
        example_output=json.loads(texts["example_output.json"]),
        version=version,
    )


def cluster_name_schema() -> dict[str, Any]:
    """JSON Schema for `response_format`, inside OpenAI's strict subset (plus maxLength,
    which grammar-constrained local servers use to stop a small model rambling)."""
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": _TITLE_MAX_CHARS},
            "impact": {"type": "string", "maxLength": _IMPACT_MAX_CHARS},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
        },
        "required": ["title", "impact", "severity"],
        "additionalProperties": False,
    }


def needs_name(cluster: ErrorCluster, previous: ErrorCluster | None) -> bool:
    """A cluster is named when new, unnamed, or changed enough that the old name may no
    longer fit: another kind, errors it did not hold before, or twice the sessions."""
    if cluster.title is None or previous is None or previous.title is None:
        return True
    if cluster.kind != previous.kind:
        return True
    if set(cluster.fingerprints) - set(previous.fingerprints):
        return True
    return cluster.sessions_affected >= 2 * max(1, previous.sessions_affected)


def _lines(values: list[str]) -> str:
    shown = [_clean(value)[:_SAMPLE_MAX_CHARS] for value in values if value.strip()]
    return neutralize("\n".join(f"- {value}" for value in shown) or "- none recorded")


def build_cluster_messages(
    cluster: ErrorCluster,
    *,
    focus_area: str | None,
    prompt: ClusterPrompt,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    """Counts from code, and the untrusted samples and focus area in their own blocks (one
    random fence per request)."""
    fence = fence or Fence.new()
    if cluster.failed_ratio is None:
        failed = "unknown (no summaries)"
    else:
        failed = f"{round(cluster.failed_ratio * 100)}%"
    focus_block = (
        "Focus area of the team (say how this cluster relates to it, if it does):\n"
        f"{fence.wrap(focus_area.strip())}\n"
        if focus_area and focus_area.strip()
        else ""
    )
    user = prompt.user.substitute(
        cluster_id=cluster.cluster_id,
        kind=cluster.kind.value,
        sessions_affected=cluster.sessions_affected,
        occurrences=cluster.occurrences,
        failed=failed,
        focus_block=focus_block,
        messages=_lines(cluster.sample_messages),
        actions=_lines(cluster.sample_actions),
        fence=fence.tag,
    )
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def parse_cluster_name(content: str) -> ClusterName:
    try:
        return ClusterName.model_validate_json(content)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()[:8]
        )
        raise MalformedModelOutput(f"the answer does not match the schema: {problems}") from error


def gate_name(answer: ClusterName) -> ClusterName:
    """Text only, on one line, within the word limits; an empty title is malformed."""
    title = _words(answer.title, TITLE_MAX_WORDS)
    if not title:
        raise MalformedModelOutput("the answer's title is empty")
    return ClusterName(
        title=title, impact=_words(answer.impact, IMPACT_MAX_WORDS), severity=answer.severity
    )


async def name_cluster(
    cluster: ErrorCluster,
    model: ChatModel,
    *,
    focus_area: str | None = None,
    prompt: ClusterPrompt | None = None,
) -> NamedCluster:
    """One model call; a malformed answer gets one corrected retry, then raises."""
    prompt = prompt or load_cluster_prompt()
    messages = build_cluster_messages(cluster, focus_area=focus_area, prompt=prompt)
    latency_ms = 0
    last_error: MalformedModelOutput | None = None
    for attempt in (1, 2):
        completion = await model.complete_json(
            messages, schema_name="cluster_name", schema=cluster_name_schema()
        )
        latency_ms += completion.latency_ms
        try:
            name = gate_name(parse_cluster_name(completion.content))
        except MalformedModelOutput as error:
            last_error = error
            messages = [
                *messages,
                {"role": "assistant", "content": completion.content},
                {
                    "role": "user",
                    "content": f"Your answer was rejected: {error}. Answer again with JSON "
                    "matching the schema.",
                },
            ]
            continue
        return NamedCluster(
            cluster_id=cluster.cluster_id,
            name=name,
            model=completion.model,
            prompt_version=prompt.version,
            latency_ms=latency_ms,
            attempts=attempt,
        )
    assert last_error is not None
    raise last_error
