"""ScheduledSummariesWorkflow: one run of a summary schedule hands the recordings that
ended since the schedule's watermark to a batch, then advances the watermark.

1. list the recordings that ended since the watermark;
2. start their batch (`SummarizeSessionsIndividuallyWorkflow`, by name), stable per window;
3. record the handoff and advance the watermark.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.details import literal
from workflows.retry_policies import HANDOFF_RETRY, LISTING_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.schedule import (
        ListScheduledRecordingsInput,
        RecordScheduleHandoffInput,
        ScheduleActivities,
    )
    from recap.core.naming import BATCH_WORKFLOW, scheduled_batch_workflow_id
    from workflows.contracts import (
        ScheduledSummariesInput,
        ScheduledSummariesResult,
        SummarizeSessionsInput,
    )


@workflow.defn(name="ScheduledSummariesWorkflow")
class ScheduledSummariesWorkflow:
    @workflow.run
    async def run(self, request: ScheduledSummariesInput) -> ScheduledSummariesResult:
        workflow.set_current_details("**Listing** recordings that ended since the watermark")
        listed = await workflow.execute_activity_method(
            ScheduleActivities.list_scheduled_recordings,
            ListScheduledRecordingsInput(request=request, now=workflow.now()),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=LISTING_RETRY,
            summary="list recordings since the watermark",
        )

        batch_id: str | None = None
        if listed.session_ids:
            batch_id = scheduled_batch_workflow_id(
                request.schedule_id, listed.window.start, listed.window.end
            )
            workflow.set_current_details(
                f"**Starting** a batch of {len(listed.session_ids)} sessions: {literal(batch_id)}"
            )
            # A window's batch that already exists has these sessions: attach, start nothing.
            with suppress(WorkflowAlreadyStartedError):
                # The batch outlives this run (ABANDON): runs stay short, so the schedule's
                # SKIP policy only skips a slot while a listing is in progress. Started by
                # name, so this module does not import the batch workflow.
                await workflow.start_child_workflow(
                    BATCH_WORKFLOW,
                    SummarizeSessionsInput(
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
        await workflow.execute_activity_method(
            ScheduleActivities.record_schedule_handoff,
            RecordScheduleHandoffInput(
                schedule_id=request.schedule_id,
                team_id=request.team_id,
                window_end=listed.window.end,
                session_ids=listed.session_ids,
                batch_workflow_id=batch_id,
            ),
            start_to_close_timeout=timedelta(minutes=1),
            # The batch has started: keep trying, or its sessions would be handed again.
            retry_policy=HANDOFF_RETRY,
            summary="record the batch and advance the watermark",
        )
        workflow.set_current_details(
            f"**Handed** {len(listed.session_ids)} sessions to {literal(batch_id)}"
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
