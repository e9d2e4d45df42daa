"""recap's timeline output, byte for byte, against goldens recorded before the mirror
optimization (commit 4df9f5f): an optimization may change how fast recap compiles, never
what it prints.

For every shared real recording and a small instance of each benchmark shape, the sha256
of `recap timeline` text and `--json` output (run through recap's command table, in
process) must equal the recorded one. `tests/data/make_timeline_goldens.py` says how they
were made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recap.demo.shapes import SHAPES, Shape
from tests.data.make_timeline_goldens import (
    GOLDENS,
    output_digests,
    shape_digests,
    shared_recordings,
    write_shape,
)
from tests.support.recordings import RECORDINGS

RECORDED: dict[str, Any] = json.loads(GOLDENS.read_text())["cases"]
REGENERATE = (
    "if the change is meant to alter the output, regenerate on purpose: "
    "python -m tests.data.make_timeline_goldens --baseline REV"
)


def _differences(case: str, found: dict[str, Any]) -> list[str]:
    expected = RECORDED[case]
    return [
        f"{name}: recorded {expected.get(name)}, now {found.get(name)}"
        for name in sorted(set(expected) | set(found))
        if expected.get(name) != found.get(name)
    ]


def test_goldens_cover_every_shared_recording() -> None:
    recorded = sorted(
        case.removeprefix("recording:") for case in RECORDED if case.startswith("recording:")
    )
    assert recorded == shared_recordings(), f"the shared recordings changed; {REGENERATE}"
    accepted = [case for case in RECORDED if "text_sha256" in RECORDED[case]]
    # a golden that only records refusals would guard nothing
    assert len(accepted) >= 6


@pytest.mark.parametrize(
    "name", [case.removeprefix("recording:") for case in RECORDED if case.startswith("recording:")]
)
def test_real_recording_prints_as_before(name: str) -> None:
    differences = _differences(f"recording:{name}", output_digests(RECORDINGS / name))
    assert not differences, f"recap timeline {name} differs: {'; '.join(differences)}. {REGENERATE}"


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timeline-goldens")


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_prints_as_before(shape: Shape, shapes_dir: Path) -> None:
    found = shape_digests(write_shape(shape, shapes_dir))
    case = f"shape:{shape}"
    if found["recording_sha256"] != RECORDED[case]["recording_sha256"]:
        pytest.fail(
            f"the {shape} recording itself changed (its generator was edited), so its output"
            f" cannot be compared with the recorded one. {REGENERATE} in a clone of the"
            " baseline with the new generator copied in"
        )
    differences = _differences(case, found)
    assert not differences, (
        f"recap timeline of the {shape} shape differs: {'; '.join(differences)}. {REGENERATE}"
    )
