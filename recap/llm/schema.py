"""The summary contract: what the model is asked to fill, and what recap stores after the gate.

`ModelSummary` is the model's answer (validated, JSON-schema'd for `response_format`).
`SessionSummary` is the gated result: only claims whose refs exist, with timestamps, URLs
and targets copied from the timeline by code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SUMMARY_SCHEMA_VERSION = 2

Severity = Literal["low", "medium", "high"]

# Small on purpose: a small model must be able to fill the whole answer.
TITLE_MAX = 80
TITLE_MAX_WORDS = 10
NAME_MAX = 60
TEXT_MAX = 200
OUTCOME_MAX = 240
OUTCOME_MAX_WORDS = 30
SEGMENTS_MAX = 4
KEY_ACTIONS_MAX = 6
ISSUES_MAX = 4
FINDINGS_MAX = 4


class IssueKind(StrEnum):
    """What went wrong. The first four are friction claims the gate checks against flags."""

    ERROR = "error"
    RAGE_CLICK = "rage_click"
    DEAD_CLICK = "dead_click"
    SLOW = "slow"
    ABANDONMENT = "abandonment"
    CONFUSION = "confusion"
    OTHER = "other"


class KeyActionFlag(StrEnum):
    ABANDONMENT = "abandonment"
    CONFUSION = "confusion"
    EXCEPTION_BLOCKING = "exception_blocking"
    EXCEPTION_NON_BLOCKING = "exception_non_blocking"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SummaryOutcome(_Strict):
    """Exactly PostHog's `summary_outcome` shape."""

    description: str = Field(max_length=OUTCOME_MAX * 2)
    success: bool


class SegmentOutcome(_Strict):
    success: bool
    summary: str = Field(max_length=TEXT_MAX * 2)


class ModelKeyAction(_Strict):
    ref: str
    description: str = Field(max_length=TEXT_MAX * 2)
    flags: list[KeyActionFlag] = Field(default_factory=list, max_length=4)


class ModelSegment(_Strict):
    name: str = Field(max_length=NAME_MAX * 2)
    start_ref: str
    end_ref: str
    outcome: SegmentOutcome


class ModelIssue(_Strict):
    kind: IssueKind
    ref: str
    description: str = Field(max_length=TEXT_MAX * 2)
    severity: Severity


class ModelFocusFinding(_Strict):
    ref: str
    finding: str = Field(max_length=TEXT_MAX * 2)


class ModelSummary(_Strict):
    """What the model must return (schema version `SUMMARY_SCHEMA_VERSION`)."""

    title: str = Field(max_length=TITLE_MAX * 2)
    segments: list[ModelSegment] = Field(max_length=SEGMENTS_MAX * 2)
    key_actions: list[ModelKeyAction] = Field(max_length=KEY_ACTIONS_MAX * 2)
    issues: list[ModelIssue] = Field(max_length=ISSUES_MAX * 2)
    focus_area_findings: list[ModelFocusFinding] = Field(
        default_factory=list, max_length=FINDINGS_MAX * 2
    )
    summary_outcome: SummaryOutcome


def _ref_schema(refs: list[str] | None) -> dict[str, Any]:
    if refs:
        return {"type": "string", "enum": refs}
    return {"type": "string", "pattern": "^e[0-9]+$"}


@dataclass(frozen=True)
class _Shape:
    """Builds schema nodes, with or without length limits."""

    limits: bool

    def text(self, max_length: int) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "string"}
        if self.limits:
            node["maxLength"] = max_length
        return node

    def array(self, items: dict[str, Any], max_items: int) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "array", "items": items}
        if self.limits:
            node["maxItems"] = max_items
        return node

    @staticmethod
    def obj(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


def response_json_schema(
    *, refs: list[str] | None, with_focus: bool, limits: bool = False
) -> dict[str, Any]:
    """JSON Schema for `response_format`, inside OpenAI's strict subset.

    When the timeline's refs are known they are listed as an enum: grammar-enforcing
    servers (llama.cpp, vLLM) then cannot invent a ref at all. `limits` adds maxLength and
    maxItems, which OpenAI's strict mode rejects but which stop a small local model from
    rambling until it runs out of tokens.
    """
    shape = _Shape(limits)
    ref = _ref_schema(refs)
    properties: dict[str, Any] = {
        "title": shape.text(TITLE_MAX),
        "segments": shape.array(
            shape.obj(
                {
                    "name": shape.text(NAME_MAX),
                    "start_ref": ref,
                    "end_ref": ref,
                    "outcome": shape.obj(
                        {"success": {"type": "boolean"}, "summary": shape.text(TEXT_MAX)}
                    ),
                }
            ),
            SEGMENTS_MAX,
        ),
        "key_actions": shape.array(
            shape.obj(
                {
                    "ref": ref,
                    "description": shape.text(TEXT_MAX),
                    "flags": shape.array(
                        {"type": "string", "enum": [flag.value for flag in KeyActionFlag]}, 4
                    ),
                }
            ),
            KEY_ACTIONS_MAX,
        ),
        "issues": shape.array(
            shape.obj(
                {
                    "kind": {"type": "string", "enum": [kind.value for kind in IssueKind]},
                    "ref": ref,
                    "description": shape.text(TEXT_MAX),
                    "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                }
            ),
            ISSUES_MAX,
        ),
    }
    if with_focus:
        properties["focus_area_findings"] = shape.array(
            shape.obj({"ref": ref, "finding": shape.text(TEXT_MAX)}), FINDINGS_MAX
        )
    properties["summary_outcome"] = shape.obj(
        {"description": shape.text(OUTCOME_MAX), "success": {"type": "boolean"}}
    )
    return shape.obj(properties)


class CitedEvent(BaseModel):
    """A timeline event as cited by a summary; every field is copied from the timeline."""

    ref: str
    t_ms: int
    timestamp: str | None = Field(default=None, description="ISO 8601, UTC")
    kind: str
    window: str
    target: str | None = None
    url: str | None = None
    duration_ms: int | None = None
    flags: list[str] = Field(default_factory=list)


class KeyAction(BaseModel):
    event: CitedEvent
    description: str
    flags: list[KeyActionFlag] = Field(default_factory=list)


class Segment(BaseModel):
    name: str
    start: CitedEvent
    end: CitedEvent
    outcome: SegmentOutcome
    duration_ms: int = 0


class Issue(BaseModel):
    kind: IssueKind
    event: CitedEvent
    description: str
    severity: Severity


class FocusFinding(BaseModel):
    event: CitedEvent
    finding: str


class RunMetadata(BaseModel):
    model: str
    prompt_version: str
    timeline_hash: str
    timeline_tokens: int
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int
    focus_area: str | None = None
    attempts: int = 1
    response_mode: str = Field(
        default="json_schema", description="json_schema, or json_object where unsupported"
    )


class DroppedClaim(BaseModel):
    """Something the model said that the gate did not keep, and why."""

    part: str = Field(description="key_action, segment, issue, focus_area_finding, flag")
    ref: str | None = None
    text: str = ""
    reason: str


class GateReport(BaseModel):
    cited_refs: int = 0
    missing_refs: list[str] = Field(default_factory=list)
    dropped_claims: int = 0
    dropped: list[DroppedClaim] = Field(default_factory=list)

    @property
    def missing_ratio(self) -> float:
        return len(self.missing_refs) / self.cited_refs if self.cited_refs else 0.0


class SessionSummary(BaseModel):
    """The gated summary recap stores and returns."""

    schema_version: int = SUMMARY_SCHEMA_VERSION
    session_id: str
    ongoing: bool = Field(
        default=False, description="summarized while the recording was still being captured"
    )
    title: str
    segments: list[Segment]
    key_actions: list[KeyAction]
    issues: list[Issue]
    focus_area_findings: list[FocusFinding] | None = None
    summary_outcome: SummaryOutcome
    gate: GateReport
    gate_notes: list[str] = Field(
        default_factory=list, description="conflicts the gate saw but kept, for operators"
    )
    run: RunMetadata

    def cited_events(self) -> list[CitedEvent]:
        events: dict[str, CitedEvent] = {}
        for action in self.key_actions:
            events[action.event.ref] = action.event
        for segment in self.segments:
            events[segment.start.ref] = segment.start
            events[segment.end.ref] = segment.end
        for issue in self.issues:
            events[issue.event.ref] = issue.event
        for finding in self.focus_area_findings or []:
            events[finding.event.ref] = finding.event
        return sorted(events.values(), key=lambda event: (event.t_ms, event.ref))
