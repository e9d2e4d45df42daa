"""`recap report …`: pattern reports across sessions. `create` starts the report workflow
and shows its steps on a live progress bar, then the report; `show` and `list` read stored
reports (readable text, Markdown or JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol, TypeVar

import typer
from rich.text import Text

from recap.cli.console import err, exit_now, fail, out, reject, run_async
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
    from recap.reports.models import PatternReport
    from recap.store.reports import ReportStore
    from workflows.contracts import PatternReportProgress, PatternReportResult, ReportSelection

report_app = typer.Typer(
    name="report",
    help="Pattern reports: what many sessions have in common (a Temporal workflow).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Examples printed per pattern in the readable report (the JSON and Markdown have all).
EXAMPLES_SHOWN = 3

ReportIdArgument = Annotated[str, typer.Argument(help="a report's id (rp_…) or a digest's (dg_…)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _report_store(settings: Settings) -> ReportStore:
    from recap.services.bootstrap import summary_store
    from recap.store.reports import ReportStore

    return ReportStore(summary_store(settings))


@report_app.command("create")
def report_create(
    sessions: Annotated[
        list[str] | None,
        typer.Option(
            "--sessions", help="a file of session ids (one a line) or ids separated by commas"
        ),
    ] = None,
    since: Annotated[
        timedelta | None,
        typer.Option(
            "--since",
            parser=duration_option(shortest=timedelta(minutes=1), longest=timedelta(days=366)),
            metavar="DURATION",
            help="instead of --sessions: recordings that ended within this long, e.g. 7d, 24h",
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="WORKFLOW_ID",
            help="instead of --sessions: the sessions of an earlier batch job (`recap batch`)",
        ),
    ] = None,
    playlist: PlaylistOption = None,
    min_duration: MinDurationOption = None,
    min_console_errors: MinConsoleErrorsOption = None,
    focus: FocusOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="summarize again sessions that have a summary")
    ] = False,
    deliver: Annotated[
        bool, typer.Option("--deliver", help="send the report to the team's destinations")
    ] = False,
    team: TeamOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a pattern report over the given sessions, those of the last DURATION or those
    of a batch job, and show its progress (Ctrl-C detaches; the workflow keeps running)."""
    from recap.core.naming import job_team
    from recap.services.scheduled_run import RecordingFilters
    from workflows.contracts import ReportSelection

    if [sessions, since, batch].count(None) != 2:
        reject(
            "give the sessions with exactly one of --sessions FILE|ID,ID,…, --since 7d or"
            " --batch WORKFLOW_ID",
            2,
        )
    filtered = playlist is not None or min_duration is not None or min_console_errors is not None
    if since is None and filtered:
        reject("--playlist, --min-duration and --min-console-errors go with --since", 2)
    session_ids = read_session_ids(sessions) if sessions is not None else []
    if sessions is not None and not session_ids:
        reject("no session ids found in --sessions", 2)
    if len(session_ids) > 300:
        reject(f"a report is over at most 300 sessions; --sessions names {len(session_ids)}", 2)
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
    if batch is not None:
        if job_team(batch) != team_id:
            reject(f"{batch} is not a batch job of team {team_id}; check the id and --team", 2)
        session_ids = _batch_sessions(settings, batch)
    try:
        workflow_id = run_async(
            lambda: _start(settings, team_id, session_ids, selection, focus, force, deliver, batch)
        )
    except ConnectionError as error:
        fail(str(error))
    what = f"{len(session_ids)} sessions" if session_ids else f"the last {_span(since)}"
    if batch is not None:
        what += f" of batch {batch}"
    err.print(f"started report {workflow_id} ({what})", highlight=False)
    _follow(settings, team_id, workflow_id, as_json=as_json)


def _span(since: timedelta | None) -> str:
    seconds = int(since.total_seconds()) if since else 0
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _batch_sessions(settings: Settings, batch: str) -> list[str]:
    """The sessions the batch job was started with, at most 300; a clear exit otherwise."""
    from recap.jobs.client import connect
    from recap.jobs.reports import batch_session_ids

    async def read() -> list[str] | None:
        return await batch_session_ids(await connect(settings), batch)

    try:
        session_ids = run_async(read)
    except ConnectionError as error:
        fail(str(error))
    if session_ids is None:
        fail(f"there is no batch job {batch} in Temporal; give the id `recap batch` printed")
    if not session_ids:
        fail(f"batch {batch} was started without sessions; there is nothing to report", 2)
    if len(session_ids) > 300:
        fail(
            f"batch {batch} has {len(session_ids)} sessions and a report is over at most 300;"
            " give --sessions with up to 300 of them",
            2,
        )
    return session_ids


async def _start(
    settings: Settings,
    team_id: str,
    session_ids: list[str],
    selection: ReportSelection | None,
    focus: str | None,
    force: bool,
    deliver: bool,
    batch: str | None = None,
) -> str:
    from recap.jobs.client import connect
    from recap.jobs.reports import start_report

    client = await connect(settings)
    return await start_report(
        client,
        settings,
        team_id=team_id,
        session_ids=session_ids,
        selection=selection,
        focus_area=focus,
        force=force,
        deliver=deliver,
        source_batch=batch,
    )


def _follow(settings: Settings, team_id: str, workflow_id: str, *, as_json: bool) -> NoReturn:
    """Watches the report until it ends and prints it; Ctrl-C leaves it running."""
    result, report = awaited_report(
        settings,
        team_id,
        workflow_id,
        watch=lambda: _watch(settings, workflow_id),
        what="report",
        detached="; once done it is listed by `recap report list`",
    )
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        print_report(report)
        if result.delivery_workflow_id:
            out.print(f"delivering: {result.delivery_workflow_id}", highlight=False)
    err.print(settings.temporal_workflow_url(workflow_id), style="dim", highlight=False)
    exit_now(0)


class _StoresAReport(Protocol):
    @property
    def report_id(self) -> str: ...


R = TypeVar("R", bound=_StoresAReport)


def awaited_report(
    settings: Settings,
    team_id: str,
    workflow_id: str,
    *,
    watch: Callable[[], Coroutine[Any, Any, R]],
    what: str,
    detached: str = "",
) -> tuple[R, PatternReport]:
    """A report job (`what`: a pattern or funnel report) watched until it ends, and the
    report it stored; Ctrl-C leaves it running, a failure ends the command with its type."""
    from recap.jobs.reports import ReportFailed

    link = settings.temporal_workflow_url(workflow_id)
    try:
        result = run_async(watch)
    except KeyboardInterrupt:
        err.print(
            f"detached; {what} {workflow_id} keeps running. Follow it at {link}{detached}.",
            highlight=False,
        )
        exit_now(0)
    except ConnectionError as error:
        fail(str(error))
    except ReportFailed as failure:
        fail(f"{what} {workflow_id} failed ({failure.error_type}): {failure}; see {link}")
    report = _report_store(settings).report(team_id, result.report_id)
    if report is None:
        fail(f"report {result.report_id} finished but is not in the store; see {link}")
    return result, report


def _bar_state(progress: PatternReportProgress | None) -> tuple[str, int | None, int, str]:
    """The bar's description, total, completed count and counts for a progress: sessions
    while they are summarized, then the chunks of the pattern steps."""
    if progress is None:
        return "starting", None, 0, ""
    counts = (
        f"{progress.sessions_summarized} summarized, {progress.sessions_failed} failed"
        f" of {progress.sessions_total} sessions; {progress.chunks_done}/"
        f"{progress.chunks_total} chunks"
    )
    if progress.step in ("selecting", "summarizing"):
        done = progress.sessions_summarized + progress.sessions_failed
        return progress.step, progress.sessions_total or None, done, counts
    return progress.step, progress.chunks_total or None, progress.chunks_done, counts


async def _watch(settings: Settings, workflow_id: str) -> PatternReportResult:
    from recap.jobs.reports import report_progress, report_result

    return await watch_result(
        settings, workflow_id, progress=report_progress, result=report_result, show=_bar_state
    )


def print_report(report: PatternReport) -> None:
    """The report for people: title, counts, then each pattern with a few examples.
    Model and page text is printed as text, never read as Rich markup."""
    from recap.timeline.render import format_clock

    out.print(Text(report.title, style="bold"))
    out.print(
        f"{len(report.patterns)} patterns across {report.sessions_reported} summarized sessions;"
        f" {len(report.not_reported)} requested sessions not reported · {report.report_id}",
        highlight=False,
    )
    if report.inputs.focus_area:
        out.print(Text(f"focus: {report.inputs.focus_area}"))
    for number, pattern in enumerate(report.patterns, start=1):
        stats = pattern.stats
        heading = Text(f"\n{number}. ")
        heading.append(pattern.name, style="bold")
        heading.append(f" ({pattern.severity})")
        out.print(heading)
        out.print(
            f"   {stats.sessions_affected} sessions ({stats.sessions_affected_ratio:.0%}),"
            f" {stats.sessions_failed} failed, {stats.occurrences} occurrences",
            highlight=False,
        )
        out.print(Text(f"   {pattern.description}"))
        for example in pattern.examples[:EXAMPLES_SHOWN]:
            where = f" {example.url}" if example.url else ""
            out.print(
                Text(
                    f"   - {example.session_id} {example.ref} {format_clock(example.t_ms)}"
                    f"{where}: {example.description}",
                    style="dim" if example.session_failed is None else "",
                )
            )
        hidden = len(pattern.examples) - EXAMPLES_SHOWN
        if hidden > 0:
            out.print(f"   … {hidden} more (`recap report show {report.report_id}`)")
    if not report.patterns:
        out.print("no pattern was found whose examples check out")
    for item in report.not_reported:
        out.print(Text(f"not reported: {item.session_id}: {item.error}", style="yellow"))


@report_app.command("show")
def report_show(
    report_id: ReportIdArgument,
    markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown")] = False,
    as_json: JsonOption = False,
    team: TeamOption = None,
) -> None:
    """Print a stored report (`rp_…`) or digest (`dg_…`): readable text, Markdown or JSON."""
    from recap.reports import render_digest_markdown, render_markdown

    if markdown and as_json:
        reject("give at most one of --markdown and --json", 2)
    settings = get_settings()
    team_id = team or settings.team_id
    if report_id.startswith("dg_"):
        digest = _report_store(settings).digest(team_id, report_id)
        if digest is None:
            reject(f"no digest {report_id} in team {team_id}", 1)
        if as_json:
            sys.stdout.write(digest.model_dump_json(indent=2) + "\n")
        else:
            # A digest reads best as its Markdown: what changed, then its report.
            sys.stdout.write(render_digest_markdown(digest))
        return
    report = _report_store(settings).report(team_id, report_id)
    if report is None:
        reject(f"no report {report_id} in team {team_id}; see `recap report list`", 1)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    elif markdown:
        sys.stdout.write(render_markdown(report))
    else:
        print_report(report)


@report_app.command("list")
def report_list(
    team: TeamOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="how many")] = 50,
) -> None:
    """The team's stored reports, newest first."""
    from rich.table import Table

    settings = get_settings()
    team_id = team or settings.team_id
    count, reports = _report_store(settings).reports(team_id, limit=limit, offset=0)
    if as_json:
        rows = [
            {
                "report_id": report.report_id,
                "title": report.title,
                "created_at": report.created_at.isoformat(),
                "sessions_reported": report.sessions_reported,
                "not_reported": len(report.not_reported),
                "patterns": len(report.patterns),
            }
            for report in reports
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not reports:
        out.print(f"no reports in team {team_id} yet; make one with `recap report create`")
        return
    # Ids and dates are whole or useless: the titles wrap instead.
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for header in ("title", "sessions", "patterns", "top pattern"):
        table.add_column(header)
    for report in reports:
        top = report.patterns[0] if report.patterns else None
        table.add_row(
            report.report_id,
            report.created_at.strftime("%Y-%m-%d %H:%M"),
            Text(report.title),
            str(report.sessions_reported),
            str(len(report.patterns)),
            Text(f"{top.name} ({top.severity})" if top else ""),
        )
    out.print(table)
    if count > len(reports):
        out.print(f"{count - len(reports)} older reports not shown (--limit)", style="dim")
