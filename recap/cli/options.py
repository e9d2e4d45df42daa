"""What several commands read the same way: the options they share (`--team`, `--source`,
`--focus`), session ids given as files or lists, and `--source` checked and made absolute."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recap.cli.console import reject
from recap.sources.spec import SourceSpec, SourceSpecError

TeamOption = Annotated[str | None, typer.Option("--team", help="team id (default RECAP_TEAM_ID)")]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="posthog or files:DIR (default RECAP_SOURCE)")
]
FocusOption = Annotated[str | None, typer.Option("--focus", help="focus area for the model")]


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
