"""The activities of a pattern report: thin adapters over `recap.services.reports`.

Payloads carry session ids, candidate patterns, assignments and counts; summaries and
timelines are read from the store inside each activity. The three model steps run on the
model's queue, each call counted against the team's daily budget, and load the tokenizer
here (never in the workflow).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity

from activities.base import ModelActivities
from activities.errors import typed_errors
from activities.heartbeat import heartbeating
from recap.core.logging import get_logger
from recap.llm.client import ChatModel
from recap.reports import Assignment, CandidatePattern, StepUsage
from recap.reports.models import SessionNotReported
from recap.services import reports
from recap.services.scheduled_run import RecordingFilters
from recap.timeline.tokens import count_tokens

__all__ = [
    "AssignChunkEventsInput",
    "Assignment",
    "AssignmentPlan",
    "CandidatePattern",
    "ChunkAssignments",
    "ChunkPatterns",
    "ConsolidatePatternsInput",
    "ConsolidatedPatterns",
    "FindChunkPatternsInput",
    "PlanAssignmentInput",
    "PrepareReportInput",
    "PreparedReport",
    "ReportActivities",
    "SelectReportSessionsInput",
    "SelectedReportSessions",
    "SessionNotReported",
    "StepUsage",
    "StoreReportInput",
    "StoredReport",
    "UnsummarizedSession",
]

log = get_logger(__name__)


class SelectReportSessionsInput(BaseModel):
    team_id: str
    source: str | None = None
    since_seconds: int
    filters: RecordingFilters = Field(default_factory=RecordingFilters)
    max_sessions: int
    # The run's workflow time, so a replay or retry lists the same window.
    now: datetime


class SelectedReportSessions(BaseModel):
    session_ids: list[str]
    # How they were chosen, for the report's inputs.
    selection: dict[str, str]


class UnsummarizedSession(BaseModel):
    """A session the batch could not summarize, with its typed reason."""

    session_id: str
    error_type: str
    error: str


class PrepareReportInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    unsummarized: list[UnsummarizedSession] = Field(default_factory=list)


class PreparedReport(BaseModel):
    # The map step's chunks, as session ids (their summaries stay in the store).
    chunks: list[list[str]]
    not_reported: list[SessionNotReported]
    # The worker's configured model queue, for runs whose starter did not name one.
    llm_task_queue: str


class FindChunkPatternsInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None


class ChunkPatterns(BaseModel):
    candidates: list[CandidatePattern]
    usage: StepUsage


class ConsolidatePatternsInput(BaseModel):
    team_id: str
    candidates: list[CandidatePattern]
    focus_area: str | None = None


class ConsolidatedPatterns(BaseModel):
    # In this order they are p1, p2 … for the assign step and the build.
    patterns: list[CandidatePattern]
    usage: StepUsage


class PlanAssignmentInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    patterns: list[CandidatePattern]


class AssignmentPlan(BaseModel):
    chunks: list[list[str]]


class AssignChunkEventsInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None
    patterns: list[CandidatePattern]


class ChunkAssignments(BaseModel):
    assignments: list[Assignment]
    usage: StepUsage


class StoreReportInput(BaseModel):
    team_id: str
    # Every session asked for (after a selection listed them), and those the map read.
    session_ids: list[str]
    reported_session_ids: list[str]
    not_reported: list[SessionNotReported] = Field(default_factory=list)
    focus_area: str | None = None
    selection: dict[str, str] | None = None
    patterns: list[CandidatePattern] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    map_usage: list[StepUsage] = Field(default_factory=list)
    reduce_usage: list[StepUsage] = Field(default_factory=list)
    assign_usage: list[StepUsage] = Field(default_factory=list)
    # The run's workflow time.
    created_at: datetime


class StoredReport(BaseModel):
    report_id: str
    sessions_reported: int
    patterns: int
    not_reported: int


class ReportActivities(ModelActivities):
    """`find_patterns_in_chunk`, `consolidate_patterns` and `assign_chunk_events` run on
    the model's queue; the rest on the main one."""

    @activity.defn(name="select_report_sessions")
    async def select_report_sessions(
        self, request: SelectReportSessionsInput
    ) -> SelectedReportSessions:
        with typed_errors():
            selected = await reports.select_sessions(
                team_id=request.team_id,
                source=request.source,
                since_seconds=request.since_seconds,
                filters=request.filters,
                max_sessions=request.max_sessions,
                now=request.now,
                settings=self._settings,
                sources=self._sources,
            )
        log.info(
            "report sessions selected",
            team_id=request.team_id,
            sessions=len(selected.session_ids),
            truncated=selected.truncated,
        )
        return SelectedReportSessions(
            session_ids=selected.session_ids,
            selection=reports.selection_record(
                selected, since_seconds=request.since_seconds, filters=request.filters
            ),
        )

    @activity.defn(name="prepare_report")
    def prepare_report(self, request: PrepareReportInput) -> PreparedReport:
        unsummarized = request.unsummarized
        with typed_errors():
            prepared = reports.prepare_report(
                self._store,
                team_id=request.team_id,
                session_ids=request.session_ids,
                focus_area=request.focus_area,
                failed={each.session_id: (each.error_type, each.error) for each in unsummarized},
                max_tokens=self._settings.report_chunk_tokens,
                count_tokens=count_tokens,
            )
        return PreparedReport(
            chunks=prepared.chunks,
            not_reported=prepared.not_reported,
            llm_task_queue=self._settings.llm_task_queue,
        )

    @activity.defn(name="find_patterns_in_chunk")
    async def find_patterns_in_chunk(self, request: FindChunkPatternsInput) -> ChunkPatterns:
        async with self._model_call(request.team_id) as (model, spent):
            candidates, usage = await reports.find_chunk_patterns(
                self._store,
                model,
                team_id=request.team_id,
                session_ids=request.session_ids,
                focus_area=request.focus_area,
                schema_limits=self._settings.effective_llm_schema_limits,
            )
            spent.append(usage)
        return ChunkPatterns(candidates=candidates, usage=usage)

    @activity.defn(name="consolidate_patterns")
    async def consolidate_patterns(self, request: ConsolidatePatternsInput) -> ConsolidatedPatterns:
        async with self._model_call(request.team_id) as (model, spent):
            patterns, usage = await reports.consolidate(
                model,
                candidates=request.candidates,
                focus_area=request.focus_area,
                max_tokens=self._settings.report_chunk_tokens,
                count_tokens=count_tokens,
                schema_limits=self._settings.effective_llm_schema_limits,
            )
            spent.append(usage)
        return ConsolidatedPatterns(patterns=patterns, usage=usage)

    @activity.defn(name="plan_assignment")
    def plan_assignment(self, request: PlanAssignmentInput) -> AssignmentPlan:
        with typed_errors():
            chunks = reports.plan_assignment(
                self._store,
                team_id=request.team_id,
                session_ids=request.session_ids,
                focus_area=request.focus_area,
                patterns=request.patterns,
                max_tokens=self._settings.report_chunk_tokens,
                count_tokens=count_tokens,
            )
        return AssignmentPlan(chunks=chunks)

    @activity.defn(name="assign_chunk_events")
    async def assign_chunk_events(self, request: AssignChunkEventsInput) -> ChunkAssignments:
        async with self._model_call(request.team_id) as (model, spent):
            assignments, usage = await reports.assign_chunk(
                self._store,
                model,
                team_id=request.team_id,
                session_ids=request.session_ids,
                focus_area=request.focus_area,
                patterns=request.patterns,
                schema_limits=self._settings.effective_llm_schema_limits,
            )
            spent.append(usage)
        return ChunkAssignments(assignments=assignments, usage=usage)

    @activity.defn(name="store_report")
    def store_report(self, request: StoreReportInput) -> StoredReport:
        with typed_errors():
            report = reports.store_report(
                self._store,
                team_id=request.team_id,
                requested=request.session_ids,
                reported=request.reported_session_ids,
                not_reported=request.not_reported,
                focus_area=request.focus_area,
                selection=request.selection,
                patterns=request.patterns,
                assignments=request.assignments,
                map_usage=request.map_usage,
                reduce_usage=request.reduce_usage,
                assign_usage=request.assign_usage,
                configured_model=self._settings.llm_model,
                created_at=request.created_at,
            )
        log.info(
            "pattern report stored",
            team_id=request.team_id,
            report_id=report.report_id,
            sessions_reported=report.sessions_reported,
            patterns=len(report.patterns),
            not_reported=len(report.not_reported),
        )
        return StoredReport(
            report_id=report.report_id,
            sessions_reported=report.sessions_reported,
            patterns=len(report.patterns),
            not_reported=len(report.not_reported),
        )

    @asynccontextmanager
    async def _model_call(self, team_id: str) -> AsyncIterator[tuple[ChatModel, list[StepUsage]]]:
        """A model client for one step, its call reserved on the team's budget first (a
        team past its day's limit fails here, non-retryably, at no cost) and its tokens
        recorded after; the block's errors become typed failures."""
        with typed_errors():
            reservation = await asyncio.to_thread(self._budget.reserve, team_id)
        model = self._chat_model()
        spent: list[StepUsage] = []
        try:
            async with heartbeating():
                with typed_errors():
                    yield model, spent
        finally:
            await model.close()
        tokens = sum(usage.prompt_tokens + usage.completion_tokens for usage in spent)
        try:
            calls = sum(usage.calls for usage in spent)
            await asyncio.to_thread(self._budget.record, reservation, tokens, calls=calls)
        except Exception as error:
            # Failing now would retry, and pay for, calls that have answered: count short.
            log.warning(
                "model tokens not counted against the team's budget",
                team_id=team_id,
                tokens=tokens,
                error_type=type(error).__name__,
            )
