"""The activities of a scheduled summarization run: list the recordings that ended since
the schedule's watermark, and record the batch they were handed to.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from activities.errors import typed_errors
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.services.bootstrap import TeamSources
from recap.services.scheduled_run import ScheduledRecordings, ScheduledSummariesInput
from recap.services.selection import recordings_for_run
from recap.store.watermarks import Watermark, WatermarkStore

__all__ = [
    "ListScheduledRecordingsInput",
    "RecordScheduleHandoffInput",
    "ScheduleActivities",
    "ScheduledRecordings",
]

log = get_logger(__name__)


class ListScheduledRecordingsInput(BaseModel):
    request: ScheduledSummariesInput
    # The run's workflow time, so a replay or retry lists the same window.
    now: datetime


class RecordScheduleHandoffInput(BaseModel):
    schedule_id: str
    team_id: str
    window_end: datetime
    session_ids: list[str]
    batch_workflow_id: str | None


class ScheduleActivities:
    """Both run on the main queue, over the schedule's watermark store."""

    def __init__(
        self, settings: Settings, watermarks: WatermarkStore, sources: TeamSources
    ) -> None:
        self._settings = settings
        self._watermarks = watermarks
        self._sources = sources

    @activity.defn(name="list_scheduled_recordings")
    async def list_scheduled_recordings(
        self, request: ListScheduledRecordingsInput
    ) -> ScheduledRecordings:
        """The recordings that ended in [watermark, now - settle delay], minus those this
        schedule already handed to a batch, oldest first, at most `max_sessions_per_run`."""
        spec = request.request
        with typed_errors():
            listed = await recordings_for_run(
                spec, request.now, self._watermarks, self._settings, self._sources
            )
        log.info(
            "scheduled recordings listed",
            team_id=spec.team_id,
            schedule_id=spec.schedule_id,
            window_start=listed.window.start.isoformat(),
            window_end=listed.window.end.isoformat(),
            sessions=len(listed.session_ids),
            skipped_already_handed=listed.skipped_already_handed,
            truncated=listed.truncated,
        )
        return listed

    @activity.defn(name="record_schedule_handoff")
    def record_schedule_handoff(self, request: RecordScheduleHandoffInput) -> Watermark:
        """Remember which sessions went to which batch and advance the watermark, atomically."""
        with typed_errors():
            return self._watermarks.record_handoff(
                schedule_id=request.schedule_id,
                team_id=request.team_id,
                window_end=request.window_end,
                session_ids=request.session_ids,
                batch_workflow_id=request.batch_workflow_id,
            )
