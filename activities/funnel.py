"""The activities of a funnel drop-off report: thin adapters over `recap.services.funnels`.

`read_funnel_metadata` asks the team's source what it knows of each session's device and
viewport (main queue); `make_funnel_report` analyzes, asks the model to explain and stores
the report (model queue: it makes the model calls, counted against the team's budget).
Payloads carry ids, steps and the small metadata; summaries and timelines stay in the store.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ModelActivities
from activities.errors import typed_errors
from activities.heartbeat import heartbeating
from activities.report import UnsummarizedSession
from recap.core.logging import get_logger
from recap.funnels import FunnelStepError, SessionMetadata, parse_steps
from recap.services import funnels

__all__ = [
    "FunnelActivities",
    "FunnelMetadata",
    "MakeFunnelReportInput",
    "ReadFunnelMetadataInput",
    "StoredFunnelReport",
]

log = get_logger(__name__)

BAD_STEP = "bad_funnel_step"


class ReadFunnelMetadataInput(BaseModel):
    team_id: str
    source: str | None = None
    session_ids: list[str]


class FunnelMetadata(BaseModel):
    # Session id -> what the source says (None fields: unknown).
    metadata: dict[str, SessionMetadata]
    # The worker's configured model queue, for runs whose starter did not name one.
    llm_task_queue: str


class MakeFunnelReportInput(BaseModel):
    team_id: str
    steps: list[str]
    # Every session asked for, and why the batch could not summarize some.
    session_ids: list[str]
    unsummarized: list[UnsummarizedSession] = Field(default_factory=list)
    metadata: dict[str, SessionMetadata] = Field(default_factory=dict)
    focus_area: str | None = None
    selection: dict[str, str] | None = None
    # The run's workflow time.
    created_at: datetime


class StoredFunnelReport(BaseModel):
    report_id: str
    sessions_reported: int
    factors: int
    not_reported: int


class FunnelActivities(ModelActivities):
    """`make_funnel_report` runs on the model's queue; `read_funnel_metadata` on the main one."""

    @activity.defn(name="read_funnel_metadata")
    async def read_funnel_metadata(self, request: ReadFunnelMetadataInput) -> FunnelMetadata:
        with typed_errors():
            found = await funnels.read_metadata(
                team_id=request.team_id,
                source=request.source,
                session_ids=request.session_ids,
                settings=self._settings,
                sources=self._sources,
            )
        return FunnelMetadata(metadata=found, llm_task_queue=self._settings.llm_task_queue)

    @activity.defn(name="make_funnel_report")
    async def make_funnel_report(self, request: MakeFunnelReportInput) -> StoredFunnelReport:
        failed = {each.session_id: (each.error_type, each.error) for each in request.unsummarized}
        with typed_errors():
            try:
                parse_steps(request.steps)
            except FunnelStepError as error:
                raise ApplicationError(str(error), type=BAD_STEP, non_retryable=True) from None
            # One call reserved (refused at no cost once the day's budget is spent); the
            # explain calls it made (one per step with a factor) are counted after.
            reservation = await asyncio.to_thread(self._budget.reserve, request.team_id)
        model = self._chat_model()
        try:
            async with heartbeating():
                with typed_errors():
                    report = await funnels.make_funnel_report(
                        self._store,
                        model,
                        funnels.FunnelReportRequest(
                            team_id=request.team_id,
                            steps=request.steps,
                            requested=request.session_ids,
                            session_ids=request.session_ids,
                            failed=failed,
                            metadata=request.metadata,
                            focus_area=request.focus_area,
                            selection=request.selection,
                            created_at=request.created_at,
                        ),
                        configured_model=self._settings.llm_model,
                    )
        finally:
            await model.close()
        tokens = report.run.prompt_tokens + report.run.completion_tokens
        try:
            await asyncio.to_thread(
                self._budget.record, reservation, tokens, calls=report.run.explain_calls
            )
        except Exception as error:
            # Failing now would retry, and pay for, calls that have answered: count short.
            log.warning(
                "model tokens not counted against the team's budget",
                team_id=request.team_id,
                tokens=tokens,
                error_type=type(error).__name__,
            )
        funnel = report.funnel
        log.info(
            "funnel report stored",
            team_id=request.team_id,
            report_id=report.report_id,
            sessions_reported=report.sessions_reported,
            factors=len(funnel.factors) if funnel else 0,
            not_reported=len(report.not_reported),
        )
        return StoredFunnelReport(
            report_id=report.report_id,
            sessions_reported=report.sessions_reported,
            factors=len(funnel.factors) if funnel else 0,
            not_reported=len(report.not_reported),
        )
