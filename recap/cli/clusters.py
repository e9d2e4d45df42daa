"""`recap clusters …` and `recap similar`: error clusters across a team's sessions, and the
sessions most like a given one."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from recap.cli.console import err, exit_now, fail, out, reject, run_async
from recap.cli.options import TeamOption, absolute_source, read_session_ids
from recap.cli.progress import watch_progress
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from recap.clustering.models import ErrorCluster
    from workflows.contracts import ClusterProgress

clusters_app = typer.Typer(
    name="clusters",
    help="Group errors across sessions into named clusters (a Temporal workflow).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@clusters_app.command("run")
def clusters_run(
    sessions: Annotated[
        list[str] | None,
        typer.Option(
            "--sessions",
            help="a file of session ids (one a line) or ids separated by commas; without it, "
            "the team's stored sessions (see --since)",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=_DATE_FORMATS,
            help="without --sessions: stored sessions from this date on (UTC)",
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until",
            formats=_DATE_FORMATS,
            help="without --sessions: stored sessions before this date (UTC)",
        ),
    ] = None,
    team: TeamOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="posthog or files:DIR, for sessions without a stored timeline"
        ),
    ] = None,
    focus: Annotated[
        str | None, typer.Option("--focus", help="focus area: steers names, picks summaries")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, max=1000, help="sessions extracted at once"),
    ] = None,
    max_named: Annotated[
        int | None,
        typer.Option("--max-named", min=0, max=1000, help="model calls at most (default 20)"),
    ] = None,
) -> None:
    """Cluster the errors of the given sessions with the team's earlier ones, name new
    clusters, and show progress (Ctrl-C detaches; the workflow keeps running)."""

    settings = get_settings()
    session_ids = _given_sessions(sessions)
    source = absolute_source(source)
    from recap.core.logging import configure_logging

    configure_logging(settings)
    from recap.jobs.client import connect, start_clustering

    async def go() -> str:
        client = await connect(settings)
        return await start_clustering(
            client,
            settings,
            team_id=team or settings.team_id,
            session_ids=session_ids,
            date_from=_utc(since),
            date_to=_utc(until),
            focus_area=focus,
            source=source,
            max_concurrency=concurrency,
            max_named_clusters=max_named,
        )

    try:
        workflow_id = run_async(go)
    except ConnectionError as error:
        fail(str(error))
    what = f"{len(session_ids)} sessions" if session_ids is not None else "stored sessions"
    err.print(f"started error clustering {workflow_id} ({what})", highlight=False)
    _watch_or_detach(settings, workflow_id)


def _given_sessions(sessions: list[str] | None) -> list[str] | None:
    """The ids --sessions names (exit 2 when it names none), or None without it: the
    team's stored sessions."""
    if not sessions:
        return None
    session_ids = read_session_ids(sessions)
    if not session_ids:
        reject("no session ids found in --sessions", 2)
    return session_ids


def _watch_or_detach(settings: Settings, workflow_id: str) -> NoReturn:
    """Watches the run until it ends; Ctrl-C leaves it running and says where to look."""
    try:
        code = run_async(lambda: _watch(settings, workflow_id))
    except KeyboardInterrupt:
        err.print(
            f"detached; {workflow_id} keeps running. See its clusters with `recap clusters list`.",
            highlight=False,
        )
        exit_now(0)
    except ConnectionError as error:
        fail(str(error))
    exit_now(code)


async def _watch(settings: Settings, workflow_id: str) -> int:
    """Shows the run's progress until it ends; the exit code says whether it completed."""
    from recap.jobs.client import clustering_progress

    def show(progress: ClusterProgress) -> tuple[str, int | None, int, str]:
        naming = f", {progress.named}/{progress.to_name} named" if progress.to_name else ""
        counts = (
            f"{progress.failed} failed, {progress.occurrences} errors, "
            f"{progress.clusters} clusters{naming}"
        )
        return progress.status, progress.total, progress.done, counts

    progress = await watch_progress(settings, workflow_id, read=clustering_progress, show=show)
    out.print(
        f"{workflow_id}: {progress.status}, {progress.clusters} clusters "
        f"({progress.named} named); see them with `recap clusters list`",
        highlight=False,
    )
    return 0 if progress.status == "completed" else 1


def _cluster_json(cluster: ErrorCluster) -> dict[str, Any]:
    return {
        "id": cluster.cluster_id,
        "title": cluster.title,
        "impact": cluster.impact,
        "severity": cluster.severity,
        "kind": cluster.kind.value,
        "occurrences": cluster.occurrences,
        "sessions_affected": cluster.sessions_affected,
        "failed_ratio": cluster.failed_ratio,
        "session_ids": cluster.session_ids,
        "sample_messages": cluster.sample_messages,
        "sample_echoes": cluster.sample_echoes,
        "fingerprints": cluster.fingerprints,
    }


@clusters_app.command("list")
def clusters_list(
    as_json: Annotated[bool, typer.Option("--json", help="print the clusters as JSON")] = False,
    team: TeamOption = None,
) -> None:
    """The team's error clusters, most affected sessions first (from the store)."""
    from recap.store.clusters import clusters_for

    settings = get_settings()
    found = clusters_for(settings.resolved_database_url).load_clusters(team or settings.team_id)
    found = sorted(found, key=lambda cluster: (-cluster.sessions_affected, cluster.cluster_id))
    if as_json:
        sys.stdout.write(json.dumps([_cluster_json(c) for c in found], indent=2) + "\n")
        return
    if not found:
        out.print("no error clusters yet; run `recap clusters run --sessions …` first")
        return
    table = Table("id", "title", "severity", "kind", "sessions", "occurrences", "failed")
    for cluster in found:
        failed = "" if cluster.failed_ratio is None else f"{cluster.failed_ratio:.0%}"
        title = cluster.title or (cluster.sample_messages[0] if cluster.sample_messages else "")
        table.add_row(
            cluster.cluster_id,
            # Model and page text: shown as text, never read as Rich markup.
            Text(title, style="" if cluster.title else "dim"),
            cluster.severity or "",
            cluster.kind.value,
            str(cluster.sessions_affected),
            str(cluster.occurrences),
            failed,
        )
    out.print(table)


def similar(
    session_id: Annotated[str, typer.Argument(help="the session to find neighbours of")],
    as_json: Annotated[bool, typer.Option("--json", help="print the matches as JSON")] = False,
    team: TeamOption = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="how many")] = 5,
) -> None:
    """The team's stored sessions most like SESSION_ID (summaries, timelines and errors)."""
    from recap.services.bootstrap import summary_store
    from recap.services.similar import UnknownSession, similar_in_team

    settings = get_settings()
    team_id = team or settings.team_id
    try:
        matches, summaries = similar_in_team(
            summary_store(settings), team_id, session_id, top_n=top
        )
    except UnknownSession as error:
        reject(
            f"{error}; run `recap summarize {session_id}` or "
            f"`recap clusters run --sessions {session_id}`",
            2,
        )
    if as_json:
        rows = [
            {
                "session_id": match.session_id,
                "score": round(match.score, 4),
                "title": summaries[match.session_id].title
                if match.session_id in summaries
                else None,
            }
            for match in matches
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not matches:
        out.print(f"no stored session of team {team_id} resembles {session_id}", highlight=False)
        return
    table = Table("session", "score", "title")
    for match in matches:
        summary = summaries.get(match.session_id)
        title = Text(summary.title if summary else "")  # model text, never markup
        table.add_row(Text(match.session_id), f"{match.score:.2f}", title)
    out.print(table)
