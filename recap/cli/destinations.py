"""`recap destinations …`: where a team's reports and digests are delivered (a Slack
incoming webhook or a signed webhook), their health, and a test message on demand.

URLs and signing secrets are stored sealed under RECAP_SECRET_KEY and never printed again;
a Slack webhook's URL is read from an environment variable or stdin, never an argument."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from recap.cli.console import out, reject
from recap.cli.options import TeamOption
from recap.core.config import get_settings

if TYPE_CHECKING:
    from recap.delivery.models import DestinationKind, QuietMode
    from recap.store.destinations import Destination, DestinationStore

destinations_app = typer.Typer(
    name="destinations",
    help="Where a team's reports and digests are delivered: Slack or signed webhooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
add_app = typer.Typer(
    name="add",
    help="Add a Slack or webhook destination.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
destinations_app.add_typer(add_app, name="add")

NameOption = Annotated[str, typer.Option("--name", help="what people call it, e.g. #product")]
QuietOption = Annotated[
    str,
    typer.Option(
        "--quiet",
        help="a digest with nothing new: 'line' sends one line, 'silent' sends nothing",
    ),
]


def _store() -> DestinationStore:
    from recap.core.logging import configure_logging
    from recap.services.bootstrap import summary_store
    from recap.services.delivery import destination_store
    from recap.store.secrets import SecretKeyMissing

    settings = get_settings()
    configure_logging(settings)
    try:
        return destination_store(settings, summary_store(settings))
    except SecretKeyMissing as error:
        reject(escape(str(error)), 2)


def _quiet(value: str) -> QuietMode:
    if value == "line":
        return "line"
    if value == "silent":
        return "silent"
    reject("--quiet must be 'line' or 'silent'", 2)


def _read_secret(env: str | None, option: str, prompt: str) -> str:
    """From the environment variable named, else stdin (a prompt on a terminal): never an
    argument, which other users of the machine can read in `ps`."""
    if env is not None:
        value = os.environ.get(env)
        if not value:
            reject(f"{option} names {escape(env)}, which is not set", 2)
        return value.strip()
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True)).strip()
    return sys.stdin.readline().strip()


def _add(
    team: str | None,
    kind: DestinationKind,
    name: str,
    url: str,
    secret: str | None,
    quiet: QuietMode,
) -> Destination:
    from recap.store.destinations import DestinationError
    from recap.store.secrets import SecretKeyMissing

    try:
        return _store().add(
            team or get_settings().team_id,
            kind=kind,
            name=name,
            url=url,
            signing_secret=secret,
            quiet=quiet,
        )
    except (DestinationError, SecretKeyMissing, ValueError) as error:
        reject(escape(str(error)), 2)


@add_app.command("slack")
def add_slack(
    name: NameOption,
    team: TeamOption = None,
    url_env: Annotated[
        str | None,
        typer.Option(help="environment variable holding the incoming webhook URL (else stdin)"),
    ] = None,
    quiet: QuietOption = "line",
    secret_env: Annotated[
        str | None,
        typer.Option(
            help="environment variable holding a signing secret: the messages then carry"
            " X-Recap-Signature too, for a relay in front of Slack that checks it"
        ),
    ] = None,
) -> None:
    """A Slack incoming webhook; its URL (a credential) is stored encrypted."""
    url = _read_secret(url_env, "--url-env", "Slack incoming webhook URL")
    secret = _read_secret(secret_env, "--secret-env", "signing secret") if secret_env else None
    added = _add(team, "slack", name, url, secret, _quiet(quiet))
    out.print(
        f"added slack destination {escape(added.destination_id)} ({escape(added.name)}) for"
        f" team {escape(added.team_id)}; try it with `recap destinations test"
        f" {escape(added.destination_id)}`",
        highlight=False,
    )


@add_app.command("webhook")
def add_webhook(
    name: NameOption,
    url: Annotated[str, typer.Option("--url", help="where recap POSTs the JSON envelope")],
    team: TeamOption = None,
    secret_env: Annotated[
        str | None,
        typer.Option(help="environment variable holding the signing secret (else one is made)"),
    ] = None,
    quiet: QuietOption = "line",
) -> None:
    """A webhook: recap POSTs a JSON envelope signed with X-Recap-Signature (HMAC-SHA256)."""
    from recap.store.destinations import new_signing_secret

    mode = _quiet(quiet)
    secret: str | None = None
    made: str | None = None
    if secret_env is not None:
        secret = _read_secret(secret_env, "--secret-env", "signing secret")
    else:
        secret = made = new_signing_secret()
    added = _add(team, "webhook", name, url, secret, mode)
    out.print(
        f"added webhook destination {escape(added.destination_id)} ({escape(added.name)}) for"
        f" team {escape(added.team_id)}",
        highlight=False,
    )
    if made is not None:
        # Shown this once: recap stores it sealed and never prints it again.
        out.print("signing secret (shown once; give it to the receiver):", highlight=False)
        sys.stdout.write(made + "\n")


def _json(each: Destination) -> dict[str, Any]:
    return {
        "destination_id": each.destination_id,
        "team_id": each.team_id,
        "kind": each.kind,
        "name": each.name,
        "quiet": each.quiet,
        "signed": each.signed,
        "failing": each.failing,
        "consecutive_failures": each.consecutive_failures,
        "last_error": each.last_error,
        "last_failure_at": each.last_failure_at.isoformat() if each.last_failure_at else None,
        "last_delivered_at": (
            each.last_delivered_at.isoformat() if each.last_delivered_at else None
        ),
        "created_at": each.created_at.isoformat(),
    }


@destinations_app.command("list")
def list_destinations(
    team: Annotated[str | None, typer.Option("--team", help="one team (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every destination, its quiet mode and health (never its URL or secret)."""
    found = _store().list(team)
    if as_json:
        sys.stdout.write(json.dumps([_json(each) for each in found], indent=2) + "\n")
        return
    if not found:
        out.print(
            "no destinations yet; add one with `recap destinations add slack|webhook …`",
            highlight=False,
        )
        return
    table = Table("id", "team", "kind", "name", "quiet", "health", "last error")
    for each in found:
        if each.failing:
            health = f"[bold red]failing[/] ({each.consecutive_failures} in a row)"
        elif each.consecutive_failures:
            health = f"{each.consecutive_failures} failed"
        else:
            health = "ok" if each.last_delivered_at else "not used yet"
        table.add_row(
            escape(each.destination_id),
            escape(each.team_id),
            each.kind,
            escape(each.name),
            each.quiet,
            health,
            escape(each.last_error or ""),
        )
    out.print(table)


@destinations_app.command("remove")
def remove(destination_id: Annotated[str, typer.Argument(help="the destination's id")]) -> None:
    """Removes a destination and its delivery record (reports stay stored)."""
    removed = _store().remove(destination_id)
    if removed is None:
        reject(f"no destination {escape(destination_id)}; `recap destinations list` shows them")
    out.print(
        f"removed {removed.kind} destination {escape(removed.destination_id)}"
        f" ({escape(removed.name)})",
        highlight=False,
    )


@destinations_app.command("test")
def test_destination(
    destination_id: Annotated[str, typer.Argument(help="the destination's id")],
) -> None:
    """Sends a small test message now and says how the destination answered."""
    from recap.delivery.sender import new_client
    from recap.services.delivery import DeliveryUnavailable, check

    with new_client() as client:
        try:
            outcome = check(_store(), destination_id, client)
        except DeliveryUnavailable as error:
            reject(escape(str(error)), 2)
    if outcome.status == "delivered":
        out.print(f"delivered: the destination answered {outcome.http_status}", highlight=False)
        return
    reject(escape(outcome.error or "not delivered"), 1)
