"""The activities of a scheduled summarization run: list the recordings that ended since
the schedule's watermark, and record the batch they were handed to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import typed_errors
from recap.core.config import get_settings
from recap.core.logging import get_logger
from recap.services.scheduled_run import RecordingWindow, ScheduledSummariesInput
from recap.services.selection import list_ended_recordings
from recap.store.watermarks import Watermark, watermarks_for

log = get_logger(__name__)


class ListScheduledRecordingsInput(BaseModel):
    request: ScheduledSummariesInput
    # The run's workflow time, so a replay or retry lists the same window.
    now: datetime


class ScheduledRecordings(BaseModel):
    window: RecordingWindow
    session_ids: list[str]
    skipped_already_handed: int = 0
    truncated: bool = False


class RecordScheduleHandoffInput(BaseModel):
    schedule_id: str
    team_id: str
    window_end: datetime
    session_ids: list[str]
    batch_workflow_id: str | None


@activity.defn(name="list_scheduled_recordings")
async def list_scheduled_recordings(request: ListScheduledRecordingsInput) -> ScheduledRecordings:
    """The recordings that ended in [watermark, now - settle delay], minus those this
    schedule already handed to a batch, oldest first, at most `max_sessions_per_run`."""
    settings = get_settings()
    spec = request.request
    watermarks = watermarks_for(settings.resolved_database_url)
    with typed_errors():
        stored = watermarks.get(spec.schedule_id)
        end = request.now - timedelta(seconds=spec.settle_delay_seconds)
        start = (
            stored.watermark
            if stored is not None
            else end - timedelta(seconds=spec.initial_lookback_seconds)
        )
        window = RecordingWindow(start=start, end=max(start, end))
        try:
            ended = await list_ended_recordings(
                spec.source or settings.source, window, spec.filters, settings
            )
        except (ValueError, FileNotFoundError) as error:
            raise ApplicationError(
                str(error), type="source_unavailable", non_retryable=True
            ) from error
        handed = watermarks.already_handed(spec.schedule_id, (r.session_id for r in ended))
        fresh = [r for r in ended if r.session_id not in handed]
        truncated = len(fresh) > spec.max_sessions_per_run
        if truncated:
            fresh = fresh[: spec.max_sessions_per_run]
            # The rest ended later: the watermark stops at the last one handed, inclusive,
            # and the handoff table keeps that one from being handed again.
            window = RecordingWindow(start=window.start, end=fresh[-1].end_time)
    log.info(
        "scheduled recordings listed",
        team_id=spec.team_id,
        schedule_id=spec.schedule_id,
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        sessions=len(fresh),
        skipped_already_handed=len(handed),
        truncated=truncated,
    )
    return ScheduledRecordings(
        window=window,
        session_ids=[r.session_id for r in fresh],
        skipped_already_handed=len(handed),
        truncated=truncated,
    )


@activity.defn(name="record_schedule_handoff")
def record_schedule_handoff(request: RecordScheduleHandoffInput) -> Watermark:
    """Remember which sessions went to which batch and advance the watermark, atomically."""
    settings = get_settings()
    with typed_errors():
        return watermarks_for(settings.resolved_database_url).record_handoff(
            schedule_id=request.schedule_id,
            team_id=request.team_id,
            window_end=request.window_end,
            session_ids=request.session_ids,
            batch_workflow_id=request.batch_workflow_id,
        )


SCHEDULE_ACTIVITIES = (list_scheduled_recordings, record_schedule_handoff)
