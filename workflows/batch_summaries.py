"""SummarizeSessionsIndividuallyWorkflow: a batch of sessions, one `SummarizeSessionWorkflow`
child per session, through the sliding window, with progress, skips of finished work and
continue-as-new.

Children use the same stable ids as single summaries, so a session someone is already
summarizing is joined rather than summarized twice.

It runs outside Temporal's workflow sandbox, as its children do (`SummarizeSessionWorkflow`
says why); its activations are as many as its children's starts and ends.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError

from workflows.retry_policies import JOIN_RETRY, STORE_RETRY
from workflows.search_attributes import SESSION, STATUS, TEAM
from workflows.sliding_window import SlidingWindow

with workflow.unsafe.imports_passed_through():
    from activities.batch import (
        AwaitSummaryInput,
        BatchActivities,
        FindExistingSummariesInput,
    )
    from activities.failures import failure_type
    from recap.core.naming import summary_workflow_id
    from workflows.contracts import (
        BatchCounts,
        BatchProgress,
        SessionFailure,
        SessionOutcome,
        SummarizeSessionInput,
        SummarizeSessionsInput,
    )
    from workflows.session_summary import SummarizeSessionWorkflow


# Outside the sandbox: see the module's docstring.
@workflow.defn(name="SummarizeSessionsIndividuallyWorkflow", sandboxed=False)
class SummarizeSessionsIndividuallyWorkflow:
    def __init__(self) -> None:
        self._status = "starting"
        self._total = 0
        self._counts = BatchCounts()
        self._failures: list[SessionFailure] = []
        self._window = SlidingWindow()

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
            in_flight=len(self._window.in_flight),
            failures=list(self._failures),
            history_lengths=list(self._window.history_lengths),
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
        self._window.history_lengths = list(request.history_lengths)
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        self._set_status("running")

        # Decisions for session_ids[cursor:], one page at a time: (session id, already done).
        plan: deque[tuple[str, bool]] = deque()
        llm_task_queue = request.llm_task_queue
        page_size = min(1000, max(100, 2 * request.max_concurrency))

        async def needs_summary(cursor: int) -> bool:
            """Looks a page ahead in the store; a session summarized already is skipped."""
            nonlocal llm_task_queue
            if not plan:
                page = session_ids[cursor : cursor + page_size]
                existing = await workflow.execute_activity_method(
                    BatchActivities.find_existing_summaries,
                    FindExistingSummariesInput(
                        team_id=request.team_id, session_ids=page, focus_area=request.focus_area
                    ),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=STORE_RETRY,
                    summary=f"find existing summaries ({len(page)} sessions)",
                )
                llm_task_queue = llm_task_queue or existing.llm_task_queue
                done = set() if request.force else set(existing.session_ids)
                plan.extend((session_id, session_id in done) for session_id in page)
            session_id, already_done = plan.popleft()
            if already_done:
                self._record(SessionOutcome(session_id=session_id, status="skipped"))
            return not already_done

        def next_run(cursor: int) -> SummarizeSessionsInput:
            return request.model_copy(
                update={
                    "session_ids": session_ids,
                    "cursor": cursor,
                    "counts": self._counts,
                    "failures": self._failures,
                    "history_lengths": self._window.history_lengths,
                }
            )

        try:
            # Children are started with the model's queue as the batch learned it so far.
            await self._window.run(
                session_ids,
                lambda session_id: self._summarize(request, session_id, llm_task_queue or None),
                limit=request.max_concurrency,
                cursor=request.cursor,
                admit=needs_summary,
                next_run=next_run,
                max_history_events=request.max_history_events,
            )
        except asyncio.CancelledError:
            # Children are shared with other batches and single requests: let them finish.
            self._set_status("cancelled")
            raise
        except Exception:
            self._set_status("failed")
            raise
        self._set_status("completed")
        return self.progress()

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
        summarized = SessionOutcome(session_id=session_id, status="summarized")
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
                        # Findable from its first moment, and one update fewer in the child.
                        search_attributes=TypedSearchAttributes(
                            [
                                SearchAttributePair(TEAM, request.team_id),
                                SearchAttributePair(SESSION, session_id),
                                SearchAttributePair(STATUS, "compiling"),
                            ]
                        ),
                        static_summary=f"Summarize session {session_id}",
                    )
                except WorkflowAlreadyStartedError:
                    outcome = await workflow.execute_activity_method(
                        BatchActivities.await_summary_workflow,
                        AwaitSummaryInput(workflow_id=workflow_id, session_id=session_id),
                        start_to_close_timeout=timedelta(hours=2),
                        heartbeat_timeout=timedelta(seconds=30),
                        retry_policy=JOIN_RETRY,
                        summary=f"join the running summary of {session_id}",
                    )
                    if outcome.status == "stale":
                        # It finished earlier with an older prompt version: summarize again.
                        reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE
                        continue
                    self._record(outcome)
                    return
                await handle
                self._record(summarized)
                return
            self._record(summarized)
        except (ChildWorkflowError, ActivityError) as error:
            error_type, message = failure_type(error, "workflow_failed")
            self._record(
                SessionOutcome(
                    session_id=session_id, status="failed", error_type=error_type, error=message
                )
            )
