"""PersonJourneyWorkflow: one person's sessions over a period, in order with their
outcomes, and what they were trying to do, where they got stuck and whether they got past
it, every statement citing session ids and refs; stored as a journey.

1. select the person's recordings that started in the period (metadata only; newest kept
   up to the cap);
2. summarize the missing ones in a batch (`SummarizeSessionsIndividuallyWorkflow`), and wait;
3. build the journey from the stored summaries and timelines (one model call, or one per
   window and then to combine, on the model's queue) and store it.

Payloads carry session ids and the listing's few facts per session; summaries, timelines
and the journey stay in the store.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.details import literal
from workflows.retry_policies import LISTING_RETRY, MODEL_RETRY
from workflows.search_attributes import STATUS, TEAM

with workflow.unsafe.imports_passed_through():
    from activities.journey import (
        BuildPersonJourneyInput,
        JourneyActivities,
        SelectPersonSessionsInput,
    )
    from recap.core.naming import journey_batch_workflow_id
    from workflows.contracts import (
        JourneyStep,
        PersonJourneyInput,
        PersonJourneyProgress,
        PersonJourneyResult,
        SummarizeSessionsInput,
    )
    from workflows.summarize_missing import summarize_missing

NO_SESSIONS = "person_has_no_sessions"


@workflow.defn(name="PersonJourneyWorkflow")
class PersonJourneyWorkflow:
    def __init__(self) -> None:
        self._progress = PersonJourneyProgress(step="selecting")

    @workflow.query
    def progress(self) -> PersonJourneyProgress:
        return self._progress.model_copy()

    def _step(self, step: JourneyStep, details: str) -> None:
        self._progress.step = step
        workflow.set_current_details(details)
        workflow.upsert_search_attributes([STATUS.value_set(step)])

    @workflow.run
    async def run(self, request: PersonJourneyInput) -> PersonJourneyResult:
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        team = request.team_id
        days = request.since_seconds / 86_400

        # 1. Select: the person's recordings, listed once at workflow time.
        self._step("selecting", f"**Selecting** the person's recordings of the last {days:g} d")
        selected = await workflow.execute_activity_method(
            JourneyActivities.select_person_sessions,
            SelectPersonSessionsInput(
                team_id=team,
                source=request.source,
                distinct_id=request.distinct_id,
                by_person_id=request.by_person_id,
                since_seconds=request.since_seconds,
                max_sessions=request.max_sessions,
                now=workflow.now(),
            ),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=LISTING_RETRY,
            summary="list the person's recordings",
        )
        selection = selected.selection
        session_ids = [ref.session_id for ref in selection.sessions]
        self._progress.sessions_total = len(session_ids)
        self._progress.sessions_found = selection.found
        self._progress.truncated = selection.truncated
        if not session_ids:
            raise ApplicationError(
                f"no recording of this person started in the last {days:g} days; check the"
                " id (a PostHog person id needs --person) and the period",
                type=NO_SESSIONS,
                non_retryable=True,
            )

        # 2. Summarize what is missing: the batch skips stored summaries and joins those
        # others are writing. A session it cannot summarize stays in the journey, unknown.
        self._step("summarizing", f"**Summarizing** {len(session_ids)} sessions")
        batch = await summarize_missing(
            SummarizeSessionsInput(
                team_id=team,
                session_ids=session_ids,
                max_concurrency=min(request.max_concurrency or 10, 1000),
                source=request.source,
                llm_task_queue=request.llm_task_queue,
            ),
            batch_id=journey_batch_workflow_id(team, workflow.info().workflow_id),
            purpose="a person's journey",
        )
        self._progress.sessions_summarized = batch.summarized + batch.skipped
        self._progress.sessions_failed = batch.failed

        # 3. Build and store: the model reads the sessions in order (in windows when they
        # do not fit one prompt); code keeps only what cites events that exist.
        self._step("building", f"**Building** the journey over {len(session_ids)} sessions")
        built = await workflow.execute_activity_method(
            JourneyActivities.build_person_journey,
            BuildPersonJourneyInput(
                team_id=team,
                distinct_id=request.distinct_id,
                by_person_id=request.by_person_id,
                since_seconds=request.since_seconds,
                selection=selection,
                created_at=workflow.now(),
            ),
            task_queue=request.llm_task_queue or selected.llm_task_queue,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=MODEL_RETRY,
            summary=f"build the journey over {len(session_ids)} sessions",
        )
        self._progress.journey_id = built.journey_id
        self._step(
            "done",
            f"**Stored** {literal(built.journey_id)}: {built.sessions} sessions "
            f"({built.succeeded} succeeded, {built.failed} failed, {built.unknown} unknown), "
            f"{built.model_calls} model calls",
        )
        return PersonJourneyResult(
            journey_id=built.journey_id,
            sessions=built.sessions,
            succeeded=built.succeeded,
            failed=built.failed,
            unknown=built.unknown,
            truncated=selection.truncated,
            model_calls=built.model_calls,
        )
