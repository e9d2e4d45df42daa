"""Check that `recap timeline` prints, byte for byte, what it printed before the mirror
optimization, on the 1 and 10 MB recordings of each benchmark shape.

The unit goldens (`tests/unit/test_timeline_goldens.py`) cover small recordings; these
sizes take too long for a test. Each case hashes the stdout of `recap timeline PATH` and
`recap timeline PATH --json`, each run as its own process, and compares them with
`benchmarks/render_goldens.json`. Prints one JSON object per case (`identical` true, false,
or null when the recording itself is not the recorded one), then a summary; exits 1 unless
every case is identical.

    uv run --extra embedded python benchmarks/render_identity.py [--shapes …] [--sizes 1,10]
    uv run python benchmarks/render_identity.py --write   # record anew, on purpose

The recorded hashes were computed in a clone of commit 4df9f5f (before the mirror
optimization) with this script and the generators copied in; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

# the sibling benchmark's recordings and launcher, also when imported from elsewhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timeline import (
    parse_recording_options,
    recap_command,
    recording_for,
    run_process,
)

GOLDENS = Path(__file__).with_name("render_goldens.json")
OUTPUTS = ("text_sha256", "json_sha256")


def output_digests(path: Path) -> dict[str, str]:
    """sha256 of what `recap timeline` prints for `path`, as text and as `--json`."""
    digests = {}
    for name, flags in (("text_sha256", []), ("json_sha256", ["--json"])):
        run = run_process([*recap_command(), "timeline", str(path), *flags])
        if run.exit_code != 0:
            tail = run.stderr.decode("utf-8", "replace")[-500:]
            raise RuntimeError(f"recap timeline {path} {' '.join(flags)} failed: {tail}")
        digests[name] = hashlib.sha256(run.stdout).hexdigest()
    return digests


def case_digests(recording: Path, case_file: Path) -> dict[str, Any]:
    """The recording's own hash and recap's output hashes, run on `case_file`, a link to
    the cached recording under a name without the generators' digest: recap names a JSONL
    session after its file, and a generator edit must not read as an output change."""
    case_file.unlink(missing_ok=True)
    case_file.hardlink_to(recording)
    recording_sha256 = hashlib.sha256(recording.read_bytes()).hexdigest()
    return {"recording_sha256": recording_sha256, **output_digests(case_file)}


def verdict(expected: dict[str, Any] | None, found: dict[str, Any]) -> dict[str, Any]:
    if expected is None:
        return {"identical": None, "why": "no recorded hashes for this case"}
    if expected["recording_sha256"] != found["recording_sha256"]:
        why = "the recording changed (a generator was edited): record anew in a baseline clone"
        return {"identical": None, "why": why}
    return {"identical": all(expected[name] == found[name] for name in OUTPUTS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help="record the hashes anew")
    parser.add_argument("--baseline", help="with --write: the commit whose output this is")
    args, shapes, sizes, cache = parse_recording_options(parser, default_sizes="1,10")
    recorded: dict[str, Any] = json.loads(GOLDENS.read_text()) if GOLDENS.exists() else {}
    cases: dict[str, Any] = recorded.setdefault("cases", {})
    identical = True
    links = cache / "identity"
    links.mkdir(exist_ok=True)
    for shape in shapes:
        for size_mb in sizes:
            recording, _ = recording_for(cache, shape, size_mb, args.recordings)
            case = f"{shape}/{size_mb:g}"
            found = case_digests(recording, links / f"{shape}-{size_mb:g}mb.jsonl")
            if args.write:
                cases[case] = found
                print(json.dumps({"case": case, "recorded": found}), flush=True)
                continue
            outcome = verdict(cases.get(case), found)
            identical = identical and outcome["identical"] is True
            print(json.dumps({"case": case, **outcome, **found}), flush=True)
    if args.write:
        recorded["baseline"] = args.baseline
        GOLDENS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        return
    print(json.dumps({"summary": True, "identical": identical}), flush=True)
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
