"""Activities of a batch of session summaries: what the store already holds, and joining a
summary workflow that someone else started.

The worker's settings (the model's task queue) and the prompt version are read here,
because a workflow cannot read the environment or files.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import WorkflowFailureError

from activities.errors import typed_errors
from activities.failures import failure_type
from activities.heartbeat import heartbeating
from activities.models import SessionOutcome, SummarizeSessionResult
from recap.core import metrics
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.services.summary import current_prompt_version, summarized_sessions
from recap.store.repository import SummaryStore

log = get_logger(__name__)


class FindExistingSummariesInput(BaseModel):
    team_id: str
    session_ids: list[str]
    focus_area: str | None = None


class ExistingSummaries(BaseModel):
    session_ids: list[str]
    prompt_version: str
    # The worker's configured model queue, for batches whose starter did not name one.
    llm_task_queue: str


class AwaitSummaryInput(BaseModel):
    workflow_id: str
    session_id: str


class BatchActivities:
    """Both run on the main queue; joining waits without a thread."""

    def __init__(self, settings: Settings, store: SummaryStore) -> None:
        self._settings = settings
        self._store = store

    @activity.defn(name="find_existing_summaries")
    def find_existing_summaries(self, request: FindExistingSummariesInput) -> ExistingSummaries:
        prompt_version = current_prompt_version()
        with typed_errors():
            existing = summarized_sessions(
                self._store,
                team_id=request.team_id,
                session_ids=request.session_ids,
                focus_area=request.focus_area,
                prompt_version=prompt_version,
            )
        metrics.summaries_reused(len(existing))
        return ExistingSummaries(
            session_ids=existing,
            prompt_version=prompt_version,
            llm_task_queue=self._settings.llm_task_queue,
        )

    @activity.defn(name="await_summary_workflow")
    async def await_summary_workflow(self, request: AwaitSummaryInput) -> SessionOutcome:
        """Waits for a summary workflow this batch did not start (another batch, or the CLI
        started it first), so a shared session costs one model call."""
        handle = activity.client().get_workflow_handle(
            request.workflow_id, result_type=SummarizeSessionResult
        )
        joined = SessionOutcome(
            session_id=request.session_id, status="summarized", workflow_id=request.workflow_id
        )
        try:
            async with heartbeating():
                result = await handle.result()
        except WorkflowFailureError as error:
            error_type, message = failure_type(error, "workflow_failed")
            metrics.summary_joined("failed")
            return joined.model_copy(
                update={"status": "failed", "error_type": error_type, "error": message}
            )
        log.info("joined summary workflow", workflow_id=request.workflow_id)
        summary = result.stored.summary
        if summary is None or summary.run.prompt_version != current_prompt_version():
            metrics.summary_joined("stale")
            return joined.model_copy(update={"status": "stale"})
        metrics.summary_joined("summarized")
        return joined
