"""SummarizeSessionWorkflow: one recording in, one stored, grounded summary out.

1. fetch and compile the timeline;
2. summarize it with the model (on the model's own queue);
3. store the summary.

Fetch-compile and storing are local activities: the compile runs inside the run's first
workflow task, which then schedules the model call, and storing runs inside the workflow task
that receives the model's answer. A session costs two workflow tasks and one activity task
(the model call, on its own rate-limited queue), instead of four and three before issue 21,
and a batch that started the run with its search attributes set spares it one update. A
worker that dies while compiling loses its workflow task, which another worker takes up in
seconds (the workflow task timeout), compiling again: a local activity needs no heartbeat.
Runs that started before each change replay as they ran (`LOCAL_STORE`, `LOCAL_COMPILE`).

It runs outside Temporal's workflow sandbox: a batch starts one run per session, and the
sandbox's set-up of each run and its switch into the sandbox for every payload the worker
encodes or decodes were a third of the worker's CPU per session. What the sandbox would
catch stays out by other means: the module imports only pass-through contracts and
deterministic helpers (import-linter's "Workflows import no I/O" contract), and the replay
tests run recorded histories of every version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

# Deterministic constants and functions, passed through: a batch starts one run per
# session, and re-importing them into each run's sandbox was most of what starting it cost.
with workflow.unsafe.imports_passed_through():
    from activities.models import (
        CompileTimelineInput,
        StoreSummaryInput,
        SummarizeTimelineInput,
    )
    from activities.summary import SummaryActivities
    from workflows.contracts import SummarizeSessionInput, SummarizeSessionResult
    from workflows.details import literal
    from workflows.retry_policies import MODEL_RETRY, SOURCE_RETRY, STORE_RETRY
    from workflows.search_attributes import SESSION, STATUS, TEAM

# The patch that made storing a local activity and dropped the search attribute updates
# nobody could see (those a batch set at the start, and "storing").
LOCAL_STORE = "local-store"
# The patch that made fetch-compile a local activity too (it implies `LOCAL_STORE`).
LOCAL_COMPILE = "local-compile"

In = TypeVar("In")
Out = TypeVar("Out")


# Outside the sandbox: see the module's docstring.
@workflow.defn(name="SummarizeSessionWorkflow", sandboxed=False)
class SummarizeSessionWorkflow:
    def __init__(self) -> None:
        self._status = "starting"

    @workflow.query
    def status(self) -> str:
        return self._status

    def _set_status(self, status: str, details: str, *, upsert: bool = True) -> None:
        self._status = status
        workflow.set_current_details(details)
        if upsert:
            workflow.upsert_search_attributes([STATUS.value_set(status)])

    @workflow.run
    async def run(self, request: SummarizeSessionInput) -> SummarizeSessionResult:
        # A new run records one patch marker (one search attribute update), not two.
        local_compile = workflow.patched(LOCAL_COMPILE)
        local_store = local_compile or workflow.patched(LOCAL_STORE)
        session = literal(request.session_id)
        compiling = f"**Compiling** the timeline of {session}"
        found_by = [
            TEAM.value_set(request.team_id),
            SESSION.value_set(request.session_id),
            STATUS.value_set("compiling"),
        ]
        if local_store:
            # In one update, or none when the starter (a batch) set them all already.
            self._set_status("compiling", compiling, upsert=False)
            started_with = workflow.info().typed_search_attributes
            if any(started_with.get(each.key) != each.value for each in found_by):
                workflow.upsert_search_attributes(found_by)
        else:
            workflow.upsert_search_attributes(found_by[:2])
            self._set_status("compiling", compiling)
        try:
            to_compile = CompileTimelineInput(
                team_id=request.team_id,
                session_id=request.session_id,
                source=request.source,
                max_tokens=request.max_timeline_tokens,
            )
            compiled = await _on_this_worker(
                local_compile,
                SummaryActivities.compile_timeline,
                to_compile,
                start_to_close=timedelta(minutes=10),
                retry=SOURCE_RETRY,
                summary="fetch and compile timeline",
                heartbeat=timedelta(minutes=2),
            )

            self._set_status(
                "summarizing",
                f"**Summarizing** {compiled.events} events ({compiled.tokens} tokens)",
            )
            summary = await workflow.execute_activity_method(
                SummaryActivities.summarize_session,
                SummarizeTimelineInput(
                    team_id=request.team_id,
                    session_id=request.session_id,
                    timeline_hash=compiled.timeline_hash,
                    focus_area=request.focus_area,
                ),
                task_queue=request.llm_task_queue,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=MODEL_RETRY,
                summary="summarize with the model",
            )

            # Stored locally, the summary is in place before this workflow task ends: no
            # one could see "storing" in the search attributes.
            self._set_status(
                "storing",
                f"**Storing** summary: {literal(summary.title)}",
                upsert=not local_store,
            )
            stored = await _on_this_worker(
                local_store,
                SummaryActivities.store_summary,
                StoreSummaryInput(team_id=request.team_id, summary=summary),
                start_to_close=timedelta(minutes=1),
                retry=STORE_RETRY,
                summary="store summary",
            )
        except Exception:
            self._set_status("failed", f"**Failed** to summarize {session}")
            raise

        outcome = "succeeded" if summary.summary_outcome.success else "did not succeed"
        self._set_status("summarized", f"**Summarized**: {literal(summary.title)} (user {outcome})")
        return SummarizeSessionResult(workflow_id=workflow.info().workflow_id, stored=stored)


async def _on_this_worker(
    local: bool,
    method: Callable[[SummaryActivities, In], Out],
    request: In,
    *,
    start_to_close: timedelta,
    retry: RetryPolicy,
    summary: str,
    heartbeat: timedelta | None = None,
) -> Out:
    """Runs a main-queue step as a local activity (`local`), or as the activity task it was
    before its patch, with its `heartbeat` timeout (a local activity has none)."""
    if local:
        return await workflow.execute_local_activity_method(
            method,
            request,
            start_to_close_timeout=start_to_close,
            retry_policy=retry,
            summary=summary,
        )
    return await workflow.execute_activity_method(
        method,
        request,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=heartbeat,
        retry_policy=retry,
        summary=summary,
    )
