"""The inputs, results and progress of recap's workflows, in one place: plain pydantic models
that the workflows fill and the starter (`recap.jobs`), the CLI and the HTTP API read. No
Temporal here.

A scheduled run's request is defined with the services that act on it; a single summary's
result and a session's outcome carry a stored summary and are defined beside the
activities' models. All are importable from here. Workflows import this module under
`imports_passed_through`. Field names and defaults are part of recorded histories and
running workflows' payloads: add fields with defaults, never rename one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from activities.digest import DigestResult, MakeDigestInput
from activities.models import SessionOutcome, SummarizeSessionResult
from recap.services.scheduled_run import RecordingFilters, ScheduledSummariesInput

__all__ = [
    "BatchCounts",
    "BatchProgress",
    "ClusterErrorsInput",
    "ClusterProgress",
    "DeliverInput",
    "DeliverResult",
    "DestinationOutcome",
    "DigestInput",
    "DigestResult",
    "ExtractionCounts",
    "FunnelReportInput",
    "FunnelReportProgress",
    "FunnelReportResult",
    "MakeDigestInput",
    "PatternReportInput",
    "PatternReportProgress",
    "PatternReportResult",
    "PersonJourneyInput",
    "PersonJourneyProgress",
    "PersonJourneyResult",
    "ReportSelection",
    "ReportStep",
    "ScheduledSummariesInput",
    "ScheduledSummariesResult",
    "SessionFailure",
    "SessionOutcome",
    "SummarizeSessionInput",
    "SummarizeSessionResult",
    "SummarizeSessionsInput",
]


class SessionFailure(BaseModel):
    session_id: str
    error_type: str
    error: str


# -- one session: SummarizeSessionWorkflow ----------------------------------------------


class SummarizeSessionInput(BaseModel):
    team_id: str
    session_id: str
    focus_area: str | None = None
    # "files:DIR" or "posthog": where the worker reads the recording; never a credential.
    source: str | None = None
    max_timeline_tokens: int | None = Field(default=None, ge=500)
    # The task queue of the model call (rate-limited by its own worker); None means this
    # workflow's own queue, as in tests that run every activity on one worker.
    llm_task_queue: str | None = None


# -- a batch: SummarizeSessionsIndividuallyWorkflow -------------------------------------


class BatchCounts(BaseModel):
    summarized: int = 0
    skipped: int = 0
    failed: int = 0


class SummarizeSessionsInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    force: bool = False
    max_concurrency: int = Field(default=10, ge=1, le=1000)
    # "files:DIR" or "posthog"; None means the worker's RECAP_SOURCE.
    source: str | None = None
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None
    # Continue as new once this run's history is this long (lower it in tests).
    max_history_events: int = Field(default=8000, ge=10)

    # Carried over by continue-as-new: the next session to start, what is done so far.
    cursor: int = Field(default=0, ge=0)
    counts: BatchCounts = Field(default_factory=BatchCounts)
    failures: list[SessionFailure] = Field(default_factory=list)
    history_lengths: list[int] = Field(default_factory=list)


class BatchProgress(BaseModel):
    status: str
    total: int
    done: int
    summarized: int
    skipped: int
    failed: int
    in_flight: int
    failures: list[SessionFailure]
    # The history length of each earlier run when it continued as new.
    history_lengths: list[int]


# -- error clustering: ClusterErrorsWorkflow --------------------------------------------


class ExtractionCounts(BaseModel):
    extracted: int = 0
    failed: int = 0
    occurrences: int = 0
    # Sessions whose recording was compiled here (the rest reused a stored timeline).
    compiled: int = 0


class ClusterErrorsInput(BaseModel):
    team_id: str
    # None: the team's sessions with a stored timeline or summary in [date_from, date_to).
    session_ids: list[str] | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    # Picks the summary that says whether a session failed, and steers the names.
    focus_area: str | None = None
    # "files:DIR" or "posthog" for sessions without a stored timeline; None: RECAP_SOURCE.
    source: str | None = None
    max_concurrency: int = Field(default=10, ge=1, le=1000)
    # At most this many model calls per run, for the most affected clusters first.
    max_named_clusters: int = Field(default=20, ge=0, le=1000)
    name_concurrency: int = Field(default=4, ge=1, le=100)
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None
    # Continue as new once this run's history is this long (lower it in tests).
    max_history_events: int = Field(default=8000, ge=10)

    # Carried over by continue-as-new: the next session to extract, what is done so far.
    cursor: int = Field(default=0, ge=0)
    counts: ExtractionCounts = Field(default_factory=ExtractionCounts)
    failures: list[SessionFailure] = Field(default_factory=list)
    history_lengths: list[int] = Field(default_factory=list)


class ClusterProgress(BaseModel):
    status: str
    total: int
    done: int
    extracted: int
    failed: int
    in_flight: int
    occurrences: int
    compiled: int
    clusters: int
    to_name: int
    named: int
    naming_failed: int
    cluster_ids: list[str]
    failures: list[SessionFailure]
    # The history length of each earlier run when it continued as new.
    history_lengths: list[int]


# -- a schedule's run: ScheduledSummariesWorkflow ---------------------------------------


class ScheduledSummariesResult(BaseModel):
    window_start: datetime
    window_end: datetime
    session_ids: list[str]
    batch_workflow_id: str | None
    skipped_already_handed: int = 0
    truncated: bool = False


# -- delivering a stored report or digest: DeliverWorkflow ------------------------------


class DeliverInput(BaseModel):
    """Ids only: the item is read from the store, each destination's secrets inside the
    activity. The retry numbers are per destination (lower them in tests)."""

    team_id: str
    item_kind: Literal["report", "digest"]
    item_id: str
    # None: every destination of the team.
    destination_ids: list[str] | None = None
    retry_initial_seconds: float = Field(default=5.0, gt=0)
    retry_backoff: float = Field(default=2.0, ge=1)
    retry_max_interval_seconds: float = Field(default=600.0, gt=0)
    retry_max_attempts: int = Field(default=8, ge=1, le=50)


class DestinationOutcome(BaseModel):
    destination_id: str
    # "failed": gave up after the retries; "rejected": the receiver refused (4xx).
    status: Literal["delivered", "skipped", "failed", "rejected"]
    error_type: str | None = None
    error: str | None = None


class DeliverResult(BaseModel):
    team_id: str
    item_kind: str
    item_id: str
    outcomes: list[DestinationOutcome]


# -- a pattern report: PatternReportWorkflow --------------------------------------------


class ReportSelection(BaseModel):
    """Which sessions a report is over when the caller names none: the recordings that
    ended within the last `since_seconds` (as a schedule's window), with its filters."""

    since_seconds: int = Field(ge=60, le=366 * 86_400)
    filters: RecordingFilters = Field(default_factory=RecordingFilters)
    max_sessions: int = Field(default=300, ge=1, le=300)


class PatternReportInput(BaseModel):
    team_id: str
    # The sessions, or a selection that lists them when the run starts.
    session_ids: list[str] = Field(default_factory=list, max_length=300)
    selection: ReportSelection | None = None
    focus_area: str | None = Field(default=None, max_length=500)
    # Summarize again even where a summary for the focus area and prompt exists.
    force: bool = False
    max_concurrency: int | None = Field(default=None, ge=1)
    # Deliver the stored report to the team's destinations (DeliverWorkflow).
    deliver: bool = False
    # "files:DIR" or "posthog"; never a credential.
    source: str | None = None
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None
    # The batch job `session_ids` were read from, recorded as the report's selection.
    source_batch: str | None = None


ReportStep = Literal[
    "selecting",
    "summarizing",
    "finding",
    "consolidating",
    "assigning",
    "storing",
    "delivering",
    "done",
]


class PatternReportProgress(BaseModel):
    """What a report run is doing, for `recap report create`'s bar and the API."""

    step: ReportStep
    sessions_total: int = 0
    sessions_summarized: int = 0
    sessions_failed: int = 0
    chunks_total: int = 0
    chunks_done: int = 0
    report_id: str | None = None


class PatternReportResult(BaseModel):
    report_id: str
    sessions_reported: int
    patterns: int
    not_reported: int
    delivery_workflow_id: str | None = None


# -- a funnel drop-off report: FunnelReportWorkflow -------------------------------------


class FunnelReportInput(BaseModel):
    team_id: str
    # The step specs in order (`url:/cart`, `click:"Checkout"` …), checked by the starter.
    steps: list[str] = Field(min_length=2, max_length=20)
    # The sessions, or a selection that lists them when the run starts.
    session_ids: list[str] = Field(default_factory=list, max_length=1000)
    selection: ReportSelection | None = None
    focus_area: str | None = Field(default=None, max_length=500)
    force: bool = False
    max_concurrency: int | None = Field(default=None, ge=1)
    # "files:DIR" or "posthog"; never a credential.
    source: str | None = None
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None


FunnelStepName = Literal["selecting", "summarizing", "describing", "explaining", "done"]


class FunnelReportProgress(BaseModel):
    """What a funnel run is doing, for `recap funnel`'s bar."""

    step: FunnelStepName
    sessions_total: int = 0
    sessions_summarized: int = 0
    sessions_failed: int = 0
    report_id: str | None = None


class FunnelReportResult(BaseModel):
    report_id: str
    sessions_reported: int
    factors: int
    not_reported: int


# -- a digest: DigestWorkflow, one run per period of a digest schedule ------------------


class DigestInput(BaseModel):
    """What each run of a digest schedule gets; the same for every run."""

    schedule_id: str
    team_id: str
    period_seconds: int = Field(ge=60, le=366 * 86_400)
    filters: RecordingFilters = Field(default_factory=RecordingFilters)
    focus_area: str | None = Field(default=None, max_length=500)
    max_sessions: int = Field(default=300, ge=1, le=300)
    deliver: bool = True
    source: str | None = None
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None


# -- one person's journey across sessions: PersonJourneyWorkflow ------------------------

# A person's sessions read at most (the newest kept): a bot's thousands do not run away.
JOURNEY_MAX_SESSIONS = 200


class PersonJourneyInput(BaseModel):
    team_id: str
    # A distinct id, or (with `by_person_id`) a PostHog person's uuid.
    distinct_id: str = Field(min_length=1, max_length=400)
    by_person_id: bool = False
    # The recordings that started within this long before the run started.
    since_seconds: int = Field(default=30 * 86_400, ge=60, le=10 * 366 * 86_400)
    max_sessions: int = Field(default=JOURNEY_MAX_SESSIONS, ge=1, le=JOURNEY_MAX_SESSIONS)
    max_concurrency: int | None = Field(default=None, ge=1)
    # "files:DIR" or "posthog"; never a credential.
    source: str | None = None
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None


JourneyStep = Literal["selecting", "summarizing", "building", "done"]


class PersonJourneyProgress(BaseModel):
    """What a journey run is doing, for `recap journey`'s bar and the API."""

    step: JourneyStep
    sessions_total: int = 0
    sessions_found: int = 0
    truncated: bool = False
    sessions_summarized: int = 0
    sessions_failed: int = 0
    journey_id: str | None = None


class PersonJourneyResult(BaseModel):
    journey_id: str
    sessions: int
    succeeded: int
    failed: int
    unknown: int
    truncated: bool
    model_calls: int
