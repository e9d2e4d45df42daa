"""DigestWorkflow: one run of a digest schedule turns a period's sessions into a pattern
report and compares it with the previous period's.

1. report on the recordings that ended in the period (`PatternReportWorkflow`, by name);
2. compare with the schedule's previous digest and store this one;
3. hand the digest to the team's destinations (`DeliverWorkflow`), without waiting.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.details import literal

with workflow.unsafe.imports_passed_through():
    from activities.digest import DigestActivities
    from recap.core.naming import (
        REPORT_WORKFLOW,
        delivery_workflow_id,
        digest_report_workflow_id,
    )
    from workflows.contracts import (
        DeliverInput,
        DigestInput,
        DigestResult,
        MakeDigestInput,
        PatternReportInput,
        PatternReportResult,
        ReportSelection,
    )

DELIVER_WORKFLOW = "DeliverWorkflow"


@workflow.defn(name="DigestWorkflow")
class DigestWorkflow:
    @workflow.run
    async def run(self, request: DigestInput) -> DigestResult:
        period_end = workflow.now()
        period_start = period_end - timedelta(seconds=request.period_seconds)
        report_id = digest_report_workflow_id(request.team_id, request.schedule_id, period_end)
        workflow.set_current_details(f"**Reporting** on the period: {literal(report_id)}")
        report: PatternReportResult = await workflow.execute_child_workflow(
            REPORT_WORKFLOW,
            PatternReportInput(
                team_id=request.team_id,
                selection=ReportSelection(
                    since_seconds=request.period_seconds,
                    filters=request.filters,
                    max_sessions=request.max_sessions,
                ),
                focus_area=request.focus_area,
                source=request.source,
                llm_task_queue=request.llm_task_queue,
            ),
            id=report_id,
            result_type=PatternReportResult,
            static_summary="The period's pattern report",
        )

        workflow.set_current_details("**Comparing** with the previous period")
        digest = await workflow.execute_activity_method(
            DigestActivities.make_digest,
            MakeDigestInput(
                schedule_id=request.schedule_id,
                team_id=request.team_id,
                period_start=period_start,
                period_end=period_end,
                report_id=report.report_id,
            ),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                maximum_attempts=5, non_retryable_error_types=["report_missing"]
            ),
            summary="compare with the previous period and store the digest",
        )

        if request.deliver:
            delivery_id = delivery_workflow_id(request.team_id, digest.digest_id)
            workflow.set_current_details(f"**Delivering** {literal(digest.digest_id)}")
            # Delivery outlives this run (ABANDON): the digest is stored, whatever happens.
            with suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    DELIVER_WORKFLOW,
                    DeliverInput(
                        team_id=request.team_id, item_kind="digest", item_id=digest.digest_id
                    ),
                    id=delivery_id,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    static_summary=f"Deliver digest {digest.digest_id}",
                )
            digest.delivery_workflow_id = delivery_id
        workflow.set_current_details(
            f"**Stored** {literal(digest.digest_id)}"
            + (" (quiet: nothing new)" if digest.quiet else "")
        )
        return digest
