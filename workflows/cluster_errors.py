"""ClusterErrorsWorkflow: groups a team's errors across sessions into named clusters.

1. list the team's sessions (when none are given, from the store by date range);
2. extract each session's errors, through the sliding window (continuing as new when
   history grows);
3. cluster all of the team's errors (ids survive re-runs);
4. name new or changed clusters with the model, bounded in count and concurrency;
5. store the names.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.retry_policies import NAMING_RETRY, SOURCE_RETRY, STORE_RETRY, TYPED_STORE_RETRY
from workflows.search_attributes import STATUS, TEAM
from workflows.sliding_window import SlidingWindow

with workflow.unsafe.imports_passed_through():
    from activities.clusters import (
        ClusterActivities,
        ClusterTeamErrorsInput,
        ExtractSessionErrorsInput,
        ListTeamSessionsInput,
        NamedCluster,
        NameErrorClusterInput,
        SaveClusterNamesInput,
    )
    from activities.failures import failure_type
    from workflows.contracts import (
        ClusterErrorsInput,
        ClusterProgress,
        ExtractionCounts,
        SessionFailure,
    )


@workflow.defn(name="ClusterErrorsWorkflow")
class ClusterErrorsWorkflow:
    def __init__(self) -> None:
        self._status = "starting"
        self._total = 0
        self._counts = ExtractionCounts()
        self._failures: list[SessionFailure] = []
        self._extracting = SlidingWindow(on_settled=self._show)
        self._cluster_ids: list[str] = []
        self._to_name = 0
        self._names: list[NamedCluster] = []
        self._naming_failed = 0
        self._naming = SlidingWindow(on_settled=self._show)

    @workflow.query
    def progress(self) -> ClusterProgress:
        counts = self._counts
        return ClusterProgress(
            status=self._status,
            total=self._total,
            done=counts.extracted + counts.failed,
            extracted=counts.extracted,
            failed=counts.failed,
            in_flight=len(self._extracting.in_flight),
            occurrences=counts.occurrences,
            compiled=counts.compiled,
            clusters=len(self._cluster_ids),
            to_name=self._to_name,
            named=len(self._names),
            naming_failed=self._naming_failed,
            cluster_ids=list(self._cluster_ids),
            failures=list(self._failures),
            history_lengths=list(self._extracting.history_lengths),
        )

    def _show(self) -> None:
        progress = self.progress()
        lines = [
            f"**{progress.status.capitalize()}**",
            f"- sessions: {progress.done}/{progress.total} ({progress.extracted} extracted, "
            f"{progress.failed} failed, {progress.in_flight} in flight)",
            f"- errors found: {progress.occurrences}",
        ]
        if progress.clusters or progress.status in ("naming", "completed"):
            lines.append(f"- clusters: {progress.clusters}")
        if progress.to_name:
            lines.append(
                f"- named: {progress.named}/{progress.to_name} "
                f"({progress.naming_failed} failed, {len(self._naming.in_flight)} in flight)"
            )
        workflow.set_current_details("\n".join(lines))

    def _set_status(self, status: str) -> None:
        self._status = status
        workflow.upsert_search_attributes([STATUS.value_set(status)])
        self._show()

    @workflow.run
    async def run(self, request: ClusterErrorsInput) -> ClusterProgress:
        self._counts = request.counts.model_copy()
        self._failures = list(request.failures)
        self._extracting.history_lengths = list(request.history_lengths)
        workflow.upsert_search_attributes([TEAM.value_set(request.team_id)])
        try:
            return await self._run(request)
        except asyncio.CancelledError:
            self._set_status("cancelled")
            raise
        except Exception:
            self._set_status("failed")
            raise

    async def _run(self, request: ClusterErrorsInput) -> ClusterProgress:
        llm_task_queue = request.llm_task_queue
        session_ids = request.session_ids
        if session_ids is None:
            self._set_status("listing")
            listed = await workflow.execute_activity_method(
                ClusterActivities.list_team_sessions,
                ListTeamSessionsInput(
                    team_id=request.team_id, date_from=request.date_from, date_to=request.date_to
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=STORE_RETRY,
                summary="list the team's stored sessions",
            )
            session_ids = listed.session_ids
            llm_task_queue = llm_task_queue or listed.llm_task_queue
        session_ids = list(dict.fromkeys(session_ids))
        self._total = len(session_ids)
        self._set_status("extracting")

        def next_run(cursor: int) -> ClusterErrorsInput:
            return request.model_copy(
                update={
                    "session_ids": session_ids,
                    "llm_task_queue": llm_task_queue,
                    "cursor": cursor,
                    "counts": self._counts,
                    "failures": self._failures,
                    "history_lengths": self._extracting.history_lengths,
                }
            )

        await self._extracting.run(
            session_ids,
            lambda session_id: self._extract(request, session_id),
            limit=request.max_concurrency,
            cursor=request.cursor,
            next_run=next_run,
            max_history_events=request.max_history_events,
        )

        self._set_status("clustering")
        clustered = await workflow.execute_activity_method(
            ClusterActivities.cluster_team_errors,
            ClusterTeamErrorsInput(team_id=request.team_id, session_ids=session_ids),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=SOURCE_RETRY,
            summary=f"cluster the errors of team {request.team_id}",
        )
        self._cluster_ids = clustered.cluster_ids
        llm_task_queue = llm_task_queue or clustered.llm_task_queue
        to_name = clustered.to_name[: request.max_named_clusters]
        self._to_name = len(to_name)

        if to_name:
            self._set_status("naming")
            await self._naming.run(
                to_name,
                lambda cluster_id: self._name(request, cluster_id, llm_task_queue),
                limit=request.name_concurrency,
            )

        if self._names:
            await workflow.execute_activity_method(
                ClusterActivities.save_cluster_names,
                SaveClusterNamesInput(team_id=request.team_id, names=self._names),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=TYPED_STORE_RETRY,
                summary=f"store {len(self._names)} cluster names",
            )
        self._set_status("completed")
        return self.progress()

    async def _extract(self, request: ClusterErrorsInput, session_id: str) -> None:
        try:
            extracted = await workflow.execute_activity_method(
                ClusterActivities.extract_session_errors,
                ExtractSessionErrorsInput(
                    team_id=request.team_id,
                    session_id=session_id,
                    source=request.source,
                    focus_area=request.focus_area,
                ),
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=SOURCE_RETRY,
                summary=f"extract the errors of {session_id}",
            )
        except ActivityError as error:
            error_type, message = failure_type(error, "activity_failed")
            self._counts.failed += 1
            self._failures.append(
                SessionFailure(session_id=session_id, error_type=error_type, error=message)
            )
        else:
            self._counts.extracted += 1
            self._counts.occurrences += extracted.occurrences
            self._counts.compiled += int(extracted.compiled)

    async def _name(
        self, request: ClusterErrorsInput, cluster_id: str, llm_task_queue: str | None
    ) -> None:
        try:
            named = await workflow.execute_activity_method(
                ClusterActivities.name_error_cluster,
                NameErrorClusterInput(
                    team_id=request.team_id, cluster_id=cluster_id, focus_area=request.focus_area
                ),
                task_queue=llm_task_queue,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=NAMING_RETRY,
                summary=f"name error cluster {cluster_id}",
            )
        except ActivityError:
            # The cluster keeps its earlier name (or none); the next run tries again.
            self._naming_failed += 1
        else:
            self._names.append(named)
