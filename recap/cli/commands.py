"""The `recap` command table: every command and command group, in the order `recap --help`
lists them. Each command lives in the module named for what it does, and that module is
imported only when its command is looked up, so `recap timeline` never pays for the
Temporal, HTTP, store and model imports of the other commands."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """Where one command (a function) or command group (a `typer.Typer`) is defined."""

    module: str
    attribute: str
    group: bool = False
    help: str | None = None


COMMANDS: dict[str, CommandEntry] = {
    # One recording or a few sessions (timeline.py, sessions.py).
    "timeline": CommandEntry("recap.cli.timeline", "timeline"),
    "fetch": CommandEntry("recap.cli.sessions", "fetch"),
    "summarize": CommandEntry("recap.cli.sessions", "summarize"),
    # recap's processes and the embedded stack (serve.py), and the checks of what they use.
    "worker": CommandEntry("recap.cli.serve", "worker"),
    "dev": CommandEntry("recap.cli.serve", "dev"),
    "doctor": CommandEntry("recap.cli.doctor", "doctor"),
    "api": CommandEntry("recap.cli.serve", "api"),
    "demo": CommandEntry("recap.cli.serve", "demo"),
    # Across a team's sessions (clusters.py, funnels.py).
    "similar": CommandEntry("recap.cli.clusters", "similar"),
    "funnel": CommandEntry("recap.cli.funnels", "funnel"),
    # One person across their sessions (journeys.py).
    "journey": CommandEntry("recap.cli.journeys", "journey"),
    # Groups of commands, each in its own module.
    "batch": CommandEntry("recap.cli.batch", "batch_app", group=True),
    "schedule": CommandEntry(
        "recap.cli.schedule", "schedule_app", True, "scheduled summaries (Temporal Schedules)"
    ),
    "clusters": CommandEntry(
        "recap.cli.clusters", "clusters_app", True, "error clusters across sessions"
    ),
    "report": CommandEntry(
        "recap.cli.reports", "report_app", True, "pattern reports across sessions"
    ),
    "keys": CommandEntry("recap.cli.keys", "keys_app", True, "API keys: create, list, revoke"),
    "teams": CommandEntry(
        "recap.cli.teams", "teams_app", True, "teams and their own recording sources"
    ),
    "users": CommandEntry(
        "recap.cli.users", "users_app", True, "people who sign in to recap's pages"
    ),
    "destinations": CommandEntry(
        "recap.cli.destinations",
        "destinations_app",
        True,
        "where reports and digests are delivered",
    ),
}


def _no_group_options() -> None:
    """The table's own callback: it takes no options; it makes typer build a group even
    though no command is registered up front."""


def load_command(name: str, entry: CommandEntry) -> Any:
    """The click command typer builds for `entry`, exactly as if it had been registered on
    the top-level app (same name, help, markup and exception settings)."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    holder.callback()(_no_group_options)
    if entry.group and entry.help is None:
        holder.add_typer(target, name=name)  # the group's own callback docstring is its help
    elif entry.group:
        holder.add_typer(target, name=name, help=entry.help)
    else:
        holder.command(name)(target)
    built: Any = typer.main.get_command(holder)
    return built.commands[name]


class LazyCommands(MutableMapping[str, Any]):
    """The group's `commands`: names are known up front, each command is built the first
    time it is looked up. Listing names imports nothing; listing commands (help,
    completion) imports them all, in table order."""

    def __init__(self, table: dict[str, CommandEntry]) -> None:
        self._table = table
        self._loaded: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        if name not in self._loaded:
            entry = self._table[name]  # KeyError for a name that is no command
            self._loaded[name] = load_command(name, entry)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._extra[name] = command

    def __delitem__(self, name: str) -> None:
        del self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._extra if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for name in self._extra if name not in self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._extra


class CommandTable(TyperGroup):
    """The top-level group, its commands imported on demand (`LazyCommands`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lazy = LazyCommands(COMMANDS)
        for name, command in self.commands.items():
            lazy[name] = command
        self.commands = lazy


app = typer.Typer(
    name="recap",
    help="AI summaries of PostHog session recordings, on Temporal, with any OpenAI-compatible "
    "model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=CommandTable,
)
app.callback()(_no_group_options)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
