"""`recap timeline`: one recording file compiled offline into the timeline the model sees.

The command as the command table knows it (help, option errors); `recap.cli.compile_file`
holds its body, which plain invocations reach without typer. The compiler is imported when
the command runs, and the tokenizer only when a count is needed (`--json`, or a
`--max-tokens` the text may exceed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recap.cli.compile_file import TimelineArguments, print_timeline


def timeline(
    path: Annotated[Path, typer.Argument(help="recording file (rrweb JSON/JSONL, PostHog export)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the timeline as JSON")] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="drop low-priority events to fit")
    ] = None,
) -> None:
    """Compile one recording file into the timeline the model sees (offline: no Temporal,
    no model)."""
    from recap.recording.models import RecordingError

    try:
        print_timeline(TimelineArguments(path, as_json, max_tokens))
    except RecordingError as error:
        from recap.cli.console import reject

        reject(str(error))
