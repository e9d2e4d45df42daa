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


def test_every_event_line_holds_a_token_of_its_own(samples: list[Path]) -> None:
    """What lets the budget skip counting a timeline with more events than tokens."""
    for path in samples:
        full = compile_timeline(load_recording_file(path))
        lines = render_timeline(full).splitlines()
        assert full.events
        assert count_tokens(render_timeline(full)) >= len(full.events)
        assert all(count_tokens(line) >= 1 for line in lines if line.startswith("e"))


def test_a_timeline_with_more_events_than_tokens_is_not_counted_whole(
    samples: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import recap.timeline.budget as budget

    full = compile_timeline(load_recording_file(samples[0]))
    whole = render_timeline(full)
    max_tokens = len(full.events) - 1
    # The same tokenizer under another name: the budget counts everything it needs to.
    want = budget_timeline(full, max_tokens, lambda text: count_tokens(text))
    counted: list[str] = []

    def spy(text: str) -> int:
        counted.append(text)
        return count_tokens(text)

    monkeypatch.setattr(budget, "count_tokens", spy)
    got = budget_timeline(full, max_tokens, spy)
    assert got == want
    assert render_timeline(got) == render_timeline(want)
    assert counted, "the budget counted nothing at all"
    assert whole not in counted
    assert max(len(text) for text in counted) < len(whole)
