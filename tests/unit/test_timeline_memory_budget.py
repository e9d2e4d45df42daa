"""`compile_budgeted` weighs a recording's events as light `EventLine`s rather than models,
so a long recording is budgeted in less memory; what it keeps must be exactly what
`budget_timeline(compile_timeline(...))` keeps, for every budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from recap.demo.generator import write_sample_sessions
from recap.sources import load_recording_file
from recap.timeline import budget_timeline, compile_timeline, count_tokens, render_timeline
from recap.timeline.compile import compile_budgeted


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [sample.path for sample in write_sample_sessions(tmp_path_factory.mktemp("samples"))]


def _words(text: str) -> int:
    return len(text.split()) + text.count("\n")


@pytest.mark.parametrize("share", [0.0, 0.1, 0.33, 0.5, 0.9, 1.0, 2.0])
def test_compile_budgeted_keeps_what_budget_timeline_keeps(
    samples: list[Path], share: float
) -> None:
    for path in samples:
        full = compile_timeline(load_recording_file(path))
        for counter in (count_tokens, _words):
            budget = max(1, int(counter(render_timeline(full)) * share))
            want = budget_timeline(full, budget, counter)
            got = compile_budgeted(load_recording_file(path), budget, counter=counter)
            assert got == want
            assert render_timeline(got) == render_timeline(want)
