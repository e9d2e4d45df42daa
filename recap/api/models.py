"""The HTTP API's request and response bodies, named and shaped as in PostHog's API
documents (SessionSummaries, SessionRecording, paginated lists), plus recap's job status.

Summaries, clusters and job progress are the very models the workflows and the store use.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from recap.api.summary_shape import PostHogSessionSummary
from recap.clustering.models import ErrorCluster
from recap.jobs.client import JobKind
from recap.llm.schema import SummaryOutcome
from recap.sources.posthog import PostHogPerson
from workflows.contracts import (
    BatchProgress,
    ClusterProgress,
    FunnelReportProgress,
    PatternReportProgress,
    PersonJourneyProgress,
)

# PostHog's recording ids are UUIDs; exports and other tools use similar safe tokens.
SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
MAX_SESSION_IDS = 300


def is_session_id(value: str) -> bool:
    """Whether `value` can name a recording recap holds. Other ids name no recording, so a
    batch answers them `recording_not_found`, as PostHog does, and never starts work for
    them (ids end up in workflow ids and search attributes)."""
    return re.fullmatch(SESSION_ID_PATTERN, value) is not None


MAX_FOCUS_AREA = 500


class SessionSummariesRequest(BaseModel):
    """`SessionSummaries` in PostHog's API: the sessions to summarize and an optional focus."""

    model_config = ConfigDict(extra="ignore")

    # Any strings: an id recap cannot hold is that session's `recording_not_found`, not a
    # 400 for the whole batch (PostHog summarizes the rest).
    session_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_SESSION_IDS,
        description=f"List of session IDs to summarize (max {MAX_SESSION_IDS})",
    )
    focus_area: str | None = Field(
        default=None,
        max_length=MAX_FOCUS_AREA,
        description="Optional focus area for the summarization",
    )


class SummarizeRecordingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    focus_area: str | None = Field(
        default=None,
        max_length=MAX_FOCUS_AREA,
        description="Optional focus area for the summarization",
    )
    force: bool = Field(
        default=False,
        description="Summarize again even if a summary for this focus area and prompt exists",
    )


SummaryErrorType = Literal[
    "recording_not_found", "no_events_or_too_short", "summary_failed", "summary_pending"
]


class SummaryError(BaseModel):
    """Why one session of a batch has no summary: PostHog's three errors, and recap's
    `summary_pending` when the wait ran out while the session was still running."""

    error: SummaryErrorType
    error_message: str
    workflow_id: str | None = Field(
        default=None, description="summary_pending only: the batch to follow"
    )


class SessionSummariesJob(BaseModel):
    """A batch's or a pattern report's job handle (`?async=true` or `Prefer:
    respond-async`): the request echoed as PostHog's serializer has it, and the workflow
    that runs it."""

    session_ids: list[str]
    focus_area: str | None
    workflow_id: str = Field(description="the job's workflow id (also in Recap-Workflow-Id)")
    status: str = Field(description="the job's status: running, completed, failed …")


class SessionRecording(BaseModel):
    """`SessionRecording` in PostHog's API. Metadata comes from the recording source;
    `has_summary` and `summary_outcome` from recap's store."""

    id: str
    distinct_id: str | None = None
    viewed: bool = False
    viewers: list[str] = Field(default_factory=list)
    recording_duration: int = 0
    active_seconds: int | None = None
    inactive_seconds: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    click_count: int | None = None
    keypress_count: int | None = None
    mouse_activity_count: int | None = None
    console_log_count: int | None = None
    console_warn_count: int | None = None
    console_error_count: int | None = None
    start_url: str | None = None
    person: PostHogPerson | None = None
    # Null when the recording has no retention period (PostHog's fields allow null).
    retention_period_days: int | None = None
    expiry_time: datetime | None = None
    recording_ttl: int | None = Field(
        default=None, description="days until the recording expires; null when it does not"
    )
    snapshot_source: str | None = None
    snapshot_library: str | None = None
    ongoing: bool = False
    activity_score: float | None = None
    has_summary: bool = False
    summary_outcome: SummaryOutcome | None = None
    external_references: list[dict[str, Any]] = Field(
        default_factory=list, description="issues linked to the recording"
    )
    # PostHog answers False only for a recording a listing included by id although it
    # does not match the listing's filters; recap's listings include no such recording.
    matches_filters: bool = True
    # From the older document: where the recording is stored.
    storage: str | None = None
    # Only with ?include=summary, and from summarize/: in PostHog's summary shape.
    summary: PostHogSessionSummary | None = None


class PaginatedSessionRecordingList(BaseModel):
    """The union of both listing shapes PostHog has: its documents' DRF page (`count`,
    `next`, `previous`) and what its server answers (`has_next`, `version`)."""

    count: int
    next: str | None
    previous: str | None
    results: list[SessionRecording]
    has_next: bool = Field(description="more recordings follow this page (`next` is set)")
    version: Literal[4] = Field(default=4, description="the listing's version, as PostHog's")


class PaginatedErrorClusterList(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[ErrorCluster]


class SimilarSession(BaseModel):
    session_id: str
    score: float = Field(description="cosine similarity in (0, 1]")
    title: str | None
    summary_outcome: SummaryOutcome | None


class SimilarSessionList(BaseModel):
    session_id: str
    results: list[SimilarSession]


class JobStatus(BaseModel):
    workflow_id: str
    kind: JobKind
    status: str
    progress: (
        BatchProgress
        | ClusterProgress
        | PatternReportProgress
        | FunnelReportProgress
        | PersonJourneyProgress
    )


class Check(BaseModel):
    ok: bool
    detail: str | None = None


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Check]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ApiError(BaseModel):
    """PostHog's error body."""

    type: str = Field(description="validation_error, authentication_error, invalid_request …")
    code: str
    detail: str
    attr: str | None = None


# -- session_summaries/config/ and single_session_summaries/ ------------------------------

PRODUCT_CONTEXT_MAX = 10_000
CUSTOM_TAGS_MAX = 50


class SummaryConfigAnswer(BaseModel):
    """PostHog's summaries configuration (`product_context`), plus recap's `custom_tags`."""

    product_context: str = Field(
        description="what the product is and who uses it, shown to the summary model as data;"
        " empty: the deployment's RECAP_PRODUCT_CONTEXT applies"
    )
    custom_tags: list[str] = Field(description="the team's own tags, shown to the model too")


class SummaryConfigUpdate(BaseModel):
    """A partial update: only the fields present change."""

    model_config = ConfigDict(extra="ignore")

    product_context: str = Field(
        default="",
        max_length=PRODUCT_CONTEXT_MAX,
        description=f"at most {PRODUCT_CONTEXT_MAX} characters; blank clears it;"
        " <product_context> tags are removed and the value trimmed",
    )
    custom_tags: list[str] = Field(
        default_factory=list,
        max_length=CUSTOM_TAGS_MAX,
        description=f"at most {CUSTOM_TAGS_MAX} tags of 1 to 64 characters, one line each;"
        " duplicates (ignoring case) are kept once; [] clears them",
    )


class ExtraSummaryContext(BaseModel):
    focus_area: str | None = None


class SummaryRunMetadata(BaseModel):
    """PostHog's `run_metadata`, with recap's own run facts beside."""

    model_used: str
    visual_confirmation: bool = Field(
        default=False, description="recap never confirms with video frames"
    )
    prompt_version: str
    timeline_hash: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int


class SingleSessionSummaryRow(BaseModel):
    """One row of PostHog's `single_session_summaries/` listing: no summary."""

    id: str
    session_id: str
    distinct_id: str | None
    session_start_time: datetime | None
    session_duration: int | None = Field(description="seconds")
    session_outcome: SummaryOutcome | None
    exception_count: int
    has_exceptions: bool
    model_used: str | None
    visual_confirmation: bool = False
    extra_summary_context: ExtraSummaryContext | None = None
    created_at: datetime
    created_by: dict[str, Any] | None = Field(
        default=None, description="always null: recap records keys, not users"
    )


class PaginatedSingleSessionSummaryList(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[SingleSessionSummaryRow]


class SingleSessionSummary(BaseModel):
    """PostHog's stored single-session summary: the latest one without a focus area."""

    id: str
    session_id: str
    distinct_id: str | None
    session_start_time: datetime | None
    session_duration: int | None = Field(description="seconds")
    summary: PostHogSessionSummary
    exception_event_ids: list[str] = Field(description="at most 100")
    extra_summary_context: ExtraSummaryContext | None = None
    run_metadata: SummaryRunMetadata
    created_at: datetime
    created_by: dict[str, Any] | None = Field(
        default=None, description="always null: recap records keys, not users"
    )
