"""Scheduled summarization: the watermark store, the listing activity, and a real Temporal
Schedule triggered twice on the dev server, with a stand-in batch workflow that records
which sessions it was handed."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy import inspect
from temporalio import workflow
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleOverlapPolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.schedule import ListScheduledRecordingsInput
from recap.cli.options import duration_option
from recap.core.config import Settings, get_settings
from recap.jobs.schedules import ScheduleOptions, create_schedule, list_summary_schedules
from recap.services.scheduled_run import (
    RecordingFilters,
    RecordingWindow,
    ScheduledSummariesInput,
)
from recap.services.selection import list_directory_recordings, list_posthog_recordings
from recap.sources.posthog import PostHogClient, PostHogConfig
from recap.store.repository import SummaryStore, store_for
from recap.store.watermarks import WatermarkStore, watermarks_for
from tests.support.posthog_double import posthog_double
from tests.support.recordings import CHALK, CHALK_SESSIONS
from tests.support.temporal import running_worker
from worker import build_activities
from workflows.contracts import DigestInput, ScheduledSummariesResult, SummarizeSessionsInput
from workflows.scheduled_summaries import ScheduledSummariesWorkflow

A, B, C = CHALK_SESSIONS
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# run id -> (batch workflow id, session ids): what the stand-in batch was handed.
HANDED: dict[str, tuple[str, list[str]]] = {}


@workflow.defn(name="SummarizeSessionsIndividuallyWorkflow", sandboxed=False)
class StandInBatchWorkflow:
    """Takes the batch's place: remembers its sessions and summarizes nothing."""

    @workflow.run
    async def run(self, request: SummarizeSessionsInput) -> None:
        info = workflow.info()
        HANDED[info.run_id] = (info.workflow_id, list(request.session_ids))


def add_recording(directory: Path, session_id: str, ended: datetime | None = None) -> Path:
    target = directory / f"{session_id}.json"
    shutil.copyfile(CHALK / f"{session_id}.json", target)
    if ended is not None:
        os.utime(target, (ended.timestamp(), ended.timestamp()))
    return target


# -- the watermark store ---------------------------------------------------------------


def test_watermark_store_advances_once_and_never_backwards(tmp_path: Path) -> None:
    store = SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}")
    watermarks = WatermarkStore(store)
    assert watermarks.get("nightly") is None
    assert {"schedule_watermarks", "schedule_handoffs"} <= set(
        inspect(store.engine).get_table_names()
    )

    first = watermarks.record_handoff(
        schedule_id="nightly",
        team_id="t1",
        window_end=T0,
        session_ids=["s1", "s2"],
        batch_workflow_id="batch-1",
    )
    assert first.watermark == T0 and first.sessions_handed == 2
    assert watermarks.already_handed("nightly", ["s1", "s3"]) == {"s1"}
    assert watermarks.already_handed("other", ["s1"]) == set()

    # An activity retry changes nothing; an older window end never moves the mark back.
    again = watermarks.record_handoff(
        schedule_id="nightly",
        team_id="t1",
        window_end=T0 - timedelta(hours=1),
        session_ids=["s1", "s2"],
        batch_workflow_id="batch-1",
    )
    assert again.watermark == T0 and again.sessions_handed == 2

    # A run with nothing new still advances the mark, and keeps the last batch id.
    empty = watermarks.record_handoff(
        schedule_id="nightly",
        team_id="t1",
        window_end=T0 + timedelta(minutes=5),
        session_ids=[],
        batch_workflow_id=None,
    )
    assert empty.watermark == T0 + timedelta(minutes=5)
    assert empty.last_batch_workflow_id == "batch-1"

    watermarks.forget("nightly")
    assert watermarks.get("nightly") is None
    assert watermarks.already_handed("nightly", ["s1"]) == set()


# -- listing ---------------------------------------------------------------------------


def test_directory_listing_uses_file_times_and_filters(tmp_path: Path) -> None:
    add_recording(tmp_path, A, T0 - timedelta(hours=3))
    add_recording(tmp_path, B, T0 - timedelta(minutes=30))
    add_recording(tmp_path, C, T0 - timedelta(minutes=20))
    window = RecordingWindow(start=T0 - timedelta(hours=1), end=T0 - timedelta(minutes=20))

    listed = list_directory_recordings(tmp_path, window, RecordingFilters())
    assert [r.session_id for r in listed] == [B, C]  # oldest end first, both bounds inclusive
    assert listed[0].end_time == T0 - timedelta(minutes=30)

    long_only = list_directory_recordings(
        tmp_path, window, RecordingFilters(min_duration_seconds=10**7)
    )
    assert long_only == []
    with pytest.raises(ValueError, match="playlists exist only in PostHog"):
        list_directory_recordings(tmp_path, window, RecordingFilters(playlist="AbC123xy"))


async def test_posthog_listing_by_end_time_duration_and_console_errors() -> None:
    with posthog_double() as double:
        served = {sid: double.add_file(CHALK / f"{sid}.json", sid) for sid in CHALK_SESSIONS}
        rows = {sid: recording.metadata() for sid, recording in served.items()}
        ends = {sid: datetime.fromisoformat(row["end_time"]) for sid, row in rows.items()}
        window = RecordingWindow(
            start=min(ends.values()) - timedelta(seconds=1), end=max(ends.values())
        )
        config = PostHogConfig(
            host=double.base_url, project_id=double.project_id, api_key=SecretStr(double.api_key)
        )
        async with PostHogClient(config) as client:
            everything = await list_posthog_recordings(client, window, RecordingFilters())
            shortest = min(rows.values(), key=lambda row: row["recording_duration"])
            longer = await list_posthog_recordings(
                client,
                window,
                RecordingFilters(min_duration_seconds=shortest["recording_duration"] + 1),
            )
            with_errors = await list_posthog_recordings(
                client, window, RecordingFilters(min_console_errors=1)
            )
            double.add_playlist("AbC123xy", [A])
            playlist = await list_posthog_recordings(
                client, window, RecordingFilters(playlist="AbC123xy")
            )
            earlier = await list_posthog_recordings(
                client,
                RecordingWindow(start=window.start, end=window.start),
                RecordingFilters(),
            )

    assert [r.session_id for r in everything] == sorted(CHALK_SESSIONS, key=lambda s: ends[s])
    assert {r.session_id for r in longer} == {
        sid
        for sid, row in rows.items()
        if row["recording_duration"] > shortest["recording_duration"]
    }
    assert {r.session_id for r in with_errors} == {
        sid for sid, row in rows.items() if row["console_error_count"] >= 1
    }
    assert [r.session_id for r in playlist] == [A]
    assert earlier == []
    listing = [r for r in double.requests if r.path.endswith("/session_recordings/")]
    assert listing and all("date_from" in r.query and "date_to" in r.query for r in listing)


async def test_listing_activity_starts_at_the_watermark_and_skips_handed_sessions(
    tmp_path: Path, settings: Settings
) -> None:
    schedule_id = f"listing-{uuid.uuid4().hex[:8]}"
    add_recording(tmp_path, A, T0 - timedelta(hours=2))
    add_recording(tmp_path, B, T0 - timedelta(minutes=40))
    add_recording(tmp_path, C, T0 - timedelta(minutes=1))  # not settled yet
    request = ScheduledSummariesInput(
        schedule_id=schedule_id,
        team_id="t1",
        source=f"files:{tmp_path}",
        settle_delay_seconds=300,
        initial_lookback_seconds=3600,
    )
    env = ActivityEnvironment()
    list_scheduled_recordings = build_activities(settings).schedule.list_scheduled_recordings

    first = await env.run(
        list_scheduled_recordings, ListScheduledRecordingsInput(request=request, now=T0)
    )
    assert first.session_ids == [B]
    assert first.window == RecordingWindow(
        start=T0 - timedelta(minutes=65), end=T0 - timedelta(minutes=5)
    )

    watermarks = watermarks_for(settings.resolved_database_url)
    watermarks.record_handoff(
        schedule_id=schedule_id,
        team_id="t1",
        window_end=first.window.end,
        session_ids=first.session_ids,
        batch_workflow_id="batch-1",
    )
    # B is written again (an export refreshed): it is in the window, but already handed.
    add_recording(tmp_path, B, T0)
    later = T0 + timedelta(minutes=10)
    second = await env.run(
        list_scheduled_recordings, ListScheduledRecordingsInput(request=request, now=later)
    )
    assert second.window.start == T0 - timedelta(minutes=5)
    assert second.session_ids == [C]
    assert second.skipped_already_handed == 1

    # A run capped at one session stops its window at that session's end.
    capped = request.model_copy(update={"max_sessions_per_run": 1, "schedule_id": "cap"})
    add_recording(tmp_path, A, T0 - timedelta(minutes=50))
    third = await env.run(
        list_scheduled_recordings, ListScheduledRecordingsInput(request=capped, now=later)
    )
    assert third.session_ids == [A] and third.truncated
    assert third.window.end == T0 - timedelta(minutes=50)

    missing = request.model_copy(update={"source": f"files:{tmp_path / 'nope'}"})
    with pytest.raises(ApplicationError) as raised:
        await env.run(
            list_scheduled_recordings, ListScheduledRecordingsInput(request=missing, now=T0)
        )
    assert raised.value.type == "source_unavailable" and raised.value.non_retryable


# -- a real schedule -------------------------------------------------------------------


@asynccontextmanager
async def schedule_worker(client: Client, task_queue: str) -> AsyncIterator[Worker]:
    schedule = build_activities(get_settings()).schedule
    async with running_worker(
        client,
        queue=task_queue,
        workflows=[ScheduledSummariesWorkflow, StandInBatchWorkflow],
        activities=[schedule.list_scheduled_recordings, schedule.record_schedule_handoff],
    ) as worker:
        yield worker


async def run_once(
    client: Client, handle: ScheduleHandle, runs_before: int
) -> ScheduledSummariesResult:
    """Trigger the schedule and wait for that run's result (trigger() is asynchronous)."""
    await handle.trigger()
    deadline = time.monotonic() + 30
    while True:
        actions = (await handle.describe()).info.recent_actions
        if len(actions) > runs_before:
            break
        assert time.monotonic() < deadline, "the triggered run did not start"
        await asyncio.sleep(0.2)
    started = actions[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    result: ScheduledSummariesResult = await client.get_workflow_handle(
        started.workflow_id,
        run_id=started.first_execution_run_id,
        result_type=ScheduledSummariesResult,
    ).result()
    return result


async def handed_batches(batch_ids: set[str]) -> list[tuple[str, list[str]]]:
    deadline = time.monotonic() + 30
    while {wid for wid, _ in HANDED.values()} < batch_ids:
        assert time.monotonic() < deadline, "the batches did not run"
        await asyncio.sleep(0.1)
    return [entry for entry in HANDED.values() if entry[0] in batch_ids]


@pytest.fixture
def recordings(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "recordings"
    directory.mkdir()
    yield directory


async def test_triggered_schedule_hands_each_recording_to_a_batch_exactly_once(
    temporal_client: Client, settings: Settings, recordings: Path
) -> None:
    task_queue = f"schedules-{uuid.uuid4()}"
    schedule_id = f"test-{uuid.uuid4().hex[:8]}"
    worker_settings = settings.model_copy(update={"task_queue": task_queue})
    options = ScheduleOptions(
        schedule_id=schedule_id,
        every=timedelta(days=365),
        paused=True,
        request=ScheduledSummariesInput(
            schedule_id=schedule_id,
            team_id="team-sched",
            source=f"files:{recordings}",
            settle_delay_seconds=0,
            initial_lookback_seconds=3600,
        ),
    )
    add_recording(recordings, A, datetime.now(UTC) - timedelta(minutes=2))
    add_recording(recordings, B, datetime.now(UTC) - timedelta(minutes=1))

    async with schedule_worker(temporal_client, task_queue):
        await create_schedule(temporal_client, worker_settings, options)
        handle = temporal_client.get_schedule_handle(schedule_id)
        try:
            first = await run_once(temporal_client, handle, 0)
            assert first.session_ids == [A, B]

            add_recording(recordings, C)  # a new recording between the runs
            add_recording(recordings, A)  # and A's file written again: handed already
            second = await run_once(temporal_client, handle, 1)
            assert second.session_ids == [C]
            assert second.skipped_already_handed == 1
            assert second.window_start == first.window_end

            third = await run_once(temporal_client, handle, 2)
            assert third.session_ids == [] and third.batch_workflow_id is None

            assert first.batch_workflow_id and second.batch_workflow_id
            assert first.batch_workflow_id.startswith(f"scheduled-summaries:{schedule_id}:")
            batches = await handed_batches({first.batch_workflow_id, second.batch_workflow_id})
            handed = Counter(sid for _, ids in batches for sid in ids)
            assert handed == {A: 1, B: 1, C: 1}

            mark = watermarks_for(settings.resolved_database_url).get(schedule_id)
            assert mark is not None
            assert mark.watermark == third.window_end and mark.sessions_handed == 3

            deadline = time.monotonic() + 15
            while schedule_id not in {
                s.schedule_id for s in await list_summary_schedules(temporal_client)
            }:
                assert time.monotonic() < deadline, "the schedule is not listed"
                await asyncio.sleep(0.2)
            listed = next(
                s
                for s in await list_summary_schedules(temporal_client)
                if s.schedule_id == schedule_id
            )
            assert listed.paused
        finally:
            await handle.delete()


# -- recap schedule … ------------------------------------------------------------------


def schedule_cli(client: Client, *args: str) -> subprocess.CompletedProcess[str]:
    """`recap schedule …` as a real process (its commands leave through os._exit)."""
    env = {
        **os.environ,
        "RECAP_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "RECAP_TEMPORAL_NAMESPACE": client.namespace,
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from recap.cli.schedule import schedule_app; schedule_app()",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )


def test_parse_duration() -> None:
    parse_duration = duration_option(units="smhd")
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    for bad in ("", "15", "1x", "0s", "1h 2"):
        with pytest.raises(typer.BadParameter):
            parse_duration(bad)


async def test_schedule_cli_create_list_pause_trigger_delete(
    temporal_client: Client, recordings: Path
) -> None:
    schedule_id = f"cli-{uuid.uuid4().hex[:8]}"
    both = schedule_cli(temporal_client, "create", schedule_id, "--every", "1h", "--cron", "@daily")
    assert both.returncode == 2 and "exactly one of --every or --cron" in both.stderr

    created = schedule_cli(
        temporal_client,
        "create",
        schedule_id,
        "--every",
        "1d",
        "--paused",
        "--team",
        "team-cli",
        "--source",
        f"files:{recordings}",
        "--focus",
        "checkout errors",
        "--min-duration",
        "5",
        "--min-console-errors",
        "1",
        "--settle-delay",
        "2m",
    )
    assert created.returncode == 0, created.stderr
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        assert described.schedule.state.paused
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "ScheduledSummariesWorkflow"
        request = ScheduledSummariesInput.model_validate(json.loads(action.args[0].data))
        assert request.team_id == "team-cli" and request.focus_area == "checkout errors"
        assert request.filters == RecordingFilters(min_duration_seconds=5, min_console_errors=1)
        assert request.settle_delay_seconds == 120
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP

        again = schedule_cli(temporal_client, "create", schedule_id, "--every", "1d")
        assert again.returncode == 1 and "already exists" in again.stderr

        deadline = time.monotonic() + 20
        while True:
            listed = schedule_cli(temporal_client, "list", "--json")
            assert listed.returncode == 0, listed.stderr
            rows = {row["schedule_id"]: row for row in json.loads(listed.stdout)}
            if schedule_id in rows:
                break
            assert time.monotonic() < deadline, "the schedule is not listed"
        assert rows[schedule_id]["paused"] is True

        resumed = schedule_cli(temporal_client, "pause", schedule_id, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert not (await handle.describe()).schedule.state.paused
        paused = schedule_cli(temporal_client, "pause", schedule_id)
        assert paused.returncode == 0, paused.stderr
        assert (await handle.describe()).schedule.state.paused

        triggered = schedule_cli(temporal_client, "trigger", schedule_id)
        assert triggered.returncode == 0, triggered.stderr
        deadline = time.monotonic() + 20
        while not (actions := (await handle.describe()).info.recent_actions):
            assert time.monotonic() < deadline, "the triggered run did not start"
            await asyncio.sleep(0.2)
        # No worker polls this run's task queue: end it rather than leave it waiting.
        started = actions[0].action
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        await temporal_client.get_workflow_handle(started.workflow_id).terminate("test done")
    finally:
        deleted = schedule_cli(temporal_client, "delete", schedule_id, "--forget")
    assert deleted.returncode == 0, deleted.stderr
    with pytest.raises(RPCError):
        await handle.describe()
    missing = schedule_cli(temporal_client, "trigger", schedule_id)
    assert missing.returncode == 1 and "Temporal refused" in missing.stderr


async def test_schedule_cli_creates_a_digest_schedule(temporal_client: Client) -> None:
    schedule_id = f"digest-{uuid.uuid4().hex[:8]}"
    no_period = schedule_cli(temporal_client, "create-digest", schedule_id, "--cron", "@daily")
    assert no_period.returncode == 2 and "--period" in no_period.stderr
    created = schedule_cli(
        temporal_client,
        "create-digest",
        schedule_id,
        "--every",
        "7d",
        "--paused",
        "--team",
        "team-digest",
        "--focus",
        "checkout",
        "--min-console-errors",
        "1",
        "--max-sessions",
        "50",
        "--no-deliver",
    )
    assert created.returncode == 0, created.stderr
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        action = (await handle.describe()).schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "DigestWorkflow"
        request = DigestInput.model_validate(json.loads(action.args[0].data))
        assert (request.team_id, request.schedule_id) == ("team-digest", schedule_id)
        assert request.period_seconds == 7 * 86_400  # the period defaults to --every
        assert request.filters == RecordingFilters(min_console_errors=1)
        assert (request.focus_area, request.max_sessions, request.deliver) == (
            "checkout",
            50,
            False,
        )
        deadline = time.monotonic() + 20
        while True:
            listed = schedule_cli(temporal_client, "list", "--json")
            rows = {row["schedule_id"]: row for row in json.loads(listed.stdout)}
            if schedule_id in rows:
                break
            assert time.monotonic() < deadline, "the schedule is not listed"
        assert rows[schedule_id]["kind"] == "digest"
    finally:
        schedule_cli(temporal_client, "delete", schedule_id, "--forget")


async def test_a_schedule_with_the_real_batch_summarizes_each_recording_once(
    temporal_client: Client, monkeypatch: pytest.MonkeyPatch, recordings: Path
) -> None:
    """The whole chain: schedule run → real batch → single summaries → store, twice, with a
    new recording in between; the model is called once per recording."""
    from tests.workflows.test_batch_workflow import FakeModel
    from workflows.catalog import ALL_WORKFLOWS

    llm_queue = f"sched-llm-{uuid.uuid4()}"
    monkeypatch.setenv("RECAP_LLM_TASK_QUEUE", llm_queue)
    get_settings.cache_clear()
    settings = get_settings()
    model = FakeModel(settings)
    model.release.set()
    task_queue = f"sched-{uuid.uuid4()}"
    schedule_id = f"real-{uuid.uuid4().hex[:8]}"
    team = f"team-{uuid.uuid4().hex[:6]}"
    options = ScheduleOptions(
        schedule_id=schedule_id,
        every=timedelta(days=365),
        paused=True,
        request=ScheduledSummariesInput(
            schedule_id=schedule_id,
            team_id=team,
            source=f"files:{recordings}",
            settle_delay_seconds=0,
            initial_lookback_seconds=3600,
        ),
    )
    add_recording(recordings, A, datetime.now(UTC) - timedelta(minutes=2))
    add_recording(recordings, B, datetime.now(UTC) - timedelta(minutes=1))
    store = store_for(settings.resolved_database_url)
    async with (
        running_worker(
            temporal_client,
            queue=task_queue,
            workflows=ALL_WORKFLOWS,
            activities=build_activities(settings).main_queue(),
            threads=8,
            max_concurrent_activities=50,
        ),
        running_worker(temporal_client, queue=llm_queue, activities=[model.activity()]),
    ):
        await create_schedule(
            temporal_client, settings.model_copy(update={"task_queue": task_queue}), options
        )
        handle = temporal_client.get_schedule_handle(schedule_id)
        try:
            first = await run_once(temporal_client, handle, 0)
            assert first.batch_workflow_id is not None
            await temporal_client.get_workflow_handle(first.batch_workflow_id).result()
            add_recording(recordings, C)
            second = await run_once(temporal_client, handle, 1)
            assert second.batch_workflow_id is not None
            await temporal_client.get_workflow_handle(second.batch_workflow_id).result()
        finally:
            await handle.delete()
    get_settings.cache_clear()
    assert model.calls == {A: 1, B: 1, C: 1}
    for session_id in (A, B, C):
        assert store.count_summaries(team_id=team, session_id=session_id) == 1
