"""PatternReportWorkflow: the patterns across a set of sessions' summaries, stored as a report.

1. select the sessions (when the request gives a selection, not ids);
2. summarize the missing ones in a batch (`SummarizeSessionsIndividuallyWorkflow`), and wait;
3. load the stored summaries and split them into chunks that fit the model's context;
4. map: candidate patterns per chunk, a few chunks at a time (on the model's queue);
5. reduce: merge the candidates into the report's patterns;
6. assign: per chunk, which cited events show which pattern;
7. check, count and store the report;
8. hand it to the team's destinations (`DeliverWorkflow`), without waiting.

Payloads carry session ids, patterns and assignments; summaries and timelines stay in the
store and are read inside each activity.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.details import literal
from workflows.retry_policies import LISTING_RETRY, MODEL_RETRY, TYPED_STORE_RETRY
from workflows.search_attributes import STATUS, TEAM
from workflows.sliding_window import SlidingWindow

with workflow.unsafe.imports_passed_through():
    from activities.failures import failure_type
    from activities.report import (
        AssignChunkEventsInput,
        CandidatePattern,
        ChunkAssignments,
        ChunkPatterns,
        ConsolidatePatternsInput,
        FindChunkPatternsInput,
        PlanAssignmentInput,
        PrepareReportInput,
        ReportActivities,
        SelectReportSessionsInput,
        StepUsage,
        StoreReportInput,
        UnsummarizedSession,
    )
    from recap.core.naming import delivery_workflow_id, report_batch_workflow_id
    from workflows.contracts import (
        DeliverInput,
        PatternReportInput,
        PatternReportProgress,
        PatternReportResult,
        ReportStep,
        SummarizeSessionsInput,
    )
    from workflows.deliver import DeliverWorkflow
    from workflows.summarize_missing import summarize_missing
    from workflows.summarize_missing import unsummarized as unsummarized_of

# Model calls of one report in flight at once; the model queue's worker limits them too.
CHUNK_CONCURRENCY = 4


@workflow.defn(name="PatternReportWorkflow")
class PatternReportWorkflow:
    def __init__(self) -> None:
        self._progress = PatternReportProgress(step="selecting")

    @workflow.query
    def progress(self) -> PatternReportProgress:
        return self._progress.model_copy()

    def _step(self, step: ReportStep, details: str) -> None:
        self._progress.step = step
        workflow.set_current_details(details)
        workflow.upsert_search_attributes([STATUS.value_set(step)])

    def _chunk_done(self, what: str) -> None:
        self._progress.chunks_done += 1
        workflow.set_current_details(
            f"**{what}**: {self._progress.chunks_done}/{self._progress.chunks_total} chunks"
        )

    @workflow.run
    async def run(self, request: PatternReportInput) -> PatternReportResult:
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        team, focus = request.team_id, request.focus_area
        session_ids = list(dict.fromkeys(request.session_ids))
        selection_record = {"batch": request.source_batch} if request.source_batch else None

        # 1. Select: the recordings that ended in the window, listed once at workflow time.
        if request.selection is not None and not session_ids:
            since = request.selection.since_seconds
            self._step("selecting", f"**Selecting** recordings that ended in the last {since} s")
            selected = await workflow.execute_activity_method(
                ReportActivities.select_report_sessions,
                SelectReportSessionsInput(
                    team_id=team,
                    source=request.source,
                    since_seconds=since,
                    filters=request.selection.filters,
                    max_sessions=request.selection.max_sessions,
                    now=workflow.now(),
                ),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=LISTING_RETRY,
                summary="list the recordings of the selection",
            )
            session_ids, selection_record = selected.session_ids, selected.selection
        self._progress.sessions_total = len(session_ids)

        # 2. Summarize what is missing: the batch skips stored summaries (unless forced) and
        # joins summaries that others are writing. The report waits for it.
        unsummarized: list[UnsummarizedSession] = []
        if session_ids:
            self._step("summarizing", f"**Summarizing** {len(session_ids)} sessions")
            batch = await summarize_missing(
                SummarizeSessionsInput(
                    team_id=team,
                    session_ids=session_ids,
                    focus_area=focus,
                    force=request.force,
                    max_concurrency=min(request.max_concurrency or 10, 1000),
                    source=request.source,
                    llm_task_queue=request.llm_task_queue,
                ),
                batch_id=report_batch_workflow_id(team, workflow.info().workflow_id),
                purpose="a pattern report",
            )
            self._progress.sessions_summarized = batch.summarized + batch.skipped
            self._progress.sessions_failed = batch.failed
            unsummarized = unsummarized_of(batch)

        # 3. Prepare: the stored summaries, as chunks of session ids that fit one prompt.
        self._step("finding", "**Reading** the stored summaries")
        prepared = await workflow.execute_activity_method(
            ReportActivities.prepare_report,
            PrepareReportInput(
                team_id=team, session_ids=session_ids, focus_area=focus, unsummarized=unsummarized
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=TYPED_STORE_RETRY,
            summary="read the summaries and split them into chunks",
        )
        llm_task_queue = request.llm_task_queue or prepared.llm_task_queue
        reported = [session_id for chunk in prepared.chunks for session_id in chunk]
        chunk_ids = [str(index) for index in range(len(prepared.chunks))]
        self._progress.chunks_total = len(chunk_ids)

        # 4. Map: each chunk's candidate patterns; a chunk that fails fails the report.
        self._step("finding", f"**Finding** patterns in {len(chunk_ids)} chunks")
        found: dict[str, ChunkPatterns] = {}
        failures: list[ActivityError] = []

        async def find(key: str) -> None:
            try:
                found[key] = await workflow.execute_activity_method(
                    ReportActivities.find_patterns_in_chunk,
                    FindChunkPatternsInput(
                        team_id=team, session_ids=prepared.chunks[int(key)], focus_area=focus
                    ),
                    task_queue=llm_task_queue,
                    start_to_close_timeout=timedelta(minutes=10),
                    heartbeat_timeout=timedelta(seconds=60),
                    retry_policy=MODEL_RETRY,
                    summary=f"find patterns in chunk {int(key) + 1}/{len(chunk_ids)}",
                )
            except ActivityError as error:
                failures.append(error)
            self._chunk_done("Finding patterns")

        await SlidingWindow().run(chunk_ids, find, limit=CHUNK_CONCURRENCY)
        self._raise_first(failures, "finding patterns")
        candidates = [pattern for key in chunk_ids for pattern in found[key].candidates]

        # 5. Reduce: one list of patterns; its order numbers them (p1, p2 …) from here on.
        self._step("consolidating", f"**Consolidating** {len(candidates)} candidate patterns")
        patterns: list[CandidatePattern] = []
        reduce_usage: list[StepUsage] = []
        if candidates:
            consolidated = await workflow.execute_activity_method(
                ReportActivities.consolidate_patterns,
                ConsolidatePatternsInput(team_id=team, candidates=candidates, focus_area=focus),
                task_queue=llm_task_queue,
                start_to_close_timeout=timedelta(minutes=20),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=MODEL_RETRY,
                summary=f"consolidate {len(candidates)} candidate patterns",
            )
            patterns, reduce_usage = consolidated.patterns, [consolidated.usage]

        # 6. Assign: per chunk (the patterns' list takes room in each prompt).
        self._step("assigning", f"**Assigning** events to {len(patterns)} patterns")
        plan = await workflow.execute_activity_method(
            ReportActivities.plan_assignment,
            PlanAssignmentInput(
                team_id=team, session_ids=reported, focus_area=focus, patterns=patterns
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=TYPED_STORE_RETRY,
            summary="split the summaries into chunks for assignment",
        )
        assign_ids = [str(index) for index in range(len(plan.chunks))]
        self._progress.chunks_total += len(assign_ids)
        assigned: dict[str, ChunkAssignments] = {}

        async def assign(key: str) -> None:
            try:
                assigned[key] = await workflow.execute_activity_method(
                    ReportActivities.assign_chunk_events,
                    AssignChunkEventsInput(
                        team_id=team,
                        session_ids=plan.chunks[int(key)],
                        focus_area=focus,
                        patterns=patterns,
                    ),
                    task_queue=llm_task_queue,
                    start_to_close_timeout=timedelta(minutes=10),
                    heartbeat_timeout=timedelta(seconds=60),
                    retry_policy=MODEL_RETRY,
                    summary=f"assign events in chunk {int(key) + 1}/{len(assign_ids)}",
                )
            except ActivityError as error:
                failures.append(error)
            self._chunk_done("Assigning events")

        await SlidingWindow().run(assign_ids, assign, limit=CHUNK_CONCURRENCY)
        self._raise_first(failures, "assigning events")

        # 7. Store: code checks every example against the stored timelines and counts.
        self._step("storing", "**Storing** the report")
        stored = await workflow.execute_activity_method(
            ReportActivities.store_report,
            StoreReportInput(
                team_id=team,
                session_ids=session_ids,
                reported_session_ids=reported,
                not_reported=prepared.not_reported,
                focus_area=focus,
                selection=selection_record,
                patterns=patterns,
                assignments=[a for key in assign_ids for a in assigned[key].assignments],
                map_usage=[found[key].usage for key in chunk_ids],
                reduce_usage=reduce_usage,
                assign_usage=[assigned[key].usage for key in assign_ids],
                created_at=workflow.now(),
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=TYPED_STORE_RETRY,
            summary="check, count and store the report",
        )
        self._progress.report_id = stored.report_id
        result = PatternReportResult(
            report_id=stored.report_id,
            sessions_reported=stored.sessions_reported,
            patterns=stored.patterns,
            not_reported=stored.not_reported,
        )

        # 8. Deliver: never waited for; the report is stored whatever happens to it.
        if request.deliver:
            delivery_id = delivery_workflow_id(team, stored.report_id)
            self._step("delivering", f"**Delivering** {literal(stored.report_id)}")
            # A delivery of this report that is running already sends what is undelivered.
            with suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    DeliverWorkflow.run,
                    DeliverInput(team_id=team, item_kind="report", item_id=stored.report_id),
                    id=delivery_id,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    static_summary=f"Deliver report {stored.report_id}",
                )
            result.delivery_workflow_id = delivery_id

        self._step(
            "done",
            f"**Stored** {literal(stored.report_id)}: {stored.patterns} patterns across "
            f"{stored.sessions_reported} sessions ({stored.not_reported} not reported)",
        )
        return result

    @staticmethod
    def _raise_first(failures: list[ActivityError], what: str) -> None:
        """A model step that failed after its retries fails the report, with its type
        (`budget_exceeded`, `llm_auth` …): without a chunk the report would miss patterns or
        undercount them."""
        if failures:
            error_type, message = failure_type(failures[0], "report_step_failed")
            raise ApplicationError(
                f"{what}: {message}", type=error_type, non_retryable=True
            ) from failures[0]
