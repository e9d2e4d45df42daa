"""What several commands read the same way: the options they share (`--team`, `--source`,
`--focus`), session ids given as files or lists, durations (`90s`, `1h30m`, `7d`), and
`--source` checked and made absolute."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Final

import typer

from recap.cli.console import reject
from recap.sources.spec import SourceSpec, SourceSpecError

TeamOption = Annotated[str | None, typer.Option("--team", help="team id (default RECAP_TEAM_ID)")]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="posthog or files:DIR (default RECAP_SOURCE)")
]
FocusOption = Annotated[str | None, typer.Option("--focus", help="focus area for the model")]
# Which recordings a schedule (or a report's --since) takes, as RecordingFilters has them.
MinDurationOption = Annotated[
    float | None,
    typer.Option("--min-duration", min=0, help="only recordings at least this long (s)"),
]
MinConsoleErrorsOption = Annotated[
    int | None,
    typer.Option(
        "--min-console-errors", min=1, help="only recordings with this many console errors"
    ),
]
PlaylistOption = Annotated[
    str | None, typer.Option("--playlist", help="only this PostHog playlist (short id)")
]


def read_session_ids(values: list[str]) -> list[str]:
    """Each value is a file of ids (one a line, `#` comments) or ids separated by commas."""
    ids: list[str] = []
    for value in values:
        path = Path(value).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long comma-separated list is no file name at all
            is_file = False
        if is_file:
            lines = path.read_text(encoding="utf-8").splitlines()
            ids.extend(line.strip() for line in lines if line.strip() and not line.startswith("#"))
        else:
            ids.extend(part.strip() for part in value.split(",") if part.strip())
    return list(dict.fromkeys(ids))


def absolute_source(source: str | None) -> str | None:
    """`--source` checked (exit 2 when it is neither form) and, for files, made absolute."""
    if source is None:
        return None
    try:
        spec = SourceSpec.parse(source)
    except SourceSpecError:
        reject("--source must be 'posthog' or 'files:DIR'", 2)
    # The worker resolves the path, possibly from another directory: make it absolute.
    return str(spec.absolute())


_DURATION_PART: Final = re.compile(r"(\d{1,9})([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_UNIT_NAMES: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UNIT_EXAMPLES: Final = {"s": "90s", "m": "15m", "h": "12h", "d": "7d", "w": "4w"}


def _compact(seconds: int, units: str) -> str:
    """`seconds` in the largest of `units` that divides it: 3600 -> `1h`."""
    for unit in sorted(units, key=lambda unit: -_UNIT_SECONDS[unit]):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def parse_duration(
    text: str,
    *,
    units: str = "smhdw",
    compound: bool = True,
    shortest: timedelta = timedelta(seconds=1),
    longest: timedelta = timedelta(days=3650),
) -> timedelta:
    """A duration such as `90s`, `12h`, `7d` or `4w` (and, when `compound`, `1h30m`) in
    `units`, from `shortest` to `longest`; ValueError saying what is accepted otherwise."""
    compact = "".join(text.split()).lower()
    parts = _DURATION_PART.findall(compact)
    if (
        not parts
        or "".join(f"{number}{unit}" for number, unit in parts) != compact
        or any(unit not in units for _, unit in parts)
        or (len(parts) > 1 and not compound)
    ):
        names = [_UNIT_NAMES[unit] for unit in units]
        examples = [_UNIT_EXAMPLES[unit] for unit in units]
        raise ValueError(
            f"{text[:40]!r} is not a duration: write a whole number of "
            f"{', '.join(names[:-1])} or {names[-1]}, e.g. {', '.join(examples[:-1])} or "
            f"{examples[-1]}"
        )
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    low, high = int(shortest.total_seconds()), int(longest.total_seconds())
    if not low <= seconds <= high:
        raise ValueError(
            f"{text[:40]!r}: choose a duration from {_compact(low, units)} to "
            f"{_compact(high, units)}"
        )
    return timedelta(seconds=seconds)


def duration_option(
    *,
    units: str = "smhdw",
    compound: bool = True,
    shortest: timedelta = timedelta(seconds=1),
    longest: timedelta = timedelta(days=3650),
) -> Callable[[str], timedelta]:
    """A typer `parser` for a duration option: `parse_duration` with these rules, its
    error shown as the option's (exit 2)."""

    def parse(text: str) -> timedelta:
        try:
            return parse_duration(
                text, units=units, compound=compound, shortest=shortest, longest=longest
            )
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None

    return parse


def checked_team(team: str | None) -> str | None:
    """A `--team` callback for commands that filter by team: the id as the store checks it."""
    from recap.store.keys import validate_team_id

    if team is None:
        return None
    try:
        return validate_team_id(team)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
