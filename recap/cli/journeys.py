"""`recap journey DISTINCT_ID`: one person's journey across sessions. Starts the journey
workflow, shows its steps on a live progress bar, then prints the stored journey as
Markdown (or JSON) and the address of its page."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn
from urllib.parse import quote

import typer

from recap.cli.console import err, exit_now, fail, out, run_async
from recap.cli.options import TeamOption, duration_option
from recap.cli.progress import watch_result
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from workflows.contracts import PersonJourneyProgress, PersonJourneyResult


def journey(
    distinct_id: Annotated[str, typer.Argument(help="the person's distinct id")],
    since: Annotated[
        timedelta,
        typer.Option(
            "--since",
            parser=duration_option(shortest=timedelta(hours=1), longest=timedelta(days=3660)),
            metavar="DURATION",
            help="the person's recordings that started within this long, e.g. 30d, 2w",
            show_default="30d",
        ),
    ] = timedelta(days=30),
    person: Annotated[
        bool,
        typer.Option("--person", help="DISTINCT_ID is a PostHog person id (uuid)"),
    ] = False,
    team: TeamOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Build one person's journey over their sessions of the last DURATION (summarizing
    the missing ones) and print it (Ctrl-C detaches; the workflow keeps running)."""
    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    team_id = team or settings.team_id
    seconds = int(since.total_seconds())
    try:
        workflow_id = run_async(lambda: _start(settings, team_id, distinct_id, seconds, person))
    except ConnectionError as error:
        fail(str(error))
    err.print(f"started journey {workflow_id}", highlight=False)
    _follow(settings, team_id, workflow_id, distinct_id, as_json=as_json)


async def _start(
    settings: Settings, team_id: str, distinct_id: str, seconds: int, person: bool
) -> str:
    from recap.jobs.client import connect
    from recap.jobs.journeys import start_journey

    client = await connect(settings)
    return await start_journey(
        client,
        settings,
        team_id=team_id,
        distinct_id=distinct_id,
        since_seconds=seconds,
        by_person_id=person,
    )


def page_address(settings: Settings, team_id: str, distinct_id: str) -> str:
    from recap.api.server import api_url

    base = settings.api_public_url or api_url(settings)
    return f"{base}/ui/{quote(team_id, safe='')}/persons/{quote(distinct_id, safe='')}"


def _follow(
    settings: Settings, team_id: str, workflow_id: str, distinct_id: str, *, as_json: bool
) -> NoReturn:
    """Watches the journey until it ends and prints it; Ctrl-C leaves it running."""
    from recap.jobs.journeys import JourneyFailed
    from recap.journeys import render_journey_markdown
    from recap.services.bootstrap import summary_store
    from recap.services.journeys import stored_journey

    link = settings.temporal_workflow_url(workflow_id)
    try:
        result = run_async(lambda: _watch(settings, workflow_id))
    except KeyboardInterrupt:
        err.print(f"detached; journey {workflow_id} keeps running. Follow it at {link}")
        exit_now(0)
    except ConnectionError as error:
        fail(str(error))
    except JourneyFailed as failure:
        fail(f"journey {workflow_id} failed ({failure.error_type}): {failure}; see {link}")
    stored = stored_journey(summary_store(settings), team_id, result.journey_id)
    if stored is None:
        fail(f"journey {result.journey_id} finished but is not in the store; see {link}")
    if as_json:
        sys.stdout.write(stored.model_dump_json(indent=2) + "\n")
    else:
        # Markdown as text: model and page text is never read as Rich markup.
        out.print(render_journey_markdown(stored.journey), markup=False, highlight=False)
        if result.truncated:
            out.print(
                f"(the newest {result.sessions} of {stored.sessions_found} sessions)",
                markup=False,
                highlight=False,
            )
    err.print(page_address(settings, team_id, distinct_id), markup=False, highlight=False)
    err.print(link, style="dim", highlight=False)
    exit_now(0)


def _bar_state(progress: PersonJourneyProgress | None) -> tuple[str, int | None, int, str]:
    if progress is None:
        return "starting", None, 0, ""
    done = progress.sessions_summarized + progress.sessions_failed
    counts = (
        f"{progress.sessions_summarized} summarized, {progress.sessions_failed} failed"
        f" of {progress.sessions_total} sessions"
    )
    if progress.truncated:
        counts += f" (newest of {progress.sessions_found})"
    return progress.step, progress.sessions_total or None, done, counts


async def _watch(settings: Settings, workflow_id: str) -> PersonJourneyResult:
    from recap.jobs.journeys import journey_progress, journey_result

    return await watch_result(
        settings, workflow_id, progress=journey_progress, result=journey_result, show=_bar_state
    )
