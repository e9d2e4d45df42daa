"""What one run of a summary schedule is asked to do: the schedule's request, its filters,
the window of recording end times it covers, and the recordings it hands on. Plain models
(no I/O), so the scheduled workflow, its activities and `recap schedule` share them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RecordingFilters(BaseModel):
    """Which recordings a schedule summarizes. Unset filters keep everything."""

    min_duration_seconds: float | None = Field(default=None, ge=0)
    min_console_errors: int | None = Field(default=None, ge=1)
    # A saved PostHog playlist's short id: only its recordings (PostHog source only).
    playlist: str | None = None


class ScheduledSummariesInput(BaseModel):
    """What each run of a summary schedule gets; the same for every run."""

    schedule_id: str
    team_id: str
    source: str | None = None
    filters: RecordingFilters = Field(default_factory=RecordingFilters)
    focus_area: str | None = None
    max_concurrency: int = Field(default=4, ge=1, le=100)
    # Recordings that ended in the last `settle_delay` may still be ingesting: leave them
    # for the next run.
    settle_delay_seconds: float = Field(default=300.0, ge=0)
    # Where the first run starts, before any watermark exists.
    initial_lookback_seconds: float = Field(default=3600.0, ge=0)
    # At most this many sessions per batch; the rest wait for the next run.
    max_sessions_per_run: int = Field(default=500, ge=1, le=5000)


class RecordingWindow(BaseModel):
    """The end times a run covers, both bounds inclusive."""

    start: datetime
    end: datetime


class EndedRecording(BaseModel):
    session_id: str
    end_time: datetime


class ScheduledRecordings(BaseModel):
    """The recordings one run hands to a batch, and the window they ended in."""

    window: RecordingWindow
    session_ids: list[str]
    skipped_already_handed: int = 0
    truncated: bool = False
