"""Inputs and outputs of recap's activities and workflows: small pydantic models only.

Raw recordings never appear here; the compiled timeline travels through the store.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from recap.llm.schema import SessionSummary
from recap.services.summary import CompiledTimeline
from recap.store.repository import StoredSummary

__all__ = [
    "CompileTimelineInput",
    "CompiledTimeline",
    "StoreSummaryInput",
    "SummarizeSessionInput",
    "SummarizeSessionResult",
    "SummarizeTimelineInput",
]


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


class SummarizeSessionResult(BaseModel):
    workflow_id: str
    stored: StoredSummary


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
