"""Person journeys in Temporal (client side): start a journey, await it, follow its progress."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from recap.core.config import Settings
from recap.core.naming import journey_workflow_id
from recap.jobs.waiting import QUERY_TIMEOUT, answered, bounded_result
from workflows.contracts import PersonJourneyInput, PersonJourneyProgress, PersonJourneyResult


class JourneyFailed(Exception):
    """A journey's workflow failed (or there is no such job): `error_type` is the typed
    reason (`person_has_no_sessions`, `budget_exceeded`, `source_unavailable` …)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


async def start_journey(
    client: Client,
    settings: Settings,
    *,
    team_id: str,
    distinct_id: str,
    since_seconds: int,
    by_person_id: bool = False,
    source: str | None = None,
) -> str:
    """Starts a PersonJourneyWorkflow and returns its workflow id, stable per team, person
    and period: the same request while one runs attaches to it; after it ended, the same
    request builds the journey again (stored summaries are reused)."""
    from workflows.person_journey import PersonJourneyWorkflow

    workflow_id = journey_workflow_id(
        team_id, distinct_id, since_seconds, by_person_id=by_person_id
    )
    await client.start_workflow(
        PersonJourneyWorkflow.run,
        PersonJourneyInput(
            team_id=team_id,
            distinct_id=distinct_id,
            by_person_id=by_person_id,
            since_seconds=since_seconds,
            max_concurrency=settings.batch_max_concurrency,
            source=source,
            llm_task_queue=settings.llm_task_queue,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Journey of one person of team {team_id}",
    )
    return workflow_id


async def journey_result(
    client: Client, workflow_id: str, wait_seconds: float
) -> PersonJourneyResult | None:
    """The journey's result once it is stored, or None while it is still running after
    `wait_seconds` (it goes on running). Raises JourneyFailed when the workflow failed, was
    cancelled or terminated, or does not exist."""
    from workflows.person_journey import PersonJourneyWorkflow

    handle = client.get_workflow_handle_for(PersonJourneyWorkflow.run, workflow_id)
    return await bounded_result(
        handle.result(),
        wait_seconds,
        failed=JourneyFailed,
        failed_type="journey_failed",
        missing=("journey_not_found", f"there is no journey job {workflow_id}"),
    )


async def journey_progress(client: Client, workflow_id: str) -> PersonJourneyProgress | None:
    """The journey's step and counts, from its workflow's query; None when there is no such
    job (or Temporal cannot say)."""
    from workflows.person_journey import PersonJourneyWorkflow

    handle = client.get_workflow_handle_for(PersonJourneyWorkflow.run, workflow_id)
    return await answered(handle.query(PersonJourneyWorkflow.progress, rpc_timeout=QUERY_TIMEOUT))
