"""ScheduledSummariesWorkflow: one run of a summary schedule hands the recordings that
ended since the schedule's watermark to a batch, then advances the watermark."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.errors import NON_RETRYABLE_TYPES
    from activities.schedule import (
        ListScheduledRecordingsInput,
        RecordScheduleHandoffInput,
        list_scheduled_recordings,
        record_schedule_handoff,
    )
    from recap.core.naming import BATCH_WORKFLOW, scheduled_batch_workflow_id
    from workflows.contracts import (
        ScheduledSummariesInput,
        ScheduledSummariesResult,
        SummarizeBatchRequest,
    )


@workflow.defn(name="ScheduledSummariesWorkflow")
class ScheduledSummariesWorkflow:
    @workflow.run
    async def run(self, request: ScheduledSummariesInput) -> ScheduledSummariesResult:
        workflow.set_current_details("**Listing** recordings that ended since the watermark")
        listed = await workflow.execute_activity(
            list_scheduled_recordings,
            ListScheduledRecordingsInput(request=request, now=workflow.now()),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=5),
                maximum_interval=timedelta(minutes=1),
                maximum_attempts=5,
                non_retryable_error_types=list(NON_RETRYABLE_TYPES),
            ),
            summary="list recordings since the watermark",
        )

        batch_id: str | None = None
        if listed.session_ids:
            batch_id = scheduled_batch_workflow_id(
                request.schedule_id, listed.window.start, listed.window.end
            )
            workflow.set_current_details(
                f"**Starting** a batch of {len(listed.session_ids)} sessions: `{batch_id}`"
            )
            # A window's batch that already exists has these sessions: attach, start nothing.
            with suppress(WorkflowAlreadyStartedError):
                # The batch outlives this run (ABANDON): runs stay short, so the schedule's
                # SKIP policy only skips a slot while a listing is in progress.
                await workflow.start_child_workflow(
                    BATCH_WORKFLOW,
                    SummarizeBatchRequest(
                        team_id=request.team_id,
                        session_ids=listed.session_ids,
                        focus_area=request.focus_area,
                        max_concurrency=request.max_concurrency,
                        source=request.source,
                    ),
                    id=batch_id,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    static_summary=f"Scheduled batch of {len(listed.session_ids)} sessions",
                )

        workflow.set_current_details("**Advancing** the watermark")
        await workflow.execute_activity(
            record_schedule_handoff,
            RecordScheduleHandoffInput(
                schedule_id=request.schedule_id,
                team_id=request.team_id,
                window_end=listed.window.end,
                session_ids=listed.session_ids,
                batch_workflow_id=batch_id,
            ),
            start_to_close_timeout=timedelta(minutes=1),
            # The batch has started: keep trying, or its sessions would be handed again.
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
            ),
            summary="record the batch and advance the watermark",
        )
        workflow.set_current_details(
            f"**Handed** {len(listed.session_ids)} sessions to `{batch_id}`"
            if batch_id
            else "**Nothing new** since the watermark"
        )
        return ScheduledSummariesResult(
            window_start=listed.window.start,
            window_end=listed.window.end,
            session_ids=listed.session_ids,
            batch_workflow_id=batch_id,
            skipped_already_handed=listed.skipped_already_handed,
            truncated=listed.truncated,
        )
