"""The model's explanation of one step's factors: the prompt (code's factors and numbers,
with timeline lines of a few example sessions), the answer's schema, and the gate.

The gate keeps a claim only about a factor code found significant, and only the examples
whose session is in the step's split and whose ref is in that session's stored timeline;
facts (time, URL, element) are copied from the timeline and numbers from the analysis.
A kept claim shows both groups: when the model cited no session that went on, code adds
its own example from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from recap.funnels.models import (
    DroppedFunnelClaim,
    ExplainedFactor,
    Factor,
    FactorExample,
    FunnelAnalysis,
    FunnelExplanation,
    ModelCitation,
    ModelExplanation,
    StepContrast,
)
from recap.llm.fence import Fence, neutralize
from recap.llm.gate import _words
from recap.reports.prompting import ReportPrompt, load_report_prompt, messages, parse_json
from recap.timeline.models import Timeline
from recap.timeline.render import render_event

EXPLAIN_PROMPT: Final = "explain_funnel"
FACTORS_MAX: Final = 6
"""The top factors the model is asked about; the rest are in the analysis, unexplained."""
LINES_BEFORE: Final = 3
LINES_AFTER: Final = 2
EXPLANATION_MAX_WORDS: Final = 80
OVERVIEW_MAX_WORDS: Final = 100

NOT_FOUND: Final = "factor not found by code"
NOT_SIGNIFICANT: Final = "factor not significant at the corrected level"


def explain_prompt_version() -> str:
    """`explain_funnel@…`: what a stored report's inputs record for this step."""
    return load_report_prompt(EXPLAIN_PROMPT).version


def explained_factors(contrast: StepContrast) -> list[Factor]:
    """The factors the model is asked to explain: significant ones, smallest p first."""
    return contrast.significant[:FACTORS_MAX]


def _percent(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def render_factors(factors: Sequence[Factor]) -> str:
    lines = []
    for factor in factors:
        lines.append(
            f"{factor.factor_id}: stopped {factor.stopped_with} of {factor.stopped_total}"
            f" ({_percent(factor.stopped_rate)}), went on {factor.went_on_with} of"
            f" {factor.went_on_total} ({_percent(factor.went_on_rate)}),"
            f" p {factor.p_value:.2g}, corrected p {factor.adjusted_p:.2g}"
        )
        lines.extend(f"  - {feature.label}" for feature in factor.features)
    return "\n".join(lines)


def example_lines(timeline: Timeline, ref: str | None) -> list[str]:
    """The example's event with a few lines either side, as the timeline renders them."""
    events = timeline.events
    at = next((i for i, event in enumerate(events) if event.ref == ref), len(events) - 1)
    show_window = timeline.session.windows > 1
    shown = events[max(0, at - LINES_BEFORE) : at + LINES_AFTER + 1]
    return [render_event(event, show_window) for event in shown]


def render_examples(factors: Sequence[Factor], timelines: Mapping[str, Timeline]) -> str:
    blocks = []
    for factor in factors:
        for example in factor.examples:
            timeline = timelines.get(example.session_id)
            if timeline is None:
                continue
            group = "stopped" if example.group == "stopped" else "went on"
            shows = "shows it" if example.has_factor else "does not show it"
            blocks.append(
                f"## {factor.factor_id} session {example.session_id} ({group}, {shows})\n"
                + "\n".join(example_lines(timeline, example.ref))
            )
    return "\n\n".join(blocks)


def explain_messages(
    analysis: FunnelAnalysis,
    step: int,
    timelines: Mapping[str, Timeline],
    *,
    prompt: ReportPrompt | None = None,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    """The system and user messages for one step; factor labels and timeline lines come
    from recorded pages, so they sit behind the fence."""
    contrast = _contrast(analysis, step)
    prompt = prompt or load_report_prompt(EXPLAIN_PROMPT)
    fence = fence or Fence.new()
    factors = explained_factors(contrast)
    split = contrast.split
    funnel = "\n".join(
        f"{number}. {neutralize(item.spec)}" for number, item in enumerate(analysis.steps, 1)
    )
    return messages(
        prompt,
        funnel=funnel,
        step=str(step),
        step_spec=neutralize(split.spec),
        previous_step=str(step - 1),
        reached_previous=str(split.went_on + split.stopped),
        went_on=str(split.went_on),
        stopped=str(split.stopped),
        factor_count=str(len(factors)),
        factors=neutralize(render_factors(factors)),
        examples=neutralize(render_examples(factors, timelines)),
        fence=fence.tag,
    )


def explain_schema(contrast: StepContrast) -> dict[str, Any]:
    """JSON Schema for `response_format`: factor ids and session ids listed as enums, so a
    grammar-enforcing server cannot invent one (the gate still checks, for those that can)."""
    factors = explained_factors(contrast)
    sessions = sorted({e.session_id for f in factors for e in f.examples})
    factor_id: dict[str, Any] = {"type": "string"}
    if factors:
        factor_id["enum"] = [factor.factor_id for factor in factors]
    session_id: dict[str, Any] = {"type": "string"}
    if sessions:
        session_id["enum"] = sessions
    citation = _object(
        {"session_id": session_id, "ref": {"type": "string", "pattern": "^e[0-9]+$"}}
    )
    claim = _object(
        {
            "factor_id": factor_id,
            "explanation": {"type": "string"},
            "examples": {"type": "array", "items": citation},
        }
    )
    return _object({"overview": {"type": "string"}, "claims": {"type": "array", "items": claim}})


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def parse_explanation(content: str) -> ModelExplanation:
    """The model's JSON, validated; raises `MalformedModelOutput` (retryable) when it does
    not match the schema."""
    answer: ModelExplanation = parse_json(content, ModelExplanation)
    return answer


def _contrast(analysis: FunnelAnalysis, step: int) -> StepContrast:
    contrast = analysis.contrast(step)
    if contrast is None:
        raise ValueError(
            f"the funnel has no step {step} to explain (steps 2..{len(analysis.steps)})"
        )
    return contrast


def gate_explanation(
    answer: ModelExplanation,
    analysis: FunnelAnalysis,
    step: int,
    timelines: Mapping[str, Timeline],
) -> FunnelExplanation:
    """The explanation as stored: claims about factors code found significant at `step`,
    each with the examples that exist (facts from the timelines), and what was dropped."""
    contrast = _contrast(analysis, step)
    factors = {factor.factor_id: factor for factor in contrast.factors}
    checker = _ExampleGate(analysis, contrast, timelines)
    kept: list[ExplainedFactor] = []
    for claim in answer.claims:
        factor_id = claim.factor_id.strip()
        text = _words(claim.explanation, EXPLANATION_MAX_WORDS)
        factor = factors.get(factor_id)
        if factor is None:
            checker.drop(factor_id, NOT_FOUND, text=text)
            continue
        if not factor.significant:
            checker.drop(factor_id, NOT_SIGNIFICANT, text=text)
            continue
        if any(item.factor_id == factor_id for item in kept):
            checker.drop(factor_id, "factor already explained by an earlier claim", text=text)
            continue
        examples = checker.examples(factor, claim.examples)
        if not any(example.group == "stopped" for example in examples):
            checker.drop(
                factor_id, "no cited example from the sessions that stopped exists", text=text
            )
            continue
        examples += _contrast_example(factor, examples)
        kept.append(
            ExplainedFactor(
                factor_id=factor_id,
                name=factor.name,
                explanation=text,
                stopped_with=factor.stopped_with,
                stopped_total=factor.stopped_total,
                went_on_with=factor.went_on_with,
                went_on_total=factor.went_on_total,
                adjusted_p=factor.adjusted_p,
                examples=examples,
                cites_both_groups=len({example.group for example in examples}) == 2,
            )
        )
    return FunnelExplanation(
        step=step,
        overview=_words(answer.overview, OVERVIEW_MAX_WORDS),
        claims=kept,
        dropped=checker.dropped,
    )


def _contrast_example(factor: Factor, cited: Sequence[FactorExample]) -> list[FactorExample]:
    """Code's example from the sessions that went on, when the model cited none of them:
    the contrast is part of the claim, and code's examples are already checked."""
    if any(example.group == "went_on" for example in cited):
        return []
    return [
        example
        for example in factor.examples
        if example.group == "went_on" and example.ref is not None
    ][:1]


class _ExampleGate:
    """Checks cited (session, ref) pairs against the split and the stored timelines."""

    def __init__(
        self, analysis: FunnelAnalysis, contrast: StepContrast, timelines: Mapping[str, Timeline]
    ) -> None:
        self.step = contrast.split.step
        self.analysed = {path.session_id for path in analysis.paths}
        self.stopped = set(contrast.split.stopped_ids)
        self.went_on = set(contrast.split.went_on_ids)
        self.timelines = timelines
        self.dropped: list[DroppedFunnelClaim] = []

    def drop(
        self,
        factor_id: str,
        reason: str,
        *,
        text: str = "",
        session_id: str | None = None,
        ref: str | None = None,
    ) -> None:
        self.dropped.append(
            DroppedFunnelClaim(
                factor_id=factor_id, session_id=session_id, ref=ref, text=text, reason=reason
            )
        )

    def examples(self, factor: Factor, citations: Sequence[ModelCitation]) -> list[FactorExample]:
        members = set(factor.session_ids)
        kept: list[FactorExample] = []
        seen: set[tuple[str, str]] = set()
        for citation in citations:
            session_id, ref = citation.session_id.strip(), citation.ref.strip()
            if (session_id, ref) in seen:
                continue
            seen.add((session_id, ref))
            reason = self._problem(session_id, ref, members)
            if reason is not None:
                self.drop(factor.factor_id, reason, session_id=session_id, ref=ref)
                continue
            event = self.timelines[session_id].event(ref)
            assert event is not None
            kept.append(
                FactorExample(
                    session_id=session_id,
                    group="stopped" if session_id in self.stopped else "went_on",
                    ref=event.ref,
                    t_ms=event.t_ms,
                    url=event.url,
                    kind=event.kind.value,
                    target=event.target,
                    has_factor=session_id in members,
                    chosen_by="model",
                )
            )
        return kept

    def _problem(self, session_id: str, ref: str, members: set[str]) -> str | None:
        if session_id not in self.analysed:
            return "session not in the analysis"
        if session_id not in self.stopped and session_id not in self.went_on:
            return f"session is not among those who reached step {self.step - 1}"
        timeline = self.timelines.get(session_id)
        if timeline is None:
            return "no stored timeline for the session"
        if timeline.event(ref) is None:
            return f"{ref} is not in the session's timeline"
        if session_id in self.stopped and session_id not in members:
            return "session stopped but does not show the factor"
        return None
