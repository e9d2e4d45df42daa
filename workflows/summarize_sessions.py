"""SummarizeSessionsIndividuallyWorkflow: one summary workflow per session, through a sliding
window of in-flight children, with progress, skips of finished work and continue-as-new.

Children use the same stable ids as single summaries, so a session someone is already
summarizing is joined rather than summarized twice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

from workflows.contracts import BatchProgress, SessionFailure
from workflows.failures import failure_type

with workflow.unsafe.imports_passed_through():
    from activities.batch import (
        AwaitSummaryInput,
        FindExistingSummariesInput,
        SessionOutcome,
        await_summary_workflow,
        find_existing_summaries,
    )
    from activities.models import SummarizeSessionInput
    from recap.core.naming import (
        SEARCH_ATTRIBUTE_STATUS,
        SEARCH_ATTRIBUTE_TEAM,
        summary_workflow_id,
    )
    from workflows.summarize_session import SummarizeSessionWorkflow

TEAM = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_TEAM)
STATUS = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS)


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


@workflow.defn(name="SummarizeSessionsIndividuallyWorkflow")
class SummarizeSessionsIndividuallyWorkflow:
    def __init__(self) -> None:
        self._status = "starting"
        self._total = 0
        self._counts = BatchCounts()
        self._failures: list[SessionFailure] = []
        self._history_lengths: list[int] = []
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @workflow.query
    def progress(self) -> BatchProgress:
        counts = self._counts
        return BatchProgress(
            status=self._status,
            total=self._total,
            done=counts.summarized + counts.skipped + counts.failed,
            summarized=counts.summarized,
            skipped=counts.skipped,
            failed=counts.failed,
            in_flight=len(self._in_flight),
            failures=list(self._failures),
            history_lengths=list(self._history_lengths),
        )

    def _show(self) -> None:
        progress = self.progress()
        workflow.set_current_details(
            f"**{progress.status.capitalize()}**: {progress.done}/{progress.total} sessions "
            f"({progress.summarized} summarized, {progress.skipped} skipped, "
            f"{progress.failed} failed, {progress.in_flight} in flight)"
        )

    def _set_status(self, status: str) -> None:
        self._status = status
        workflow.upsert_search_attributes([STATUS.value_set(status)])
        self._show()

    def _record(self, outcome: SessionOutcome) -> None:
        if outcome.status == "failed":
            self._counts.failed += 1
            self._failures.append(
                SessionFailure(
                    session_id=outcome.session_id,
                    error_type=outcome.error_type or "workflow_failed",
                    error=outcome.error or "",
                )
            )
        elif outcome.status == "skipped":
            self._counts.skipped += 1
        else:
            self._counts.summarized += 1
        self._show()

    @workflow.run
    async def run(self, request: SummarizeSessionsInput) -> BatchProgress:
        session_ids = list(dict.fromkeys(request.session_ids))
        self._total = len(session_ids)
        self._counts = request.counts.model_copy()
        self._failures = list(request.failures)
        self._history_lengths = list(request.history_lengths)
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        self._set_status("running")

        cursor = request.cursor
        # Decisions for session_ids[cursor:], one page at a time: (session id, already done).
        plan: deque[tuple[str, bool]] = deque()
        llm_task_queue = request.llm_task_queue
        page_size = min(1000, max(100, 2 * request.max_concurrency))
        try:
            while cursor < len(session_ids):
                if cursor > request.cursor and self._history_is_long(request):
                    # Drain the window first: every started child is counted in this run,
                    # so the next one neither loses nor repeats a session.
                    await workflow.wait_condition(lambda: not self._in_flight)
                    self._history_lengths.append(workflow.info().get_current_history_length())
                    workflow.continue_as_new(
                        request.model_copy(
                            update={
                                "session_ids": session_ids,
                                "cursor": cursor,
                                "counts": self._counts,
                                "failures": self._failures,
                                "history_lengths": self._history_lengths,
                            }
                        )
                    )
                if not plan:
                    page = session_ids[cursor : cursor + page_size]
                    existing = await workflow.execute_activity(
                        find_existing_summaries,
                        FindExistingSummariesInput(
                            team_id=request.team_id,
                            session_ids=page,
                            focus_area=request.focus_area,
                        ),
                        start_to_close_timeout=timedelta(minutes=1),
                        retry_policy=RetryPolicy(
                            initial_interval=timedelta(seconds=1),
                            maximum_interval=timedelta(seconds=30),
                            maximum_attempts=10,
                        ),
                        summary=f"find existing summaries ({len(page)} sessions)",
                    )
                    llm_task_queue = llm_task_queue or existing.llm_task_queue
                    done = set() if request.force else set(existing.session_ids)
                    plan.extend((session_id, session_id in done) for session_id in page)

                session_id, already_done = plan[0]
                if not already_done:
                    await workflow.wait_condition(
                        lambda: len(self._in_flight) < request.max_concurrency
                    )
                plan.popleft()
                cursor += 1
                if already_done:
                    self._record(SessionOutcome(session_id=session_id, status="skipped"))
                    continue
                self._in_flight.add(session_id)
                task = asyncio.create_task(
                    self._summarize(request, session_id, llm_task_queue or None)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

            await workflow.wait_condition(lambda: not self._in_flight)
        except asyncio.CancelledError:
            # Children are shared with other batches and single requests: let them finish.
            self._set_status("cancelled")
            raise
        except Exception:
            self._set_status("failed")
            raise
        self._set_status("completed")
        return self.progress()

    def _history_is_long(self, request: SummarizeSessionsInput) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= request.max_history_events
            or info.is_continue_as_new_suggested()
        )

    async def _summarize(
        self, request: SummarizeSessionsInput, session_id: str, llm_task_queue: str | None
    ) -> None:
        workflow_id = summary_workflow_id(request.team_id, session_id, request.focus_area)
        # Without force, a summary workflow that already completed is joined, not repeated:
        # it closes the gap between the store check and this start.
        reuse = (
            WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if request.force
            else WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        )
        try:
            for _ in range(2):
                try:
                    handle = await workflow.start_child_workflow(
                        SummarizeSessionWorkflow.run,
                        SummarizeSessionInput(
                            team_id=request.team_id,
                            session_id=session_id,
                            focus_area=request.focus_area,
                            source=request.source,
                            llm_task_queue=llm_task_queue,
                        ),
                        id=workflow_id,
                        id_reuse_policy=reuse,
                        # The child outlives a continue-as-new or a cancelled batch: other
                        # batches may be waiting on it.
                        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                        static_summary=f"Summarize session {session_id}",
                    )
                except WorkflowAlreadyStartedError:
                    outcome = await workflow.execute_activity(
                        await_summary_workflow,
                        AwaitSummaryInput(workflow_id=workflow_id, session_id=session_id),
                        start_to_close_timeout=timedelta(hours=2),
                        heartbeat_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_attempts=5),
                        summary=f"join the running summary of {session_id}",
                    )
                    if outcome.status == "stale":
                        # It finished earlier with an older prompt version: summarize again.
                        reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE
                        continue
                    self._record(outcome)
                    return
                await handle
                self._record(SessionOutcome(session_id=session_id, status="summarized"))
                return
            self._record(SessionOutcome(session_id=session_id, status="summarized"))
        except (ChildWorkflowError, ActivityError) as error:
            error_type, message = failure_type(error, "workflow_failed")
            self._record(
                SessionOutcome(
                    session_id=session_id, status="failed", error_type=error_type, error=message
                )
            )
        finally:
            self._in_flight.discard(session_id)
