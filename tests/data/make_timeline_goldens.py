"""Record `timeline_goldens.json`: sha256 of what `recap timeline` prints, as text and as
`--json`, for every shared real recording and a small instance of each benchmark shape.

The recorded values are what the compiler printed before the mirror optimization (commit
4df9f5f); `tests/unit/test_timeline_goldens.py` recomputes them with the same functions.
Regenerate only on purpose, for a change meant to alter the output, from the repository
root:

    .venv/bin/python -m tests.data.make_timeline_goldens --baseline "$(git rev-parse --short HEAD)"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from recap.demo.shapes import SHAPES, Shape, write_shape_recording
from recap.sources.files import SUFFIXES
from tests.support.recordings import RECORDINGS

GOLDENS = Path(__file__).with_name("timeline_goldens.json")
SHAPE_BYTES = 250_000
"""Big enough for every kind of page and mutation of each shape, small enough for a test."""
SEED = 0


def cli_output(path: Path, *, as_json: bool) -> bytes | None:
    """What `recap timeline PATH [--json]` prints, run through recap's own command table
    in this process (wherever the command's module lives); None when it refuses the file."""
    from recap.cli.commands import app

    arguments = ["timeline", str(path), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(app, arguments, catch_exceptions=False)
    return result.stdout_bytes if result.exit_code == 0 else None


def output_digests(path: Path) -> dict[str, Any]:
    """The sha256 of both outputs, or `{"rejected": true}` for a file recap refuses."""
    text = cli_output(path, as_json=False)
    document = cli_output(path, as_json=True)
    if text is None or document is None:
        return {"rejected": True}
    return {
        "text_sha256": hashlib.sha256(text).hexdigest(),
        "json_sha256": hashlib.sha256(document).hexdigest(),
    }


def shared_recordings() -> list[str]:
    """Every recording-like file of the shared data, relative to it, accepted or not."""
    return sorted(
        str(path.relative_to(RECORDINGS))
        for path in RECORDINGS.rglob("*")
        if path.is_file() and path.name.endswith(SUFFIXES)
    )


def write_shape(shape: Shape, directory: Path) -> Path:
    """The small instance of `shape`, named for the shape (recap takes a JSONL file's
    session id from its name, so the name is part of the output)."""
    path = directory / f"{shape}.jsonl"
    write_shape_recording(shape, path, SHAPE_BYTES, seed=SEED, recordings=RECORDINGS)
    return path


def shape_digests(path: Path) -> dict[str, Any]:
    recording = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"recording_sha256": recording, **output_digests(path)}


def compute_goldens() -> dict[str, dict[str, Any]]:
    cases = {f"recording:{name}": output_digests(RECORDINGS / name) for name in shared_recordings()}
    with tempfile.TemporaryDirectory() as scratch:
        for shape in SHAPES:
            cases[f"shape:{shape}"] = shape_digests(write_shape(shape, Path(scratch)))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--baseline", required=True, help="the commit whose output this is")
    args = parser.parse_args()
    goldens = {
        "baseline": args.baseline,
        "shape_bytes": SHAPE_BYTES,
        "seed": SEED,
        "cases": compute_goldens(),
    }
    GOLDENS.write_text(json.dumps(goldens, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(goldens['cases'])} cases to {GOLDENS}")


if __name__ == "__main__":
    main()
