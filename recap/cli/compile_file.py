"""The body of `recap timeline`, importable without typer, and the shortcut to it.

`recap timeline FILE` is run in loops over folders of recordings, so it starts fast: the
`recap` entry point (`recap.cli.main`) reads plain `timeline` arguments itself and runs
`print_timeline` without loading typer, click or the command table, which together cost
more than compiling a small recording. Anything else (help, a misspelt option, a value
that is not a count) goes through the command table, which gives typer's usual messages.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recap.core.timeline_config import TimelineConfig
    from recap.recording.models import Recording


@dataclass(frozen=True, slots=True)
class TimelineArguments:
    path: Path
    as_json: bool = False
    max_tokens: int | None = None


def plain_timeline_arguments(argv: list[str]) -> TimelineArguments | None:
    """`timeline FILE [--json] [--max-tokens N]` in any order, or None for anything the
    command table should read instead."""
    if not argv or argv[0] != "timeline":
        return None
    path: str | None = None
    as_json = False
    max_tokens: int | None = None
    rest = iter(argv[1:])
    for word in rest:
        if word == "--json":
            as_json = True
        elif word == "--max-tokens" or word.startswith("--max-tokens="):
            value = word.partition("=")[2] if "=" in word else next(rest, "")
            if not value.isascii() or not value.isdigit():
                return None  # typer says what is wrong with it
            max_tokens = int(value)
        elif word.startswith("-") or path is not None:
            return None  # --help, `-` or `--` and unknown options, a second path
        else:
            path = word
    return None if path is None else TimelineArguments(Path(path), as_json, max_tokens)


def print_timeline(arguments: TimelineArguments) -> None:
    """Compile the file and print it as `recap timeline` does (text, or `--json`).

    Raises `RecordingError` for a file that is not a readable recording.
    """
    from recap.core.heap import freeze_loaded_objects
    from recap.core.timeline_settings import timeline_config
    from recap.sources.files import load_recording_file
    from recap.timeline import compile_budgeted, compile_timeline, count_tokens, render_timeline
    from recap.timeline.models import as_json

    config = timeline_config()
    freeze_loaded_objects()
    recording = load_recording_file(arguments.path, max_decoded_bytes=config.max_decoded_bytes)
    if arguments.max_tokens is None and not arguments.as_json:
        _print_lines(recording, config)
        return
    if arguments.max_tokens is None:
        compiled = compile_timeline(recording, config)
    else:
        compiled = compile_budgeted(recording, arguments.max_tokens, config)
    text = render_timeline(compiled)
    if arguments.as_json:
        document = {
            "session": as_json(compiled.session),
            "events": [as_json(event) for event in compiled.events],
            "text": text,
            "tokens": count_tokens(text),
            "stats": as_json(compiled.stats),
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _print_lines(recording: Recording, config: TimelineConfig) -> None:
    """The whole timeline as text, line by line, its events read back from a `LineStore`
    (on disk for a long recording) rather than all held at once."""
    from recap.timeline import compile_lines, render_lines

    compiled = compile_lines(recording, config)
    write = sys.stdout.write
    with compiled.lines as lines:
        # What `render_timeline` would join with newlines, ending in exactly one.
        rendered = render_lines(compiled.session, compiled.stats, lines)
        previous = next(rendered)
        for line in rendered:
            write(previous)
            write("\n")
            previous = line
        write(previous)
    if previous and not previous.endswith("\n"):
        write("\n")
