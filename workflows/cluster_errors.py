"""ClusterErrorsWorkflow: groups a team's errors across sessions into named clusters.

1. list the team's sessions (when none are given, from the store by date range);
2. extract each session's errors, through a sliding window of in-flight activities
   (continuing as new when history grows);
3. cluster all of the team's errors (ids survive re-runs);
4. name new or changed clusters with the model, bounded in count and concurrency;
5. store the names.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError

from workflows.contracts import ClusterProgress, SessionFailure
from workflows.failures import failure_type

with workflow.unsafe.imports_passed_through():
    from activities.clusters import (
        ClusterTeamErrorsInput,
        ExtractSessionErrorsInput,
        ListTeamSessionsInput,
        NameErrorClusterInput,
        SaveClusterNamesInput,
        cluster_team_errors,
        extract_session_errors,
        list_team_sessions,
        name_error_cluster,
        save_cluster_names,
    )
    from activities.errors import NON_RETRYABLE_TYPES
    from recap.clustering.naming import NamedCluster
    from recap.core.naming import SEARCH_ATTRIBUTE_STATUS, SEARCH_ATTRIBUTE_TEAM

TEAM = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_TEAM)
STATUS = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS)


class ExtractionCounts(BaseModel):
    extracted: int = 0
    failed: int = 0
    occurrences: int = 0
    # Sessions whose recording was compiled here (the rest reused a stored timeline).
    compiled: int = 0


class ClusterErrorsInput(BaseModel):
    team_id: str
    # None: the team's sessions with a stored timeline or summary in [date_from, date_to).
    session_ids: list[str] | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    # Picks the summary that says whether a session failed, and steers the names.
    focus_area: str | None = None
    # "files:DIR" or "posthog" for sessions without a stored timeline; None: RECAP_SOURCE.
    source: str | None = None
    max_concurrency: int = Field(default=10, ge=1, le=1000)
    # At most this many model calls per run, for the most affected clusters first.
    max_named_clusters: int = Field(default=20, ge=0, le=1000)
    name_concurrency: int = Field(default=4, ge=1, le=100)
    # The model's task queue; None means the one the worker is configured with.
    llm_task_queue: str | None = None
    # Continue as new once this run's history is this long (lower it in tests).
    max_history_events: int = Field(default=8000, ge=10)

    # Carried over by continue-as-new: the next session to extract, what is done so far.
    cursor: int = Field(default=0, ge=0)
    counts: ExtractionCounts = Field(default_factory=ExtractionCounts)
    failures: list[SessionFailure] = Field(default_factory=list)
    history_lengths: list[int] = Field(default_factory=list)


@workflow.defn(name="ClusterErrorsWorkflow")
class ClusterErrorsWorkflow:
    def __init__(self) -> None:
        self._status = "starting"
        self._total = 0
        self._counts = ExtractionCounts()
        self._failures: list[SessionFailure] = []
        self._history_lengths: list[int] = []
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._cluster_ids: list[str] = []
        self._to_name = 0
        self._names: list[NamedCluster] = []
        self._naming_failed = 0
        self._naming: set[str] = set()

    @workflow.query
    def progress(self) -> ClusterProgress:
        counts = self._counts
        return ClusterProgress(
            status=self._status,
            total=self._total,
            done=counts.extracted + counts.failed,
            extracted=counts.extracted,
            failed=counts.failed,
            in_flight=len(self._in_flight),
            occurrences=counts.occurrences,
            compiled=counts.compiled,
            clusters=len(self._cluster_ids),
            to_name=self._to_name,
            named=len(self._names),
            naming_failed=self._naming_failed,
            cluster_ids=list(self._cluster_ids),
            failures=list(self._failures),
            history_lengths=list(self._history_lengths),
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
                f"({progress.naming_failed} failed, {len(self._naming)} in flight)"
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
        self._history_lengths = list(request.history_lengths)
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
            listed = await workflow.execute_activity(
                list_team_sessions,
                ListTeamSessionsInput(
                    team_id=request.team_id, date_from=request.date_from, date_to=request.date_to
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=30),
                    maximum_attempts=10,
                ),
                summary="list the team's stored sessions",
            )
            session_ids = listed.session_ids
            llm_task_queue = llm_task_queue or listed.llm_task_queue
        session_ids = list(dict.fromkeys(session_ids))
        self._total = len(session_ids)
        self._set_status("extracting")

        cursor = request.cursor
        while cursor < len(session_ids):
            if cursor > request.cursor and self._history_is_long(request):
                # Drain the window first, so the next run neither loses nor repeats a session.
                await workflow.wait_condition(lambda: not self._in_flight)
                self._history_lengths.append(workflow.info().get_current_history_length())
                workflow.continue_as_new(
                    request.model_copy(
                        update={
                            "session_ids": session_ids,
                            "llm_task_queue": llm_task_queue,
                            "cursor": cursor,
                            "counts": self._counts,
                            "failures": self._failures,
                            "history_lengths": self._history_lengths,
                        }
                    )
                )
            await workflow.wait_condition(lambda: len(self._in_flight) < request.max_concurrency)
            session_id = session_ids[cursor]
            cursor += 1
            self._in_flight.add(session_id)
            task = asyncio.create_task(self._extract(request, session_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await workflow.wait_condition(lambda: not self._in_flight)

        self._set_status("clustering")
        clustered = await workflow.execute_activity(
            cluster_team_errors,
            ClusterTeamErrorsInput(team_id=request.team_id, session_ids=session_ids),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=2),
                maximum_interval=timedelta(minutes=1),
                maximum_attempts=5,
                non_retryable_error_types=list(NON_RETRYABLE_TYPES),
            ),
            summary=f"cluster the errors of team {request.team_id}",
        )
        self._cluster_ids = clustered.cluster_ids
        llm_task_queue = llm_task_queue or clustered.llm_task_queue
        to_name = clustered.to_name[: request.max_named_clusters]
        self._to_name = len(to_name)

        if to_name:
            self._set_status("naming")
            for cluster_id in to_name:
                await workflow.wait_condition(lambda: len(self._naming) < request.name_concurrency)
                self._naming.add(cluster_id)
                task = asyncio.create_task(self._name(request, cluster_id, llm_task_queue))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await workflow.wait_condition(lambda: not self._naming)

        if self._names:
            await workflow.execute_activity(
                save_cluster_names,
                SaveClusterNamesInput(team_id=request.team_id, names=self._names),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=30),
                    maximum_attempts=10,
                    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
                ),
                summary=f"store {len(self._names)} cluster names",
            )
        self._set_status("completed")
        return self.progress()

    def _history_is_long(self, request: ClusterErrorsInput) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= request.max_history_events
            or info.is_continue_as_new_suggested()
        )

    async def _extract(self, request: ClusterErrorsInput, session_id: str) -> None:
        try:
            extracted = await workflow.execute_activity(
                extract_session_errors,
                ExtractSessionErrorsInput(
                    team_id=request.team_id,
                    session_id=session_id,
                    source=request.source,
                    focus_area=request.focus_area,
                ),
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=2),
                    maximum_interval=timedelta(minutes=1),
                    maximum_attempts=5,
                    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
                ),
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
        finally:
            self._in_flight.discard(session_id)
            self._show()

    async def _name(
        self, request: ClusterErrorsInput, cluster_id: str, llm_task_queue: str | None
    ) -> None:
        try:
            named = await workflow.execute_activity(
                name_error_cluster,
                NameErrorClusterInput(
                    team_id=request.team_id, cluster_id=cluster_id, focus_area=request.focus_area
                ),
                task_queue=llm_task_queue,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=2),
                    maximum_attempts=4,
                    non_retryable_error_types=[*NON_RETRYABLE_TYPES, "cluster_missing"],
                ),
                summary=f"name error cluster {cluster_id}",
            )
        except ActivityError:
            # The cluster keeps its earlier name (or none); the next run tries again.
            self._naming_failed += 1
        else:
            self._names.append(named)
        finally:
            self._naming.discard(cluster_id)
            self._show()
