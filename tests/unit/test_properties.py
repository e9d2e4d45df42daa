"""Property-based tests: truncated, shuffled and corrupted recordings never crash the pipeline.

The seeds are the real recordings (read in place) and the demo generator's sessions. Each
is written as JSONL `[windowId, event]` lines, an rrweb array, a PostHog export or a chalk
wrapper, plain or gzipped, then damaged. The contract: loading and compiling either works
or raises a `RecordingError`; what works renders and budgets with unique `e<N>` refs; and
garbage, truncated lines and unknown event types are skipped and counted in `stats`.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as record_outcome
from hypothesis import strategies as st

from recap.demo.generator import SCENARIOS, generate_session
from recap.recording.decode import compress_event
from recap.recording.models import RecordingError
from recap.sources.files import load_recording_file
from recap.timeline import Timeline, budget_timeline, compile_timeline, render_timeline
from recap.timeline.models import as_json
from tests.support.recordings import BY_WINDOW_ID, CHALK, HOGFLIX, RRWEB_CONSOLE, RRWEB_INTEGRATION

Event = dict[str, Any]
REF = re.compile(r"e[0-9]+")
DEFAULT_WINDOW = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
FORMATS = ("jsonl", "jsonl-v1", "array", "export", "chalk")
EVENT_KEYS = (
    "type", "timestamp", "data", "source", "id", "node", "childNodes", "attributes", "adds",
    "removes", "texts", "attributes", "positions", "href", "payload", "plugin", "level",
    "tagName", "textContent", "parentId", "nextId", "x", "y", "windowId", "tag", "text",
)  # fmt: skip
NODE_ID_KEYS = frozenset({"id", "parentId", "nextId", "rootId"})

SLOW = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Seed:
    name: str
    lines: tuple[tuple[str, str], ...]  # (window id, event as JSON text)

    def events(self) -> list[tuple[str, Event]]:
        return [(window, json.loads(text)) for window, text in self.lines]


def _seed(name: str, events: list[Any], window: str = DEFAULT_WINDOW) -> Seed:
    lines = []
    for event in events:
        own_window = event.pop("windowId", window) if isinstance(event, dict) else window
        lines.append((str(own_window), json.dumps(event)))
    return Seed(name, tuple(lines))


def _with_timestamps(events: list[Event], start: int = 1_700_000_000_000) -> list[Event]:
    # rrweb's test snapshots strip timestamps; give them a plausible 250 ms cadence.
    return [{**event, "timestamp": start + 250 * index} for index, event in enumerate(events)]


@functools.cache
def corpus() -> tuple[Seed, ...]:
    seeds = [
        _seed("chalk-sample", json.loads((CHALK / "rrweb_sample.json").read_text())["rrweb_data"]),
        _seed(
            "chalk-25131bfa",
            json.loads((CHALK / "25131bfa-d87f-4301-8f84-ac0c955b8f4c.json").read_text())[
                "rrweb_data"
            ],
        ),
        _seed("hogflix", json.loads(HOGFLIX.read_text())["result"]["snapshots"]),
    ]
    by_window = json.loads(BY_WINDOW_ID.read_text())["snapshot_data_by_window_id"]
    for window, events in by_window.items():
        seeds.append(_seed("by-window-id", events, window))
    for index, events in enumerate(json.loads(RRWEB_CONSOLE.read_text()).values()):
        seeds.append(_seed(f"rrweb-console-{index}", _with_timestamps(events)))
    integration = json.loads(RRWEB_INTEGRATION.read_text())
    for name in sorted(integration)[:: max(1, len(integration) // 6)]:
        seeds.append(_seed(f"rrweb-integration-{name[-40:]}", _with_timestamps(integration[name])))
    for scenario in SCENARIOS:
        document = generate_session(scenario, seed=7)
        seeds.append(_seed(f"generated-{scenario}", document["data"]["snapshots"]))
    return tuple(seeds)


@functools.cache
def loadable_corpus() -> tuple[Seed, ...]:
    """Seeds whose clean JSONL loads and compiles: the baseline for the counting properties."""
    return tuple(seed for seed in corpus() if seed.name.startswith(("chalk", "hogflix", "gen")))


# -- writing files ------------------------------------------------------------------------


def encode(
    name: str, events: list[tuple[str, Any]], file_format: str, *, ensure_ascii: bool = True
) -> bytes:
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii)

    if file_format == "jsonl":
        return "".join(dumps([window, event]) + "\n" for window, event in events).encode()
    if file_format == "jsonl-v1":
        # The older blob lines: consecutive events of one window, batched.
        batches = [
            {"window_id": window, "data": [event for _, event in group][i : i + 10]}
            for window, group in (
                (w, list(g)) for w, g in itertools.groupby(events, lambda x: x[0])
            )
            for i in range(0, len(group), 10)
        ]
        return "".join(dumps(batch) + "\n" for batch in batches).encode()
    tagged = [
        {**event, "windowId": window} if isinstance(event, dict) else event
        for window, event in events
    ]
    if file_format == "array":
        return dumps(tagged).encode()
    if file_format == "export":
        document = {"version": "2023-04-28", "data": {"id": name, "snapshots": tagged}}
        return dumps(document).encode()
    return dumps({"session_guid": name, "rrweb_data": [e for _, e in events]}).encode()


_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def write(workdir: Path, content: bytes, file_format: str, *, gz: bool = False) -> Path:
    suffix = ".jsonl" if file_format.startswith("jsonl") else ".json"
    path = workdir / f"rec-{next(_counter)}{suffix}{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    return path


# -- strategies ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63, 10**30])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
# What a valid (if odd) JSON document holds: no NaN or Infinity, integers within 64 bits.
finite_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
# Line and paragraph separators, NEL, surrogate-free astral characters, RTL marks, NUL.
tricky_text = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from(["\u2028", "\u2029", "\x85", "\x1c", "\x0b", "\x00", "\u202e", "😀"]),
    max_size=30,
)


def _walk(data: st.DataObject, value: Any) -> tuple[Any, Any] | None:
    """A random (container, key) inside `value`, or None when it holds nothing."""
    container, key = None, None
    node = value
    for _ in range(8):
        if isinstance(node, dict) and node:
            keys = sorted(node, key=str)
        elif isinstance(node, list) and node:
            keys = list(range(len(node)))
        else:
            break
        container, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
        if data.draw(st.integers(0, 3)) == 0:
            break
    return None if container is None else (container, key)


def _stringify_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: str(v) if k in NODE_ID_KEYS and isinstance(v, int) else _stringify_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_stringify_ids(v) for v in value]
    return value


MUTATIONS = (
    "shuffle", "drop", "duplicate", "cut_list", "corrupt_top", "corrupt_deep", "unknown_type",
    "unicode", "string_ids", "delete_key", "not_an_event", "cut_string",
)  # fmt: skip


def mutate(data: st.DataObject, events: list[tuple[str, Any]], operation: str) -> None:
    """Damage `events` in place, the way broken exporters, proxies and disks do."""
    rng: random.Random = data.draw(st.randoms(use_true_random=False))
    if not events:
        return
    index = data.draw(st.integers(0, len(events) - 1))
    window, event = events[index]
    if operation == "shuffle":
        rng.shuffle(events)
    elif operation == "drop":
        keep = sorted(rng.sample(range(len(events)), data.draw(st.integers(0, len(events)))))
        events[:] = [events[position] for position in keep]
    elif operation == "duplicate":
        events.insert(
            data.draw(st.integers(0, len(events))), (window, json.loads(json.dumps(event)))
        )
    elif operation == "cut_list":
        del events[data.draw(st.integers(0, len(events))) :]
    elif operation == "corrupt_top" and isinstance(event, dict):
        event[data.draw(st.sampled_from(["type", "timestamp", "data"]))] = data.draw(json_values)
    elif operation == "corrupt_deep":
        spot = _walk(data, event)
        if spot is not None:
            spot[0][spot[1]] = data.draw(json_values)
    elif operation == "delete_key":
        spot = _walk(data, event)
        if spot is not None and isinstance(spot[0], dict):
            del spot[0][spot[1]]
    elif operation == "unicode":
        spot = _walk(data, event)
        if spot is not None:
            spot[0][spot[1]] = data.draw(tricky_text)
    elif operation == "cut_string":
        spot = _walk(data, event)
        if spot is not None and isinstance(spot[0][spot[1]], str):
            text = spot[0][spot[1]]
            spot[0][spot[1]] = text[: data.draw(st.integers(0, len(text)))]
    elif operation == "string_ids":
        events[index] = (window, _stringify_ids(event))
    elif operation == "unknown_type":
        timestamp = event.get("timestamp", 0) if isinstance(event, dict) else 0
        alien = {
            "type": data.draw(st.sampled_from([7, 8, 42, 99, -1, 2**40])),
            "timestamp": timestamp,
            "data": data.draw(json_values),
        }
        events.insert(data.draw(st.integers(0, len(events))), (window, alien))
    elif operation == "not_an_event":
        events.insert(data.draw(st.integers(0, len(events))), (window, data.draw(json_values)))


def damage_bytes(data: st.DataObject, content: bytes) -> bytes:
    """Truncate, flip and insert bytes anywhere."""
    buffer = bytearray(content)
    for _ in range(data.draw(st.integers(1, 3))):
        operation = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
        position = data.draw(st.integers(0, len(buffer)))
        if operation == "truncate":
            del buffer[position:]
        elif operation == "flip" and position < len(buffer):
            buffer[position] ^= data.draw(st.integers(1, 255))
        elif operation == "insert":
            buffer[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    return bytes(buffer)


# -- checks -------------------------------------------------------------------------------


def load_and_compile(path: Path) -> Timeline | None:
    """The timeline, or None when the recording was refused with a typed error."""
    try:
        timeline = compile_timeline(load_recording_file(path))
    except RecordingError as exc:
        assert str(exc), "typed errors say what went wrong"
        record_outcome(f"refused: {type(exc).__name__}")
        return None
    record_outcome("compiled")
    return timeline


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def skipped_total(timeline: Timeline) -> int:
    return max(timeline.stats.skipped_events, sum(timeline.stats.skipped.values()))


def check_timeline(timeline: Timeline) -> None:
    refs = [event.ref for event in timeline.events]
    assert len(refs) == len(set(refs)), "refs are unique"
    assert all(REF.fullmatch(ref) for ref in refs), refs
    assert isinstance(render_timeline(timeline), str)
    assert timeline.stats.skipped_events >= 0
    assert all(count > 0 for count in timeline.stats.skipped.values())
    budgeted = budget_timeline(timeline, 300)
    assert {event.ref for event in budgeted.events} <= set(refs)
    render_timeline(budgeted)


def event_dumps(timeline: Timeline) -> list[dict[str, Any]]:
    return [as_json(event) for event in timeline.events]


# -- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", FORMATS)
def test_clean_seeds_compile_in_every_format(workdir: Path, file_format: str) -> None:
    for seed in loadable_corpus():
        path = write(workdir, encode(seed.name, seed.events(), file_format), file_format)
        timeline = compile_timeline(load_recording_file(path))
        check_timeline(timeline)
        assert timeline.events, seed.name
        assert skipped_total(timeline) == 0, (seed.name, timeline.stats.skipped)


def test_compressed_seeds_compile_like_plain_ones(workdir: Path) -> None:
    for seed in loadable_corpus():
        events = seed.events()
        packed = [(window, compress_event(event)) for window, event in events]
        plain = write(workdir, encode(seed.name, events, "jsonl"), "jsonl")
        compressed = write(workdir, encode(seed.name, packed, "jsonl"), "jsonl", gz=True)
        expected = compile_timeline(load_recording_file(plain))
        assert event_dumps(compile_timeline(load_recording_file(compressed))) == event_dumps(
            expected
        ), seed.name


def damaged_recording(workdir: Path, data: st.DataObject) -> Path:
    """A seed in a drawn format, mutated, maybe compressed, maybe with damaged bytes."""
    seed = data.draw(st.sampled_from(corpus()), label="seed")
    file_format = data.draw(st.sampled_from(FORMATS), label="format")
    gz = data.draw(st.booleans(), label="gzip")
    events = seed.events()
    if data.draw(st.booleans(), label="cv 2024-10"):
        events = [(window, compress_event(event)) for window, event in events]
    for operation in data.draw(st.lists(st.sampled_from(MUTATIONS), max_size=4), label="ops"):
        mutate(data, events, operation)
    content = encode(seed.name, events, file_format, ensure_ascii=data.draw(st.booleans()))
    damage = data.draw(st.sampled_from(["none", "before_gzip", "after_gzip"]), label="damage")
    if damage == "before_gzip":
        content = damage_bytes(data, content)
    path = write(workdir, content, file_format, gz=gz)
    if damage == "after_gzip":
        path.write_bytes(damage_bytes(data, path.read_bytes()))
    return path


@settings(SLOW, max_examples=200)
@given(data=st.data())
def test_damaged_recordings_raise_only_typed_errors(workdir: Path, data: st.DataObject) -> None:
    timeline = load_and_compile(damaged_recording(workdir, data))
    if timeline is not None:
        check_timeline(timeline)


def _garbage_line(data: st.DataObject, seed_events: list[tuple[str, Event]]) -> str:
    window, event = data.draw(st.sampled_from(seed_events))
    real_line = json.dumps([window, event])
    timestamp = event.get("timestamp", 0)
    kind = data.draw(
        st.sampled_from(
            ["text", "truncated", "scalar", "unknown_type", "wrong_types", "empty_event"]
        ),
        label="garbage kind",
    )
    if kind == "text":
        text = data.draw(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1))
        line = re.sub(r"\s", " ", text)  # one line, whatever separators it held
        return line if line.strip() else "#"
    if kind == "truncated":
        return real_line[: data.draw(st.integers(1, len(real_line) - 1))]
    if kind == "scalar":
        return json.dumps(data.draw(st.sampled_from([42, "hello", None, True, [], {}, [1, 2]])))
    if kind == "unknown_type":
        return json.dumps([window, {"type": 99, "timestamp": timestamp, "data": {"x": 1}}])
    if kind == "wrong_types":
        wrong = {"type": "3", "timestamp": "yesterday", "data": {"source": 2}}
        return json.dumps([window, wrong])
    return json.dumps([window, {}])


@settings(SLOW, max_examples=60)
@given(data=st.data())
def test_garbage_lines_in_jsonl_are_skipped_and_counted(workdir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    events = seed.events()
    lines = [json.dumps([window, event]) for window, event in events]
    k = data.draw(st.integers(1, 5), label="garbage lines")
    for _ in range(k):
        position = data.draw(st.integers(0, len(lines)))
        lines.insert(position, _garbage_line(data, events))
    gz = data.draw(st.booleans(), label="gzip")
    path = write(workdir, "\n".join(lines).encode() + b"\n", "jsonl", gz=gz)
    timeline = compile_timeline(load_recording_file(path))  # no error: valid lines remain
    check_timeline(timeline)
    assert skipped_total(timeline) >= k, (k, timeline.stats.skipped_events, timeline.stats.skipped)


@settings(SLOW, max_examples=30)
@given(data=st.data())
def test_binary_garbage_lines_are_skipped_and_counted(workdir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    lines = [json.dumps([window, event]).encode() for window, event in seed.events()]
    garbage = data.draw(
        st.binary(min_size=1, max_size=40).filter(lambda b: b.strip() and b"\n" not in b),
        label="garbage",
    )
    garbage = b"\xff" + garbage.replace(b"\r", b"")  # never valid UTF-8
    lines.insert(data.draw(st.integers(1, len(lines)), label="position"), garbage)
    path = write(workdir, b"\n".join(lines) + b"\n", "jsonl")
    timeline = compile_timeline(load_recording_file(path))
    check_timeline(timeline)
    assert skipped_total(timeline) >= 1, timeline.stats.skipped


@settings(SLOW, max_examples=60)
@given(data=st.data())
def test_truncated_jsonl_keeps_its_complete_lines(workdir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    content = encode(seed.name, seed.events(), "jsonl", ensure_ascii=data.draw(st.booleans()))
    first_line_end = content.index(b"\n") + 1
    cut = data.draw(st.integers(first_line_end, len(content) - 1), label="cut")
    truncated = content[:cut]
    gz = data.draw(st.booleans(), label="gzip")
    path = write(workdir, truncated, "jsonl", gz=gz)
    timeline = compile_timeline(load_recording_file(path))  # the complete lines are usable
    check_timeline(timeline)
    partial = truncated.rsplit(b"\n", 1)[1]
    if partial.strip() and not _is_json(partial):
        assert skipped_total(timeline) >= 1, (partial[-40:], timeline.stats.skipped)


@settings(SLOW, max_examples=40)
@given(data=st.data())
def test_truncated_gzip_is_read_up_to_the_cut_or_refused(
    workdir: Path, data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    file_format = data.draw(st.sampled_from(FORMATS), label="format")
    compressed = gzip.compress(encode(seed.name, seed.events(), file_format), mtime=0)
    cut = data.draw(st.integers(1, len(compressed) - 1), label="cut")
    path = write(workdir, b"", file_format, gz=True)
    path.write_bytes(compressed[:cut])
    timeline = load_and_compile(path)
    readable = zlib.decompressobj(wbits=31).decompress(compressed[:cut])
    complete_lines = readable.count(b"\n")
    if file_format.startswith("jsonl") and complete_lines >= 2:
        # A download cut short: the lines before the cut are as good as ever.
        assert timeline is not None, f"{complete_lines} complete lines were readable"
    if timeline is not None:
        check_timeline(timeline)
        assert skipped_total(timeline) >= 1, "a cut stream is reported in stats"


# Recordings arrive nearly sorted (posthog-js flushes each window every few seconds) and
# the compiler streams them through a short reorder buffer, so the shuffle that must not
# change the timeline moves each event by less than a second.
JITTER_MS = 1_000


def _jittered(rng: random.Random, events: list[tuple[str, Event]]) -> list[tuple[str, Event]]:
    """A local shuffle: events with the same timestamp keep their relative order."""
    jitter: dict[Any, int] = {}
    for _, event in events:
        jitter.setdefault(event["timestamp"], rng.randrange(JITTER_MS))
    return sorted(events, key=lambda item: item[1]["timestamp"] + jitter[item[1]["timestamp"]])


@settings(SLOW, max_examples=25)
@given(data=st.data())
def test_locally_shuffled_lines_compile_to_the_same_timeline(
    workdir: Path, data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    events = sorted(seed.events(), key=lambda item: item[1]["timestamp"])
    rng = data.draw(st.randoms(use_true_random=False))
    file_format = data.draw(st.sampled_from(["jsonl", "array", "export"]), label="format")
    original = write(workdir, encode(seed.name, events, file_format), file_format)
    shuffled = write(workdir, encode(seed.name, _jittered(rng, events), file_format), file_format)
    expected = compile_timeline(load_recording_file(original))
    actual = compile_timeline(load_recording_file(shuffled))
    assert event_dumps(actual) == event_dumps(expected)


@settings(SLOW, max_examples=30)
@given(data=st.data())
def test_unicode_in_text_never_splits_a_jsonl_line(workdir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    events = seed.events()
    for _ in range(data.draw(st.integers(1, 5))):
        _, event = data.draw(st.sampled_from(events))
        spot = _walk(data, event.get("data"))
        if spot is not None and isinstance(spot[0][spot[1]], str):
            spot[0][spot[1]] = data.draw(tricky_text, label="text")
    path = write(workdir, encode(seed.name, events, "jsonl", ensure_ascii=False), "jsonl")
    timeline = compile_timeline(load_recording_file(path))
    check_timeline(timeline)
    assert timeline.stats.skipped.get("garbage_line", 0) == 0, timeline.stats.skipped
    assert timeline.stats.skipped.get("truncated_line", 0) == 0, timeline.stats.skipped


@settings(SLOW, max_examples=40)
@given(data=st.data())
def test_non_events_in_documents_are_skipped_and_counted(
    workdir: Path, data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    file_format = data.draw(st.sampled_from(["array", "export", "chalk"]), label="format")
    events: list[tuple[str, Any]] = list(seed.events())
    not_events = data.draw(
        st.lists(
            st.sampled_from([42, "x", None, [], {}, {"type": "3"}, {"timestamp": 1}, [1, 2]]),
            min_size=1,
            max_size=5,
        ),
        label="not events",
    )
    for item in not_events:
        events.insert(data.draw(st.integers(0, len(events))), (DEFAULT_WINDOW, item))
    path = write(workdir, encode(seed.name, events, file_format), file_format)
    timeline = compile_timeline(load_recording_file(path))
    check_timeline(timeline)
    assert skipped_total(timeline) >= len(not_events), timeline.stats.skipped


@settings(SLOW, max_examples=40)
@given(data=st.data())
def test_unknown_event_types_are_skipped_and_counted(workdir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(loadable_corpus()), label="seed")
    events = seed.events()
    k = data.draw(st.integers(1, 4), label="unknown events")
    for _ in range(k):
        window, event = data.draw(st.sampled_from(events))
        alien = {
            "type": data.draw(st.sampled_from([7, 8, 42, 99, 1000])),
            "timestamp": event["timestamp"],
            "data": data.draw(finite_json_values),
        }
        events.insert(data.draw(st.integers(0, len(events))), (window, alien))
    file_format = data.draw(st.sampled_from(FORMATS), label="format")
    path = write(workdir, encode(seed.name, events, file_format), file_format)
    timeline = compile_timeline(load_recording_file(path))
    check_timeline(timeline)
    assert skipped_total(timeline) >= k, timeline.stats.skipped
