"""`recap users …`: create, list and disable the people who sign in to recap's pages."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from recap.cli.console import audited_store, out, reject
from recap.cli.options import checked_team

if TYPE_CHECKING:
    from recap.store.users import User, UserStore

users_app = typer.Typer(
    name="users",
    help="People who sign in to recap's pages (passwords stored as argon2id hashes).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _user_store() -> UserStore:
    from recap.store.users import UserStore

    return UserStore(audited_store())


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "team_id": user.team_id,
        "email": user.email,
        "can_write": user.can_write,
        "created_at": user.created_at.isoformat(timespec="seconds"),
        "disabled_at": user.disabled_at.isoformat(timespec="seconds") if user.disabled_at else None,
    }


def _password(variable: str | None) -> str:
    """The new password: from the environment variable named, or asked for twice without
    echo. Never a command-line argument, which other users of the machine can read."""
    if variable is not None:
        # The variable is the operator's choice of name, so it is read here and not
        # through the settings.
        value = os.environ.get(variable)
        if not value:
            reject(f"--password-env {variable}: the variable is not set or empty", 2)
        return value
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    team: Annotated[
        str, typer.Option("--team", callback=checked_team, help="the team the person belongs to")
    ],
    email: Annotated[str, typer.Option("--email", help="the address they sign in with")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="may read the team's pages but change nothing")
    ] = False,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            metavar="VARIABLE",
            help="read the password from this environment variable (default: ask for it)",
        ),
    ] = None,
) -> None:
    """Create a person who signs in to the team's pages with an email and a password."""
    from recap.store.users import UserError

    password = _password(password_env)
    try:
        user = _user_store().create(
            team_id=team, email=email, password=password, can_write=not read_only
        )
    except UserError as error:
        reject(str(error), 2)
    access = "read-only" if read_only else "read and write"
    out.print(
        f"created user {user.id} {user.email} in team {user.team_id} ({access})", highlight=False
    )


@users_app.command("list")
def users_list(
    team: Annotated[
        str | None, typer.Option("--team", callback=checked_team, help="only this team's people")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the users as JSON")] = False,
) -> None:
    """The people (disabled ones too), oldest first."""
    users = _user_store().list(team)
    if as_json:
        sys.stdout.write(json.dumps([_user_json(user) for user in users], indent=2) + "\n")
        return
    if not users:
        out.print("no users yet; create one with `recap users create --team … --email …`")
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("team", overflow="fold")
    table.add_column("email", overflow="fold")
    table.add_column("access", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for user in users:
        table.add_row(
            user.id,
            user.team_id,
            user.email,
            "write" if user.can_write else "read",
            user.created_at.strftime("%Y-%m-%d"),
            f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active",
        )
    out.print(table)


@users_app.command("disable")
def users_disable(
    user_id: Annotated[str, typer.Argument(help="the user's id, as `recap users list` shows it")],
) -> None:
    """Disable a person: they cannot sign in, and their open sessions end now."""
    if not _user_store().disable(user_id):
        reject(f"no active user with id {user_id!r}; see `recap users list`", 1)
    out.print(f"disabled user {user_id}; their sessions have ended", highlight=False)
