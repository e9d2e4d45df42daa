"""`LineStore` keeps a long timeline's lines in a temporary file; the budget and the
plain `recap timeline` print read them from there and give what they gave from memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import recap.timeline.line_store as line_store
from recap.cli.compile_file import TimelineArguments, print_timeline
from recap.demo.shapes import write_shape_recording
from recap.sources.files import load_recording_file
from recap.timeline import (
    budget_timeline,
    compile_budgeted,
    compile_lines,
    compile_timeline,
    render_timeline,
)
from recap.timeline.budget import EventLine
from recap.timeline.line_store import LineStore
from recap.timeline.models import EventKind, Flag


def line(ref: int, **fields: object) -> EventLine:
    values: dict[str, object] = {"t_ms": ref * 10, "window": "w1", "kind": EventKind.CLICK}
    values.update(fields)
    return EventLine(f"e{ref}", **values)  # type: ignore[arg-type]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_lines_come_back_as_they_went_in_from_memory_and_from_the_file() -> None:
    lines = [
        line(1, target="button 'Pay'", flags=(Flag.RAGE, Flag.DEAD), count=3, react_ms=900),
        line(2, kind=EventKind.INPUT, value='"quoted"\nnew line', effect="+Thanks"),
        line(3, kind=EventKind.NAVIGATION, url="https://shop.example/é?x=1", duration_ms=None),
        line(4, kind=EventKind.IDLE, duration_ms=45_000, window="w2"),
    ]
    with LineStore(spill_at=100) as in_memory, LineStore(spill_at=2) as spilled:
        for store in (in_memory, spilled):
            # The held input comes late: ref 2 after refs 3 and 4.
            for ref in (1, 3, 4, 2):
                store.put(ref, lines[ref - 1])
        assert not in_memory.spilled and spilled.spilled
        assert list(in_memory) == list(spilled) == lines
        assert spilled[-1] == lines[-1] and spilled[1:3] == lines[1:3]
        assert len(spilled) == 4


def test_a_ref_never_stored_is_an_error_not_a_silent_gap() -> None:
    with LineStore(spill_at=1) as store:
        store.put(1, line(1))
        store.put(3, line(3))
        with pytest.raises(LookupError, match="e2"):
            store[1]


def test_moving_times_clamps_at_zero_in_memory_and_in_the_file() -> None:
    for spill_at in (100, 1):
        with LineStore(spill_at=spill_at) as store:
            store.put(1, line(1, t_ms=-5))
            store.put(2, line(2, t_ms=40))
            store.moved(3)
            assert [item.t_ms for item in store] == [0, 43]


def test_without_a_writable_temporary_folder_the_lines_stay_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(**_: object) -> None:
        raise PermissionError(13, "Permission denied", "/tmp")

    monkeypatch.setattr(line_store.tempfile, "TemporaryFile", refused)
    with LineStore(spill_at=2) as store:
        for ref in range(1, 6):
            store.put(ref, line(ref))
        assert not store.spilled
        assert [item.ref for item in store] == ["e1", "e2", "e3", "e4", "e5"]


def test_the_file_is_closed_with_the_store() -> None:
    before = open_descriptors()
    store = LineStore(spill_at=1)
    store.put(1, line(1))
    assert store.spilled and open_descriptors() == before + 1
    store.close()
    assert open_descriptors() == before


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "generated.jsonl"
    write_shape_recording("generated", path, 600_000, seed=11)
    return path


def test_budgeting_and_printing_from_the_file_give_what_memory_gives(
    recording: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = compile_timeline(load_recording_file(recording))
    expected = {budget: budget_timeline(whole, budget) for budget in (300, 3000)}
    monkeypatch.setattr(line_store, "SPILL_AT", 16)
    with compile_lines(load_recording_file(recording)).lines as lines:
        assert lines.spilled and len(lines) == len(whole.events) > 16
        assert [item.event() for item in lines] == whole.events
    for budget, timeline in expected.items():
        assert compile_budgeted(load_recording_file(recording), budget) == timeline
        assert timeline.stats.truncated_events > 0  # the budget had work to do
    print_timeline(TimelineArguments(recording))
    printed = capsys.readouterr().out
    text = render_timeline(whole)
    assert printed == (text if text.endswith("\n") else text + "\n")


def test_a_timeline_without_events_prints_its_header_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "moves.json"
    start = 1_700_000_000_000
    moves = [
        {"type": 3, "data": {"source": 1, "positions": []}, "timestamp": start + i}
        for i in range(3)
    ]
    path.write_text(json.dumps(moves))
    timeline = compile_timeline(load_recording_file(path))
    print_timeline(TimelineArguments(path))
    text = render_timeline(timeline)
    assert not timeline.events and text.endswith("\n")  # the blank line after the header
    assert capsys.readouterr().out == text
