"""`recap funnel`: where sessions drop off a funnel and why. Checks the steps, starts the
funnel workflow, shows its progress, then prints the stored report (Markdown or JSON) and
where to read it (its page and API address)."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from recap.cli.console import err, exit_now, fail, reject, run_async
from recap.cli.options import (
    FocusOption,
    MinConsoleErrorsOption,
    MinDurationOption,
    PlaylistOption,
    TeamOption,
    duration_option,
    read_session_ids,
)
from recap.cli.progress import watch_result
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from workflows.contracts import FunnelReportProgress, FunnelReportResult, ReportSelection

MAX_SESSIONS = 1000


def funnel(
    step: Annotated[
        list[str],
        typer.Option(
            "--step",
            help='a step, in order (at least two): url:/cart, click:"Checkout" (by'
            " a label, or a test id in brackets), event:NAME, outcome:success|failure",
        ),
    ],
    since: Annotated[
        timedelta | None,
        typer.Option(
            "--since",
            parser=duration_option(shortest=timedelta(minutes=1), longest=timedelta(days=366)),
            metavar="DURATION",
            help="recordings that ended within this long, e.g. 7d, 24h",
        ),
    ] = None,
    sessions: Annotated[
        str | None,
        typer.Option(
            "--sessions",
            help="instead of --since: a file of session ids or ids separated by commas",
        ),
    ] = None,
    playlist: PlaylistOption = None,
    min_duration: MinDurationOption = None,
    min_console_errors: MinConsoleErrorsOption = None,
    focus: FocusOption = None,
    team: TeamOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Split sessions at each funnel step, find what is over-represented among those who
    stopped (Fisher's exact, Holm-corrected), have the model explain it with cited
    sessions, and store it as a report (Ctrl-C detaches; the workflow keeps running)."""
    from recap.funnels import FunnelStepError, parse_steps
    from recap.services.scheduled_run import RecordingFilters
    from workflows.contracts import ReportSelection

    try:
        parse_steps(step)
    except FunnelStepError as error:
        from rich.markup import escape

        reject(escape(str(error)), 2)
    if (since is None) == (sessions is None):
        reject("give the sessions with exactly one of --since 7d or --sessions FILE|ID,ID,…", 2)
    filtered = playlist is not None or min_duration is not None or min_console_errors is not None
    if since is None and filtered:
        reject("--playlist, --min-duration and --min-console-errors go with --since", 2)
    session_ids = read_session_ids([sessions]) if sessions is not None else []
    if sessions is not None and not session_ids:
        reject("no session ids found in --sessions", 2)
    if len(session_ids) > MAX_SESSIONS:
        reject(f"a funnel is over at most {MAX_SESSIONS} sessions; got {len(session_ids)}", 2)
    selection = None
    if since is not None:
        selection = ReportSelection(
            since_seconds=int(since.total_seconds()),
            filters=RecordingFilters(
                min_duration_seconds=min_duration,
                min_console_errors=min_console_errors,
                playlist=playlist,
            ),
        )
    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    team_id = team or settings.team_id
    try:
        workflow_id = run_async(
            lambda: _start(settings, team_id, list(step), session_ids, selection, focus)
        )
    except ConnectionError as error:
        fail(str(error))
    err.print(f"started funnel report {workflow_id}", highlight=False)
    _follow(settings, team_id, workflow_id, as_json=as_json)


async def _start(
    settings: Settings,
    team_id: str,
    steps: list[str],
    session_ids: list[str],
    selection: ReportSelection | None,
    focus: str | None,
) -> str:
    from recap.jobs.client import connect
    from recap.jobs.funnels import start_funnel

    client = await connect(settings)
    return await start_funnel(
        client,
        settings,
        team_id=team_id,
        steps=steps,
        session_ids=session_ids,
        selection=selection,
        focus_area=focus,
    )


def _follow(settings: Settings, team_id: str, workflow_id: str, *, as_json: bool) -> NoReturn:
    from urllib.parse import quote

    from recap.cli.reports import awaited_report
    from recap.reports import render_markdown

    _, report = awaited_report(
        settings,
        team_id,
        workflow_id,
        watch=lambda: _watch(settings, workflow_id),
        what="funnel report",
    )
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_markdown(report))
    team = quote(team_id, safe="")
    base = (settings.api_public_url or f"http://{settings.api_host}:{settings.api_port}").rstrip(
        "/"
    )
    err.print(f"page: {base}/ui/{team}/reports/{report.report_id}", highlight=False)
    err.print(
        f"API: {base}/api/projects/{team}/session_summaries/reports/{report.report_id}/",
        highlight=False,
    )
    err.print(settings.temporal_workflow_url(workflow_id), style="dim", highlight=False)
    exit_now(0)


def _bar_state(progress: FunnelReportProgress | None) -> tuple[str, int | None, int, str]:
    if progress is None:
        return "starting", None, 0, ""
    done = progress.sessions_summarized + progress.sessions_failed
    counts = (
        f"{progress.sessions_summarized} summarized, {progress.sessions_failed} failed"
        f" of {progress.sessions_total} sessions"
    )
    return progress.step, progress.sessions_total or None, done, counts


async def _watch(settings: Settings, workflow_id: str) -> FunnelReportResult:
    from recap.jobs.funnels import funnel_progress, funnel_result

    return await watch_result(
        settings, workflow_id, progress=funnel_progress, result=funnel_result, show=_bar_state
    )
