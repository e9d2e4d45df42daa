"""Pattern reports and digests: what recap finds across many sessions' summaries.

The model names and describes patterns and says which cited events show them; code checks
every example against the session's stored timeline and computes every number. A report
is stored with its inputs, so it can be read, delivered and reproduced from the store."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

REPORT_SCHEMA_VERSION = 1

# PostHog's severities for group-summary patterns, most urgent first.
PatternSeverity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class PatternExample(BaseModel):
    """One session's example of a pattern: an event its summary cited, with the facts
    copied from the session's stored timeline by code."""

    session_id: str
    ref: str = Field(description="the event's ref in the session's timeline")
    t_ms: int = Field(description="milliseconds since the session started")
    timestamp: str | None = Field(default=None, description="ISO 8601, UTC")
    url: str | None = None
    kind: str
    target: str | None = None
    description: str = Field(description="what the example shows, in the model's words")
    session_failed: bool | None = Field(
        default=None, description="the session's summary outcome failed (None: unknown)"
    )


class PatternStats(BaseModel):
    """Counted by code from the assigned examples; the model never gives a number."""

    sessions_affected: int
    sessions_affected_ratio: float = Field(description="of the report's summarized sessions")
    occurrences: int = Field(description="assigned events across the sessions")
    sessions_failed: int = Field(description="affected sessions whose outcome failed")
    first_seen: datetime | None = Field(default=None, description="earliest example, UTC")
    last_seen: datetime | None = Field(default=None, description="latest example, UTC")
    single_session: bool = Field(description="seen in one session only")


class Pattern(BaseModel):
    pattern_id: str = Field(description='stable within the report: "p1", "p2" …')
    name: str
    description: str
    severity: PatternSeverity = Field(description="the model's judgement")
    indicators: list[str] = Field(default_factory=list)
    stats: PatternStats
    examples: list[PatternExample] = Field(description="one per affected session, in time order")


class DroppedExample(BaseModel):
    pattern: str
    session_id: str
    ref: str | None
    reason: str


class DroppedPattern(BaseModel):
    name: str
    reason: str


class ReportGate(BaseModel):
    """What the checks did not keep, and why."""

    dropped_patterns: list[DroppedPattern] = Field(default_factory=list)
    dropped_examples: list[DroppedExample] = Field(default_factory=list)


class SessionNotReported(BaseModel):
    """A requested session the report could not use, with PostHog's error names."""

    session_id: str
    error: str
    error_message: str


class ReportInputs(BaseModel):
    """Everything the report was made from: enough to make it again from the store."""

    session_ids: list[str]
    focus_area: str | None = None
    selection: dict[str, str] | None = Field(
        default=None, description="how the sessions were chosen (since, playlist, filters)"
    )
    model: str
    prompt_versions: dict[str, str] = Field(description="step name -> prompt version")


class ReportRun(BaseModel):
    map_calls: int = 0
    reduce_calls: int = 0
    assign_calls: int = 0
    # A funnel report's calls: one per step with a significant factor.
    explain_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0


class FunnelStepCounts(BaseModel):
    """One step of a funnel report, counted by code: of those who reached the step before,
    who went on, who stopped, and who could not be placed (an outcome step, no summary)."""

    step: int = Field(description="1-based")
    spec: str = Field(description="the step as the user wrote it")
    reached: int = Field(description="sessions that reached this step")
    went_on: int = Field(default=0, description="of those at the step before: went on")
    stopped: int = Field(default=0, description="of those at the step before: stopped here")
    unknown: int = 0


class FunnelFactor(BaseModel):
    """A factor code found over-represented among those who stopped at `step`."""

    factor_id: str = Field(description='"s2f1": step 2, first factor')
    step: int
    manifestations: list[str] = Field(description="what shows it, most specific first")
    stopped_with: int
    stopped_total: int
    went_on_with: int
    went_on_total: int
    stopped_rate: float
    went_on_rate: float
    p_value: float = Field(description="one-sided Fisher's exact test")
    adjusted_p: float = Field(description="Holm-corrected over the step's tested factors")
    pattern_id: str | None = Field(default=None, description="the report's pattern for it")
    cluster_ids: list[str] = Field(
        default_factory=list, description="the team's error clusters that show it"
    )
    went_on_examples: list[PatternExample] = Field(
        default_factory=list,
        description="sessions that went on, for contrast (the pattern's examples stopped)",
    )


class FunnelNextPlace(BaseModel):
    """Where those who stopped at `step` went right after the last step they completed."""

    step: int
    kind: Literal["page", "action"]
    label: str
    sessions: int


class FunnelSection(BaseModel):
    """What a funnel report adds to a pattern report: code's counts and tests; its
    significant factors are also the report's patterns."""

    steps: list[FunnelStepCounts]
    factors: list[FunnelFactor] = Field(description="significant factors, by step, smallest p")
    next_places: list[FunnelNextPlace] = Field(default_factory=list)
    overviews: dict[int, str] = Field(
        default_factory=dict, description="step -> the model's overview (gated)"
    )
    alpha: float = 0.05
    sessions_without_summary: list[str] = Field(default_factory=list)


class PatternReport(BaseModel):
    schema_version: int = REPORT_SCHEMA_VERSION
    report_id: str = Field(description='stable: "rp_" + 16 hex')
    team_id: str
    title: str
    created_at: datetime
    inputs: ReportInputs
    sessions_reported: int = Field(description="summarized sessions the patterns are over")
    sessions_failed: int | None = Field(
        default=None,
        description="reported sessions whose summary outcome failed (None: reports stored"
        " before recap counted them)",
    )
    not_reported: list[SessionNotReported] = Field(default_factory=list)
    patterns: list[Pattern] = Field(description="most severe first, then most sessions")
    gate: ReportGate = Field(default_factory=ReportGate)
    run: ReportRun = Field(default_factory=ReportRun)
    # A funnel drop-off report (`recap funnel`); None for pattern reports.
    funnel: FunnelSection | None = None


PatternChangeKind = Literal["new", "rising", "falling", "steady", "gone"]


class PatternChange(BaseModel):
    """How a pattern moved between two periods, by code."""

    name: str
    change: PatternChangeKind
    previous_sessions: int
    current_sessions: int
    previous_ratio: float
    current_ratio: float


class NewErrorCluster(BaseModel):
    cluster_id: str
    title: str | None
    sessions_affected: int


class Digest(BaseModel):
    """One period's report compared with the previous period's."""

    digest_id: str = Field(description='stable: "dg_" + 16 hex')
    team_id: str
    schedule_id: str
    period_start: datetime
    period_end: datetime
    report: PatternReport
    previous_report_id: str | None
    changes: list[PatternChange]
    new_clusters: list[NewErrorCluster] = Field(default_factory=list)
    quiet: bool = Field(description="no new or rising pattern and no new error cluster")
