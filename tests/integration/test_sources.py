"""The file source: every supported file shape, built from the real recordings in tmp_path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from recap.sources import (
    DirectorySource,
    InvalidRecording,
    Recording,
    RecordingNotFound,
    SnapshotSource,
    load_recording_file,
)
from tests.support.recordings import BY_WINDOW_ID, CHALK, CHALK_FILTERS, CHALK_SESSIONS, HOGFLIX

CHALK_ID = CHALK_SESSIONS[0]


def chalk_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(CHALK_FILTERS.read_text())["rrweb_data"]
    return events


def hogflix_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(HOGFLIX.read_text())["result"]["snapshots"]
    return events


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def as_tuples(recording: Recording) -> list[tuple[int, int, str]]:
    return [(e.type, e.timestamp, e.window_id) for e in recording.events]


# -- the real files, as stored -------------------------------------------------------------


def test_chalk_wrapper_takes_the_id_from_session_guid() -> None:
    recording = load_recording_file(CHALK_FILTERS, session_id="ignored")
    assert recording.session_id == CHALK_ID
    assert len(recording.events) == 1055
    assert recording.metadata["format"] == "chalk"
    assert recording.read_stats.skipped_total == 0
    stamps = [e.timestamp for e in recording.events]
    assert stamps == sorted(stamps)
    assert recording.events[0].type == 4
    assert recording.events[0].data["href"] == "https://chalk.flipperkid.com/"


def test_old_posthog_result_shape_with_person_and_start_time() -> None:
    recording = load_recording_file(HOGFLIX)
    assert recording.session_id == "hogflix_session_recording"  # no id inside: the file stem
    assert load_recording_file(HOGFLIX, session_id="s1").session_id == "s1"
    assert len(recording.events) == 62
    assert recording.distinct_id == "1774d90b2a432d-06cf818ba37a9e-1e2a1f04-384000-1774d90b2a5870"
    assert recording.start_time == "2021-01-29T09:54:26.715764Z"
    assert sum(e.type == 2 for e in recording.events) == 4


def test_snapshot_data_by_window_id_keeps_window_ids() -> None:
    recording = load_recording_file(BY_WINDOW_ID)
    assert len(recording.events) == 16
    assert {e.window_id for e in recording.events} == {
        "17da0b29e21c36-0df8b0cc82d45-1c306851-1fa400-17da0b29e2213f"
    }
    # the console plugin events carry earlier timestamps and must sort first
    assert [e.type for e in recording.events[:5]] == [6, 6, 6, 6, 6]


# -- the other shapes, built from the real events -----------------------------------------


def test_bare_rrweb_array(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(chalk_events()))
    recording = load_recording_file(path)
    assert recording.session_id == "bare"
    assert recording.metadata["format"] == "rrweb-array"
    assert as_tuples(recording) == as_tuples(load_recording_file(CHALK_FILTERS))
    assert load_recording_file(path, session_id="given").session_id == "given"


def test_jsonl_of_window_id_event_pairs(tmp_path: Path) -> None:
    events = hogflix_events()
    lines = [["win-a" if i < 30 else "win-b", event] for i, event in enumerate(events)]
    recording = load_recording_file(write_jsonl(tmp_path / "blob.jsonl", lines))
    assert recording.metadata["format"] == "jsonl"
    read = list(recording.events)
    assert len(read) == len(events)
    assert [e.window_id for e in read[:30]] == ["win-a"] * 30
    assert read[-1].window_id == "win-b"
    assert list(recording.events) == read, "a JSONL recording can be read again"


def test_jsonl_of_v1_window_batches_and_bare_events(tmp_path: Path) -> None:
    events = hogflix_events()
    lines: list[Any] = [
        {"window_id": "w-one", "data": events[:20]},
        {"window_id": "w-two", "data": events[20:40]},
        *({**event, "windowId": "w-three"} for event in events[40:]),
    ]
    recording = load_recording_file(write_jsonl(tmp_path / "v1.jsonl", lines))
    windows = [e.window_id for e in recording.events]
    assert len(windows) == len(events)
    assert windows.count("w-one") == 20
    assert windows.count("w-two") == 20
    assert windows.count("w-three") == len(events) - 40


def test_posthog_export_2023_04_28(tmp_path: Path) -> None:
    export = {
        "version": "2023-04-28",
        "data": {
            "id": "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
            "person": {"distinct_ids": ["user-42"], "properties": {}},
            "snapshots": [{**event, "windowId": "window-1"} for event in hogflix_events()],
        },
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    recording = load_recording_file(path, session_id="other")
    assert recording.session_id == "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000"
    assert recording.distinct_id == "user-42"
    assert recording.metadata["format"] == "posthog-export"
    assert {e.window_id for e in recording.events} == {"window-1"}
    assert len(recording.events) == 62


def test_gzipped_files(tmp_path: Path) -> None:
    plain = CHALK_FILTERS.read_bytes()
    (tmp_path / "chalk.json.gz").write_bytes(gzip.compress(plain))
    recording = load_recording_file(tmp_path / "chalk.json.gz")
    assert recording.session_id == CHALK_ID
    assert len(recording.events) == 1055

    lines = "".join(json.dumps(["w", e]) + "\n" for e in hogflix_events())
    (tmp_path / "blob.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    blob = load_recording_file(tmp_path / "blob.jsonl.gz")
    assert blob.session_id == "blob"
    assert len(list(blob.events)) == 62


def test_events_are_sorted_stably_by_timestamp(tmp_path: Path) -> None:
    events = [
        {"type": 3, "timestamp": 30, "data": {"source": 1, "positions": []}},
        {"type": 4, "timestamp": 10, "data": {"href": "https://a.example/"}},
        {"type": 3, "timestamp": 20, "data": {"source": 3, "id": 1, "x": 0, "y": 1}},
        {"type": 3, "timestamp": 20, "data": {"source": 3, "id": 1, "x": 0, "y": 2}},
    ]
    path = tmp_path / "unsorted.json"
    path.write_text(json.dumps(events))
    recording = load_recording_file(path)
    assert [e.timestamp for e in recording.events] == [10, 20, 20, 30]
    assert [e.data.get("y") for e in recording.events[1:3]] == [1, 2]


def test_malformed_events_are_skipped_and_counted(tmp_path: Path) -> None:
    events: list[Any] = [
        *hogflix_events(),
        {"type": "3", "timestamp": 1},
        {"type": 3},
        {"type": 3, "timestamp": "soon"},
        {"type": True, "timestamp": 5},
        "not an event",
    ]
    path = tmp_path / "some-bad.json"
    path.write_text(json.dumps(events))
    recording = load_recording_file(path)
    assert len(recording.events) == 62
    assert recording.read_stats.skipped_total == 5


# -- errors --------------------------------------------------------------------------------


def test_no_valid_events_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "stripped.json"
    path.write_text(json.dumps([{"type": 3, "data": {}}, {"timestamp": 4}]))
    with pytest.raises(InvalidRecording, match=r"stripped\.json.*none of its 2 entries"):
        load_recording_file(path)


def test_not_json_names_the_file_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"session_guid": "x", "rrweb_data": [')
    with pytest.raises(InvalidRecording, match=r"broken\.json is not JSON"):
        load_recording_file(path)


def test_broken_jsonl_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(
        '["w", {"type": 4, "timestamp": 1, "data": {}}]\n["w", {oops\n'
        '["w", {"type": 4, "timestamp": 2, "data": {}}]\n{"type": "x"}\n["w", {"type": 4, "ti'
    )
    recording = load_recording_file(path)
    assert [e.timestamp for e in recording.events] == [1, 2]
    assert recording.read_stats.skipped == {
        "garbage_line": 1,
        "not_an_event": 1,
        "truncated_line": 1,
    }


def test_jsonl_without_a_single_event_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n')
    with pytest.raises(InvalidRecording, match="no usable rrweb events"):
        load_recording_file(path)


def test_decoded_size_is_bounded(tmp_path: Path) -> None:
    lines = [["w", event] for event in hogflix_events()]
    path = write_jsonl(tmp_path / "big.jsonl", lines)
    size = path.stat().st_size
    with pytest.raises(InvalidRecording, match="decodes to more than"):
        list(load_recording_file(path, max_decoded_bytes=size // 2).events)
    assert len(list(load_recording_file(path, max_decoded_bytes=size * 2).events)) == 62
    document = tmp_path / "big.json"
    document.write_text(json.dumps(hogflix_events()))
    with pytest.raises(InvalidRecording, match="decodes to more than"):
        load_recording_file(document, max_decoded_bytes=1000)


def test_unknown_shape(tmp_path: Path) -> None:
    path = tmp_path / "shape.json"
    path.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(InvalidRecording, match=r"shape\.json has an unknown shape.*hello"):
        load_recording_file(path)
    path.write_text("42")
    with pytest.raises(InvalidRecording, match="unknown shape"):
        load_recording_file(path)


def test_empty_and_fake_gzip(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("  \n")
    with pytest.raises(InvalidRecording, match="empty"):
        load_recording_file(tmp_path / "empty.json")
    (tmp_path / "fake.json.gz").write_text("[]")
    with pytest.raises(InvalidRecording, match="not gzip"):
        load_recording_file(tmp_path / "fake.json.gz")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingNotFound, match=r"nope\.json not found"):
        load_recording_file(tmp_path / "nope.json")


# -- DirectorySource ----------------------------------------------------------------------


@pytest.fixture
def recordings_dir(tmp_path: Path) -> Path:
    (tmp_path / "by-name.json").write_text(json.dumps(hogflix_events()))
    (tmp_path / "zipped.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps(["w", e]) + "\n" for e in hogflix_events()).encode())
    )
    # named by date, holding chalk's session: found through the id inside
    (tmp_path / "2025-05-02-export.json").write_bytes(CHALK_FILTERS.read_bytes())
    (tmp_path / "README.md").write_text("not a recording")
    return tmp_path


def test_directory_source_finds_files_by_name_and_by_embedded_id(recordings_dir: Path) -> None:
    source: SnapshotSource = DirectorySource(recordings_dir)
    assert source.load("by-name").session_id == "by-name"
    assert len(list(source.load("zipped").events)) == 62
    chalk = source.load(CHALK_ID)
    assert chalk.session_id == CHALK_ID
    assert len(chalk.events) == 1055


def test_directory_source_lists_sessions(recordings_dir: Path) -> None:
    assert DirectorySource(recordings_dir).list_sessions() == sorted(
        ["by-name", "zipped", CHALK_ID]
    )


def test_directory_source_sees_files_added_later(recordings_dir: Path) -> None:
    source = DirectorySource(recordings_dir)
    assert "late" not in source.list_sessions()
    export = {"version": "2023-04-28", "data": {"id": "late", "snapshots": hogflix_events()}}
    (recordings_dir / "download-1.json").write_text(json.dumps(export))
    assert source.load("late").session_id == "late"


def test_directory_source_unknown_id(recordings_dir: Path) -> None:
    with pytest.raises(RecordingNotFound) as caught:
        DirectorySource(recordings_dir).load("0190-missing")
    message = str(caught.value)
    assert "recording 0190-missing not found in" in message
    assert str(recordings_dir) in message
    assert "0190-missing.json, 0190-missing.jsonl" in message


@pytest.mark.parametrize("bad", ["../secret", "a/b", "..", "a\\b", ""])
def test_directory_source_rejects_path_tricks(recordings_dir: Path, bad: str) -> None:
    with pytest.raises(InvalidRecording, match="invalid session id"):
        DirectorySource(recordings_dir).load(bad)


def test_directory_source_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordingNotFound, match="does not exist"):
        DirectorySource(tmp_path / "nowhere").load("x")


def test_directory_source_over_the_real_chalk_folder() -> None:
    source = DirectorySource(CHALK)
    assert set(CHALK_SESSIONS) <= set(source.list_sessions())
    assert "sample" in source.list_sessions()  # rrweb_sample.json declares session_guid "sample"
    assert len(source.load("sample").events) == 13
