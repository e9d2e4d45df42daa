"""The sample-session generator writes faithful, deterministic rrweb recordings."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recap.demo import SCENARIOS, generate_session, write_sample_sessions

Json = dict[str, Any]

FULL_SNAPSHOT, INCREMENTAL, META, CUSTOM, PLUGIN = 2, 3, 4, 5, 6
MUTATION, MOUSE_MOVE, MOUSE_INTERACTION, SCROLL, INPUT = 0, 1, 2, 3, 5
CLICK = 2


class PageMirror:
    """The ids, parents and text of the current page, kept up to date from the stream."""

    def __init__(self) -> None:
        self.nodes: dict[int, Json] = {}
        self.children: dict[int, list[int]] = {}

    def load(self, document: Json) -> None:
        self.nodes.clear()
        self.children.clear()
        self._add(document, None)

    def apply(self, mutation: Json) -> None:
        for remove in mutation["removes"]:
            assert remove["parentId"] in self.nodes, remove
            self.children[remove["parentId"]].remove(remove["id"])
            self._drop(remove["id"])
        for add in mutation["adds"]:
            assert add["parentId"] in self.nodes, add
            assert add["node"]["id"] not in self.nodes, add
            self._add(add["node"], add["parentId"])
        for change in mutation["texts"] + mutation["attributes"]:
            assert change["id"] in self.nodes, change

    def text(self, node_id: int) -> str:
        node = self.nodes[node_id]
        if node["type"] == 3:
            return str(node["textContent"])
        return "".join(self.text(child) for child in self.children[node_id])

    def _add(self, node: Json, parent_id: int | None) -> None:
        self.nodes[node["id"]] = node
        self.children[node["id"]] = []
        if parent_id is not None:
            self.children[parent_id].append(node["id"])
        for child in node.get("childNodes", []):
            self._add(child, node["id"])

    def _drop(self, node_id: int) -> None:
        for child in self.children.pop(node_id):
            self._drop(child)
        del self.nodes[node_id]


def snapshots(scenario: str, seed: int = 0) -> list[Json]:
    events: list[Json] = generate_session(scenario, seed=seed)["data"]["snapshots"]
    return events


def replay(events: list[Json]) -> Iterator[tuple[Json, PageMirror]]:
    """Each event with the page as it stood when the event happened."""
    mirror = PageMirror()
    for event in events:
        if event["type"] == FULL_SNAPSHOT:
            mirror.load(event["data"]["node"])
        elif event["type"] == INCREMENTAL and event["data"]["source"] == MUTATION:
            mirror.apply(event["data"])
        yield event, mirror


def incremental(events: list[Json], source: int) -> list[Json]:
    return [e for e in events if e["type"] == INCREMENTAL and e["data"]["source"] == source]


def test_same_seed_gives_the_same_recording_and_another_seed_does_not() -> None:
    for scenario in SCENARIOS:
        first = json.dumps(generate_session(scenario, seed=7))
        assert first == json.dumps(generate_session(scenario, seed=7))
        assert first != json.dumps(generate_session(scenario, seed=8))


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="checkout_failure"):
        generate_session("nonexistent")


def test_written_files_have_posthog_export_shape(tmp_path: Path) -> None:
    samples = write_sample_sessions(tmp_path, seed=3)
    assert [sample.scenario for sample in samples] == list(SCENARIOS)
    assert len({sample.session_id for sample in samples}) == len(samples)
    for sample in samples:
        assert sample.path == tmp_path / f"{sample.session_id}.json"
        assert sample.description
        document = json.loads(sample.path.read_text(encoding="utf-8"))
        assert document["version"] == "2023-04-28"
        data = document["data"]
        assert data["id"] == sample.session_id
        assert data["person"]["distinct_id"]
        assert isinstance(data["person"]["properties"], dict)
        events = data["snapshots"]
        assert [e["type"] for e in events[:2]] == [META, FULL_SNAPSHOT]
        window_ids = {e["windowId"] for e in events}
        assert len(window_ids) == 1
        for event in events:
            assert set(event) == {"type", "data", "timestamp", "windowId"}
            assert isinstance(event["timestamp"], int)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_full_snapshots_number_nodes_uniquely_in_document_order(scenario: str) -> None:
    def ids(node: Json) -> Iterator[int]:
        yield node["id"]
        for child in node.get("childNodes", []):
            yield from ids(child)

    full_snapshots = [e for e in snapshots(scenario) if e["type"] == FULL_SNAPSHOT]
    assert full_snapshots
    for event in full_snapshots:
        node = event["data"]["node"]
        assert node["type"] == 0 and node["id"] == 1
        assert node["childNodes"][0]["type"] == 1
        assert event["data"]["initialOffset"] == {"top": 0, "left": 0}
        numbered = list(ids(node))
        assert numbered == sorted(set(numbered))


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_interaction_targets_a_node_on_the_current_page(scenario: str, seed: int) -> None:
    for event, mirror in replay(snapshots(scenario, seed)):
        if event["type"] != INCREMENTAL:
            continue
        data = event["data"]
        if data["source"] in (MOUSE_INTERACTION, INPUT, SCROLL):
            assert data["id"] in mirror.nodes, event
        elif data["source"] == MOUSE_MOVE:
            assert all(p["id"] in mirror.nodes for p in data["positions"]), event
            assert all(p["timeOffset"] <= 0 for p in data["positions"]), event


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_timestamps_never_go_backwards(scenario: str) -> None:
    timestamps = [e["timestamp"] for e in snapshots(scenario)]
    assert timestamps == sorted(timestamps)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_checkout_failure_errors_and_the_shopper_rage_clicks(seed: int) -> None:
    events = snapshots("checkout_failure", seed)
    plugins = [e["data"] for e in events if e["type"] == PLUGIN]
    console = [p["payload"] for p in plugins if p["plugin"] == "rrweb/console@1"]
    assert [c["level"] for c in console] == ["error"]
    assert "TypeError" in json.loads(console[0]["payload"][0])
    requests = [
        request
        for p in plugins
        if p["plugin"] == "rrweb/network@1"
        for request in p["payload"]["requests"]
    ]
    assert any(
        r["name"].endswith("/api/orders") and r["method"] == "POST" and r["responseStatus"] == 500
        for r in requests
    )

    place_order_clicks: list[int] = []
    banner_texts: list[str] = []
    inputs: dict[str, str] = {}
    for event, mirror in replay(events):
        data = event["data"]
        if event["type"] != INCREMENTAL:
            continue
        if data["source"] == MOUSE_INTERACTION and data["type"] == CLICK:
            if mirror.text(data["id"]) == "Place order":
                place_order_clicks.append(event["timestamp"])
        elif data["source"] == INPUT:
            inputs[mirror.nodes[data["id"]]["attributes"]["name"]] = data["text"]
        elif data["source"] == MUTATION:
            banner_texts += [mirror.text(add["node"]["id"]) for add in data["adds"]]
    assert len(place_order_clicks) == 5
    assert place_order_clicks[-1] - place_order_clicks[0] <= 3000
    assert "Something went wrong. Please try again." in banner_texts
    assert inputs["email"] == "jane.doe@example.com"
    assert inputs["cardnumber"] == "4242 4242 4242 4242"
    # nothing happens after the rage clicks: no new page, no DOM change
    after = [e for e in events if e["timestamp"] > place_order_clicks[-1]]
    assert not [e for e in after if e["type"] in (META, FULL_SNAPSHOT)]
    assert not incremental(after, MUTATION)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signup_success_masks_the_password_and_ticks_the_terms(seed: int) -> None:
    events = snapshots("signup_success", seed)
    by_field: dict[str, list[Json]] = {}
    for event, mirror in replay(events):
        data = event["data"]
        if event["type"] == INCREMENTAL and data["source"] == INPUT:
            by_field.setdefault(mirror.nodes[data["id"]]["attributes"]["name"], []).append(data)
    passwords = [data["text"] for data in by_field["password"]]
    assert passwords[-1] == "********"
    assert all(set(text) == {"*"} for text in passwords)
    assert [data["isChecked"] for data in by_field["terms"]] == [True]
    assert by_field["email"][-1]["text"] == "sam.rivera@example.com"

    hrefs = [e["data"]["href"] for e in events if e["type"] == META]
    assert hrefs[-1].endswith("/welcome")
    last_page = PageMirror()
    last_page.load([e for e in events if e["type"] == FULL_SNAPSHOT][-1]["data"]["node"])
    assert "Welcome, Sam!" in last_page.text(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wanderer_browses_goes_idle_and_clicks_a_dead_link(seed: int) -> None:
    events = snapshots("wanderer", seed)
    timestamps = [e["timestamp"] for e in events]
    assert max(b - a for a, b in itertools.pairwise(timestamps)) >= 30_000
    hrefs = [e["data"]["href"] for e in events if e["type"] == META]
    assert [href.rsplit("/", 1)[-1] for href in hrefs[1:]] == ["pricing", "features", "docs"]
    clicked = [
        mirror.text(event["data"]["id"])
        for event, mirror in replay(events)
        if event["type"] == INCREMENTAL
        and event["data"]["source"] == MOUSE_INTERACTION
        and event["data"]["type"] == CLICK
    ]
    assert clicked == ["Pricing", "Features", "Docs", "Contact sales"]
    assert len(incremental(events, SCROLL)) > 10


def test_generated_files_load_compile_and_label_the_place_order_clicks(tmp_path: Path) -> None:
    # imported here so the generator's own tests run while these stages are being written
    from recap.sources.files import load_recording_file
    from recap.timeline import compile_timeline

    for sample in write_sample_sessions(tmp_path):
        recording = load_recording_file(sample.path)
        assert recording.session_id == sample.session_id
        timeline = compile_timeline(recording)
        assert timeline.events, sample.scenario
        if sample.scenario == "checkout_failure":
            labelled = [
                event
                for event in timeline.events
                # a submit button in a form: its clicks are submits
                if event.kind in ("click", "submit") and "Place order" in (event.target or "")
            ]
            assert labelled


# --- several tabs, ground truth and large recordings ----------------------------------------


def by_window(events: list[Json]) -> dict[str, list[Json]]:
    windows: dict[str, list[Json]] = {}
    for event in events:
        windows.setdefault(event["windowId"], []).append(event)
    return windows


def assert_consistent_pages(events: list[Json]) -> None:
    """Per window: a snapshot first, mutations that fit the page, interactions on nodes
    that exist, and time never going backwards across windows."""
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    for window_events in by_window(events).values():
        assert window_events[0]["type"] == META
        assert window_events[1]["type"] == FULL_SNAPSHOT
        for event, mirror in replay(window_events):
            if event["type"] != INCREMENTAL:
                continue
            data = event["data"]
            if data["source"] in (MOUSE_INTERACTION, INPUT, SCROLL) and data["id"] != 1:
                assert data["id"] in mirror.nodes, event
            elif data["source"] == MOUSE_MOVE:
                assert all(p["id"] in mirror.nodes for p in data["positions"]), event


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ground_truth_journey_keeps_every_window_consistent(seed: int) -> None:
    from recap.demo.recordings import generate_ground_truth_session

    session = generate_ground_truth_session(seed)
    assert_consistent_pages(session.events)
    assert len(by_window(session.events)) == len(session.truth.windows) == 2
    tags = {e["data"]["tag"] for e in session.events if e["type"] == CUSTOM}
    assert {
        "$pageview",
        "$url_changed",
        "sessionIdle",
        "sessionNoLongerIdle",
        "recording paused",
        "recording resumed",
        "browser offline",
        "browser online",
        "window hidden",
        "window visible",
    } <= tags
    plugins = {e["data"]["plugin"] for e in session.events if e["type"] == PLUGIN}
    assert plugins == {"rrweb/console@1", "rrweb/network@1", "posthog/network@1"}


def test_a_refreshed_snapshot_keeps_the_ids_and_the_changes() -> None:
    from recap.demo.generator import DomBuilder, tag

    dom = DomBuilder("https://example.com")
    first = dom.document(title="t", body=[tag("p", {}, "old", key="p"), tag("div", key="box")])
    dom.add(tag("span", {}, "new"), parent="box")
    dom.apply_text(dom.text_id("p"), "changed")
    again = dom.snapshot()
    mirror = PageMirror()
    mirror.load(again)
    assert again["id"] == first["id"] == 1
    assert "changed" in mirror.text(1) and "new" in mirror.text(1)
    assert dom.label_of(dom.id_of("p")) == "changed"


def test_large_recordings_stream_to_the_size_asked_and_repeat_for_a_seed(tmp_path: Path) -> None:
    from recap.demo.big import write_large_recording

    first = write_large_recording(tmp_path / "a.jsonl", 150_000, seed=4, compressed=False)
    again = write_large_recording(tmp_path / "b.jsonl", 150_000, seed=4, compressed=False)
    assert first.path.read_bytes() == again.path.read_bytes()
    assert 150_000 <= first.bytes < 600_000
    assert first.counts == again.counts and first.counts.clicks > 0
    events = []
    for line in first.path.read_bytes().splitlines():
        window_id, event = json.loads(line)
        assert "windowId" not in event
        events.append({**event, "windowId": window_id})
    assert len(events) == first.events
    assert_consistent_pages(events)
