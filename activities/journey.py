"""The activities of a person's journey: thin adapters over `recap.services.journeys`.

`select_person_sessions` lists the person's recordings (metadata only) on the main queue;
`build_person_journey` reads the stored summaries and timelines, asks the model (once, or
per window and then to combine) and stores the journey, on the model's queue, its calls
counted against the team's daily budget. It stores the journey itself so the journey never
travels in a payload; its id is stable per run, so a retry rewrites the same row.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity

from activities.base import ModelActivities
from activities.errors import typed_errors
from activities.heartbeat import heartbeating
from recap.core.logging import get_logger
from recap.services import journeys
from recap.services.journeys import PersonSelection, PersonSessionRef
from recap.timeline.tokens import count_tokens

__all__ = [
    "BuildPersonJourneyInput",
    "BuiltJourney",
    "JourneyActivities",
    "PersonSelection",
    "PersonSessionRef",
    "SelectPersonSessionsInput",
    "SelectedPersonSessions",
]

log = get_logger(__name__)


class SelectPersonSessionsInput(BaseModel):
    team_id: str
    source: str | None = None
    distinct_id: str
    by_person_id: bool = False
    since_seconds: int
    max_sessions: int
    # The run's workflow time, so a replay or retry lists the same window.
    now: datetime


class SelectedPersonSessions(BaseModel):
    selection: PersonSelection
    # The worker's configured model queue, for runs whose starter did not name one.
    llm_task_queue: str


class BuildPersonJourneyInput(BaseModel):
    team_id: str
    distinct_id: str
    by_person_id: bool = False
    since_seconds: int
    selection: PersonSelection
    # The run's workflow time: the journey's creation time and part of its id.
    created_at: datetime


class BuiltJourney(BaseModel):
    journey_id: str
    sessions: int
    succeeded: int
    failed: int
    unknown: int
    model_calls: int
    windows: int
    dropped_claims: int = Field(description="statements or citations the gate did not keep")


class JourneyActivities(ModelActivities):
    """`build_person_journey` runs on the model's queue; `select_person_sessions` on the
    main one."""

    @activity.defn(name="select_person_sessions")
    async def select_person_sessions(
        self, request: SelectPersonSessionsInput
    ) -> SelectedPersonSessions:
        with typed_errors():
            selected = await journeys.select_person_sessions(
                team_id=request.team_id,
                source=request.source,
                distinct_id=request.distinct_id,
                by_person_id=request.by_person_id,
                since_seconds=request.since_seconds,
                now=request.now,
                max_sessions=request.max_sessions,
                settings=self._settings,
                sources=self._sources,
            )
        log.info(
            "person sessions selected",
            team_id=request.team_id,
            sessions=len(selected.sessions),
            found=selected.found,
            truncated=selected.truncated,
        )
        return SelectedPersonSessions(
            selection=selected, llm_task_queue=self._settings.llm_task_queue
        )

    @activity.defn(name="build_person_journey")
    async def build_person_journey(self, request: BuildPersonJourneyInput) -> BuiltJourney:
        team_id = request.team_id
        with typed_errors():
            # One reservation for the journey's calls (one, or per window plus combining);
            # a team past its day's limit fails here, non-retryably, at no cost.
            reservation = await asyncio.to_thread(self._budget.reserve, team_id)
        model = self._chat_model()
        try:
            async with heartbeating():
                with typed_errors():
                    stored = await journeys.make_journey(
                        self._store,
                        model,
                        journeys.JourneyRequest(
                            team_id=team_id,
                            distinct_id=request.distinct_id,
                            by_person_id=request.by_person_id,
                            since_seconds=request.since_seconds,
                            selection=request.selection,
                            created_at=request.created_at,
                        ),
                        max_tokens=self._settings.report_chunk_tokens,
                        count_tokens=count_tokens,
                        schema_limits=self._settings.effective_llm_schema_limits,
                    )
        finally:
            await model.close()
        usage = stored.usage
        try:
            await asyncio.to_thread(
                self._budget.record,
                reservation,
                usage.prompt_tokens + usage.completion_tokens,
                calls=usage.calls,
            )
        except Exception as error:
            # Failing now would retry, and pay for, calls that have answered: count short.
            log.warning(
                "model tokens not counted against the team's budget",
                team_id=team_id,
                error_type=type(error).__name__,
            )
        journey = stored.journey
        log.info(
            "journey stored",
            team_id=team_id,
            journey_id=stored.journey_id,
            sessions=journey.counts.sessions,
            model_calls=journey.run.calls,
        )
        return BuiltJourney(
            journey_id=stored.journey_id,
            sessions=journey.counts.sessions,
            succeeded=journey.counts.succeeded,
            failed=journey.counts.failed,
            unknown=journey.counts.unknown,
            model_calls=journey.run.calls,
            windows=len(journey.run.windows),
            dropped_claims=len(journey.findings.dropped),
        )
