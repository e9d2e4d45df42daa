"""`recap fetch` and `recap summarize`: one recording downloaded from PostHog, and sessions
summarized through Temporal (`recap timeline` is in `timeline.py`, kept light to start)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from recap.cli.console import err, exit_now, fail, out, reject, run_async
from recap.cli.options import FocusOption, SourceOption, TeamOption, absolute_source
from recap.core.config import get_settings

if TYPE_CHECKING:
    from recap.jobs.client import SessionOutcome
    from recap.sources.posthog import PostHogSource


def fetch(
    session_id: Annotated[str, typer.Argument(help="the PostHog recording (session) id")],
    out: Annotated[
        Path | None, typer.Option("--out", help="file to write (default SESSION_ID.json)")
    ] = None,
) -> None:
    """Download one recording from PostHog (RECAP_POSTHOG_*) as a PostHog export file,
    which `recap timeline` and the files source read back."""
    from recap.core.retry import RetryPolicy, call_with_retries
    from recap.recording.models import RecordingError
    from recap.services.bootstrap import posthog_config
    from recap.sources.posthog import PostHogSource, export_recording

    settings = get_settings()
    target = out or Path(f"{session_id}.json")
    partial = target.with_name(f".{target.name}.partial")

    def export(source: PostHogSource) -> int:
        with partial.open("wb") as handle:  # each attempt starts the file afresh
            return export_recording(source, session_id, handle)

    try:
        source = PostHogSource(posthog_config(settings))
        written = call_with_retries(
            lambda: export(source),
            notice=lambda text: err.print(
                f"[yellow]{escape(text)}[/]", highlight=False, soft_wrap=True
            ),
            policy=RetryPolicy(attempts=settings.retry_attempts),
        )
        partial.replace(target)  # never leave a half-written recording under the real name
    except RecordingError as error:
        partial.unlink(missing_ok=True)
        reject(str(error))
    except OSError as error:
        partial.unlink(missing_ok=True)
        reject(f"cannot write {target}: {error.strerror or error}")
    err.print(f"wrote {written} events of {session_id} to {target}", highlight=False)


def summarize(
    session_ids: Annotated[list[str], typer.Argument(help="session ids to summarize")],
    focus: FocusOption = None,
    source: SourceOption = None,
    team: TeamOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="summarize again even when this prompt version already did"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print stored summaries as JSON")] = False,
) -> None:
    """Start one summary workflow per session, wait, and print each stored outcome.

    A session already summarized (same focus area, same prompt version) is shown from the
    store without a new workflow, unless --force."""
    settings = get_settings()
    from recap.core.logging import configure_logging

    configure_logging(settings)
    from recap.jobs.client import connect, summarize_sessions

    source = absolute_source(source)

    async def go() -> list[SessionOutcome]:
        client = await connect(settings)
        return await summarize_sessions(
            client,
            settings,
            team_id=team or settings.team_id,
            session_ids=session_ids,
            focus_area=focus,
            source=source,
            force=force,
        )

    try:
        outcomes = run_async(go)
    except ConnectionError as error:
        fail(str(error))
    from recap.cli.outcomes import print_outcomes

    print_outcomes(outcomes, settings, out, as_json=as_json)
    exit_now(0 if all(outcome.error_type is None for outcome in outcomes) else 1)
