"""FunnelReportWorkflow: where sessions drop off a funnel and why, stored as a report.

1. select the sessions (when the request gives a selection, not ids), with the pattern
   report's own selection activity;
2. summarize the missing ones in a batch (`SummarizeSessionsIndividuallyWorkflow`), and wait;
3. read what the source says of each session's device and viewport;
4. analyze the funnel, ask the model to explain each step's significant factors (on the
   model's queue), gate the answers and store the report.

Payloads carry session ids, step specs, the small metadata and counts; summaries and
timelines stay in the store and are read inside the last activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.details import literal
from workflows.retry_policies import LISTING_RETRY, MODEL_RETRY, SOURCE_RETRY
from workflows.search_attributes import STATUS, TEAM

with workflow.unsafe.imports_passed_through():
    from activities.funnel import (
        FunnelActivities,
        MakeFunnelReportInput,
        ReadFunnelMetadataInput,
    )
    from activities.report import (
        ReportActivities,
        SelectReportSessionsInput,
        UnsummarizedSession,
    )
    from recap.core.naming import report_batch_workflow_id
    from workflows.contracts import (
        FunnelReportInput,
        FunnelReportProgress,
        FunnelReportResult,
        FunnelStepName,
        SummarizeSessionsInput,
    )
    from workflows.summarize_missing import summarize_missing
    from workflows.summarize_missing import unsummarized as unsummarized_of


@workflow.defn(name="FunnelReportWorkflow")
class FunnelReportWorkflow:
    def __init__(self) -> None:
        self._progress = FunnelReportProgress(step="selecting")

    @workflow.query
    def progress(self) -> FunnelReportProgress:
        return self._progress.model_copy()

    def _step(self, step: FunnelStepName, details: str) -> None:
        self._progress.step = step
        workflow.set_current_details(details)
        workflow.upsert_search_attributes([STATUS.value_set(step)])

    @workflow.run
    async def run(self, request: FunnelReportInput) -> FunnelReportResult:
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        team, focus = request.team_id, request.focus_area
        session_ids = list(dict.fromkeys(request.session_ids))
        selection_record: dict[str, str] | None = None

        # 1. Select: the recordings that ended in the window, listed once at workflow time.
        if request.selection is not None and not session_ids:
            since = request.selection.since_seconds
            self._step("selecting", f"**Selecting** recordings that ended in the last {since} s")
            selected = await workflow.execute_activity_method(
                ReportActivities.select_report_sessions,
                SelectReportSessionsInput(
                    team_id=team,
                    source=request.source,
                    since_seconds=since,
                    filters=request.selection.filters,
                    max_sessions=request.selection.max_sessions,
                    now=workflow.now(),
                ),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=LISTING_RETRY,
                summary="list the recordings of the selection",
            )
            session_ids, selection_record = selected.session_ids, selected.selection
        selection_record = {**(selection_record or {}), "funnel": " → ".join(request.steps)}
        self._progress.sessions_total = len(session_ids)

        # 2. Summarize what is missing (outcome steps and the explanation need summaries).
        unsummarized: list[UnsummarizedSession] = []
        if session_ids:
            self._step("summarizing", f"**Summarizing** {len(session_ids)} sessions")
            batch = await summarize_missing(
                SummarizeSessionsInput(
                    team_id=team,
                    session_ids=session_ids,
                    focus_area=focus,
                    force=request.force,
                    max_concurrency=min(request.max_concurrency or 10, 1000),
                    source=request.source,
                    llm_task_queue=request.llm_task_queue,
                ),
                batch_id=report_batch_workflow_id(team, workflow.info().workflow_id),
                purpose="a funnel report",
            )
            self._progress.sessions_summarized = batch.summarized + batch.skipped
            self._progress.sessions_failed = batch.failed
            unsummarized = unsummarized_of(batch)

        # 3. Describe: device, browser, OS and viewport, as the source knows them.
        self._step("describing", f"**Reading** the metadata of {len(session_ids)} sessions")
        described = await workflow.execute_activity_method(
            FunnelActivities.read_funnel_metadata,
            ReadFunnelMetadataInput(team_id=team, source=request.source, session_ids=session_ids),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=SOURCE_RETRY,
            summary="read the sessions' device and viewport",
        )

        # 4. Analyze, explain (the model's queue), gate and store.
        self._step("explaining", "**Analyzing** the funnel and explaining its drop-offs")
        stored = await workflow.execute_activity_method(
            FunnelActivities.make_funnel_report,
            MakeFunnelReportInput(
                team_id=team,
                steps=request.steps,
                session_ids=session_ids,
                unsummarized=unsummarized,
                metadata=described.metadata,
                focus_area=focus,
                selection=selection_record,
                created_at=workflow.now(),
            ),
            task_queue=request.llm_task_queue or described.llm_task_queue,
            start_to_close_timeout=timedelta(minutes=20),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=MODEL_RETRY,
            summary="analyze, explain and store the funnel report",
        )
        self._progress.report_id = stored.report_id
        self._step(
            "done",
            f"**Stored** {literal(stored.report_id)}: {stored.factors} factors across "
            f"{stored.sessions_reported} sessions ({stored.not_reported} not reported)",
        )
        return FunnelReportResult(
            report_id=stored.report_id,
            sessions_reported=stored.sessions_reported,
            factors=stored.factors,
            not_reported=stored.not_reported,
        )
