"""Funnel drop-off, explained (issue 20): which steps sessions reach, where they stop, what
code finds over-represented among those who stopped, and the model's explanation of it,
gated against the timelines.

`analyze_funnel` is pure: sessions (compiled timelines, summary outcomes, metadata) and
steps in, a `FunnelAnalysis` out. `explain` builds the prompt for one step's factors and
gates the model's answer. No I/O here: the services layer reads, stores and calls the model.
"""

from __future__ import annotations

from recap.funnels.analyze import DEFAULT_ALPHA, MIN_STOPPED, analyze_funnel
from recap.funnels.explain import (
    EXPLAIN_PROMPT,
    explain_messages,
    explain_prompt_version,
    explain_schema,
    gate_explanation,
    parse_explanation,
)
from recap.funnels.models import (
    ExplainedFactor,
    Factor,
    FactorExample,
    Feature,
    FunnelAnalysis,
    FunnelExplanation,
    FunnelSession,
    FunnelStep,
    KnownCluster,
    ModelCitation,
    ModelClaim,
    ModelExplanation,
    NextPlace,
    SessionMetadata,
    SessionPath,
    StepContrast,
    StepKind,
    StepSplit,
)
from recap.funnels.steps import FunnelStepError, parse_step, parse_steps

__all__ = [
    "DEFAULT_ALPHA",
    "EXPLAIN_PROMPT",
    "MIN_STOPPED",
    "ExplainedFactor",
    "Factor",
    "FactorExample",
    "Feature",
    "FunnelAnalysis",
    "FunnelExplanation",
    "FunnelSession",
    "FunnelStep",
    "FunnelStepError",
    "KnownCluster",
    "ModelCitation",
    "ModelClaim",
    "ModelExplanation",
    "NextPlace",
    "SessionMetadata",
    "SessionPath",
    "StepContrast",
    "StepKind",
    "StepSplit",
    "analyze_funnel",
    "explain_messages",
    "explain_prompt_version",
    "explain_schema",
    "gate_explanation",
    "parse_explanation",
    "parse_step",
    "parse_steps",
]
