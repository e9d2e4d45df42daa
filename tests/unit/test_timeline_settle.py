"""Settling while the pass reads (`recap.timeline.settle`): a draft leaves the pass once
nothing can change it, gets its signals once what follows it is known, and takes its ref
in order, so what is held follows the recording's recent minutes, not its length.

The compiler's output must not depend on when it settles: the same recording compiled
settling after every event and settling only at the end gives the same timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import recap.timeline.event_pass as event_pass
import recap.timeline.pass_state as pass_state
import recap.timeline.settle as settle
from recap.demo.shapes import write_shape_recording
from recap.sources.files import load_recording_file
from recap.timeline import compile_budgeted, compile_timeline
from recap.timeline.models import EventKind, Flag, Timeline
from tests.support.recordings import CHALK, HOGFLIX, RECORDINGS
from tests.unit.test_signals import Session, kind

NEVER = 10**9


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small recordings of the benchmark's three shapes."""
    folder = tmp_path_factory.mktemp("shapes")
    paths = {}
    for shape, seed in (("generated", 3), ("churn", 4), ("real", 5)):
        path = folder / f"{shape}.jsonl"
        write_shape_recording(shape, path, 400_000, seed=seed, recordings=RECORDINGS)
        paths[shape] = path
    return paths


def settling(monkeypatch: pytest.MonkeyPatch, every: int, lag_ms: int = 0) -> list[int]:
    """Settle after every `every` events with nothing waiting too little to bother, and
    forget old times at once; returns a list that counts the drafts settled before the end."""
    monkeypatch.setattr(event_pass, "SETTLE_EVERY", every)
    monkeypatch.setattr(pass_state, "_SETTLE_MIN_ITEMS", 1)
    monkeypatch.setattr(pass_state, "SETTLE_LAG_MS", lag_ms)
    monkeypatch.setattr(settle, "_COMPACT_AT", 1)
    early = [0]
    add = settle.Settler.add

    def counted(self: settle.Settler, drafts: Any, *rest: Any) -> None:
        drafts = list(drafts)
        if rest[-1] < settle.END:
            early[0] += len(drafts)
        add(self, drafts, *rest)

    monkeypatch.setattr(settle.Settler, "add", counted)
    return early


def compiled(path: Path) -> tuple[Timeline, Timeline]:
    return (
        compile_timeline(load_recording_file(path)),
        compile_budgeted(load_recording_file(path), 600),
    )


@pytest.mark.parametrize("shape", ["generated", "churn", "real", "chalk", "hogflix"])
def test_settling_after_every_event_changes_nothing(
    shape: str, shapes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = {"chalk": CHALK / "30497eae-825d-433d-a484-4b75074332b2.json", "hogflix": HOGFLIX}
    recording = path.get(shape) or shapes[shape]
    with monkeypatch.context() as at_the_end:
        settling(at_the_end, every=NEVER)
        whole, whole_budgeted = compiled(recording)
    early = settling(monkeypatch, every=1)
    streamed, streamed_budgeted = compiled(recording)
    assert early[0] > 0  # drafts settled while the pass still read
    assert streamed == whole
    assert streamed_budgeted == whole_budgeted
    assert [e.ref for e in streamed.events] == [f"e{i}" for i in range(1, len(whole.events) + 1)]


def test_an_unsubmitted_forms_last_input_is_held_for_its_flag_but_keeps_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    early = settling(monkeypatch, every=1)
    s = Session().focus(500, 13).type(100, 13, "jane").type(100, 13, "jane@example.com")
    s.blur(100, 13).focus(200, 14).type(100, 14, "SAVE10").blur(100, 14)
    for _ in range(20):  # long after: clicks elsewhere that settle everything before
        s.click(40_000, 20)
    timeline = s.compile()
    assert early[0] > 10
    email, coupon = kind(timeline, EventKind.INPUT)
    assert (email.flags, coupon.flags) == ([], [Flag.ABANDONED])
    assert [e.ref for e in timeline.events] == [f"e{i}" for i in range(1, len(timeline.events) + 1)]
    assert [e.t_ms for e in timeline.events] == sorted(e.t_ms for e in timeline.events)
    submitted = Session().focus(500, 13).type(100, 13, "jane@example.com").blur(100, 13)
    submitted.click(500, 15).show(100, "Thanks")
    for _ in range(20):
        submitted.click(40_000, 20)
    assert kind(submitted.compile(), EventKind.INPUT)[0].flags == []


def test_a_request_reported_later_than_the_lag_is_placed_where_the_settled_part_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settling(monkeypatch, every=1, lag_ms=60_000)
    s = Session()
    for _ in range(10):
        s.click(20_000, 20)
    # Reported 150 s after it started: past the 60 s lag, so its start is already settled.
    s.request(0, "/api/stream", 500, 150_000)
    s.events[-1].data["payload"]["requests"][0]["timestamp"] -= 150_000
    timeline = s.compile()
    (failed,) = kind(timeline, EventKind.NETWORK_ERROR)
    times = [e.t_ms for e in timeline.events]
    assert times == sorted(times)
    last_click = kind(timeline, EventKind.CLICK)[-1]
    assert failed.t_ms > last_click.t_ms - 150_000  # not at its own start, long settled
    with monkeypatch.context() as later:
        later.setattr(pass_state, "SETTLE_LAG_MS", 300_000)  # within the lag: in its place
        (in_place,) = kind(s.compile(), EventKind.NETWORK_ERROR)
    assert in_place.t_ms == last_click.t_ms - 150_000


def held_drafts(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The most drafts the pass and the settler held at once, and how many were made."""
    most = [0]
    look = pass_state.PassState.settle

    def watched(self: pass_state.PassState, now: int) -> None:
        look(self, now)
        settler = self.settler
        held = len(self.drafts) + len(settler._ordered) + len(settler._folding)
        most[0] = max(most[0], held)

    with monkeypatch.context() as patch:
        # Looked at often enough that recordings of a few MB show the shape of it.
        patch.setattr(event_pass, "SETTLE_EVERY", 64)
        patch.setattr(pass_state, "_SETTLE_MIN_ITEMS", 64)
        patch.setattr(pass_state.PassState, "settle", watched)
        timeline = compile_timeline(load_recording_file(path))
    return most[0], len(timeline.events)


def test_what_is_held_does_not_grow_with_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = []
    for size in (1_000_000, 4_000_000):
        path = tmp_path / f"generated-{size}.jsonl"
        write_shape_recording("generated", path, size, seed=7)
        figures.append(held_drafts(path, monkeypatch))
    (short_held, short_events), (long_held, long_events) = figures
    assert long_events > 3 * short_events
    # About the last five minutes (SETTLE_LAG_MS) of drafts, whatever the length.
    assert long_held < long_events / 4
    assert long_held <= 1.5 * short_held + 50
