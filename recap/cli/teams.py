"""`recap teams …`: the teams one deployment serves, and the recording source each reads
(its own PostHog project and key, sealed under RECAP_SECRET_KEY, or a directory)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from recap.cli.console import out, reject
from recap.core.config import get_settings

if TYPE_CHECKING:
    from recap.store.teams import Team, TeamStore

teams_app = typer.Typer(
    name="teams",
    help="Teams and their own recording sources (PostHog project or directory).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _team_store() -> TeamStore:
    from recap.core.logging import configure_logging
    from recap.services.bootstrap import team_store
    from recap.store.secrets import SecretKeyMissing

    settings = get_settings()
    configure_logging(settings)
    try:
        return team_store(settings)
    except SecretKeyMissing as error:
        reject(escape(str(error)), 2)


def _team_json(team: Team) -> dict[str, Any]:
    return {
        "team_id": team.team_id,
        "name": team.name,
        "source": team.source_kind,
        "posthog_host": team.posthog_host,
        "posthog_project_id": team.posthog_project_id,
        "directory": str(team.directory) if team.directory else None,
        "person_properties": team.person_properties,
    }


def _run(action: Any) -> Team:
    """Runs a team change, turning the store's refusals into one clear line and exit 2."""
    from recap.store.secrets import SecretKeyMissing, SecretUnreadable
    from recap.store.teams import TeamError

    try:
        team: Team = action()
    except (TeamError, SecretKeyMissing, SecretUnreadable, ValueError) as error:
        reject(escape(str(error)), 2)
    return team


@teams_app.command("create")
def create(
    team: Annotated[str, typer.Argument(help="team id, as API keys and workflows name it")],
    name: Annotated[str | None, typer.Option(help="a name people recognise")] = None,
) -> None:
    """Registers a team; give it a source with `recap teams set-source`."""
    created = _run(lambda: _team_store().create(team, name=name))
    out.print(
        f"created team {escape(created.team_id)}; give it a source with"
        f" `recap teams set-source {escape(created.team_id)} …`",
        highlight=False,
    )


@teams_app.command("list")
def list_teams(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every team and the source it reads (never its key)."""
    teams = _team_store().list()
    if as_json:
        sys.stdout.write(json.dumps([_team_json(each) for each in teams], indent=2) + "\n")
        return
    if not teams:
        out.print("no teams yet; create one with `recap teams create TEAM`", highlight=False)
        return
    table = Table("team", "name", "source", "person properties")
    for each in teams:
        table.add_row(
            escape(each.team_id),
            escape(each.name or ""),
            escape(each.source),
            "shown" if each.person_properties else "hidden",
        )
    out.print(table)


def _read_key(key_env: str | None) -> str:
    """The PostHog key: from the environment variable named, else stdin (a prompt on a
    terminal). Never an argument, which other users of the machine can read in `ps`."""
    if key_env is not None:
        import os

        value = os.environ.get(key_env)
        if not value:
            reject(f"--posthog-key-env names {escape(key_env)}, which is not set", 2)
        return value.strip()
    if sys.stdin.isatty():
        return str(typer.prompt("PostHog personal API key", hide_input=True)).strip()
    return sys.stdin.readline().strip()


@teams_app.command("set-source")
def set_source(
    team: Annotated[str, typer.Argument(help="team id")],
    posthog_host: Annotated[
        str | None, typer.Option(help="the team's PostHog, e.g. https://eu.posthog.com")
    ] = None,
    posthog_project_id: Annotated[str | None, typer.Option(help="its project id")] = None,
    posthog_key_env: Annotated[
        str | None,
        typer.Option(help="environment variable holding its personal API key (else stdin)"),
    ] = None,
    files: Annotated[
        Path | None, typer.Option(help="a directory of recording files instead of PostHog")
    ] = None,
) -> None:
    """Sets the source the team's workers, schedules and API read: its PostHog project
    (the key is read from stdin or --posthog-key-env and stored encrypted under
    RECAP_SECRET_KEY) or a directory of recording files."""
    teams = _team_store()
    if files is not None:
        if posthog_host or posthog_project_id or posthog_key_env:
            reject("give either --files or the --posthog-* options, not both", 2)
        changed = _run(lambda: teams.set_files_source(team, files))
    else:
        if not posthog_project_id:
            reject("give --posthog-project-id (and --posthog-host), or --files DIR", 2)
        host = posthog_host or get_settings().posthog_host
        key = _read_key(posthog_key_env)
        changed = _run(
            lambda: teams.set_posthog_source(
                team, host=host, project_id=posthog_project_id, api_key=key
            )
        )
    out.print(f"team {escape(changed.team_id)} reads {escape(changed.source)}", highlight=False)


@teams_app.command("person-properties")
def person_properties(
    team: Annotated[str, typer.Argument(help="team id")],
    show: Annotated[
        bool, typer.Option("--show/--hide", help="return PostHog person properties to the team")
    ],
) -> None:
    """Whether the team's recordings carry their person's properties (email, name, $ip, …);
    hidden by default."""
    changed = _run(lambda: _team_store().set_person_properties(team, show))
    state = "shown" if changed.person_properties else "hidden"
    out.print(f"person properties of team {escape(changed.team_id)}: {state}", highlight=False)


@teams_app.command("key")
def new_key() -> None:
    """Prints a new RECAP_SECRET_KEY (Fernet) for sealing team secrets."""
    from recap.store.secrets import SecretBox

    sys.stdout.write(SecretBox.generate() + "\n")
