"""The payloads of a session summary's activities, and the two results that carry a stored
summary: a single summary workflow's result and a session's outcome in a batch or in
`recap summarize`. Small pydantic models only; `workflows.contracts` re-exports the last two
with every other workflow input and result.

Raw recordings never appear here; the compiled timeline travels through the store.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from recap.llm.schema import SessionSummary
from recap.services.compiled import CompiledTimeline
from recap.store.repository import StoredSummary

__all__ = [
    "CompileTimelineInput",
    "CompiledTimeline",
    "SessionOutcome",
    "StoreSummaryInput",
    "StoredSummary",
    "SummarizeSessionResult",
    "SummarizeTimelineInput",
]


class CompileTimelineInput(BaseModel):
    team_id: str
    session_id: str
    source: str | None = None
    max_tokens: int | None = None


class SummarizeTimelineInput(BaseModel):
    team_id: str
    session_id: str
    timeline_hash: str
    focus_area: str | None = None


class StoreSummaryInput(BaseModel):
    team_id: str
    summary: SessionSummary


class SummarizeSessionResult(BaseModel):
    """What `SummarizeSessionWorkflow` returns: its id and the summary `store_summary` stored."""

    workflow_id: str
    stored: StoredSummary


class SessionOutcome(BaseModel):
    """How one session ended, in a batch (from joining its summary workflow) or for the
    starter that waited on it (`recap summarize`, `recap demo`)."""

    session_id: str
    # "stale": the joined workflow had finished earlier, with an older prompt version.
    status: Literal["summarized", "skipped", "failed", "stale"]
    error_type: str | None = None
    error: str | None = None
    # The session's summary workflow, and its result when the starter waited for it.
    workflow_id: str = ""
    result: SummarizeSessionResult | None = None
