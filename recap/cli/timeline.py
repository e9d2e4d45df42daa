"""`recap timeline`: one recording file compiled offline into the timeline the model sees.

It is the command people run in a loop while reading recordings, so it starts fast: this
module imports only typer at load time, the compiler when the command runs, and the
tokenizer only when a count is needed (`--json`, or a `--max-tokens` the text may exceed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def timeline(
    path: Annotated[Path, typer.Argument(help="recording file (rrweb JSON/JSONL, PostHog export)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the timeline as JSON")] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="drop low-priority events to fit")
    ] = None,
) -> None:
    """Compile one recording file into the timeline the model sees (offline: no Temporal,
    no model)."""
    from recap.core.config import get_settings
    from recap.core.heap import freeze_loaded_objects
    from recap.recording.models import RecordingError
    from recap.sources.files import load_recording_file
    from recap.timeline import compile_budgeted, compile_timeline, count_tokens, render_timeline

    settings = get_settings()
    freeze_loaded_objects()
    try:
        recording = load_recording_file(path, max_decoded_bytes=settings.timeline.max_decoded_bytes)
        if max_tokens is None:
            compiled = compile_timeline(recording, settings.timeline)
        else:
            compiled = compile_budgeted(recording, max_tokens, settings.timeline)
    except RecordingError as error:
        from recap.cli.console import reject

        reject(str(error))
    text = render_timeline(compiled)
    if as_json:
        document = {
            "session": compiled.session.model_dump(mode="json"),
            "events": [event.model_dump(mode="json") for event in compiled.events],
            "text": text,
            "tokens": count_tokens(text),
            "stats": compiled.stats.model_dump(mode="json"),
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
