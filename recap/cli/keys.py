"""`recap keys …`: create, list and revoke the API keys recap's HTTP API accepts."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from recap.cli.console import audited_store, out, reject
from recap.cli.options import checked_team, duration_option

if TYPE_CHECKING:
    from recap.store.keys import ApiKey, KeyStore

keys_app = typer.Typer(
    name="keys",
    help="API keys for recap's HTTP API (stored hashed, scoped, per team).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _key_store() -> KeyStore:
    from recap.store.keys import KeyStore

    return KeyStore(audited_store())


def _scopes_option(text: str) -> str:
    from recap.store.keys import InvalidScopes, parse_scopes

    try:
        return ",".join(sorted(parse_scopes(text)))
    except InvalidScopes as error:
        raise typer.BadParameter(str(error)) from None


# Whole hours, days or weeks; longer than any real rotation policy is likely a typo.
_key_lifetime = duration_option(
    units="hdw", compound=False, shortest=timedelta(hours=1), longest=timedelta(days=3650)
)


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "team_id": key.team_id,
        "scopes": sorted(key.scopes),
        "label": key.label,
        "created_at": _when(key.created_at),
        "revoked_at": _when(key.revoked_at),
        "last_used_at": _when(key.last_used_at),
        "expires_at": _when(key.expires_at),
        "expired": key.expired(datetime.now(UTC)),
    }


def _state(key: ApiKey, now: datetime) -> str:
    """Whether a key works, and until or since when: revoked, expired, expiring or live."""
    if key.revoked_at is not None:
        return f"revoked\n{_day(key.revoked_at)}"
    if key.expires_at is None:
        return "live"
    return f"{'expired' if key.expired(now) else 'expires'}\n{_day(key.expires_at)}"


@keys_app.command("create")
def keys_create(
    team: Annotated[
        str, typer.Option("--team", callback=checked_team, help="the team the key acts for")
    ],
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes",
            callback=_scopes_option,
            help="comma-separated: session_recording:read, session_recording:write",
        ),
    ],
    label: Annotated[
        str | None, typer.Option("--label", help="what the key is for, e.g. 'ci'")
    ] = None,
    expires_in: Annotated[
        timedelta | None,
        typer.Option(
            "--expires-in",
            parser=_key_lifetime,
            metavar="DURATION",
            help="the key stops working after this long: 12h, 90d, 4w (default: never)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the key as JSON")] = False,
) -> None:
    """Create a key and print its token. The token is shown only this once."""
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    try:
        key, token = _key_store().create(
            team_id=team, scopes=scopes.split(","), label=label, expires_at=expires_at
        )
    except ValueError as error:
        reject(str(error), 2)
    if as_json:
        sys.stdout.write(json.dumps({**_key_json(key), "token": token}, indent=2) + "\n")
        return
    expiry = f", expires {_when(key.expires_at)}" if key.expires_at else ""
    out.print(
        f"created API key {key.id} for team {key.team_id} "
        f"({', '.join(sorted(key.scopes))}{expiry})",
        highlight=False,
    )
    # Plain write: rich would wrap a long token at the terminal width.
    sys.stdout.write(f"{token}\n")
    out.print(
        "[bold]Store this token now:[/] it is not shown again and recap keeps only its hash.",
        highlight=False,
    )


@keys_app.command("list")
def keys_list(
    team: Annotated[
        str | None, typer.Option("--team", callback=checked_team, help="only this team's keys")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the keys as JSON")] = False,
) -> None:
    """The keys (revoked and expired ones too), oldest first. Tokens are never shown again."""
    keys = _key_store().list(team)
    if as_json:
        sys.stdout.write(json.dumps([_key_json(key) for key in keys], indent=2) + "\n")
        return
    if not keys:
        out.print("no API keys yet; create one with `recap keys create --team … --scopes …`")
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=12)
    table.add_column("team", overflow="fold")
    table.add_column("scopes", no_wrap=True, min_width=len("session_recording:write"))
    table.add_column("label", overflow="fold")
    # Dates only, so the table fits 80 columns; --json has the times and last use.
    for heading in ("created", "state"):
        table.add_column(heading, no_wrap=True, min_width=len("2025-01-01"))
    now = datetime.now(UTC)
    for key in keys:
        table.add_row(
            key.id,
            key.team_id,
            "\n".join(sorted(key.scopes)),
            escape(key.label or ""),
            _day(key.created_at),
            _state(key, now),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id, as `recap keys list` shows it")],
) -> None:
    """Revoke a key; requests with its token fail from now on."""
    if not _key_store().revoke(key_id):
        reject(
            f"no live API key with id {key_id!r} (unknown or already revoked); "
            "see `recap keys list`",
            1,
        )
    out.print(f"revoked API key {key_id}", highlight=False)
