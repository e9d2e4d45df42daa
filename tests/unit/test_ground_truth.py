"""Compiled timelines of generated recordings show exactly what the generator says happened.

The generator (recap.demo) writes a two-tab session with every frustration signal placed
once and records the ground truth while it emits the rrweb events. The first tests check
the generator against the signal definitions on the raw events; the rest compile the
recording and grade the timeline against the truth: every click, input, navigation,
console error and network failure present, with the right flags and nothing invented.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from recap.demo.big import write_large_recording
from recap.demo.groundtruth import SIGNALS, GroundTruth, TruthAction
from recap.demo.recordings import (
    FORMATS,
    GeneratedSession,
    RecordingFormat,
    generate_ground_truth_session,
)
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline, timeline_hash
from recap.timeline.models import Timeline, TimelineEvent, as_json

Json = dict[str, Any]

SEEDS = (0, 1)
TOLERANCE_MS = 300
"""How far a timeline event's time may be from the rrweb event it stands for."""
BURST_GAP_MS = 1_000
"""A collapsed event (count > 1) without a duration covers its clicks this far apart."""
IDLE_TOLERANCE_MS = 2_500
TAB_TOLERANCE_MS = 1_500

# rrweb
FULL_SNAPSHOT, INCREMENTAL, META, CUSTOM, PLUGIN = 2, 3, 4, 5, 6
MUTATION, MOUSE_INTERACTION, INPUT = 0, 2, 5
CLICK = 2
FORM_FIELDS = ("input", "select", "textarea")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{seed}" for seed in SEEDS])
def session(request: pytest.FixtureRequest) -> GeneratedSession:
    return generate_ground_truth_session(request.param)


@pytest.fixture(scope="module")
def timeline(session: GeneratedSession, tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    """The blob v2 JSONL with `cv` compression, the shape PostHog stores today."""
    directory = tmp_path_factory.mktemp("blob_v2_cv")
    return compile_file(session.write_as(directory, "blob_v2", compressed=True))


def compile_file(path: Path) -> Timeline:
    return compile_timeline(load_recording_file(path))


# --- matching timeline events to the truth --------------------------------------------------


@dataclass
class Slot:
    """A timeline event that can stand for `count` truth items (collapsed repeats)."""

    event: TimelineEvent
    left: int = field(init=False)

    def __post_init__(self) -> None:
        self.left = max(1, self.event.count)

    def covers(self, start: int, end: int) -> bool:
        """Whether the event's time span meets [start, end], each side with tolerance."""
        first = self.event.t_ms
        last = first + (self.event.duration_ms or 0)
        if self.event.count > 1 and not self.event.duration_ms:
            last = first + BURST_GAP_MS * (self.event.count - 1)
        return first - TOLERANCE_MS <= end and start <= last + TOLERANCE_MS


def text_of(event: TimelineEvent) -> str:
    return " ".join(part for part in (event.target, event.value, event.effect, event.url) if part)


def signals_of(event: TimelineEvent) -> set[str]:
    return set(event.flags) & SIGNALS


class Grader:
    """Pairs truth items with timeline events; each event is used at most `count` times."""

    def __init__(self, truth: GroundTruth, timeline: Timeline) -> None:
        self.truth = truth
        self.timeline = timeline
        origin = timeline.session.start_timestamp_ms
        self.origin = origin if origin is not None else truth.start_ms
        self.slots = [Slot(event) for event in timeline.events]

    def t(self, epoch_ms: int) -> int:
        return epoch_ms - self.origin

    def find(
        self,
        kinds: Sequence[str],
        start_ms: int,
        end_ms: int,
        *,
        window: str | None = None,
        contains: Sequence[str] = (),
    ) -> TimelineEvent | None:
        """The closest unused event of `kinds` in [start, end] (epoch ms) whose text
        holds every string of `contains`; None when there is none."""
        start, end = self.t(start_ms), self.t(end_ms)
        best: Slot | None = None
        for slot in self.slots:
            event = slot.event
            if slot.left == 0 or event.kind not in kinds:
                continue
            if window is not None and event.window != window:
                continue
            if not slot.covers(start, end):
                continue
            if not all(needle in text_of(event) for needle in contains):
                continue
            if best is None or abs(event.t_ms - start) < abs(best.event.t_ms - start):
                best = slot
        if best is None:
            return None
        best.left -= 1
        return best.event

    def unused(self, *kinds: str) -> list[TimelineEvent]:
        return [
            slot.event
            for slot in self.slots
            if slot.event.kind in kinds and slot.left == slot.event.count
        ]


def describe(action: TruthAction, grader: Grader) -> str:
    return (
        f"{action.kind} {action.label or action.url!r} at {grader.t(action.timestamp_ms)} ms"
        f" in {grader.truth.window_label(action.window_id)}"
    )


def nearby(grader: Grader, epoch_ms: int, span_ms: int = 3_000) -> str:
    t = grader.t(epoch_ms)
    lines = [
        f"  {e.ref} {e.t_ms} {e.window} {e.kind} {e.target!r} value={e.value!r} flags={e.flags}"
        for e in grader.timeline.events
        if abs(e.t_ms - t) <= span_ms
    ]
    return "timeline nearby:\n" + ("\n".join(lines) or "  (nothing)")


def match_actions(
    grader: Grader, actions: Sequence[TruthAction]
) -> list[tuple[TruthAction, TimelineEvent | None]]:
    """Each action paired with the timeline event of the same kind, window, label and time."""
    pairs = []
    for action in actions:
        label = [action.label] if action.label else []
        event = grader.find(
            (action.kind,),
            action.started_ms,
            action.timestamp_ms,
            window=grader.truth.window_label(action.window_id),
            contains=label,
        )
        pairs.append((action, event))
    return pairs


# --- the generator against the definitions --------------------------------------------------


def window_events(session: GeneratedSession, window_id: str) -> list[Json]:
    return [e for e in session.events if e["windowId"] == window_id]


def reactions(session: GeneratedSession, window_id: str | None) -> list[int]:
    """When a page visibly did something: mutations, page loads, route changes, and the
    recording pausing (after which nothing more can be seen). All windows when None."""
    return [
        e["timestamp"]
        for e in session.events
        if (window_id is None or e["windowId"] == window_id)
        and (
            (e["type"] == INCREMENTAL and e["data"]["source"] == MUTATION)
            or e["type"] == META
            or (
                e["type"] == CUSTOM
                and e["data"]["tag"] in ("$pageview", "$url_changed", "recording paused")
            )
        )
    ]


def requests(session: GeneratedSession, window_id: str) -> list[int]:
    return [
        e["timestamp"]
        for e in window_events(session, window_id)
        if e["type"] == PLUGIN and e["data"]["plugin"].endswith("network@1")
    ]


def error_times(session: GeneratedSession) -> list[int]:
    truth = session.truth
    return sorted(
        [e.timestamp_ms for e in truth.console_errors]
        + [f.timestamp_ms for f in truth.network_failures]
    )


def test_generator_places_each_signal_where_its_definition_holds(
    session: GeneratedSession,
) -> None:
    truth = session.truth
    clicks = truth.of_kind("click", "submit")
    for action in clicks:
        ts, window = action.timestamp_ms, action.window_id
        later = [r - ts for r in reactions(session, window) + requests(session, window) if r > ts]
        first_change = min(later, default=None)
        visible = [r - ts for r in reactions(session, window) if r > ts]
        first_visible = min(visible, default=None)
        errors = [t - ts for t in error_times(session) if 0 < t - ts <= 1_000]
        if "dead" in action.signals:
            assert first_change is None or first_change >= 2_500, describe_raw(action, truth)
        if "rage" in action.signals:
            burst = [
                c for c in clicks if c.label == action.label and abs(c.timestamp_ms - ts) <= 1_000
            ]
            assert len(burst) >= 3, describe_raw(action, truth)
        if "slow" in action.signals:
            assert first_visible is not None and 1_200 <= first_visible <= 3_000
        if "error_after" in action.signals:
            assert errors, describe_raw(action, truth)
        if not action.signals and action.label not in field_labels(truth):
            # a clean click shows its effect within a second (here or in a tab it opened)
            soonest = min((r - ts for r in reactions(session, None) if r > ts), default=None)
            assert soonest is not None and soonest <= 1_000, describe_raw(action, truth)
            assert not errors, describe_raw(action, truth)
    assert {s for a in truth.actions for s in a.signals} == set(SIGNALS)


def test_generator_thrash_and_abandonment_follow_their_definitions(
    session: GeneratedSession,
) -> None:
    truth = session.truth
    for window_id in truth.windows:
        navigations = [n for n in truth.of_kind("navigation") if n.window_id == window_id]
        for index, navigation in enumerate(navigations):
            # A→B→A→B within 30 s, completed by this navigation
            last4 = navigations[max(0, index - 3) : index + 1]
            urls = [n.url for n in last4]
            back_and_forth = (
                len(last4) == 4
                and urls[0] == urls[2] != urls[1] == urls[3]
                and navigation.timestamp_ms - last4[0].timestamp_ms <= 30_000
            )
            assert back_and_forth == ("thrash" in navigation.signals), navigation
    abandoned = [a for a in truth.actions if "abandoned" in a.signals]
    assert abandoned and all(a.kind == "input" for a in abandoned)
    later = [a for a in truth.actions if a.timestamp_ms > abandoned[-1].timestamp_ms]
    assert later[0].kind == "click" and later[1].kind == "navigation"
    assert not [a for a in later if a.kind == "submit" and a.url == abandoned[0].url]


def test_generator_is_deterministic_and_every_format_holds_the_same_events(
    tmp_path: Path,
) -> None:
    first = generate_ground_truth_session(5)
    again = generate_ground_truth_session(5)
    other = generate_ground_truth_session(6)
    assert orjson.dumps(first.events) == orjson.dumps(again.events)
    assert orjson.dumps(first.events) != orjson.dumps(other.events)
    for fmt in FORMATS:
        for compressed in (False, True):
            path = first.write_as(tmp_path / f"{fmt}-{compressed}", fmt, compressed=compressed)
            twin = again.write_as(
                tmp_path / f"{fmt}-{compressed}-again", fmt, compressed=compressed
            )
            assert path.read_bytes() == twin.read_bytes(), (fmt, compressed)
            assert list(read_back(path, fmt)) == first.events, (fmt, compressed)


def read_back(path: Path, fmt: RecordingFormat) -> Iterator[Json]:
    """The plain events of a written file, decompressed, each with its windowId."""
    if fmt in ("blob_v2", "v1"):
        for line in path.read_bytes().splitlines():
            item = orjson.loads(line)
            if fmt == "blob_v2":
                yield expand({**item[1], "windowId": item[0]})
            else:
                for event in item["data"]:
                    yield expand({**event, "windowId": item["window_id"]})
        return
    document = orjson.loads(path.read_bytes())
    events = document if fmt == "rrweb" else document["data"]["snapshots"]
    for event in events:
        yield expand(event)


def expand(event: Json) -> Json:
    if "cv" not in event:
        return event
    data = event["data"]
    if isinstance(data, str):
        data = unpack(data)
    else:
        data = {k: unpack(v) if isinstance(v, str) else v for k, v in data.items()}
    return {k: v for k, v in {**event, "data": data}.items() if k != "cv"}


def unpack(value: str) -> Any:
    member = value.encode("latin-1")
    assert member[4:8] == b"\0\0\0\0", "gzip timestamps make files differ from run to run"
    return json.loads(gzip.decompress(member))


def field_labels(truth: GroundTruth) -> set[str]:
    """Labels of form fields: clicking into one changes focus, not the page."""
    return {a.label for a in truth.of_kind("input") if a.label}


def describe_raw(action: TruthAction, truth: GroundTruth) -> str:
    return f"{action.kind} {action.label!r} at {action.timestamp_ms - truth.start_ms} ms"


# --- the compiled timeline against the truth ------------------------------------------------


def test_clicks_that_only_focus_a_field_are_known_to_the_truth(session: GeneratedSession) -> None:
    focus = [a for a in session.truth.of_kind("click") if a.focus_only]
    labels = {a.label for a in focus}
    assert {"Size", "Email", "Full name", "Search help articles", "Message"} <= labels
    assert not any(a.signals for a in focus)
    assert session.truth.counts.focus_clicks == len(focus)


def test_every_click_is_on_the_timeline_with_its_flags(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    problems = []
    for action, event in match_actions(grader, session.truth.of_kind("click", "submit")):
        if event is None and action.focus_only:
            continue  # folded into the input that follows (checked with the inputs)
        if event is None:
            problems.append(
                f"missing {describe(action, grader)}\n{nearby(grader, action.timestamp_ms)}"
            )
        elif signals_of(event) != action.signals:
            problems.append(
                f"{describe(action, grader)}: flags {sorted(event.flags)},"
                f" expected signals {sorted(action.signals)} ({event.ref} {event.target!r})"
            )
    assert not problems, "\n".join(problems)


def test_no_click_on_the_timeline_that_did_not_happen(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    match_actions(grader, session.truth.of_kind("click", "submit"))
    # a click on a checkbox or radio may stay beside the input it caused
    toggles = [a for a in session.truth.of_kind("input") if a.shown == "checked"]
    invented = []
    for event in grader.unused("click", "submit"):
        explained = any(
            a.label
            and a.label in (event.target or "")
            and abs(grader.t(a.timestamp_ms) - event.t_ms) <= TOLERANCE_MS
            for a in toggles
        )
        if not explained:
            invented.append(f"{event.ref} {event.t_ms} {event.kind} {event.target!r}")
    assert not invented, "\n".join(invented)


def test_every_input_shows_its_final_value_and_flags(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    problems = []
    for action, event in match_actions(grader, session.truth.of_kind("input")):
        if event is None:
            problems.append(
                f"missing {describe(action, grader)}\n{nearby(grader, action.timestamp_ms)}"
            )
            continue
        if event.value != action.shown:
            problems.append(
                f"{describe(action, grader)}: value {event.value!r}, expected {action.shown!r}"
            )
        if signals_of(event) != action.signals:
            problems.append(
                f"{describe(action, grader)}: flags {sorted(event.flags)},"
                f" expected signals {sorted(action.signals)}"
            )
    assert not problems, "\n".join(problems)


def test_the_password_is_masked_and_never_leaks(
    session: GeneratedSession, timeline: Timeline
) -> None:
    masked = [a for a in session.truth.of_kind("input") if a.value is None]
    assert masked and all(a.shown == "***" for a in masked)
    dumped = json.dumps(as_json(timeline), ensure_ascii=False)
    assert "correct-horse" not in dumped
    assert "jane.doe@example.com" not in dumped
    assert "503 555" not in dumped


def test_every_navigation_is_on_the_timeline_and_no_other(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    problems = []
    for action in session.truth.of_kind("navigation"):
        assert action.url is not None
        path = urlsplit(action.url).path
        event = grader.find(
            ("navigation",),
            action.timestamp_ms,
            action.timestamp_ms,
            window=session.truth.window_label(action.window_id),
            contains=[path],
        )
        if event is None:
            problems.append(
                f"missing navigation to {action.url}\n{nearby(grader, action.timestamp_ms)}"
            )
        elif signals_of(event) != action.signals:
            problems.append(
                f"navigation to {action.url} at {event.t_ms}: flags {event.flags},"
                f" expected signals {sorted(action.signals)}"
            )
    invented = [f"{e.ref} {e.t_ms} {e.window} {e.url}" for e in grader.unused("navigation")]
    assert not problems, "\n".join(problems)
    assert not invented, "navigations that did not happen:\n" + "\n".join(invented)


def test_every_console_error_is_on_the_timeline(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    missing = [
        f"{error.message!r} at {grader.t(error.timestamp_ms)}"
        for error in session.truth.console_errors
        if grader.find(
            ("console_error", "exception"),
            error.timestamp_ms,
            error.timestamp_ms,
            window=session.truth.window_label(error.window_id),
            contains=[error.message],
        )
        is None
    ]
    assert not missing, "\n".join(missing)
    assert len(session.truth.console_errors) == 3


def test_every_network_failure_is_on_the_timeline(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    problems = []
    for failure in session.truth.network_failures:
        needles = [failure.path] + ([failure.method] if failure.method else [])
        event = grader.find(
            ("network_error",),
            failure.started_ms,
            failure.timestamp_ms,
            window=session.truth.window_label(failure.window_id),
            contains=needles,
        )
        where = f"{failure.method} {failure.path} {failure.status} ({failure.plugin})"
        if event is None:
            problems.append(f"missing {where}\n{nearby(grader, failure.timestamp_ms)}")
        elif str(failure.status) not in text_of(event) and not (
            failure.status == 0 and "failed" in event.flags
        ):
            problems.append(f"{where}: shown as {text_of(event)!r} {event.flags}")
    assert not problems, "\n".join(problems)
    assert {f.status for f in session.truth.network_failures} == {0, 402, 404}
    assert {f.plugin for f in session.truth.network_failures} == {
        "rrweb/network@1",
        "posthog/network@1",
    }


def test_the_slow_request_is_flagged_slow(session: GeneratedSession, timeline: Timeline) -> None:
    grader = Grader(session.truth, timeline)
    (request,) = session.truth.slow_requests
    slow = [
        e
        for e in timeline.events
        if "slow" in e.flags
        and request.path in text_of(e)
        and grader.t(request.started_ms) - TOLERANCE_MS
        <= e.t_ms
        <= grader.t(request.timestamp_ms) + TOLERANCE_MS
    ]
    context = nearby(grader, request.timestamp_ms, 5_000)
    assert slow, f"{request.path} took {request.duration_ms} ms\n{context}"


def test_idle_gaps_are_on_the_timeline_and_nothing_else_is_idle(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    gaps = session.truth.spans_of("idle")
    assert len(gaps) == 2 and all(gap.duration_ms > 30_000 for gap in gaps)
    idle = [e for e in timeline.events if e.kind == "idle"]
    for gap in gaps:
        found = [
            e
            for e in idle
            if abs(e.t_ms - grader.t(gap.start_ms)) <= IDLE_TOLERANCE_MS
            and abs((e.duration_ms or 0) - gap.duration_ms) <= IDLE_TOLERANCE_MS
        ]
        assert len(found) == 1, f"idle of {gap.duration_ms} ms at {grader.t(gap.start_ms)}: {idle}"
    assert len(idle) == len(gaps), f"idle events {[(e.t_ms, e.duration_ms) for e in idle]}"


def test_the_paused_recording_is_a_gap(session: GeneratedSession, timeline: Timeline) -> None:
    grader = Grader(session.truth, timeline)
    (paused,) = session.truth.spans_of("paused")
    start, end = grader.t(paused.start_ms), grader.t(paused.end_ms)
    gaps = [
        e
        for e in timeline.events
        if e.kind == "gap"
        and e.t_ms <= start + IDLE_TOLERANCE_MS
        and e.t_ms + (e.duration_ms or 0) >= end - IDLE_TOLERANCE_MS
    ]
    assert gaps, f"paused {start}..{end}: {[e for e in timeline.events if e.kind == 'gap']}"


def test_both_windows_and_the_switches_between_them(
    session: GeneratedSession, timeline: Timeline
) -> None:
    grader = Grader(session.truth, timeline)
    assert timeline.session.windows == len(session.truth.windows) == 2
    assert {e.window for e in timeline.events} == {"w1", "w2"}
    returns = [s for s in session.truth.tab_switches if not s.opened]
    assert returns
    for switch in returns:
        label = session.truth.window_label(switch.to_window)
        found = [
            e
            for e in timeline.events
            if e.kind == "tab"
            and e.window == label
            and abs(e.t_ms - grader.t(switch.timestamp_ms)) <= TAB_TOLERANCE_MS
        ]
        context = nearby(grader, switch.timestamp_ms)
        assert found, f"switch to {label} at {grader.t(switch.timestamp_ms)}\n{context}"


# --- the same recording in every shape ------------------------------------------------------


@pytest.mark.parametrize("seed", [0])
def test_every_file_shape_compiles_to_the_same_timeline(seed: int, tmp_path: Path) -> None:
    generated = generate_ground_truth_session(seed)
    reference = compile_file(
        generated.write_as(tmp_path / "blob_v2-cv", "blob_v2", compressed=True)
    )
    expected_hash = timeline_hash(reference)
    expected_events = [as_json(e) for e in reference.events]
    assert expected_events
    for fmt in FORMATS:
        for compressed in (False, True):
            path = generated.write_as(tmp_path / f"{fmt}-{compressed}", fmt, compressed=compressed)
            twin = compile_file(path)
            events = [as_json(e) for e in twin.events]
            assert events == expected_events, (fmt, compressed)
            if fmt != "export":  # the export also names the person: the session differs
                assert timeline_hash(twin) == expected_hash, (fmt, compressed)


# --- a large recording: counts only ---------------------------------------------------------


def test_a_larger_recording_loses_no_click_input_or_error(tmp_path: Path) -> None:
    recording = write_large_recording(tmp_path / "large.jsonl", 400_000, seed=3)
    assert recording.bytes >= 400_000
    counts = recording.counts
    assert counts.windows == 2 and counts.clicks > 50 and counts.inputs > 30
    compiled = compile_file(recording.path)

    def total(*kinds: str) -> int:
        return sum(e.count for e in compiled.events if e.kind in kinds)

    # a click that only focused a field may be folded into its input; a click on a
    # checkbox or radio may be kept beside the input it caused
    clicks = total("click", "submit")
    assert counts.clicks - counts.focus_clicks <= clicks <= counts.clicks + counts.toggles
    assert total("input") == counts.inputs
    assert total("console_error", "exception") == counts.console_errors
    assert total("network_error") == counts.network_failures
