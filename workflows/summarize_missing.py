"""Summarizing the sessions a cross-session workflow reads (a pattern report, a funnel
report, a person's journey) before it reads them: one batch child workflow, which skips
stored summaries (unless forced) and joins those others are writing.

Deterministic: one `execute_child_workflow`, its arguments from the caller.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.report import UnsummarizedSession
    from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
    from workflows.contracts import BatchProgress, SummarizeSessionsInput


async def summarize_missing(
    request: SummarizeSessionsInput, *, batch_id: str, purpose: str
) -> BatchProgress:
    """Runs the batch over `request`'s sessions as a child (`batch_id`) and waits for it.
    Cancelled with its parent; the summaries it started finish (ABANDON in the batch)."""
    return await workflow.execute_child_workflow(
        SummarizeSessionsIndividuallyWorkflow.run,
        request,
        id=batch_id,
        parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        static_summary=f"Summarize {len(request.session_ids)} sessions for {purpose}",
    )


def unsummarized(batch: BatchProgress) -> list[UnsummarizedSession]:
    """The sessions the batch could not summarize, with their typed reasons."""
    return [
        UnsummarizedSession(session_id=f.session_id, error_type=f.error_type, error=f.error)
        for f in batch.failures
    ]
