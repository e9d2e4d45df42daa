"""One person's journey across sessions: the sessions in order and their counts (all from
code), and what the model said about them that the gate kept, each statement citing
session ids and refs whose facts code copied from the sessions' stored timelines.

Plain pydantic models that serialize to JSON, for Temporal payloads and the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JOURNEY_SCHEMA_VERSION = 1

SessionOutcome = Literal["success", "failure", "unknown"]
ClaimPart = Literal[
    "goal", "stuck_point", "recurring_friction", "current_state", "citation", "overcome"
]


class SignalCounts(BaseModel):
    """What code counted in the session's timeline."""

    clicks: int = 0
    page_views: int = 0
    rage_clicks: int = 0
    dead_clicks: int = 0
    slow_clicks: int = 0
    console_errors: int = 0
    exceptions: int = 0
    network_errors: int = 0

    @property
    def errors(self) -> int:
        return self.console_errors + self.exceptions + self.network_errors


class JourneySession(BaseModel):
    """One of the person's sessions, as code knows it; `number` is its place in time order."""

    number: int = Field(description="1 for the person's first session in the journey")
    session_id: str
    distinct_id: str | None = None
    start: datetime = Field(description="UTC")
    start_timestamp_ms: int
    duration_ms: int | None = Field(default=None, description="None: no stored timeline")
    start_url: str | None = None
    outcome: SessionOutcome = Field(description="the summary's; unknown when not summarized")
    outcome_description: str | None = None
    title: str | None = None
    signals: SignalCounts | None = Field(default=None, description="None: no stored timeline")

    @property
    def summarized(self) -> bool:
        return self.outcome != "unknown"


class JourneyCounts(BaseModel):
    sessions: int
    succeeded: int
    failed: int
    unknown: int = Field(description="sessions without a summary")
    total_duration_ms: int = Field(description="sum over the sessions with a stored timeline")
    first_seen: datetime | None = Field(default=None, description="start of the first session")
    last_seen: datetime | None = Field(default=None, description="end of the last session")


class JourneyCitation(BaseModel):
    """An event of one session, every field but the ids copied from its stored timeline."""

    session_id: str
    ref: str
    t_ms: int = Field(description="milliseconds since that session started")
    timestamp: str | None = Field(default=None, description="ISO 8601, UTC")
    kind: str
    target: str | None = None
    url: str | None = None
    flags: list[str] = Field(default_factory=list)


class JourneyStatement(BaseModel):
    description: str
    citations: list[JourneyCitation] = Field(description="at least one, in time order")


class Overcome(BaseModel):
    """Where a later, successful session got past a stuck point."""

    description: str
    citation: JourneyCitation
    session_start: datetime = Field(description="start of the citing session, UTC")


class StuckPoint(JourneyStatement):
    overcome: Overcome | None = None


class DroppedJourneyClaim(BaseModel):
    """Something the model said that the gate did not keep, and why."""

    step: str = Field(description='"journey", "window N" or "combine"')
    part: ClaimPart
    session_id: str | None = None
    ref: str | None = None
    text: str = ""
    reason: str


class JourneyRun(BaseModel):
    prompt_version: str
    calls: int = Field(description="model calls: one, or one per window plus the combine calls")
    windows: list[list[str]] = Field(description="session ids per window, in order")
    carried: list[str] = Field(
        default_factory=list,
        description="sessions whose blocks the combine step read verbatim (first and last)",
    )


class JourneyFindings(BaseModel):
    """The gated statements of one model answer."""

    goal: JourneyStatement | None = None
    stuck_points: list[StuckPoint] = Field(default_factory=list)
    recurring_friction: list[JourneyStatement] = Field(default_factory=list)
    current_state: JourneyStatement | None = None
    dropped: list[DroppedJourneyClaim] = Field(default_factory=list)

    def cited_sessions(self) -> set[str]:
        statements: list[JourneyStatement] = [*self.stuck_points, *self.recurring_friction]
        statements += [s for s in (self.goal, self.current_state) if s is not None]
        cited = {c.session_id for s in statements for c in s.citations}
        cited |= {p.overcome.citation.session_id for p in self.stuck_points if p.overcome}
        return cited


class Journey(BaseModel):
    schema_version: int = JOURNEY_SCHEMA_VERSION
    distinct_id: str
    counts: JourneyCounts
    sessions: list[JourneySession] = Field(description="in start order")
    findings: JourneyFindings
    run: JourneyRun
