"""`recap schedule …`: Temporal Schedules that summarize new recordings on an interval, or
build a digest of each period's sessions (a pattern report compared with the previous
period's, delivered to the team's destinations)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from recap.cli.console import exit_now, fail, out, run_async
from recap.cli.options import (
    FocusOption,
    MinConsoleErrorsOption,
    MinDurationOption,
    PlaylistOption,
    SourceOption,
    TeamOption,
    absolute_source,
    duration_option,
)
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from recap.jobs.schedules import ScheduleOptions

schedule_app = typer.Typer(
    name="schedule",
    help="Summarize new recordings on a schedule (Temporal Schedules).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
# Intervals and windows in seconds, minutes, hours or days (`90s`, `1h30m`, `1d`).
_interval = duration_option(units="smhd")


def _with_client(settings: Settings, action: Callable[..., Awaitable[T]]) -> T:
    from temporalio.service import RPCError

    from recap.jobs.client import connect

    async def go() -> T:
        return await action(await connect(settings))

    try:
        return run_async(go)
    except ConnectionError as error:
        fail(str(error))
    except RPCError as error:
        fail(f"Temporal refused: {error.message}")


@schedule_app.command("create")
def create(
    schedule_id: Annotated[str, typer.Argument(help="schedule id, e.g. checkout-errors")],
    every: Annotated[str | None, typer.Option("--every", help="interval, e.g. 15m, 1h, 1d")] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="cron expression, instead of --every")
    ] = None,
    team: TeamOption = None,
    source: SourceOption = None,
    focus: FocusOption = None,
    min_duration: MinDurationOption = None,
    min_console_errors: MinConsoleErrorsOption = None,
    playlist: PlaylistOption = None,
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", help="summaries in flight per batch")
    ] = 4,
    settle_delay: Annotated[
        str, typer.Option("--settle-delay", help="leave recordings that ended this recently")
    ] = "5m",
    lookback: Annotated[
        str, typer.Option("--lookback", help="how far back the first run looks")
    ] = "1h",
    paused: Annotated[bool, typer.Option("--paused", help="create it paused")] = False,
) -> None:
    """Create a schedule whose runs hand each newly ended recording to a batch, once."""
    from recap.jobs.schedules import ScheduleOptions
    from recap.services.scheduled_run import RecordingFilters, ScheduledSummariesInput

    settings = get_settings()
    timing = _timing(every, cron)
    source = absolute_source(source)
    options = ScheduleOptions(
        schedule_id=schedule_id,
        **timing,
        paused=paused,
        request=ScheduledSummariesInput(
            schedule_id=schedule_id,
            team_id=team or settings.team_id,
            source=source,
            filters=RecordingFilters(
                min_duration_seconds=min_duration,
                min_console_errors=min_console_errors,
                playlist=playlist,
            ),
            focus_area=focus,
            max_concurrency=max_concurrency,
            settle_delay_seconds=_interval(settle_delay).total_seconds(),
            initial_lookback_seconds=_interval(lookback).total_seconds(),
        ),
    )
    created = _create(settings, options, schedule_id)
    out.print(f"created schedule [bold]{created}[/]", highlight=False)
    exit_now(0)


def _timing(every: str | None, cron: str | None) -> dict[str, Any]:
    """A schedule's spec options: exactly one of an interval or a cron expression."""
    if (every is None) == (cron is None):
        fail("give exactly one of --every or --cron", 2)
    return {"every": _interval(every) if every else None, "cron": cron}


def _create(settings: Settings, options: ScheduleOptions, schedule_id: str) -> str:
    from temporalio.client import Client, ScheduleAlreadyRunningError

    from recap.jobs.schedules import create_schedule

    async def go(client: Client) -> str:
        try:
            return await create_schedule(client, settings, options)
        except ScheduleAlreadyRunningError:
            fail(f"schedule {schedule_id} already exists; delete it first or pick another id")

    return _with_client(settings, go)


@schedule_app.command("create-digest")
def create_digest(
    schedule_id: Annotated[str, typer.Argument(help="schedule id, e.g. daily-errors")],
    every: Annotated[str | None, typer.Option("--every", help="interval, e.g. 1d, 7d")] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="cron expression, instead of --every")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="the sessions each digest covers; default: --every"),
    ] = None,
    team: TeamOption = None,
    source: SourceOption = None,
    focus: FocusOption = None,
    min_duration: MinDurationOption = None,
    min_console_errors: MinConsoleErrorsOption = None,
    playlist: PlaylistOption = None,
    max_sessions: Annotated[
        int, typer.Option("--max-sessions", min=1, max=300, help="sessions per digest, newest")
    ] = 300,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="send to the team's destinations")
    ] = True,
    paused: Annotated[bool, typer.Option("--paused", help="create it paused")] = False,
) -> None:
    """Create a schedule whose runs report on the period's recordings, compare the report
    with the previous period's (new, rising, gone patterns; new error clusters), store the
    digest and deliver it."""
    from recap.jobs.schedules import ScheduleOptions
    from recap.services.scheduled_run import RecordingFilters
    from workflows.contracts import DigestInput

    settings = get_settings()
    timing = _timing(every, cron)
    covered_text = period or every
    if covered_text is None:
        fail("give --period with --cron: how long a period each digest covers", 2)
    covered = _interval(covered_text)
    options = ScheduleOptions(
        schedule_id=schedule_id,
        **timing,
        paused=paused,
        request=DigestInput(
            schedule_id=schedule_id,
            team_id=team or settings.team_id,
            period_seconds=int(covered.total_seconds()),
            filters=RecordingFilters(
                min_duration_seconds=min_duration,
                min_console_errors=min_console_errors,
                playlist=playlist,
            ),
            focus_area=focus,
            max_sessions=max_sessions,
            deliver=deliver,
            source=absolute_source(source),
        ),
    )
    created = _create(settings, options, schedule_id)
    out.print(f"created digest schedule [bold]{created}[/]", highlight=False)
    exit_now(0)


@schedule_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="print the schedules as JSON")] = False,
) -> None:
    """List recap's summary schedules with their next and recent runs."""
    from temporalio.client import Client

    from recap.jobs.schedules import ScheduleSummary, list_summary_schedules

    settings = get_settings()

    async def go(client: Client) -> list[ScheduleSummary]:
        return await list_summary_schedules(client)

    schedules = _with_client(settings, go)
    if as_json:
        out.print_json(json.dumps([s.model_dump(mode="json") for s in schedules]))
        exit_now(0)
    table = Table("schedule", "kind", "state", "next run", "last run")
    for s in schedules:
        table.add_row(
            s.schedule_id,
            s.kind,
            "paused" if s.paused else "active",
            s.next_runs[0].isoformat(timespec="seconds") if s.next_runs else "-",
            s.recent_runs[-1].isoformat(timespec="seconds") if s.recent_runs else "-",
        )
    out.print(table)
    exit_now(0)


def _on_handle(schedule_id: str, what: str, action: Callable[..., Awaitable[None]]) -> None:
    from temporalio.client import Client

    settings = get_settings()

    async def go(client: Client) -> None:
        await action(client.get_schedule_handle(schedule_id))

    _with_client(settings, go)
    out.print(f"{what} schedule [bold]{schedule_id}[/]", highlight=False)
    exit_now(0)


@schedule_app.command("pause")
def pause(
    schedule_id: Annotated[str, typer.Argument(help="schedule id")],
    resume: Annotated[bool, typer.Option("--resume", help="unpause instead")] = False,
) -> None:
    """Pause a schedule (or resume it with --resume); the watermark is kept."""
    from temporalio.client import ScheduleHandle

    async def act(handle: ScheduleHandle) -> None:
        if resume:
            await handle.unpause(note="resumed with recap schedule pause --resume")
        else:
            await handle.pause(note="paused with recap schedule pause")

    _on_handle(schedule_id, "resumed" if resume else "paused", act)


@schedule_app.command("trigger")
def trigger(schedule_id: Annotated[str, typer.Argument(help="schedule id")]) -> None:
    """Run a schedule now (even when paused); it starts from the stored watermark."""
    from temporalio.client import ScheduleHandle

    async def act(handle: ScheduleHandle) -> None:
        await handle.trigger()

    _on_handle(schedule_id, "triggered", act)


@schedule_app.command("delete")
def delete(
    schedule_id: Annotated[str, typer.Argument(help="schedule id")],
    forget: Annotated[
        bool,
        typer.Option(
            "--forget", help="also drop its watermark (a new schedule of this id starts over)"
        ),
    ] = False,
) -> None:
    """Delete a schedule; running batches finish."""
    from temporalio.client import ScheduleHandle

    async def act(handle: ScheduleHandle) -> None:
        await handle.delete()
        if forget:
            from recap.store.watermarks import watermarks_for

            watermarks_for(get_settings().resolved_database_url).forget(schedule_id)

    _on_handle(schedule_id, "deleted", act)
