"""The inputs, results and progress of recap's workflows: plain pydantic models that the
workflows fill and the starter (`recap.jobs`), the CLI and the HTTP API read. No Temporal here.

A scheduled run's request is defined with the services that act on it, and named here too."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from recap.services.scheduled_run import ScheduledSummariesInput

__all__ = [
    "BatchProgress",
    "ClusterProgress",
    "ScheduledSummariesInput",
    "ScheduledSummariesResult",
    "SessionFailure",
    "SummarizeBatchRequest",
]


class SessionFailure(BaseModel):
    session_id: str
    error_type: str
    error: str


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


class ScheduledSummariesResult(BaseModel):
    window_start: datetime
    window_end: datetime
    session_ids: list[str]
    batch_workflow_id: str | None
    skipped_already_handed: int = 0
    truncated: bool = False


class SummarizeBatchRequest(BaseModel):
    """The input of `SummarizeSessionsIndividuallyWorkflow` (its `SummarizeSessionsInput`),
    as a scheduled run fills it; started by name, so the two workflows stay independent."""

    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    force: bool = False
    max_concurrency: int = 4
    source: str | None = None
