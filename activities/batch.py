"""Activities of a batch of session summaries: what the store already holds, and joining a
summary workflow that someone else started.

The worker's settings (prompt version, the model's task queue) are read here, because a
workflow cannot read the environment.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import WorkflowFailureError

from activities.errors import typed_errors
from activities.failures import failure_type
from activities.models import SummarizeSessionResult
from recap.core import metrics
from recap.core.config import get_settings
from recap.core.logging import get_logger
from recap.llm.prompts import load_prompt
from recap.store.repository import store_for

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


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


class SessionOutcome(BaseModel):
    session_id: str
    # "stale": the joined workflow had finished earlier, with an older prompt version.
    status: Literal["summarized", "skipped", "failed", "stale"]
    error_type: str | None = None
    error: str | None = None


@activity.defn(name="find_existing_summaries")
def find_existing_summaries(request: FindExistingSummariesInput) -> ExistingSummaries:
    settings = get_settings()
    prompt_version = load_prompt().version
    with typed_errors():
        found = store_for(settings.resolved_database_url).sessions_with_summary(
            team_id=request.team_id,
            session_ids=request.session_ids,
            focus_area=request.focus_area,
            prompt_version=prompt_version,
        )
    existing = [session_id for session_id in request.session_ids if session_id in found]
    metrics.summaries_reused(len(existing))
    return ExistingSummaries(
        session_ids=existing,
        prompt_version=prompt_version,
        llm_task_queue=settings.llm_task_queue,
    )


async def _heartbeat_forever() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


@activity.defn(name="await_summary_workflow")
async def await_summary_workflow(request: AwaitSummaryInput) -> SessionOutcome:
    """Waits for a summary workflow this batch did not start (another batch, or the CLI
    started it first), so a shared session costs one model call."""
    handle = activity.client().get_workflow_handle(
        request.workflow_id, result_type=SummarizeSessionResult
    )
    heartbeat = asyncio.create_task(_heartbeat_forever())
    try:
        result = await handle.result()
    except WorkflowFailureError as error:
        error_type, message = failure_type(error, "workflow_failed")
        metrics.summary_joined("failed")
        return SessionOutcome(
            session_id=request.session_id, status="failed", error_type=error_type, error=message
        )
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
    log.info("joined summary workflow", workflow_id=request.workflow_id)
    summary = result.stored.summary
    if summary is None or summary.run.prompt_version != load_prompt().version:
        metrics.summary_joined("stale")
        return SessionOutcome(session_id=request.session_id, status="stale")
    metrics.summary_joined("summarized")
    return SessionOutcome(session_id=request.session_id, status="summarized")


BATCH_ACTIVITIES = (find_existing_summaries, await_summary_workflow)
