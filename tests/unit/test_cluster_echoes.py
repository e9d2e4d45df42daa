"""One incident, one cluster (issue 18): the browser's console echo of a failed request is
folded into the request's occurrence, kept there as evidence, and never clusters alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recap.clustering import ErrorCluster, ErrorKind, ErrorOccurrence, cluster_errors
from recap.clustering.echoes import ECHO_WINDOW_MS, EchoClaim, parse_echo
from recap.clustering.extract import extract_errors
from recap.core.config import TimelineConfig
from recap.demo.browser_echoes import EchoStyle, with_browser_echoes
from recap.demo.generator import SCENARIOS, generate_session
from recap.services.clusters import extract_session_errors, recluster_team
from recap.sources.files import DirectorySource, load_recording_file
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from recap.timeline import compile_timeline
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

START_MS = 1_700_000_000_000
ORDERS_500 = "POST https://shop.example.com/api/orders/48213 500 (Internal Server Error)"
STATUS_500 = (
    "Failed to load resource: the server responded with a status of 500 (Internal Server Error)"
)
SAFARI_500 = "Failed to load resource: the server responded with a status of 500 ()"


def request(
    ref: str,
    t_ms: int,
    target: str = "POST /api/orders/48213",
    status: str = "500",
    *,
    window: str = "w1",
    duration_ms: int | None = 300,
) -> TimelineEvent:
    return TimelineEvent(
        ref=ref,
        t_ms=t_ms,
        window=window,
        kind=EventKind.NETWORK_ERROR,
        target=target,
        value=status,
        duration_ms=duration_ms,
    )


def console(ref: str, t_ms: int, message: str, *, window: str = "w1") -> TimelineEvent:
    return TimelineEvent(
        ref=ref, t_ms=t_ms, window=window, kind=EventKind.CONSOLE_ERROR, value=message
    )


def errors_of(*events: TimelineEvent, session_id: str = "s1") -> list[ErrorOccurrence]:
    timeline = Timeline(
        session=SessionInfo(session_id=session_id, start_timestamp_ms=START_MS),
        events=list(events),
        stats=TimelineStats(),
    )
    return extract_errors(timeline, failed_outcome=None)


def summary(found: list[ErrorOccurrence]) -> list[tuple[ErrorKind, str, list[str]]]:
    return [(o.kind, o.ref, o.echoes) for o in found]


# -- what counts as an echo -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "claim"),
    [
        (ORDERS_500, EchoClaim("POST", "https://shop.example.com/api/orders/48213", 500)),
        (
            "GET https://shop.example.com/api/cart 404 (Not Found)",
            EchoClaim("GET", "https://shop.example.com/api/cart", 404),
        ),
        (STATUS_500, EchoClaim(None, None, 500)),
        (
            "Failed to load resource: the server responded with a status of 404 (Not Found)",
            EchoClaim(None, None, 404),
        ),
        (SAFARI_500, EchoClaim(None, None, 500)),
        (
            "GET https://api.example.com/v1/me net::ERR_CONNECTION_REFUSED",
            EchoClaim("GET", "https://api.example.com/v1/me", 0),
        ),
        ("Failed to load resource: net::ERR_INTERNET_DISCONNECTED", EchoClaim(None, None, 0)),
        ("Failed to load resource: Could not connect to the server.", EchoClaim(None, None, 0)),
        (
            "Loading failed for the <script> with source “https://shop.example.com/app.js”.",
            EchoClaim(None, "https://shop.example.com/app.js", None),
        ),
    ],
)
def test_browser_echoes_are_recognized(message: str, claim: EchoClaim) -> None:
    assert parse_echo(message) == claim


@pytest.mark.parametrize(
    "message",
    [
        "TypeError: Failed to fetch",  # the page's own error: names no request
        "Error: payment service unavailable (500)",
        "Error: Request to /api/orders/7 timed out after 3000ms",
        f"Checkout failed: {ORDERS_500}",  # the page logging it, with more to say
        "POST /api/orders 500",  # no URL: not a browser's phrasing
    ],
)
def test_other_console_errors_are_not_echoes(message: str) -> None:
    assert parse_echo(message) is None


# -- folding within one timeline --------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [ORDERS_500, STATUS_500, SAFARI_500],
    ids=["chrome_url", "failed_to_load_resource", "safari"],
)
def test_echo_after_the_request_is_folded_into_it(message: str) -> None:
    found = errors_of(request("e1", 1_000), console("e2", 1_305, message))
    assert summary(found) == [(ErrorKind.NETWORK, "e1", [message])]
    assert found[0].count == 1 and found[0].status == 500


def test_echo_before_the_request_is_folded_into_it() -> None:
    found = errors_of(console("e1", 1_000, ORDERS_500), request("e2", 1_000 + ECHO_WINDOW_MS))
    assert summary(found) == [(ErrorKind.NETWORK, "e2", [ORDERS_500])]


def test_cross_origin_request_and_echo() -> None:
    echo = "POST https://api.payments.example/v1/charges 502 (Bad Gateway)"
    found = errors_of(request("e1", 0, "POST api.payments.example/v1/charges", "502"))
    assert found[0].echoes == []
    found = errors_of(
        request("e1", 0, "POST api.payments.example/v1/charges", "502"), console("e2", 310, echo)
    )
    assert summary(found) == [(ErrorKind.NETWORK, "e1", [echo])]


def test_two_requests_each_take_their_own_echo() -> None:
    cart_404 = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    found = errors_of(
        request("e1", 1_000, "GET /api/cart", "404", duration_ms=100),
        request("e2", 1_050, "POST /api/orders/48213", "500", duration_ms=400),
        console("e3", 1_101, cart_404),
        console("e4", 1_451, STATUS_500),
    )
    assert summary(found) == [
        (ErrorKind.NETWORK, "e1", [cart_404]),
        (ErrorKind.NETWORK, "e2", [STATUS_500]),
    ]
    # the same with Chrome's lines naming each request, listed in the other order
    cart_url = "GET https://shop.example.com/api/cart 404 (Not Found)"
    found = errors_of(
        request("e1", 1_000, "GET /api/cart", "404", duration_ms=100),
        request("e2", 1_050, "POST /api/orders/48213", "500", duration_ms=400),
        console("e3", 1_101, ORDERS_500),
        console("e4", 1_102, cart_url),
    )
    assert summary(found) == [
        (ErrorKind.NETWORK, "e1", [cart_url]),
        (ErrorKind.NETWORK, "e2", [ORDERS_500]),
    ]


def test_the_nearest_failure_of_the_same_request_takes_the_echo() -> None:
    # the user retried: each failure has its echo, and a third line has no request left
    found = errors_of(
        request("e1", 1_000),
        console("e2", 1_301, ORDERS_500),
        request("e3", 2_200),
        console("e4", 2_501, ORDERS_500),
        console("e5", 2_502, ORDERS_500),
    )
    assert summary(found) == [
        (ErrorKind.NETWORK, "e1", [ORDERS_500]),
        (ErrorKind.NETWORK, "e3", [ORDERS_500]),
        (ErrorKind.CONSOLE, "e5", []),
    ]


@pytest.mark.parametrize(
    ("echo", "why"),
    [
        (console("e2", 1_305, ORDERS_500.replace("orders", "users")), "other URL"),
        (console("e2", 1_305, ORDERS_500.replace("POST", "GET")), "other method"),
        (console("e2", 1_305, STATUS_500.replace("500", "502")), "other status"),
        (console("e2", 1_300 + ECHO_WINDOW_MS + 1, ORDERS_500), "too late"),
        (console("e2", 1_000 - ECHO_WINDOW_MS - 1, STATUS_500), "too early"),
        (console("e2", 1_305, ORDERS_500, window="w2"), "other window"),
    ],
)
def test_a_console_error_that_is_not_the_echo_stays_its_own(echo: TimelineEvent, why: str) -> None:
    found = errors_of(request("e1", 1_000), echo)
    by_kind = {o.kind: o for o in found}
    assert sorted(by_kind) == [ErrorKind.CONSOLE, ErrorKind.NETWORK], why
    assert by_kind[ErrorKind.NETWORK].echoes == [], why
    assert by_kind[ErrorKind.CONSOLE].message == echo.value, why


def test_echoes_do_not_inflate_cluster_counts_and_stay_as_evidence() -> None:
    occurrences = [
        o
        for n in range(3)
        for o in errors_of(
            request("e1", 1_000, f"POST /api/orders/{48213 + n}"),
            console("e2", 1_305, ORDERS_500.replace("48213", str(48213 + n))),
            console("e3", 9_000, "TypeError: x is undefined"),
            session_id=f"s{n}",
        )
    ]
    clusters = {c.kind: c for c in cluster_errors("team", occurrences)}
    assert sorted(clusters) == [ErrorKind.CONSOLE, ErrorKind.NETWORK]
    orders = clusters[ErrorKind.NETWORK]
    assert (orders.occurrences, orders.sessions_affected) == (3, 3)
    assert orders.sample_echoes == sorted(
        ORDERS_500.replace("48213", str(48213 + n)) for n in range(3)
    )
    assert clusters[ErrorKind.CONSOLE].sample_echoes == []


def test_stored_json_from_before_echoes_still_loads() -> None:
    (occurrence,) = errors_of(request("e1", 1_000), console("e2", 1_305, ORDERS_500))
    old = occurrence.model_dump(mode="json", exclude={"echoes"})
    assert ErrorOccurrence.model_validate(old).echoes == []
    (cluster,) = cluster_errors("team", [occurrence])
    assert cluster.sample_echoes == [ORDERS_500]
    old_cluster = cluster.model_dump(mode="json", exclude={"sample_echoes"})
    assert ErrorCluster.model_validate(old_cluster).sample_echoes == []


# -- the generated sessions of the issue ------------------------------------------------------


def _write_generated(directory: Path, style: EchoStyle, after_ms: int) -> dict[str, str]:
    """12 seeds of the 3 demo scenarios, the browser echoing every failed request: the
    scenario of each session id."""
    ids: dict[str, str] = {}
    for seed in range(12):
        for scenario in SCENARIOS:
            document = with_browser_echoes(
                generate_session(scenario, seed=seed), style=style, after_ms=after_ms
            )
            session_id = document["data"]["id"]
            (directory / f"{session_id}.json").write_text(json.dumps(document), encoding="utf-8")
            ids[session_id] = scenario
    return ids


@pytest.mark.parametrize(
    ("style", "after_ms"),
    [("chrome", 1), ("chrome_resource", -250), ("safari_resource", 40)],
)
def test_36_generated_sessions_with_3_problems_give_3_clusters(
    tmp_path: Path, style: EchoStyle, after_ms: int
) -> None:
    """Issue 18: the checkout failure (a POST /api/orders 500, a TypeError, an error banner)
    in 12 of 36 sessions came out as 4 clusters of 12 when the browser echoed the 500."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    scenarios = _write_generated(recordings, style, after_ms)
    ids = sorted(scenarios)
    failing = sorted(s for s in ids if scenarios[s] == "checkout_failure")
    assert len(ids) == 36 and len(failing) == 12
    store = SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}")
    clusters = ClusterStore(store)
    source = DirectorySource(recordings)

    # what an extraction from before the fold stored: each echo an error of its own
    for session_id in ids:
        timeline = compile_timeline(load_recording_file(recordings / f"{session_id}.json"))
        echoes = [e for e in timeline.events if parse_echo(e.value or "") is not None]
        assert len(echoes) == (1 if session_id in failing else 0)
        stale = [
            ErrorOccurrence(
                session_id=session_id,
                kind=ErrorKind.CONSOLE,
                ref=e.ref,
                t_ms=e.t_ms,
                message=e.value or "",
                normalized=e.value or "",
                fingerprint="echo-of-before",
            )
            for e in echoes
        ]
        clusters.save_occurrences("team", "run-0", stale)
    assert len(recluster_team(clusters, "team", ids).clusters) == 1

    for session_id in ids:
        extract_session_errors(
            team_id="team",
            session_id=session_id,
            focus_area=None,
            run_id="run-1",
            store=store,
            clusters=clusters,
            open_source=lambda: source,
            max_tokens=100_000,
            config=TimelineConfig(),
        )
    found = recluster_team(clusters, "team", ids).clusters

    assert sorted((c.kind, c.sessions_affected, c.occurrences) for c in found) == [
        (ErrorKind.CONSOLE, 12, 12),
        (ErrorKind.NETWORK, 12, 12),
        (ErrorKind.SHOWN, 12, 12),
    ]
    assert all(c.session_ids == failing for c in found)
    by_kind = {c.kind: c for c in found}
    network = by_kind[ErrorKind.NETWORK]
    assert network.sample_messages == ["POST /api/orders 500"]
    (echo,) = network.sample_echoes
    assert parse_echo(echo) is not None and "500" in echo
    assert by_kind[ErrorKind.CONSOLE].sample_messages == [
        "TypeError: Cannot read properties of undefined (reading 'total')"
    ]
    stored = clusters.load_occurrences("team")
    assert len(stored) == 36 and not any(o.fingerprint == "echo-of-before" for o in stored)


def test_saving_a_session_again_drops_what_it_no_longer_reports(tmp_path: Path) -> None:
    clusters = ClusterStore(SummaryStore(f"sqlite:///{tmp_path / 'recap.db'}"))
    before = [
        ErrorOccurrence.model_validate({**o.model_dump(), "echoes": []})
        for o in errors_of(request("e1", 1_000), console("e2", 5_000, ORDERS_500))
    ]
    other = errors_of(request("e1", 1_000), console("e2", 5_000, ORDERS_500), session_id="s2")
    clusters.save_occurrences("team", "run-0", before + other)
    now = errors_of(request("e1", 1_000), console("e2", 1_305, ORDERS_500))
    clusters.save_occurrences("team", "run-1", now)  # an upsert alone keeps e2
    assert [o.ref for o in clusters.load_occurrences("team", ["s1"])] == ["e1", "e2"]
    clusters.save_occurrences("team", "run-2", now, sessions=["s1"])
    assert [(o.ref, o.echoes) for o in clusters.load_occurrences("team", ["s1"])] == [
        ("e1", [ORDERS_500])
    ]
    assert [o.ref for o in clusters.load_occurrences("team", ["s2"])] == ["e1", "e2"]
