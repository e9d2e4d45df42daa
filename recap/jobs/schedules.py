"""The Temporal Schedules of scheduled summarization and digests (client side): create,
list, pause and delete the schedules whose runs start `ScheduledSummariesWorkflow` or
`DigestWorkflow`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleListActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from recap.core.config import Settings
from recap.core.naming import DIGEST_WORKFLOW, SCHEDULED_WORKFLOW, scheduled_run_workflow_id
from recap.services.scheduled_run import ScheduledSummariesInput
from workflows.contracts import DigestInput
from workflows.search_attributes import TEAM


class ScheduleOptions(BaseModel):
    """How `recap schedule create` (or `create-digest`) sets up a schedule: when, and what
    each run gets: a summary run's request, or a digest run's."""

    schedule_id: str
    request: ScheduledSummariesInput | DigestInput
    every: timedelta | None = None
    cron: str | None = None
    paused: bool = False
    note: str | None = None


class ScheduleSummary(BaseModel):
    schedule_id: str
    kind: str = "summaries"
    paused: bool
    note: str | None
    next_runs: list[datetime]
    recent_runs: list[datetime]


def schedule_of(options: ScheduleOptions, settings: Settings) -> Schedule:
    if (options.every is None) == (options.cron is None):
        raise ValueError("give exactly one of an interval (--every) or a cron expression")
    spec = (
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=options.every)])
        if options.every is not None
        else ScheduleSpec(cron_expressions=[options.cron or ""])
    )
    digest = isinstance(options.request, DigestInput)
    team = options.request.team_id
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DIGEST_WORKFLOW if digest else SCHEDULED_WORKFLOW,
            options.request,
            id=scheduled_run_workflow_id(options.schedule_id),
            task_queue=settings.task_queue,
            typed_search_attributes=TypedSearchAttributes([SearchAttributePair(TEAM, team)]),
            static_summary=(
                f"Digest of the period's sessions for team {team}"
                if digest
                else f"Summarize new recordings for team {team}"
            ),
        ),
        spec=spec,
        # SKIP: a run that finds the previous one still going does nothing, and loses
        # nothing: the next run starts at the stored watermark, not at its own slot.
        # Missed runs (worker or server down) likewise fold into the next one, so there is
        # no catch-up storm either.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=10)
        ),
        state=ScheduleState(paused=options.paused, note=options.note),
    )


async def create_schedule(client: Client, settings: Settings, options: ScheduleOptions) -> str:
    handle = await client.create_schedule(options.schedule_id, schedule_of(options, settings))
    return handle.id


def schedule_handle(client: Client, schedule_id: str) -> ScheduleHandle:
    return client.get_schedule_handle(schedule_id)


async def list_summary_schedules(client: Client) -> list[ScheduleSummary]:
    """recap's summary schedules in the namespace (other schedules are left out)."""
    found: list[ScheduleSummary] = []
    async for entry in await client.list_schedules():
        schedule = entry.schedule
        if schedule is None:
            continue
        action: Any = schedule.action
        if not (
            isinstance(action, ScheduleListActionStartWorkflow)
            and action.workflow in (SCHEDULED_WORKFLOW, DIGEST_WORKFLOW)
        ):
            continue
        found.append(
            ScheduleSummary(
                schedule_id=entry.id,
                kind="digest" if action.workflow == DIGEST_WORKFLOW else "summaries",
                paused=schedule.state.paused,
                note=schedule.state.note,
                next_runs=list(entry.info.next_action_times) if entry.info else [],
                recent_runs=(
                    [action.started_at for action in entry.info.recent_actions]
                    if entry.info
                    else []
                ),
            )
        )
    return sorted(found, key=lambda s: s.schedule_id)
