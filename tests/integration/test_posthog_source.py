"""The PostHog source against a loopback PostHog (tests/support/posthog_double.py) over real HTTP:
paging, the two-phase snapshot API with cv-compressed blocks, typed errors, redirects, and
events identical to those the file source reads from the same recording."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from recap.core.config import Settings
from recap.demo.generator import generate_session
from recap.recording.models import InvalidRecording, RawEvent, Recording, RecordingNotFound
from recap.sources.files import load_recording_file
from recap.sources.posthog import (
    PLAYLIST_SCOPE,
    READ_SCOPE,
    PostHogAuthError,
    PostHogClient,
    PostHogConfig,
    PostHogConfigError,
    PostHogError,
    PostHogRateLimited,
    PostHogRedirectRefused,
    PostHogSource,
    PostHogStreamCut,
    PostHogUnavailable,
    RecordingNotReady,
    SnapshotProgress,
    SnapshotSourceRef,
    export_recording,
    plan_fetches,
    retry_after_seconds,
)
from recap.timeline import compile_timeline
from tests.support.posthog_double import (
    Fault,
    PostHogDouble,
    ServedRecording,
    posthog_double,
    served_from_document,
)
from tests.support.recordings import BY_WINDOW_ID, CHALK_FILTERS, HOGFLIX

SESSION = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
HOUR_MS = 3_600_000


@pytest.fixture
def double() -> Iterator[PostHogDouble]:
    with posthog_double() as server:
        yield server


def config_for(double: PostHogDouble, **options: Any) -> PostHogConfig:
    values: dict[str, Any] = {
        "host": double.base_url,
        "project_id": double.project_id,
        "api_key": SecretStr(double.api_key),
        **options,
    }
    return PostHogConfig.model_validate(values)


def source_for(double: PostHogDouble, **options: Any) -> PostHogSource:
    progress = options.pop("progress", None)
    return PostHogSource(config_for(double, **options), progress=progress)


def as_tuples(events: Any) -> list[tuple[int, int, str, Any]]:
    return [(e.type, e.timestamp, e.window_id, e.data) for e in events]


def generated_file(tmp_path: Path, scenario: str = "checkout_failure", seed: int = 0) -> Path:
    path = tmp_path / f"{scenario}-{seed}.json"
    path.write_text(json.dumps(generate_session(scenario, seed=seed)), encoding="utf-8")
    return path


def served_generated(double: PostHogDouble, scenario: str, seed: int, **options: Any) -> str:
    doc = generate_session(scenario, seed=seed, start_ms=1_763_800_000_000 + seed * HOUR_MS)
    session_id = doc["data"]["id"]
    distinct_id = doc["data"]["person"]["distinct_ids"][0]
    double.add(served_from_document(doc, session_id, distinct_id=distinct_id, **options))
    return str(session_id)


# -- snapshots ------------------------------------------------------------------------


def test_snapshots_load_in_two_phases_and_bounded_block_ranges(double: PostHogDouble) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=7)
    reports: list[SnapshotProgress] = []
    source = source_for(double, blocks_per_request=3, progress=reports.append)

    recording = source.load(SESSION)
    events = list(recording.events)

    targets = [request.target for request in double.requests]
    base = f"/api/environments/2/session_recordings/{SESSION}/"
    assert targets == [
        base,
        base + "snapshots/?blob_v2=true",
        base + "snapshots/?source=blob_v2&start_blob_key=0&end_blob_key=2",
        base + "snapshots/?source=blob_v2&start_blob_key=3&end_blob_key=5",
        base + "snapshots/?source=blob_v2&start_blob_key=6&end_blob_key=6",
    ]
    assert recording.metadata["snapshot_source_kind"] == "blob_v2"
    assert recording.metadata["sources_left_aside"] == ["blob"]  # same events, v1 layout
    assert recording.metadata["snapshot_blocks"] == 7
    assert len(events) == 1055
    assert [r.blocks_done for r in reports][-1] == 7
    assert all(r.blocks_total == 7 for r in reports)
    assert [r.requests_done for r in reports][:3] == [0, 1, 2]
    assert reports[-1].lines == 1055


def test_events_stream_lazily_as_the_compiler_pulls_them(double: PostHogDouble) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=6)
    recording = source_for(double, blocks_per_request=2).load(SESSION)
    assert double.snapshot_requests() == []  # load() reads metadata and the source list only

    events = iter(recording.events)
    next(events)
    assert len(double.snapshot_requests()) == 1
    events.close()  # type: ignore[attr-defined]

    # The stream is re-iterable: a second pass reads the same blocks again.
    assert len(list(recording.events)) == len(list(recording.events)) == 1055


def test_a_cv_compressed_full_snapshot_arrives_expanded(
    tmp_path: Path, double: PostHogDouble
) -> None:
    served = double.add(
        served_from_document(generate_session("checkout_failure", seed=0), SESSION, blocks=3)
    )
    first_block = [json.loads(line) for line in served.block_lines(0)]
    full = next(event for _, event in first_block if event["type"] == 2)
    assert full["cv"] == "2024-10" and isinstance(full["data"], str)  # gzip bytes as latin-1
    mutations = [e for _, e in first_block if e["type"] == 3 and e["data"]["source"] == 0]
    assert mutations and all(isinstance(e["data"]["adds"], str) for e in mutations)

    events = list(source_for(double).load(SESSION).events)

    snapshot = next(event for event in events if event.type == 2)
    assert isinstance(snapshot.data, dict) and snapshot.data["node"]["type"] == 0
    expanded = [e for e in events if e.type == 3 and e.data.get("source") == 0]
    assert all(isinstance(e.data["adds"], list) for e in expanded)


@pytest.mark.parametrize("path", [CHALK_FILTERS, HOGFLIX, BY_WINDOW_ID], ids=lambda p: p.stem)
def test_events_and_timeline_equal_the_file_sources(path: Path, double: PostHogDouble) -> None:
    double.add_file(path, SESSION, blocks=5)
    from_api = source_for(double, blocks_per_request=2).load(SESSION)
    from_file = load_recording_file(path, SESSION)

    assert as_tuples(from_api.events) == as_tuples(from_file.events)
    api_timeline = compile_timeline(from_api)
    file_timeline = compile_timeline(from_file)
    assert api_timeline.events == file_timeline.events
    assert api_timeline.stats.raw_events == file_timeline.stats.raw_events


def test_a_generated_session_compiles_the_same_from_posthog_and_from_its_file(
    tmp_path: Path, double: PostHogDouble
) -> None:
    path = generated_file(tmp_path)
    session_id = served_generated(double, "checkout_failure", 0, blocks=4)
    from_api = source_for(double, blocks_per_request=3).load(session_id)
    from_file = load_recording_file(path)

    assert from_api.session_id == from_file.session_id == session_id
    assert from_api.distinct_id == from_file.distinct_id
    assert as_tuples(from_api.events) == as_tuples(from_file.events)
    api_timeline = compile_timeline(from_api)
    file_timeline = compile_timeline(from_file)
    assert api_timeline.events == file_timeline.events
    assert api_timeline.session == file_timeline.session
    assert api_timeline.stats.console_errors >= 1  # the checkout fails


@pytest.mark.parametrize("window_key", ["windowId", "window_id"])
def test_v1_blob_sources_are_read_when_there_is_no_blob_v2(
    window_key: str, double: PostHogDouble
) -> None:
    double.add_file(BY_WINDOW_ID, SESSION, blocks=3, layout="blob", v1_window_key=window_key)
    recording = source_for(double).load(SESSION)

    assert as_tuples(recording.events) == as_tuples(load_recording_file(BY_WINDOW_ID).events)
    assert recording.metadata["snapshot_source_kind"] == "blob"
    fetched = double.snapshot_requests()
    assert [r.query["source"] for r in fetched] == [["blob"]] * 3


def test_a_long_term_blob_is_one_request(double: PostHogDouble) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=4, layout="blob_v2_lts")
    recording = source_for(double).load(SESSION)

    assert as_tuples(recording.events) == as_tuples(load_recording_file(CHALK_FILTERS).events)
    (fetched,) = double.snapshot_requests()
    assert fetched.query["source"] == ["blob_v2_lts"]


def test_undecodable_lines_are_counted_not_fatal(double: PostHogDouble) -> None:
    double.add_file(
        HOGFLIX,
        SESSION,
        blocks=2,
        extra_lines={0: [b"{not json", b'["w", {"type": "x", "timestamp": 1}]'], 1: [b"[1, 2"]},
    )
    recording = source_for(double).load(SESSION)

    assert as_tuples(recording.events) == as_tuples(load_recording_file(HOGFLIX).events)
    assert recording.read_stats.skipped == {"garbage_line": 2, "not_an_event": 1}
    timeline = compile_timeline(recording)
    assert timeline.stats.skipped["garbage_line"] == 2


def test_a_recording_larger_than_the_bound_is_invalid(double: PostHogDouble) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=4)
    recording = source_for(double, max_decoded_bytes=200_000).load(SESSION)

    with pytest.raises(InvalidRecording, match="MAX_DECODED_BYTES"):
        compile_timeline(recording)


def test_an_ongoing_recording_is_summarized_as_it_is(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION, blocks=2, ongoing=True)
    recording = source_for(double).load(SESSION)

    assert recording.metadata["ongoing"] is True
    assert compile_timeline(recording).stats.raw_events == 62


def test_a_recording_with_nothing_stored_yet_is_retryable(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION, layout="realtime", ongoing=True)

    with pytest.raises(RecordingNotReady) as caught:
        source_for(double).load(SESSION)
    assert caught.value.retryable and caught.value.code == "recording_not_ready"
    assert "realtime" in str(caught.value)


def test_plan_fetches_bounds_ranges_and_prefers_blob_v2() -> None:
    refs = [SnapshotSourceRef(source="blob_v2", blob_key=str(k)) for k in (6, 0, 1, 2, 5)]
    refs.append(SnapshotSourceRef(source="realtime"))
    kind, fetches, aside = plan_fetches(refs, blocks_per_request=2)

    assert kind == "blob_v2" and aside == ["realtime"]
    assert [dict(f.params) for f in fetches] == [
        {"source": "blob_v2", "start_blob_key": "0", "end_blob_key": "1"},
        {"source": "blob_v2", "start_blob_key": "2", "end_blob_key": "2"},
        {"source": "blob_v2", "start_blob_key": "5", "end_blob_key": "6"},
    ]


def test_export_writes_posthogs_export_format(tmp_path: Path, double: PostHogDouble) -> None:
    session_id = served_generated(double, "signup_success", 1, blocks=3)
    out = io.BytesIO()
    written = export_recording(source_for(double), session_id, out)

    path = tmp_path / "export.json"
    path.write_bytes(out.getvalue())
    doc = json.loads(out.getvalue())
    assert doc["version"] == "2023-04-28" and doc["data"]["id"] == session_id
    exported = load_recording_file(path)
    assert exported.session_id == session_id
    assert written == len(list(exported.events))
    original = source_for(double).load(session_id)
    assert as_tuples(exported.events) == as_tuples(original.events)


# -- listing, playlists, metadata (async) ------------------------------------------------


def add_listing(double: PostHogDouble, count: int) -> list[str]:
    scenarios = ("checkout_failure", "signup_success", "wanderer")
    return [served_generated(double, scenarios[n % 3], n) for n in range(count)]


async def test_listing_follows_next_across_pages_with_filters(double: PostHogDouble) -> None:
    ids = add_listing(double, 10)
    rows = {sid: double.recordings[sid].metadata() for sid in ids}
    threshold = min(row["recording_duration"] for row in rows.values())
    expected = sorted(
        (sid for sid, row in rows.items() if row["recording_duration"] > threshold),
        key=lambda sid: rows[sid]["start_time"],
        reverse=True,
    )
    assert 7 <= len(expected) < 10  # three pages of three, and the filter leaves some out

    async with PostHogClient(config_for(double, page_size=3)) as client:
        listed = [
            r
            async for r in client.list_recordings(
                date_from="2025-01-01T00:00:00Z", min_duration_seconds=threshold
            )
        ]

    assert [r.id for r in listed] == expected
    pages = [r for r in double.requests if r.path.endswith("/session_recordings/")]
    assert [r.query["offset"] for r in pages] == [["0"], ["3"], ["6"]][: len(pages)]
    assert len(pages) == 3
    assert all(r.query["limit"] == ["3"] for r in pages)
    assert all(r.query["date_from"] == ["2025-01-01T00:00:00Z"] for r in pages)
    predicates = json.loads(pages[0].query["having_predicates"][0])
    assert predicates == [
        {"type": "recording", "key": "duration", "operator": "gt", "value": threshold}
    ]
    first = listed[0]
    assert first.start_time is not None and first.recording_duration is not None
    assert first.person is not None and first.person.distinct_ids


async def test_listing_stops_at_the_limit(double: PostHogDouble) -> None:
    add_listing(double, 5)
    async with PostHogClient(config_for(double, page_size=2)) as client:
        listed = [r async for r in client.list_recordings(limit=3)]
    assert len(listed) == 3
    assert len([r for r in double.requests if r.path.endswith("/session_recordings/")]) == 2


async def test_playlist_recordings_page_by_has_next(double: PostHogDouble) -> None:
    ids = add_listing(double, 5)
    double.add_playlist("AbC123xy", ids[:4])
    async with PostHogClient(config_for(double, page_size=3)) as client:
        listed = {r.id async for r in client.playlist_recordings("AbC123xy")}
    assert listed == set(ids[:4])
    pages = [r for r in double.requests if "playlists" in r.path]
    assert [r.query["offset"] for r in pages] == [["0"], ["3"]]


async def test_metadata_has_the_documented_fields(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION, ongoing=True)
    async with PostHogClient(config_for(double)) as client:
        metadata = await client.get_recording(SESSION)
        sources = await client.snapshot_sources(SESSION)

    assert metadata.id == SESSION and metadata.ongoing is True
    assert metadata.distinct_id == "person-1" and metadata.snapshot_source == "web"
    assert metadata.start_url and metadata.start_url.startswith("http://localhost:8000")
    assert metadata.recording_duration is not None and metadata.recording_duration > 0
    assert metadata.keypress_count == 21
    assert {s.source for s in sources} == {"blob_v2", "blob"}


async def test_a_playlist_needs_its_own_scope() -> None:
    with posthog_double(scopes=frozenset({READ_SCOPE})) as double:
        double.add_playlist("AbC123xy", [])
        async with PostHogClient(config_for(double)) as client:
            with pytest.raises(PostHogAuthError, match=PLAYLIST_SCOPE):
                [r async for r in client.playlist_recordings("AbC123xy")]


# -- errors -----------------------------------------------------------------------------


def test_a_wrong_key_is_a_final_auth_error_naming_scope_and_setting(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION)
    source = PostHogSource(config_for(double, api_key=SecretStr("phx_wrong_key_123")))

    with pytest.raises(PostHogAuthError) as caught:
        source.load(SESSION)

    error = caught.value
    assert error.code == "posthog_auth" and not error.retryable
    assert READ_SCOPE in str(error) and "RECAP_POSTHOG_API_KEY" in str(error)
    assert "401" in str(error)
    assert "phx_wrong_key_123" not in str(error)


def test_a_key_without_the_read_scope_is_told_which_scope() -> None:
    with posthog_double(scopes=frozenset({PLAYLIST_SCOPE})) as double:
        double.add_file(HOGFLIX, SESSION)
        with pytest.raises(PostHogAuthError) as caught:
            source_for(double).load(SESSION)
    message = str(caught.value)
    assert "403" in message and READ_SCOPE in message and "RECAP_POSTHOG_PROJECT_ID" in message


def test_an_unknown_recording_is_not_found_in_the_project(double: PostHogDouble) -> None:
    with pytest.raises(RecordingNotFound) as caught:
        source_for(double).load(SESSION)

    error = caught.value
    assert error.code == "recording_not_found" and not getattr(error, "retryable", False)
    assert f"recording {SESSION} not found in PostHog project 2" in str(error)
    assert "RECAP_POSTHOG_PROJECT_ID" in str(error)


def test_a_429_carries_retry_after_and_the_next_attempt_succeeds(double: PostHogDouble) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=6)
    double.inject(Fault("start_blob_key=2", status=429, headers={"Retry-After": "7"}))
    source = source_for(double, blocks_per_request=2)

    with pytest.raises(PostHogRateLimited) as caught:
        compile_timeline(source.load(SESSION))
    assert caught.value.retryable and caught.value.retry_after_seconds == 7.0
    assert caught.value.code == "posthog_rate_limited"

    timeline = compile_timeline(source.load(SESSION))
    assert timeline.stats.raw_events == 1055


def test_retry_after_as_an_http_date() -> None:
    import httpx

    headers = httpx.Headers({"Retry-After": formatdate(1_000_030, usegmt=True)})
    assert retry_after_seconds(headers, now=1_000_000) == 30
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "99999"})) == 3600


def test_server_errors_and_network_failures_are_retryable(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION)
    double.inject(Fault(f"/session_recordings/{SESSION}/", status=502))
    with pytest.raises(PostHogUnavailable) as caught:
        source_for(double).load(SESSION)
    assert caught.value.retryable and caught.value.code == "posthog_unavailable"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = PostHogSource(config_for(double, host=f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(PostHogUnavailable, match="cannot reach PostHog"):
        offline.load(SESSION)


def test_a_body_cut_mid_stream_is_retryable_never_a_shorter_recording(
    double: PostHogDouble,
) -> None:
    double.add_file(CHALK_FILTERS, SESSION, blocks=6)
    double.inject(Fault("start_blob_key=2", cut=True))
    source = source_for(double, blocks_per_request=2)

    with pytest.raises(PostHogStreamCut) as caught:
        compile_timeline(source.load(SESSION))
    assert caught.value.retryable and caught.value.code == "posthog_unavailable"
    assert "blocks 2-3" in str(caught.value)

    again = source.load(SESSION)
    assert as_tuples(again.events) == as_tuples(load_recording_file(CHALK_FILTERS).events)


def test_a_redirect_to_another_host_is_refused_and_the_key_stays_home(
    double: PostHogDouble,
) -> None:
    double.add_file(HOGFLIX, SESSION)
    with posthog_double(api_key=double.api_key) as elsewhere:
        elsewhere.add_file(HOGFLIX, SESSION)
        target = f"{elsewhere.base_url}/api/environments/2/session_recordings/{SESSION}/"
        double.inject(Fault(f"/session_recordings/{SESSION}/", status=302, redirect_to=target))

        with pytest.raises(PostHogRedirectRefused) as caught:
            source_for(double).load(SESSION)

        assert elsewhere.requests == []
    assert "RECAP_POSTHOG_HOST" in str(caught.value) and not caught.value.retryable


def test_a_redirect_on_the_same_host_is_followed(double: PostHogDouble) -> None:
    double.add_file(HOGFLIX, SESSION)
    moved = f"{double.base_url}/api/projects/2/session_recordings/{SESSION}/"
    double.inject(Fault(f"environments/2/session_recordings/{SESSION}/", 301, redirect_to=moved))

    recording = source_for(double).load(SESSION)

    assert recording.metadata["id"] == SESSION
    followed = double.requests[1]
    assert followed.path.startswith("/api/projects/2/")
    assert followed.headers["authorization"] == f"Bearer {double.api_key}"


async def test_the_key_never_appears_in_errors_reprs_or_urls(double: PostHogDouble) -> None:
    key = double.api_key
    double.add_file(CHALK_FILTERS, SESSION, blocks=4)
    errors: list[BaseException] = []
    with posthog_double(api_key=key) as elsewhere:
        double.inject(
            Fault("blob_v2=true", status=400, body={"detail": f"bad request for {key}"}),
            Fault("start_blob_key=0", status=429, headers={"Retry-After": "1"}),
            Fault("start_blob_key=0", cut=True),
            Fault("start_blob_key=0", status=500),
            Fault(f"{SESSION}/", status=302, redirect_to=elsewhere.base_url + "/x"),
        )
        source = source_for(double)
        for _ in range(5):
            try:
                compile_timeline(source.load(SESSION))
            except PostHogError as error:
                errors.append(error)
        wrong = PostHogSource(config_for(double, api_key=SecretStr(key + "x")))
        attempts: list[Callable[[], object]] = [
            lambda: wrong.load(SESSION),
            lambda: source.load("missing"),
        ]
        for attempt in attempts:
            try:
                attempt()
            except (PostHogError, RecordingNotFound) as error:
                errors.append(error)
        async with PostHogClient(config_for(double)) as client:
            try:
                await client.get_recording("missing")
            except RecordingNotFound as error:
                errors.append(error)
            texts = [repr(client), repr(source), repr(source.config), str(source.config)]

    assert len(errors) == 8
    for failure in errors:
        chain: BaseException | None = failure
        while chain is not None:
            texts += [str(chain), repr(chain)]
            chain = chain.__cause__ or chain.__context__
    assert texts and not [text for text in texts if key in text]
    # The key travels in the Authorization header only, as a Bearer token.
    for request in double.requests:
        assert request.headers["authorization"].startswith(f"Bearer {key}")
        assert key not in json.dumps(
            {k: v for k, v in request.headers.items() if k != "authorization"}
        )
    assert not [request for request in double.requests if key in request.target]


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["ftp://posthog.example.com", "https://user:pw@posthog.example.com", "posthog.example.com"],
)
def test_hosts_must_be_plain_http_urls(host: str) -> None:
    with pytest.raises(ValidationError):
        PostHogConfig(host=host, project_id="2", api_key=SecretStr("phx_1"))


def test_hosts_are_normalized_for_cloud_and_self_hosted() -> None:
    eu = PostHogConfig(host="https://eu.posthog.com/", project_id="2", api_key=SecretStr("k"))
    own = PostHogConfig(
        host="https://ph.example.com/posthog/", project_id="7", api_key=SecretStr("k")
    )
    assert eu.api_root == "https://eu.posthog.com/api/environments/2"
    assert own.api_root == "https://ph.example.com/posthog/api/environments/7"
    with pytest.raises(ValidationError):
        PostHogConfig(project_id="2", api_key=SecretStr("k"), blocks_per_request=21)


def test_settings_without_a_key_name_the_missing_variable() -> None:
    with pytest.raises(PostHogConfigError, match="RECAP_POSTHOG_API_KEY"):
        PostHogConfig.from_settings(Settings(posthog_project_id="2", posthog_api_key=None))
    config = PostHogConfig.from_settings(
        Settings(posthog_project_id="2", posthog_api_key=SecretStr("phx_abc")),
        blocks_per_request=5,
    )
    assert config.host == "https://us.posthog.com" and config.blocks_per_request == 5


def test_session_ids_cannot_escape_the_api_path(double: PostHogDouble) -> None:
    with pytest.raises(InvalidRecording):
        source_for(double).load("../../users")
    assert double.requests == []


def test_the_source_fits_the_snapshot_source_protocol(double: PostHogDouble) -> None:
    from recap.recording.models import SnapshotSource

    double.add(ServedRecording(SESSION, [("w", {"type": 4, "timestamp": 1, "data": {}})]))
    source: SnapshotSource = source_for(double)
    recording = source.load(SESSION)
    assert isinstance(recording, Recording)
    assert [type(e) for e in recording.events] == [RawEvent]


def test_posthog_errors_become_temporal_retry_decisions() -> None:
    from datetime import timedelta

    from activities.errors import NON_RETRYABLE_TYPES, to_application_error
    from recap.sources.posthog import PostHogAuthError

    limited = to_application_error(PostHogRateLimited("slow down", retry_after_seconds=7))
    assert (limited.type, limited.non_retryable) == ("posthog_rate_limited", False)
    assert limited.next_retry_delay == timedelta(seconds=7)
    cut = to_application_error(PostHogStreamCut("broke off"))
    assert (cut.type, cut.non_retryable, cut.next_retry_delay) == (
        "posthog_unavailable",
        False,
        None,
    )
    auth = to_application_error(PostHogAuthError("needs session_recording:read"))
    assert (auth.type, auth.non_retryable) == ("posthog_auth", True)
    assert "posthog_auth" in NON_RETRYABLE_TYPES
    assert "posthog_unavailable" not in NON_RETRYABLE_TYPES
