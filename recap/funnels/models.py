"""The funnel artifacts: steps, the split of sessions at each step, the factors code found
over-represented among those who stopped, where they went next, and the model's gated
explanation. All plain pydantic data, so they travel in payloads and into the store."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recap.timeline.models import Timeline

FUNNEL_SCHEMA_VERSION = 1


class StepKind(StrEnum):
    URL = "url"
    """A page whose URL path matches a glob (`*` is one path segment, or part of one)."""
    CLICK = "click"
    """A click or submit on an element, by its accessible name or its test id."""
    EVENT = "event"
    """A custom event the site recorded, by its name."""
    OUTCOME = "outcome"
    """The session's stored summary outcome: success or failure."""


class FunnelStep(BaseModel):
    """One step as parsed from its spec (`url:/cart`, `click:"Checkout"`, …)."""

    model_config = ConfigDict(frozen=True)

    spec: str = Field(description="the step as the user wrote it")
    kind: StepKind
    pattern: str = Field(
        description="url: the path glob; click: the label or test id; event: the name;"
        " outcome: success or failure"
    )
    by_test_id: bool = Field(default=False, description="click: `pattern` is a test id")


class SessionMetadata(BaseModel):
    """What the caller knows of a session beyond its timeline (PostHog's person/event
    properties): none of it is read from the recording."""

    device: str | None = Field(default=None, description="Desktop, Mobile, Tablet")
    browser: str | None = None
    os: str | None = None
    viewport_width: int | None = Field(default=None, description="CSS px")


class FunnelSession(BaseModel):
    """One session as the analysis reads it: its compiled timeline, its summary outcome
    (None: no summary) and metadata."""

    timeline: Timeline
    outcome: bool | None = None
    metadata: SessionMetadata = Field(default_factory=SessionMetadata)

    @property
    def session_id(self) -> str:
        return self.timeline.session.session_id


class StepReach(BaseModel):
    """Where one session reached one step: the event that matched, or for an outcome step
    no event (`ref` None)."""

    ref: str | None
    t_ms: int | None


class SessionPath(BaseModel):
    """How far one session got: `reached[i]` for each step it reached, in order."""

    session_id: str
    reached: list[StepReach]
    unknown_at: int | None = Field(
        default=None,
        description="1-based step whose outcome could not be checked (no summary); the"
        " session is left out of that step's split and of the steps after it",
    )


class StepSplit(BaseModel):
    """At step k (k >= 2): of those who reached step k-1, who went on and who stopped."""

    step: int = Field(description="1-based number of the step")
    spec: str
    reached_previous: int
    went_on: int
    stopped: int
    unknown: int = Field(
        default=0, description="reached step k-1 but step k is an outcome and there is no summary"
    )
    went_on_ids: list[str] = Field(default_factory=list)
    stopped_ids: list[str] = Field(default_factory=list)

    @property
    def conversion(self) -> float | None:
        decided = self.went_on + self.stopped
        return self.went_on / decided if decided else None


FeatureKind = Literal["signal", "slow", "error", "request", "shown", "cluster", "metadata"]
Group = Literal["stopped", "went_on"]
PlaceKind = Literal["page", "action"]


class Feature(BaseModel):
    """One thing a session may show in a step's window, present or not (boolean)."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description='stable: "request:POST /api/cart 500", "device:Mobile" …')
    kind: FeatureKind
    label: str = Field(description="what a person reads")
    fingerprint: str | None = Field(
        default=None, description="the error fingerprint (as error clusters key them)"
    )
    cluster_id: str | None = Field(
        default=None, description="the team's error cluster, for a cluster feature"
    )


class KnownCluster(BaseModel):
    """A stored error cluster as the funnel sees it: errors of several fingerprints that
    the team's clustering found to be one problem."""

    model_config = ConfigDict(frozen=True)

    cluster_id: str
    title: str | None = None


class FactorExample(BaseModel):
    """One session showing (or contrasting) a factor, with facts copied from its timeline."""

    session_id: str
    group: Group
    ref: str | None = Field(description="the event that shows it; None for metadata only")
    t_ms: int | None = None
    url: str | None = None
    kind: str | None = None
    target: str | None = None
    has_factor: bool
    chosen_by: Literal["code", "model"] = Field(
        default="code", description="code picked it, or the model cited it and the gate kept it"
    )


class Factor(BaseModel):
    """Features present in exactly the same sessions, tested once, with code's numbers."""

    factor_id: str = Field(description='stable within the analysis: "s2f1" (step 2, first)')
    step: int
    features: list[Feature] = Field(description="every manifestation, most specific first")
    stopped_with: int
    stopped_total: int
    went_on_with: int
    went_on_total: int
    stopped_rate: float
    went_on_rate: float
    p_value: float = Field(description="one-sided Fisher's exact: over-represented if stopped")
    adjusted_p: float = Field(description="Holm-Bonferroni over the factors tested at the step")
    significant: bool
    session_ids: list[str] = Field(description="sessions of the step's split that show it")
    examples: list[FactorExample] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return " / ".join(feature.label for feature in self.features)


class NextPlace(BaseModel):
    """A page or action that came right after the last completed step, for those who stopped."""

    kind: PlaceKind
    label: str = Field(description='a URL path, an action line, or "(none)"')
    sessions: int
    session_ids: list[str] = Field(default_factory=list)


class StepContrast(BaseModel):
    """Step k's split, the factors tested and where those who stopped went."""

    split: StepSplit
    features_seen: int = Field(description="distinct features in any session of the split")
    features_tested: int = Field(
        description="those in at least `min_stopped` stopped sessions (the others are too"
        " rare to reach significance and are not tested, so they do not inflate the"
        " correction)"
    )
    factors_tested: int = Field(description="distinct session sets among the tested features")
    factors: list[Factor] = Field(description="every tested factor, smallest p first")
    next_pages: list[NextPlace] = Field(default_factory=list)
    next_actions: list[NextPlace] = Field(default_factory=list)

    @property
    def significant(self) -> list[Factor]:
        return [factor for factor in self.factors if factor.significant]


class FunnelAnalysis(BaseModel):
    schema_version: int = FUNNEL_SCHEMA_VERSION
    steps: list[FunnelStep]
    sessions: int
    reached: list[int] = Field(description="sessions that reached each step, in order")
    contrasts: list[StepContrast] = Field(description="steps 2..N")
    paths: list[SessionPath]
    sessions_without_summary: list[str] = Field(
        default_factory=list,
        description="sessions left out at an outcome step because they have no summary",
    )
    alpha: float
    min_stopped: int

    def factor(self, factor_id: str) -> Factor | None:
        for contrast in self.contrasts:
            for factor in contrast.factors:
                if factor.factor_id == factor_id:
                    return factor
        return None

    def contrast(self, step: int) -> StepContrast | None:
        return next((c for c in self.contrasts if c.split.step == step), None)


# --- the explanation ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCitation(_Strict):
    session_id: str
    ref: str


class ModelClaim(_Strict):
    factor_id: str
    explanation: str = Field(max_length=600)
    examples: list[ModelCitation] = Field(max_length=12)


class ModelExplanation(_Strict):
    """What the model must return for one step."""

    overview: str = Field(max_length=800)
    claims: list[ModelClaim] = Field(max_length=12)


class ExplainedFactor(BaseModel):
    """A kept claim: the model's words, code's numbers and citations checked by code."""

    factor_id: str
    name: str = Field(description="the factor's features, by code")
    explanation: str
    stopped_with: int
    stopped_total: int
    went_on_with: int
    went_on_total: int
    adjusted_p: float
    examples: list[FactorExample] = Field(
        description="the model's kept citations; code adds a session that went on when the"
        " model cited none, so each factor is shown against both groups where both exist"
    )
    cites_both_groups: bool


class DroppedFunnelClaim(BaseModel):
    factor_id: str
    session_id: str | None = None
    ref: str | None = None
    text: str = ""
    reason: str


class FunnelExplanation(BaseModel):
    step: int
    overview: str
    claims: list[ExplainedFactor]
    dropped: list[DroppedFunnelClaim] = Field(default_factory=list)
